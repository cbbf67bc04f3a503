//! The one registry of diagnostic codes. A code never changes meaning once released; its long
//! explanation is the page in `docs/diagnostics/`, embedded so `rbk explain` works offline.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $title:literal;)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            pub fn explanation(self) -> &'static str {
                match self {
                    $(Code::$variant => include_str!(concat!("../../docs/diagnostics/", $code, ".md")),)*
                }
            }

            pub fn parse(text: &str) -> Option<Code> {
                let wanted = text.trim().to_ascii_uppercase();
                Code::ALL.iter().copied().find(|code| code.as_str() == wanted)
            }
        }
    };
}

codes! {
    SyntaxError = "E0001", Error, "syntax error";
    NestingTooDeep = "E0002", Error, "nesting too deep";
    ExpressionTooLong = "E0003", Error, "expression too long";
    NumberOutOfRange = "E0004", Error, "number literal out of range";
    InterpolationNotAllowed = "E0005", Error, "interpolation in a string that must be literal";
    UnknownName = "E0101", Error, "unknown name";
    UnknownModule = "E0102", Error, "unknown module";
    UnknownMember = "E0103", Error, "unknown member";
    DuplicateDefinition = "E0104", Error, "duplicate definition";
    LocalModuleUnavailable = "E0105", Error, "local module cannot be loaded";
    UnknownStep = "E0106", Error, "unknown step";
    UseTargetNotAFile = "E0107", Error, "use target is not a regular file";
    MaybeUnset = "E0108", Error, "name may have no value";
    AskedValueOutOfScope = "E0109", Error, "asked approval value read where it is not given";
    StepOutcomeNotYetKnown = "E0110", Error, "step outcome read before the step ends";
    UnknownTemplate = "E0113", Error, "unknown template";
    TemplateArguments = "E0114", Error, "arguments do not fit the template's parameters";
    TemplateArgumentNotLiteral = "E0115", Error, "template argument is not a literal of its parameter's type";
    TemplateParamRebound = "E0116", Error, "template parameter bound again inside its template";
    UnnamedLocalModule = "E0117", Error, "local module without a name";
    WrongArgumentCount = "E0201", Error, "wrong number of arguments";
    BadArgumentName = "E0202", Error, "unknown or duplicate argument name";
    MissingArgument = "E0203", Error, "missing argument";
    TypeMismatch = "E0204", Error, "type mismatch";
    ConditionNotBool = "E0205", Error, "condition is not a bool";
    NotCallable = "E0206", Error, "not callable";
    BadOperands = "E0207", Error, "operator not defined for these types";
    NotMockable = "E0208", Error, "not a mockable action";
    ZeroDuration = "E0209", Error, "zero duration where time must pass";
    DurationOutOfRange = "E0210", Error, "duration literal out of range";
    DurationArithmeticOutOfRange = "E0211", Error, "constant duration arithmetic out of range";
    BadPattern = "E0212", Error, "invalid regular expression";
    BadSize = "E0213", Error, "invalid size";
    PatternArity = "E0220", Error, "wrong number of argument patterns";
    PatternNeverMatches = "E0221", Error, "argument pattern can never match its parameter";
    ReturnOutsideFn = "E0222", Error, "`return` outside a `fn`";
    MixedMapKeys = "E0223", Error, "map literal mixes quoted and bare keys";
    TestWithoutRun = "E0224", Error, "test that never runs a runbook";
    UnaskableType = "E0218", Error, "approval asks for a type a person cannot give";
    ApprovalValuesMismatch = "E0219", Error, "test approval values do not match what the gate asks";
    UngatedDestructiveStep = "E0301", Error, "destructive step without an approval clause";
    UnsafeAutoApprove = "E0302", Error, "`on timeout approve` on an action that is not safe to auto-approve";
    SecretExposed = "E0303", Error, "secret interpolated or logged";
    QuorumTooLarge = "E0304", Error, "approval quorum larger than the approver group";
    ActingCondition = "E0305", Error, "a condition or setting can change something";
    UngatedDestructiveClause = "E0306", Error, "destructive action in a clause without an approval gate";
    ConstCallsAction = "E0307", Error, "constant initialiser calls an action";
    AskedWithAutoApprove = "E0308", Error, "`on timeout approve` on a gate that asks for values";
    ExternWithoutNative = "E0309", Error, "extern action with no matching native implementation";
    ZeroQuorum = "E0310", Error, "approval with no approvers";
    MissingTitle = "W0001", Warning, "missing title";
    UnusedLet = "W0002", Warning, "unused `let`";
    UnreachableAfterFail = "W0003", Warning, "unreachable code after `fail`";
    UnknownApproverGroup = "W0101", Warning, "unknown approver group";
    UnboundedBlastRadius = "W0102", Warning, "unbounded blast radius";
    NoEscalation = "W0103", Warning, "destructive runbook without `escalate`";
    UnlimitedAlertRuns = "W0104", Warning, "alert-triggered runbook without `concurrency` or `rate`";
    SqlInterpolation = "W0107", Warning, "value interpolated into SQL";
    UnreachableMock = "W0109", Warning, "mock that no call can reach";
    StepOutcomeNeverSeen = "W0108", Warning, "step outcome that is always false where it is read";
}

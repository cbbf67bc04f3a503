//! Decisions that carry values and branch: an approval gate's `ask { name: type }` fields,
//! read in the step as `approval.name`; and `step.NAME.succeeded|failed|skipped|denied`, read
//! by a later part of the runbook. Both are checked here so every rule about them sits together.

use super::checker::Checker;
use super::env::Env;
use super::Ty;
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::{suggest, Module};
use crate::syntax::*;

/// The types an approver may be asked for: each is parsed from the text the approver typed
/// (the web form, `rbk approve --value`, a test's `with { ... }`) by the same rules as
/// `rbk run --input`. A new scalar type becomes askable by adding it here and to the input
/// parser.
pub const ASKABLE_TYPES: &[&str] = &[
    "int", "float", "bool", "string", "duration", "percent", "size",
];

/// The type an asked field of type `name` has, when it may be asked.
pub fn askable_type(name: &str) -> Option<Ty> {
    if !ASKABLE_TYPES.contains(&name) {
        return None;
    }
    Some(match name {
        "int" => Ty::Int,
        "float" => Ty::Float,
        "bool" => Ty::Bool,
        "string" => Ty::Str,
        "duration" => Ty::Duration,
        "percent" => Ty::Percent,
        "size" => Ty::Size,
        _ => return None,
    })
}

/// What a later clause may know about a step it reads the outcome of.
#[derive(Clone, Debug)]
pub(super) struct StepFacts {
    pub name: String,
    /// It has a `when`, so it may be skipped.
    pub may_skip: bool,
    /// It has `on failure continue`, so the run goes on after it fails.
    pub continues_after_failure: bool,
}

/// Where in its runbook an expression is, for `step.NAME.outcome`.
#[derive(Clone, Debug, Default)]
pub(super) struct StepOrder {
    /// Steps that have ended by the time this expression is evaluated.
    pub earlier: Vec<StepFacts>,
    /// Every step of the runbook, in order.
    pub all: Vec<String>,
}

impl Checker<'_> {
    /// The asked fields of a gate with their types; reports fields that cannot be asked
    /// (E0218) and fields asked twice (E0104). Only valid fields are returned.
    pub(super) fn check_asks(&mut self, module: &Module, step: &Step) -> Vec<(String, Ty)> {
        let mut asked: Vec<(String, Ty)> = Vec::new();
        for field in asked_fields(&step.options) {
            if let Some((_, _)) = asked.iter().find(|(name, _)| name == &field.name.name) {
                self.report(
                    Diagnostic::new(
                        Code::DuplicateDefinition,
                        module.file,
                        field.name.span,
                        format!("the approval asks for `{}` twice", field.name.name),
                    )
                    .label("asked again here")
                    .help("ask for each value once: remove or rename one of them"),
                );
                continue;
            }
            let resolved = self.resolve_type(module, &field.ty);
            let Some(ty) = field.type_name().and_then(askable_type) else {
                if resolved == Ty::Unknown {
                    // An unknown type name was reported where it was resolved.
                    continue;
                }
                let written = resolved.to_string();
                self.report(
                    Diagnostic::new(
                        Code::UnaskableType,
                        module.file,
                        field.ty.span,
                        format!("an approver cannot be asked for a value of type `{written}`"),
                    )
                    .label("not a type a person can type in")
                    .help(format!(
                        "ask for one of {}; compute anything else from it in the step",
                        ASKABLE_TYPES.join(", ")
                    )),
                );
                continue;
            };
            asked.push((field.name.name.clone(), ty));
        }
        asked
    }

    /// `approval.NAME`: a value the approver of the step being checked gave.
    pub(super) fn infer_approval_value(&mut self, env: &mut Env, field: &Ident) -> Ty {
        let Some(asked) = env.asked.as_ref() else {
            let (message, help) = match env.step.as_deref() {
                Some(step) => (
                    format!("step `{step}` asks its approver for no values, so `approval.{}` has none", field.name),
                    format!("add `ask {{ {}: TYPE }}` to the step's `approval required`", field.name),
                ),
                None => (
                    format!("`approval.{}` is read outside the step whose approval asks for it", field.name),
                    "read asked values in the body of the step that asks for them; keep one for later steps with `let`".to_string(),
                ),
            };
            self.report(
                Diagnostic::new(Code::AskedValueOutOfScope, env.file, field.span, message)
                    .label("no asked value here")
                    .help(help),
            );
            return Ty::Unknown;
        };
        if let Some((_, ty)) = asked.iter().find(|(name, _)| name == &field.name) {
            return ty.clone();
        }
        let names: Vec<&str> = asked.iter().map(|(name, _)| name.as_str()).collect();
        let help = match suggest(&field.name, names.iter().copied()) {
            Some(s) => format!("did you mean `approval.{s}`?"),
            None => format!("the approval asks for: {}", names.join(", ")),
        };
        self.report(
            Diagnostic::new(
                Code::AskedValueOutOfScope,
                env.file,
                field.span,
                format!(
                    "the approval of this step does not ask for `{}`",
                    field.name
                ),
            )
            .label("not asked")
            .help(help),
        );
        Ty::Unknown
    }

    /// `step.NAME.outcome`: always a bool; NAME must be a step that ended before this is read.
    pub(super) fn infer_step_outcome(
        &mut self,
        env: &mut Env,
        step: &Ident,
        outcome: StepOutcome,
    ) -> Ty {
        let Some(order) = env.step_order.as_ref() else {
            self.report(
                Diagnostic::new(
                    Code::StepOutcomeNotYetKnown,
                    env.file,
                    step.span,
                    format!("`step.{}.{outcome}` is read outside a runbook's steps", step.name),
                )
                .label("no step has run here")
                .help("read a step's outcome in a later step, `verify` or `notify` of the same runbook"),
            );
            return Ty::Bool;
        };
        if let Some(facts) = order.earlier.iter().find(|f| f.name == step.name) {
            let never = match outcome {
                StepOutcome::Failed if !facts.continues_after_failure => Some(
                    "its failure ends the run (it has no `on failure continue`), so a later step never sees it failed",
                ),
                StepOutcome::Skipped if !facts.may_skip => {
                    Some("it has no `when`, so it is never skipped")
                }
                StepOutcome::Denied => Some(
                    "a denied step ends the run (it escalates), so a later step never sees it denied",
                ),
                _ => None,
            };
            if let Some(why) = never {
                let help = match outcome {
                    StepOutcome::Failed => format!(
                        "add `on failure continue` to step `{}` if the run should go on after it fails",
                        step.name
                    ),
                    StepOutcome::Skipped => format!(
                        "this is always false: remove it, or give step `{}` a `when`",
                        step.name
                    ),
                    _ => "this is always false: remove it (`escalate` handles a denial)".to_string(),
                };
                self.report(
                    Diagnostic::new(
                        Code::StepOutcomeNeverSeen,
                        env.file,
                        step.span,
                        format!("`step.{}.{outcome}` is always false here: {why}", step.name),
                    )
                    .label("always false")
                    .help(help),
                );
            }
            return Ty::Bool;
        }
        if order.all.iter().any(|n| n == &step.name) {
            let message = if env.step.as_deref() == Some(step.name.as_str()) {
                format!(
                    "step `{}` reads its own outcome, which is known only after it ends",
                    step.name
                )
            } else {
                format!(
                    "step `{}` has not run yet where its outcome is read",
                    step.name
                )
            };
            self.report(
                Diagnostic::new(Code::StepOutcomeNotYetKnown, env.file, step.span, message)
                    .label("not ended yet")
                    .help("read a step's outcome only after it: in a later step, `verify` or `notify`"),
            );
            return Ty::Bool;
        }
        self.report(unknown_step(env.file, step.span, &step.name, &order.all));
        Ty::Bool
    }

    /// `approve STEP with { ... }` in a test: every given field is asked, with a value of the
    /// asked type. A missing value fails the test when it runs, saying which.
    pub(super) fn check_test_approval_values(
        &mut self,
        env: &mut Env,
        module: &Module,
        step: Option<&Step>,
        values: &Expr,
    ) {
        let asked = match step {
            Some(step) => self.check_asks_quietly(step),
            None => Vec::new(),
        };
        let ExprKind::Record(fields) = &values.kind else {
            self.check_expr(env, values, None);
            return;
        };
        for field in fields {
            let (name, span) = match &field.key {
                RecordKey::Name(ident) => (ident.name.clone(), ident.span),
                RecordKey::Str(lit) => (lit.value.clone(), lit.span),
            };
            match asked.iter().find(|(asked, _)| asked == &name) {
                Some((_, ty)) => {
                    let given = self.check_expr(env, &field.value, Some(ty));
                    if !super::ty::assignable(&given, ty) {
                        self.report(
                            Diagnostic::new(
                                Code::ApprovalValuesMismatch,
                                module.file,
                                field.value.span,
                                format!("the approval asks for `{name}` as `{ty}`, and this is `{given}`"),
                            )
                            .label(format!("expected `{ty}`"))
                            .help(format!("give `{name}` a value of type `{ty}`")),
                        );
                    }
                }
                None => {
                    self.check_expr(env, &field.value, None);
                    let step_name = step.map_or("this step".to_string(), |s| {
                        format!("step `{}`", s.name.name)
                    });
                    let help = if asked.is_empty() {
                        format!("{step_name} asks for no values: remove `with {{ ... }}`")
                    } else {
                        let names: Vec<&str> = asked.iter().map(|(n, _)| n.as_str()).collect();
                        format!("{step_name} asks for: {}", names.join(", "))
                    };
                    self.report(
                        Diagnostic::new(
                            Code::ApprovalValuesMismatch,
                            module.file,
                            span,
                            format!("the approval of {step_name} does not ask for `{name}`"),
                        )
                        .label("not asked")
                        .help(help),
                    );
                }
            }
        }
    }

    /// The valid asked fields of `step`, without reporting (the runbook's check reports them).
    fn check_asks_quietly(&mut self, step: &Step) -> Vec<(String, Ty)> {
        let mut asked: Vec<(String, Ty)> = Vec::new();
        for field in asked_fields(&step.options) {
            if asked.iter().any(|(name, _)| name == &field.name.name) {
                continue;
            }
            if let Some(ty) = field.type_name().and_then(askable_type) {
                asked.push((field.name.name.clone(), ty));
            }
        }
        asked
    }
}

/// The steps `condition` proves succeeded when it is true: `step.a.succeeded`, alone or as a
/// conjunct of `and`. Reading their `let`s is then safe (definite assignment, E0108).
pub(super) fn proven_succeeded(condition: &Expr) -> Vec<String> {
    match &condition.kind {
        ExprKind::StepOutcome {
            step,
            outcome: StepOutcome::Succeeded,
        } => vec![step.name.clone()],
        ExprKind::Binary(BinaryOp::And, lhs, rhs) => {
            let mut steps = proven_succeeded(lhs);
            steps.extend(proven_succeeded(rhs));
            steps
        }
        _ => Vec::new(),
    }
}

/// What a later clause may know about `step`.
pub(super) fn step_facts(step: &Step) -> StepFacts {
    StepFacts {
        name: step.name.name.clone(),
        may_skip: step.when.is_some(),
        continues_after_failure: step
            .options
            .iter()
            .any(|o| matches!(o.kind, StepOptionKind::OnFailure(FailureMode::Continue))),
    }
}

/// A step name that no step of the runbook has, in `step.NAME.outcome` or in a test's
/// `approve`/`expect step`; the help names the closest of `steps` or lists them all.
pub(super) fn unknown_step(
    file: crate::FileId,
    span: Span,
    name: &str,
    steps: &[String],
) -> Diagnostic {
    let help = match suggest(name, steps.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("the runbook's steps are: {}", steps.join(", ")),
    };
    Diagnostic::new(
        Code::UnknownStep,
        file,
        span,
        format!("the runbook has no step `{name}`"),
    )
    .label("unknown step")
    .help(help)
}

//! The syntax tree. Every node carries the byte span it was parsed from, so every later phase
//! can point a diagnostic at the exact text.

use std::fmt;

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
    pub fn len(self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
    pub fn contains(self, offset: usize) -> bool {
        self.start <= offset && offset <= self.end
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal without interpolation (titles, reasons, group names).
#[derive(Clone, Debug, PartialEq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct SourceFile {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug)]
pub struct Item {
    pub doc: Option<String>,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ItemKind {
    Use(UseItem),
    Runbook(Runbook),
    /// `template NAME(PARAMS) { clauses }`: a runbook with parameters, run only through its
    /// instances.
    Template(Template),
    /// `runbook NAME = TEMPLATE(ARGS)`: one service's runbook made from a template. Analysis
    /// replaces it by the runbook it stands for (`crate::templates`).
    Instance(Instance),
    Fn(FnItem),
    Const(ConstItem),
    Test(TestItem),
    Extern(ExternItem),
    Type(TypeItem),
}

#[derive(Clone, Debug)]
pub struct UseItem {
    pub target: UseTarget,
    pub alias: Option<Ident>,
}

#[derive(Clone, Debug)]
pub enum UseTarget {
    /// `use std.postgres`: the segments after `std`, with the span of the whole path.
    Std { path: Vec<Ident>, span: Span },
    /// `use "./x.rbk"`.
    Local(StrLit),
}

impl UseItem {
    /// The name the module is known by in this file.
    pub fn binding(&self) -> Option<&Ident> {
        if let Some(alias) = &self.alias {
            return Some(alias);
        }
        match &self.target {
            UseTarget::Std { path, .. } => path.last(),
            UseTarget::Local(_) => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Runbook {
    pub name: Ident,
    pub clauses: Vec<Clause>,
    /// For a runbook made from a template (`runbook NAME = TEMPLATE(ARGS)`): which, and with
    /// what. Its clauses are the template's, with spans in the template's text.
    pub template: Option<TemplateOrigin>,
}

#[derive(Clone, Debug)]
pub struct TemplateOrigin {
    /// The template's name, as the instance writes it.
    pub name: Ident,
    /// Every parameter with its value as written (defaults included), in declaration order.
    pub arguments: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct Template {
    pub name: Ident,
    pub params: Vec<Param>,
    pub clauses: Vec<Clause>,
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub name: Ident,
    pub template: Ident,
    pub args: Vec<Arg>,
    /// The span of `(ARGS)`.
    pub args_span: Span,
}

#[derive(Clone, Debug)]
pub struct Clause {
    pub kind: ClauseKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ClauseKind {
    Title(StrLit),
    Owner(StrLit),
    Trigger(Trigger),
    Input(Vec<InputField>),
    Concurrency {
        limit: Expr,
        per: Option<Expr>,
    },
    Rate {
        limit: Expr,
        window: Expr,
        by: Option<Expr>,
    },
    Timeout(Expr),
    Escalate(Expr),
    Step(Step),
    Notify(Expr),
    /// `mode shadow` / `mode live`.
    Mode(RunMode),
}

/// Whether alert- and schedule-started runs act (`live`, the default) or only report what
/// they would do (`shadow`: write and destructive actions are withheld, as with `--dry-run`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RunMode {
    #[default]
    Live,
    Shadow,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Live => "live",
            RunMode::Shadow => "shadow",
        }
    }
}

impl fmt::Display for RunMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The runbook's `mode` clause (the first, if it has several), else `live`.
/// `if a {} else if b {} else {}` is `if a {} else { if b {} else {} }`: the `else` body of
/// an `if` whose `else if` branches (condition, body, span from its `else`) were read in
/// order. Each nested `if` spans from its `else` to the end of what it holds. Both parsers
/// build the tree through this, so their trees agree.
pub fn nest_else_ifs(
    branches: Vec<(Expr, Vec<Stmt>, Span)>,
    mut else_body: Option<Vec<Stmt>>,
) -> Option<Vec<Stmt>> {
    for (cond, then_body, branch_span) in branches.into_iter().rev() {
        let end = else_body
            .as_ref()
            .and_then(|body| body.last())
            .map_or(branch_span.end, |last| last.span.end);
        let nested = Stmt {
            kind: StmtKind::If {
                cond,
                then_body,
                else_body,
            },
            span: Span::new(branch_span.start, end.max(branch_span.end)),
        };
        else_body = Some(vec![nested]);
    }
    else_body
}

pub fn runbook_mode(runbook: &Runbook) -> RunMode {
    runbook
        .clauses
        .iter()
        .find_map(|c| match c.kind {
            ClauseKind::Mode(mode) => Some(mode),
            _ => None,
        })
        .unwrap_or_default()
}

#[derive(Clone, Debug)]
pub enum Trigger {
    Alert { name: StrLit, filter: Option<Expr> },
    Schedule(StrLit),
    Manual,
}

#[derive(Clone, Debug)]
pub struct InputField {
    pub doc: Option<String>,
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    Step,
    Verify,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub kind: StepKind,
    pub doc: Option<String>,
    pub name: Ident,
    pub title: Option<Expr>,
    pub when: Option<Expr>,
    pub options: Vec<StepOption>,
    pub body: Vec<Stmt>,
    /// The span of `{ ... }`.
    pub body_span: Span,
}

#[derive(Clone, Debug)]
pub struct StepOption {
    pub kind: StepOptionKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutOutcome {
    Deny,
    Approve,
    Escalate,
}

impl fmt::Display for TimeoutOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutOutcome::Deny => "deny",
            TimeoutOutcome::Approve => "approve",
            TimeoutOutcome::Escalate => "escalate",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureMode {
    Continue,
    Abort,
}

#[derive(Clone, Debug)]
pub enum StepOptionKind {
    ApprovalRequired {
        quorum: Option<(u32, Span)>,
        group: Option<StrLit>,
        timeout: Option<Expr>,
        on_timeout: Option<(TimeoutOutcome, Span)>,
        reason: Option<StrLit>,
        /// `ask { name: type, ... }`: values the approver gives; empty when the gate asks none.
        ask: Vec<AskedField>,
    },
    ApprovalNone {
        reason: StrLit,
    },
    Retry {
        attempts: u32,
        every: Option<Expr>,
        exponential: bool,
    },
    Timeout(Expr),
    OnFailure(FailureMode),
}

/// One value an approval gate asks its approver for: `new_size: int`.
#[derive(Clone, Debug)]
pub struct AskedField {
    pub name: Ident,
    pub ty: TypeExpr,
}

impl AskedField {
    /// The type as written when it is a plain name (`int`, `duration`): what the approver's
    /// text is parsed as. `None` for any other type (a list, a record, `pg.Database`).
    pub fn type_name(&self) -> Option<&str> {
        match &self.ty.kind {
            TypeExprKind::Named { module: None, name } => Some(&name.name),
            _ => None,
        }
    }
}

/// The gate's asked fields, when `options` has `approval required ... ask { ... }`.
pub fn asked_fields(options: &[StepOption]) -> &[AskedField] {
    options
        .iter()
        .find_map(|o| match &o.kind {
            StepOptionKind::ApprovalRequired { ask, .. } => Some(ask.as_slice()),
            _ => None,
        })
        .unwrap_or(&[])
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum StmtKind {
    Let {
        name: Ident,
        ty: Option<TypeExpr>,
        value: Expr,
    },
    If {
        cond: Expr,
        then_body: Vec<Stmt>,
        else_body: Option<Vec<Stmt>>,
    },
    For {
        var: Ident,
        iter: Expr,
        body: Vec<Stmt>,
    },
    Expect {
        cond: Expr,
        within: Option<Expr>,
        every: Option<Expr>,
        message: Option<Expr>,
    },
    Fail(Expr),
    Log(Expr),
    Return(Expr),
    Expr(Expr),
}

#[derive(Clone, Debug)]
pub struct FnItem {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub body: Vec<Stmt>,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
}

#[derive(Clone, Debug)]
pub struct ConstItem {
    pub name: Ident,
    pub ty: TypeExpr,
    pub value: Expr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effect {
    Pure,
    Read,
    Write,
    Destructive,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Pure => "pure",
            Effect::Read => "read",
            Effect::Write => "write",
            Effect::Destructive => "destructive",
        })
    }
}

#[derive(Clone, Debug)]
pub struct ExternItem {
    pub name: Ident,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub effect: Effect,
    pub safe_to_auto_approve: bool,
}

#[derive(Clone, Debug)]
pub struct TypeItem {
    pub name: Ident,
    /// `None` for an opaque handle type.
    pub fields: Option<Vec<(Ident, TypeExpr)>>,
}

#[derive(Clone, Debug)]
pub struct TestItem {
    pub name: StrLit,
    pub body: Vec<TestStmt>,
}

#[derive(Clone, Debug)]
pub struct TestStmt {
    pub kind: TestStmtKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    Succeeded,
    Failed,
    Skipped,
    Denied,
}

impl fmt::Display for StepOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StepOutcome::Succeeded => "succeeded",
            StepOutcome::Failed => "failed",
            StepOutcome::Skipped => "skipped",
            StepOutcome::Denied => "denied",
        })
    }
}

/// What a test's alert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerOutcome {
    /// It started a run.
    Triggered,
    /// It arrived while a run of its `concurrency … per` key was active, and joined that run.
    Coalesced,
    /// Its `rate … by` key had started as many runs as the window allows.
    Suppressed,
}

impl fmt::Display for TriggerOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TriggerOutcome::Triggered => "triggered",
            TriggerOutcome::Coalesced => "coalesced",
            TriggerOutcome::Suppressed => "suppressed",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetKind {
    Env,
    Secret,
}

#[derive(Clone, Debug)]
pub enum MockOutcome {
    Returns(Expr),
    Fails(Expr),
}

#[derive(Clone, Debug)]
pub enum TestStmtKind {
    Mock {
        target: Path,
        /// `(p) where ...`: only calls that match take this mock.
        pattern: Option<CallPattern>,
        outcome: MockOutcome,
    },
    Set {
        kind: SetKind,
        name: Ident,
        value: Expr,
    },
    Approve {
        step: Ident,
        as_user: Option<StrLit>,
        /// `with { new_size: 5 }`: the values the gate asks for.
        values: Option<Expr>,
    },
    Deny {
        step: Ident,
        as_user: Option<StrLit>,
    },
    Run {
        runbook: Ident,
        inputs: Option<Expr>,
        alert: Option<Expr>,
        /// `alerts [{...}, {...}]`: several alerts delivered at once.
        alerts: Vec<Expr>,
    },
    ExpectStep {
        step: Ident,
        outcome: StepOutcome,
    },
    ExpectEscalated {
        negated: bool,
    },
    /// `expect [not] triggered|coalesced|suppressed [times N]`.
    ExpectTrigger {
        negated: bool,
        outcome: TriggerOutcome,
        times: Option<(u64, Span)>,
    },
    ExpectCalled {
        negated: bool,
        target: Path,
        /// `(p) where ...`: only calls that match are counted.
        pattern: Option<CallPattern>,
        times: Option<(u64, Span)>,
    },
    Expect(Expr),
    Let {
        name: Ident,
        ty: Option<TypeExpr>,
        value: Expr,
    },
}

/// `(p, "x", [a, ..]) where COND` after the action of a `mock` or `expect called`: which calls
/// it applies to. Patterns match the call's arguments positionally, in declaration order.
#[derive(Clone, Debug)]
pub struct CallPattern {
    pub args: Vec<ArgPattern>,
    /// The parentheses and what is between them.
    pub args_span: Span,
    /// The `where` condition over the names the patterns bind.
    pub guard: Option<Expr>,
    /// From `(` to the end of the `where` condition.
    pub span: Span,
}

impl CallPattern {
    /// Matches every call: no literal, no list shape, no `where`.
    pub fn is_catch_all(&self) -> bool {
        self.guard.is_none() && self.args.iter().all(ArgPattern::matches_anything)
    }

    /// The expressions inside: literal patterns, then the `where` condition.
    pub fn exprs(&self) -> Vec<&Expr> {
        let mut out = self.literals();
        out.extend(&self.guard);
        out
    }

    /// The literal patterns, in written order.
    pub fn literals(&self) -> Vec<&Expr> {
        fn values<'a>(pattern: &'a ArgPattern, out: &mut Vec<&'a Expr>) {
            match &pattern.kind {
                ArgPatternKind::Value(e) => out.push(e),
                ArgPatternKind::List { elements, .. } => {
                    elements.iter().for_each(|e| values(e, out))
                }
                ArgPatternKind::Any | ArgPatternKind::Bind(_) => {}
            }
        }
        let mut out = Vec::new();
        self.args.iter().for_each(|a| values(a, &mut out));
        out
    }

    /// The names the patterns bind, in order (`_` binds nothing).
    pub fn bindings(&self) -> Vec<&Ident> {
        let mut names = Vec::new();
        for arg in &self.args {
            arg.collect_bindings(&mut names);
        }
        names
    }
}

#[derive(Clone, Debug)]
pub struct ArgPattern {
    pub kind: ArgPatternKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ArgPatternKind {
    /// `_`: any value.
    Any,
    /// `p`: any value, named for the `where`.
    Bind(Ident),
    /// A literal: an equal value.
    Value(Expr),
    /// `[a, "get", ..]`: a list whose first elements match, and with `rest` (`..`) any more.
    List {
        elements: Vec<ArgPattern>,
        rest: bool,
    },
}

impl ArgPattern {
    pub fn matches_anything(&self) -> bool {
        matches!(self.kind, ArgPatternKind::Any | ArgPatternKind::Bind(_))
    }

    fn collect_bindings<'a>(&'a self, names: &mut Vec<&'a Ident>) {
        match &self.kind {
            ArgPatternKind::Bind(name) => names.push(name),
            ArgPatternKind::List { elements, .. } => {
                for element in elements {
                    element.collect_bindings(names);
                }
            }
            ArgPatternKind::Any | ArgPatternKind::Value(_) => {}
        }
    }
}

/// A dotted name such as `pg.terminate`.
#[derive(Clone, Debug)]
pub struct Path {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.segments.iter().map(|s| s.name.as_str()).collect();
        f.write_str(&names.join("."))
    }
}

#[derive(Clone, Debug)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TypeExprKind {
    Named { module: Option<Ident>, name: Ident },
    List(Box<TypeExpr>),
    Map(Box<TypeExpr>, Box<TypeExpr>),
    Record(Vec<(Ident, TypeExpr)>),
    Optional(Box<TypeExpr>),
}

/// Identifies an expression within its file, for the checker's side tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExprId(pub u32);

#[derive(Clone, Debug)]
pub struct Expr {
    pub id: ExprId,
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Coalesce,
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Coalesce => "??",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }
}

#[derive(Clone, Debug)]
pub enum StrPart {
    Text(String),
    Interpolation(Expr),
}

#[derive(Clone, Debug)]
pub enum RecordKey {
    Name(Ident),
    Str(StrLit),
}

#[derive(Clone, Debug)]
pub struct RecordField {
    pub key: RecordKey,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    /// Milliseconds.
    Duration(u64),
    /// Percentage points: `70%` is `70.0`.
    Percent(f64),
    Str(Vec<StrPart>),
    List(Vec<Expr>),
    Record(Vec<RecordField>),
    Name(Ident),
    Field(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
    },
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Lambda {
        params: Vec<Ident>,
        body: Box<Expr>,
    },
    /// `step.check.failed`: whether an earlier step of the run ended that way.
    StepOutcome {
        step: Ident,
        outcome: StepOutcome,
    },
    /// `approval.new_size`: a value the approver of the current step gave.
    ApprovalValue(Ident),
}

impl Expr {
    /// `a.b.c` as a path, when the expression is only names and fields.
    pub fn as_path(&self) -> Option<Vec<&Ident>> {
        match &self.kind {
            ExprKind::Name(ident) => Some(vec![ident]),
            ExprKind::Field(base, field) => {
                let mut path = base.as_path()?;
                path.push(field);
                Some(path)
            }
            _ => None,
        }
    }

    /// The literal text of a string without interpolation.
    pub fn as_plain_str(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Str(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        StrPart::Text(text) => out.push_str(text),
                        StrPart::Interpolation(_) => return None,
                    }
                }
                Some(out)
            }
            _ => None,
        }
    }
}

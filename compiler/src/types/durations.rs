//! Durations the checker can compute: constant duration arithmetic must stay in range (E0211),
//! and a wait, poll, retry, timeout or window must not be zero (E0209).
//!
//! A duration is a whole number of milliseconds between 0 and `i64::MAX` (about 292 million
//! years), so that adding one to a `time` is exact. Literals beyond that are reported by the
//! parser (E0210). Here every expression built only from literals is folded, children before
//! parents from a flat list (no recursion, so a long chain costs linear time), and a result
//! outside the range is reported once, where it first leaves it: the interpreter would fail
//! the run there (it never saturates), so the checker says so before anything runs.

use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::Module;
use crate::syntax::visit::{walk_expr, walk_step, walk_stmts};
use crate::syntax::{
    BinaryOp, CallPattern, ClauseKind, Expr, ExprId, ExprKind, ItemKind, MockOutcome, Span,
    StepOptionKind, Stmt, StmtKind, TestStmtKind, Trigger, UnaryOp,
};
use crate::FileId;

/// The longest duration, in milliseconds.
pub const MAX_DURATION_MS: i128 = i64::MAX as i128;

/// The constant value of an expression made of literals.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Folded {
    Ms(i128),
    Int(i128),
    Float(f64),
    /// Out of range, and already reported: nothing built on it is reported again.
    Poisoned,
}

pub fn check(modules: &[Module], diagnostics: &mut Vec<Diagnostic>) {
    for module in modules {
        let folded = fold_module(module, diagnostics);
        check_waits(module, &folded, diagnostics);
    }
}

/// Every expression of a module, each parent before its children (a pre-order walk).
fn all_exprs(module: &Module) -> Vec<&Expr> {
    let mut roots: Vec<&Expr> = Vec::new();
    let mut all: Vec<&Expr> = Vec::new();
    for item in &module.ast.items {
        match &item.kind {
            ItemKind::Fn(function) => {
                roots.extend(function.params.iter().filter_map(|p| p.default.as_ref()));
                walk_stmts(&function.body, &mut |e| all.push(e));
            }
            ItemKind::Extern(external) => {
                roots.extend(external.params.iter().filter_map(|p| p.default.as_ref()))
            }
            ItemKind::Const(constant) => roots.push(&constant.value),
            ItemKind::Runbook(runbook) => {
                for clause in &runbook.clauses {
                    match &clause.kind {
                        ClauseKind::Trigger(Trigger::Alert {
                            filter: Some(filter),
                            ..
                        }) => roots.push(filter),
                        ClauseKind::Input(fields) => {
                            roots.extend(fields.iter().filter_map(|f| f.default.as_ref()))
                        }
                        ClauseKind::Concurrency { limit, per } => {
                            roots.push(limit);
                            roots.extend(per);
                        }
                        ClauseKind::Rate { limit, window, by } => {
                            roots.extend([limit, window]);
                            roots.extend(by);
                        }
                        ClauseKind::Timeout(e)
                        | ClauseKind::Escalate(e)
                        | ClauseKind::Notify(e) => roots.push(e),
                        ClauseKind::Step(step) => walk_step(step, &mut |e| all.push(e)),
                        _ => {}
                    }
                }
            }
            // Checked through their instances, which are runbooks by now.
            ItemKind::Template(_) | ItemKind::Instance(_) => {}
            ItemKind::Test(test) => {
                for stmt in &test.body {
                    match &stmt.kind {
                        TestStmtKind::Mock {
                            pattern, outcome, ..
                        } => {
                            roots.extend(pattern.iter().flat_map(CallPattern::exprs));
                            match outcome {
                                MockOutcome::Returns(e) | MockOutcome::Fails(e) => roots.push(e),
                            }
                        }
                        TestStmtKind::ExpectCalled { pattern, .. } => {
                            roots.extend(pattern.iter().flat_map(CallPattern::exprs))
                        }
                        TestStmtKind::Set { value, .. } | TestStmtKind::Let { value, .. } => {
                            roots.push(value)
                        }
                        TestStmtKind::Run {
                            inputs,
                            alert,
                            alerts,
                            ..
                        } => roots.extend(inputs.iter().chain(alert).chain(alerts)),
                        TestStmtKind::Expect(e) => roots.push(e),
                        _ => {}
                    }
                }
            }
            ItemKind::Use(_) | ItemKind::Type(_) => {}
        }
    }
    for root in roots {
        walk_expr(root, &mut |e| all.push(e));
    }
    all
}

/// The folded value of each constant expression of a module, by expression id (dense within
/// a module, so a vector is the table).
#[derive(Default)]
struct FoldedValues(Vec<Option<Folded>>);

impl FoldedValues {
    fn get(&self, id: &ExprId) -> Option<&Folded> {
        self.0.get(id.0 as usize).and_then(Option::as_ref)
    }

    fn insert(&mut self, id: ExprId, value: Folded) {
        let index = id.0 as usize;
        if self.0.len() <= index {
            self.0.resize(index + 1, None);
        }
        self.0[index] = Some(value);
    }
}

/// Folds every constant node of a module, children first, and reports where a duration leaves
/// the range.
fn fold_module(module: &Module, diagnostics: &mut Vec<Diagnostic>) -> FoldedValues {
    let mut folded = FoldedValues::default();
    // Pre-order puts every child after its parent: reversed, children come first.
    for expr in all_exprs(module).into_iter().rev() {
        let value = match &expr.kind {
            ExprKind::Duration(ms) => Some(if i128::from(*ms) > MAX_DURATION_MS {
                Folded::Poisoned
            } else {
                Folded::Ms(i128::from(*ms))
            }),
            ExprKind::Int(i) => Some(Folded::Int(i128::from(*i))),
            ExprKind::Float(x) => Some(Folded::Float(*x)),
            ExprKind::Unary(UnaryOp::Neg, operand) => match folded.get(&operand.id) {
                Some(Folded::Ms(ms)) => Some(Folded::Ms(-ms)),
                Some(Folded::Int(i)) => Some(Folded::Int(-i)),
                Some(Folded::Float(x)) => Some(Folded::Float(-x)),
                Some(Folded::Poisoned) => Some(Folded::Poisoned),
                None => None,
            },
            ExprKind::Binary(op, lhs, rhs) => {
                match (folded.get(&lhs.id).copied(), folded.get(&rhs.id).copied()) {
                    (Some(a), Some(b)) => binary(*op, a, b),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(mut value) = value else { continue };
        if let Folded::Ms(ms) = value {
            if !(0..=MAX_DURATION_MS).contains(&ms) {
                diagnostics.push(out_of_range(module, expr, ms));
                value = Folded::Poisoned;
            }
        }
        folded.insert(expr.id, value);
    }
    folded
}

fn binary(op: BinaryOp, a: Folded, b: Folded) -> Option<Folded> {
    use Folded::*;
    let scaled = |ms: i128, factor: f64| {
        let result = ms as f64 * factor;
        // Beyond the range (or not a number) it is out of range whatever the rounding.
        if result.is_finite() && result.abs() <= MAX_DURATION_MS as f64 * 2.0 {
            Some(Ms(result as i128))
        } else {
            Some(Ms(if result < 0.0 {
                -1
            } else {
                MAX_DURATION_MS + 1
            }))
        }
    };
    match (op, a, b) {
        (_, Poisoned, _) | (_, _, Poisoned) => Some(Poisoned),
        (BinaryOp::Add, Ms(x), Ms(y)) => Some(Ms(x + y)),
        (BinaryOp::Sub, Ms(x), Ms(y)) => Some(Ms(x - y)),
        (BinaryOp::Mul, Ms(x), Int(n)) | (BinaryOp::Mul, Int(n), Ms(x)) => {
            x.checked_mul(n).map(Ms).or(Some(Ms(MAX_DURATION_MS + 1)))
        }
        (BinaryOp::Mul, Ms(x), Float(f)) | (BinaryOp::Mul, Float(f), Ms(x)) => scaled(x, f),
        (BinaryOp::Div, Ms(x), Int(n)) if n != 0 => Some(Ms(x / n)),
        (BinaryOp::Div, Ms(x), Float(f)) if f != 0.0 => scaled(x, 1.0 / f),
        (BinaryOp::Add, Int(x), Int(y)) => x.checked_add(y).map(Int),
        (BinaryOp::Sub, Int(x), Int(y)) => x.checked_sub(y).map(Int),
        (BinaryOp::Mul, Int(x), Int(y)) => x.checked_mul(y).map(Int),
        _ => None,
    }
}

/// E0211: fires when constant duration arithmetic comes out negative or longer than the
/// longest duration (`ms`, in milliseconds).
fn out_of_range(module: &Module, expr: &Expr, ms: i128) -> Diagnostic {
    let (what, help) = if ms < 0 {
        (
            "is negative",
            "a duration cannot be negative: swap the operands, or compare the durations instead of subtracting them",
        )
    } else {
        (
            "is longer than the longest duration (about 292 million years)",
            "use a shorter duration or a smaller factor",
        )
    };
    Diagnostic::new(
        Code::DurationArithmeticOutOfRange,
        module.file,
        expr.span,
        format!("this duration {what}"),
    )
    .label("duration out of range")
    .help(help)
}

/// E0209: fires when a duration that says how long to wait (`what`) is zero; `consequence`
/// says what a zero would do.
fn zero_duration(file: FileId, span: Span, what: &str, consequence: &str) -> Diagnostic {
    Diagnostic::new(Code::ZeroDuration, file, span, format!("{what} is zero"))
        .label(consequence.to_string())
        .help("give a positive duration, such as `5s`; leave the clause out to use the default")
}

/// E0209: the durations that say how long to wait, poll, retry or allow must not be zero.
fn check_waits(module: &Module, folded: &FoldedValues, out: &mut Vec<Diagnostic>) {
    let mut report = |expr: &Expr, what: &str, consequence: &str| {
        if folded.get(&expr.id) == Some(&Folded::Ms(0)) {
            out.push(zero_duration(module.file, expr.span, what, consequence));
        }
    };
    for item in &module.ast.items {
        match &item.kind {
            ItemKind::Fn(function) => check_expects(&function.body, &mut report),
            ItemKind::Runbook(runbook) => {
                for clause in &runbook.clauses {
                    match &clause.kind {
                        ClauseKind::Rate { window, .. } => report(
                            window,
                            "the `rate` window",
                            "a window of no time limits nothing",
                        ),
                        ClauseKind::Timeout(limit) => report(
                            limit,
                            "the run's `timeout`",
                            "the run would time out before it starts",
                        ),
                        ClauseKind::Step(step) => {
                            for option in &step.options {
                                match &option.kind {
                                    StepOptionKind::ApprovalRequired {
                                        timeout: Some(limit),
                                        ..
                                    } => report(
                                        limit,
                                        "the approval `timeout`",
                                        "times out before anyone can answer",
                                    ),
                                    StepOptionKind::Retry {
                                        every: Some(every), ..
                                    } => report(
                                        every,
                                        "`retry ... every`",
                                        "would retry without pausing",
                                    ),
                                    StepOptionKind::Timeout(limit) => report(
                                        limit,
                                        "the step's `timeout`",
                                        "the step would time out before it starts",
                                    ),
                                    _ => {}
                                }
                            }
                            check_expects(&step.body, &mut report);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// E0209 for `expect ... within D every D` anywhere in a block, nested blocks included.
fn check_expects(stmts: &[Stmt], report: &mut impl FnMut(&Expr, &str, &str)) {
    let mut pending = vec![stmts];
    while let Some(block) = pending.pop() {
        for stmt in block {
            match &stmt.kind {
                StmtKind::Expect { within, every, .. } => {
                    if let Some(within) = within {
                        report(within, "`within`", "the expectation gets no time to hold");
                    }
                    if let Some(every) = every {
                        report(every, "`every`", "would poll again without pausing");
                    }
                }
                StmtKind::If {
                    then_body,
                    else_body,
                    ..
                } => {
                    pending.push(then_body);
                    pending.extend(else_body.as_deref());
                }
                StmtKind::For { body, .. } => pending.push(body),
                _ => {}
            }
        }
    }
}

//! E0305, E0306: the clauses of a runbook that run where no approval gate stands.
//!
//! A step's approval gate is asked after the step's `when` condition (and its title and
//! options) are evaluated, and runbook-level clauses (the trigger filter, `concurrency`,
//! `rate`, `timeout`) are evaluated before any step: none of them sits behind a gate. So they
//! may only look: reaching a `write` or `destructive` action there is E0305. Input defaults,
//! `notify` and `escalate` do act (a default may connect, a notification posts), but a gate
//! has nowhere to stand in them: a `write` is allowed, a `destructive` action is E0306.

use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic};
use crate::effects::ActionUse;
use crate::syntax::{ClauseKind, Effect, Expr, Span, Step, StepOptionKind, Trigger};
use crate::FileId;

pub struct GatelessClauses;

impl Lint for GatelessClauses {
    fn codes(&self) -> &'static [Code] {
        &[Code::ActingCondition, Code::UngatedDestructiveClause]
    }

    fn check(&self, cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
        let file = facts.module.file;
        let actions_of = |expr: &Expr| {
            cx.effects
                .expr_actions(cx.modules, cx.types, facts.module.id, expr)
        };
        let mut only_looks = |what: &str, expr: &Expr| {
            let actions = actions_of(expr);
            let Some(first) = strongest_at_least(&actions, Effect::Write) else {
                return;
            };
            out.push(acting_condition(file, expr.span, what, first));
        };
        for clause in &facts.runbook.clauses {
            match &clause.kind {
                ClauseKind::Trigger(Trigger::Alert {
                    filter: Some(filter),
                    ..
                }) => only_looks("the trigger's `where` filter", filter),
                ClauseKind::Concurrency { limit, per } => {
                    only_looks("the `concurrency` limit", limit);
                    if let Some(key) = per {
                        only_looks("the `concurrency ... per` key", key);
                    }
                }
                ClauseKind::Rate { limit, window, by } => {
                    only_looks("the `rate` limit", limit);
                    only_looks("the `rate` window", window);
                    if let Some(key) = by {
                        only_looks("the `rate ... by` key", key);
                    }
                }
                ClauseKind::Timeout(limit) => only_looks("the run's `timeout`", limit),
                ClauseKind::Step(step) => {
                    for (what, expr) in step_settings(step) {
                        only_looks(&what, expr);
                    }
                }
                _ => {}
            }
        }
        let mut no_gate = |what: String, expr: &Expr| {
            let actions = actions_of(expr);
            let Some(first) = strongest_at_least(&actions, Effect::Destructive) else {
                return;
            };
            out.push(ungated_destructive_clause(file, expr.span, &what, first));
        };
        for clause in &facts.runbook.clauses {
            match &clause.kind {
                ClauseKind::Input(fields) => {
                    for field in fields {
                        if let Some(default) = &field.default {
                            no_gate(
                                format!("the default of input `{}`", field.name.name),
                                default,
                            );
                        }
                    }
                }
                ClauseKind::Notify(call) => no_gate("`notify`".into(), call),
                ClauseKind::Escalate(call) => no_gate("`escalate`".into(), call),
                _ => {}
            }
        }
    }
}

/// The expressions of a step that are evaluated as settings rather than as its work: the
/// condition and title (before the gate) and the options' durations.
pub fn step_settings(step: &Step) -> Vec<(String, &Expr)> {
    let name = &step.name.name;
    let mut settings = Vec::new();
    if let Some(when) = &step.when {
        settings.push((format!("the `when` condition of step `{name}`"), when));
    }
    if let Some(title) = &step.title {
        settings.push((format!("the title of step `{name}`"), title));
    }
    for option in &step.options {
        let expr = match &option.kind {
            StepOptionKind::ApprovalRequired {
                timeout: Some(e), ..
            }
            | StepOptionKind::Retry { every: Some(e), .. }
            | StepOptionKind::Timeout(e) => e,
            _ => continue,
        };
        settings.push((format!("an option of step `{name}`"), expr));
    }
    settings
}

/// The first action of the strongest effect, when that effect is at least `floor`.
fn strongest_at_least(actions: &[ActionUse], floor: Effect) -> Option<&ActionUse> {
    let strongest = actions.iter().map(|a| a.effect).max()?;
    if strongest < floor {
        return None;
    }
    actions.iter().find(|a| a.effect == strongest)
}

fn via(action: &ActionUse) -> String {
    action
        .via
        .as_ref()
        .map(|f| format!(" (through `{f}`)"))
        .unwrap_or_default()
}

/// E0305: fires when a condition or setting (`what`) evaluated before any gate calls an action
/// that can change something (`first`).
fn acting_condition(file: FileId, span: Span, what: &str, first: &ActionUse) -> Diagnostic {
    Diagnostic::new(
        Code::ActingCondition,
        file,
        span,
        format!("{what} can change something: `{}` is {}", first.name, first.effect),
    )
    .label(format!("evaluated before any approval gate{}", via(first)))
    .with_secondary(first.call_span, format!("`{}` is {}", first.name, first.effect))
    .help("conditions, filters, limits and titles may only call `read` actions; move the action into a step body, behind the step's `approval` clause")
}

/// E0306: fires when a clause no gate can guard (`what`: an input default, `escalate`,
/// `notify`) can take a destructive action (`first`).
fn ungated_destructive_clause(
    file: FileId,
    span: Span,
    what: &str,
    first: &ActionUse,
) -> Diagnostic {
    Diagnostic::new(
        Code::UngatedDestructiveClause,
        file,
        span,
        format!("{what} can take a destructive action, and no approval gate can stand there"),
    )
    .label(format!("runs without an approval gate{}", via(first)))
    .with_secondary(first.call_span, format!("`{}` is destructive", first.name))
    .help("move the destructive action into a step with an `approval` clause; here only `read` and `write` actions are allowed")
}

use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic};
use crate::effects::strongest;
use crate::syntax::{ClauseKind, Effect, Span, Trigger};
use crate::FileId;

/// W0104: an alert-triggered runbook that changes things, with nothing to stop an alert storm
/// from starting it a hundred times at once.
pub struct AlertLimits;

impl Lint for AlertLimits {
    fn codes(&self) -> &'static [Code] {
        &[Code::UnlimitedAlertRuns]
    }

    fn check(&self, cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
        let clauses = &facts.runbook.clauses;
        let Some(trigger) = clauses
            .iter()
            .find(|c| matches!(c.kind, ClauseKind::Trigger(Trigger::Alert { .. })))
        else {
            return;
        };
        if clauses.iter().any(|c| {
            matches!(
                c.kind,
                ClauseKind::Concurrency { .. } | ClauseKind::Rate { .. }
            )
        }) {
            return;
        }
        let mut effect = facts
            .steps
            .iter()
            .map(|(_, actions)| strongest(actions))
            .max()
            .unwrap_or(Effect::Pure);
        for clause in clauses {
            if let ClauseKind::Notify(call) | ClauseKind::Escalate(call) = &clause.kind {
                effect = effect.max(strongest(&cx.effects.expr_actions(
                    cx.modules,
                    cx.types,
                    facts.module.id,
                    call,
                )));
            }
        }
        if effect < Effect::Write {
            return;
        }
        out.push(unlimited_alert_runs(
            facts.module.file,
            trigger.span,
            &facts.runbook.name.name,
            effect,
        ));
    }
}

/// W0104: fires when a runbook started by alerts can change things (`effect`) and sets no
/// `concurrency` or `rate`.
fn unlimited_alert_runs(file: FileId, trigger: Span, runbook: &str, effect: Effect) -> Diagnostic {
    let can = if effect == Effect::Destructive {
        "destroy"
    } else {
        "change"
    };
    Diagnostic::new(
        Code::UnlimitedAlertRuns,
        file,
        trigger,
        format!("runbook `{runbook}` is started by alerts and can {can} things, but sets no limit"),
    )
    .label("every firing alert starts a run")
    .help("an alert storm would run this without limit: add `concurrency 1` (or `concurrency 1 per alert.labels[\"...\"]`) or `rate 3 per 1h`")
}

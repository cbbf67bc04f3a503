use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic};
use crate::effects::strongest;
use crate::syntax::{ClauseKind, Effect};

/// W0103: a runbook that can destroy something but tells nobody when it fails.
pub struct MissingEscalation;

impl Lint for MissingEscalation {
    fn codes(&self) -> &'static [Code] {
        &[Code::NoEscalation]
    }

    fn check(&self, _cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
        if facts
            .runbook
            .clauses
            .iter()
            .any(|c| matches!(c.kind, ClauseKind::Escalate(_)))
        {
            return;
        }
        let Some((step, _)) = facts
            .steps
            .iter()
            .find(|(_, actions)| strongest(actions) == Effect::Destructive)
        else {
            return;
        };
        let name = &facts.runbook.name;
        out.push(
            Diagnostic::new(Code::NoEscalation, facts.module.file, name.span, format!("runbook `{}` can take destructive actions but never escalates", name.name))
                .label("no `escalate` clause")
                .with_secondary(step.name.span, "this step is destructive")
                .help("add `escalate pagerduty.page(service: \"...\", summary: \"{run.summary}\")` so a failed or denied run reaches a human"),
        );
    }
}

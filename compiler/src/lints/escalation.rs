use super::clause_insertion::{quoted, runbook_first_line};
use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic, Edit, Fix};
use crate::effects::strongest;
use crate::resolve::Module;
use crate::syntax::{ClauseKind, Effect, Ident, ItemKind, Runbook, Span, UseTarget};
use crate::FileId;

/// W0103: a runbook that can destroy something but tells nobody when it fails.
pub struct MissingEscalation;

impl Lint for MissingEscalation {
    fn codes(&self) -> &'static [Code] {
        &[Code::NoEscalation]
    }

    fn check(&self, cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
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
        let mut diagnostic = no_escalation(facts.module.file, name, step.name.span);
        if let Some(fix) = escalate_fix(cx.text(facts.module.file), facts.module, facts.runbook) {
            diagnostic = diagnostic.with_fix(fix);
        }
        out.push(diagnostic);
    }
}

/// W0103: fires when a runbook (`name`) with a destructive step has no `escalate` clause.
fn no_escalation(file: FileId, name: &Ident, destructive_step: Span) -> Diagnostic {
    Diagnostic::new(
        Code::NoEscalation,
        file,
        name.span,
        format!("runbook `{}` can take destructive actions but never escalates", name.name),
    )
    .label("no `escalate` clause")
    .with_secondary(destructive_step, "this step is destructive")
    .help("add `escalate pagerduty.page(service: \"...\", summary: \"{run.summary}\")` so a failed or denied run reaches a human")
}

/// An `escalate` that pages the runbook's owner through `std.pagerduty` (adding the `use` when
/// the module has none). Not safe: the PagerDuty service is a guess (the owner, or a
/// placeholder), and a wrong one pages the wrong people or nobody.
fn escalate_fix(text: &str, module: &Module, runbook: &Runbook) -> Option<Fix> {
    let (at, indent) = runbook_first_line(text, runbook)?;
    let mut edits = Vec::new();
    let mut last_use_end = None;
    let mut alias = None;
    for item in &module.ast.items {
        if let ItemKind::Use(use_item) = &item.kind {
            last_use_end = Some(item.span.end);
            if let UseTarget::Std { path, .. } = &use_item.target {
                if path.last().is_some_and(|p| p.name == "pagerduty") {
                    alias = use_item.binding().map(|b| b.name.clone());
                }
            }
        }
    }
    let alias = match alias {
        Some(alias) => alias,
        None => {
            edits.push(match last_use_end {
                Some(end) => Edit::insert(end, "\nuse std.pagerduty"),
                None => Edit::insert(0, "use std.pagerduty\n\n"),
            });
            "pagerduty".to_string()
        }
    };
    let service = quoted(owner(runbook).unwrap_or("ONCALL-SERVICE"));
    edits.push(Edit::insert(
        at,
        format!(
            "\n{indent}escalate {alias}.page(service: {service}, summary: \"{} needs a human: {{run.summary}}\")",
            runbook.name.name
        ),
    ));
    Some(Fix::for_review(
        "Escalate to PagerDuty when the run fails or is denied",
        edits,
    ))
}

pub(super) fn owner(runbook: &Runbook) -> Option<&str> {
    runbook.clauses.iter().find_map(|c| match &c.kind {
        ClauseKind::Owner(owner) => Some(owner.value.as_str()),
        _ => None,
    })
}

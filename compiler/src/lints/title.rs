use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ClauseKind;

/// W0001: a runbook without a `title` shows up in pages and logs by its identifier only.
pub struct MissingTitle;

impl Lint for MissingTitle {
    fn codes(&self) -> &'static [Code] {
        &[Code::MissingTitle]
    }

    fn check(&self, _cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
        if facts
            .runbook
            .clauses
            .iter()
            .any(|c| matches!(c.kind, ClauseKind::Title(_)))
        {
            return;
        }
        let name = &facts.runbook.name;
        out.push(
            Diagnostic::new(Code::MissingTitle, facts.module.file, name.span, format!("runbook `{}` has no title", name.name))
                .label("no `title` clause")
                .help("add `title \"...\"`: the title is what on-call engineers see in pages, approvals and logs"),
        );
    }
}

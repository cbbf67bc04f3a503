use super::clause_insertion::runbook_first_line;
use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic, Edit, Fix};
use crate::syntax::{ClauseKind, Ident, Runbook};
use crate::FileId;

/// W0001: a runbook without a `title` shows up in pages and logs by its identifier only.
pub struct MissingTitle;

impl Lint for MissingTitle {
    fn codes(&self) -> &'static [Code] {
        &[Code::MissingTitle]
    }

    fn check(&self, cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
        if facts
            .runbook
            .clauses
            .iter()
            .any(|c| matches!(c.kind, ClauseKind::Title(_)))
        {
            return;
        }
        let name = &facts.runbook.name;
        let mut diagnostic = missing_title(facts.module.file, name);
        if let Some(fix) = title_fix(cx.text(facts.module.file), facts.runbook) {
            diagnostic = diagnostic.with_fix(fix);
        }
        out.push(diagnostic);
    }
}

/// W0001: fires when a runbook (`name`) has no `title` clause.
fn missing_title(file: FileId, name: &Ident) -> Diagnostic {
    Diagnostic::new(
        Code::MissingTitle,
        file,
        name.span,
        format!("runbook `{}` has no title", name.name),
    )
    .label("no `title` clause")
    .help(
        "add `title \"...\"`: the title is what on-call engineers see in pages, approvals and logs",
    )
}

/// The runbook's name in words as its title. Safe: a title is only shown, never acted on.
fn title_fix(text: &str, runbook: &Runbook) -> Option<Fix> {
    let (at, indent) = runbook_first_line(text, runbook)?;
    let words = runbook.name.name.replace('_', " ");
    let mut chars = words.chars();
    let title: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    Some(Fix::safe(
        format!("Add the title \"{title}\""),
        vec![Edit::insert(at, format!("\n{indent}title \"{title}\""))],
    ))
}

//! Quick fixes for the diagnostics that have one obvious repair: an approval clause for a
//! destructive step (E0301), an `escalate` clause (W0103), a `title` (W0001).

use rbk_compiler::diagnostics::{Code, Diagnostic};
use rbk_compiler::syntax::{ClauseKind, ItemKind, Runbook, Span, Step, UseTarget};
use tower_lsp_server::ls_types::{self as lsp, Range};

use crate::documents::Checked;

/// One fix: a title and the text insertions (byte offset, text) that make it.
#[derive(Clone, Debug, PartialEq)]
pub struct QuickFix {
    pub title: String,
    pub inserts: Vec<(usize, String)>,
    pub preferred: bool,
}

/// The quick fixes for one diagnostic of the buffer.
pub fn quick_fixes(checked: &Checked, diagnostic: &Diagnostic) -> Vec<QuickFix> {
    let span = diagnostic.primary.span;
    match diagnostic.code {
        Code::UngatedDestructiveStep => approval_fixes(checked, span),
        Code::NoEscalation => escalate_fix(checked, span).into_iter().collect(),
        Code::MissingTitle => title_fix(checked, span).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Whether a code-action request for `range` with the client's `context` diagnostics asks for
/// the fixes of `diagnostic`: it is one the client names, or it lies on a line the request
/// touches. Editors ask at the cursor (Neovim, Emacs) or for the line, which is rarely inside
/// the diagnostic's own range.
pub fn asked_for(diagnostic: &lsp::Diagnostic, range: Range, context: &[lsp::Diagnostic]) -> bool {
    let named = context
        .iter()
        .any(|d| d.range == diagnostic.range && d.code == diagnostic.code);
    let on_a_requested_line = diagnostic.range.start.line <= range.end.line
        && diagnostic.range.end.line >= range.start.line;
    named || on_a_requested_line
}

/// The leading whitespace of the line holding `offset`.
fn indent_at(text: &str, offset: usize) -> &str {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let rest = &text[start..];
    &rest[..rest.len() - rest.trim_start_matches([' ', '\t']).len()]
}

/// The indentation one level inside a block whose opening line has indent `outer`: the file's
/// own step, else two spaces.
fn inner_indent(outer: &str, unit: &str) -> String {
    format!("{outer}{}", if unit.is_empty() { "  " } else { unit })
}

fn runbook_with(checked: &Checked, name_span: Span) -> Option<(&Runbook, Span)> {
    checked
        .module()
        .ast
        .items
        .iter()
        .find_map(|item| match &item.kind {
            ItemKind::Runbook(r) if r.name.span == name_span => Some((r, item.span)),
            _ => None,
        })
}

fn step_with(checked: &Checked, name_span: Span) -> Option<(&Runbook, &Step)> {
    checked
        .module()
        .ast
        .items
        .iter()
        .find_map(|item| match &item.kind {
            ItemKind::Runbook(r) => r.clauses.iter().find_map(|c| match &c.kind {
                ClauseKind::Step(step) if step.name.span == name_span => Some((r, step)),
                _ => None,
            }),
            _ => None,
        })
}

fn owner(runbook: &Runbook) -> Option<&str> {
    runbook.clauses.iter().find_map(|c| match &c.kind {
        ClauseKind::Owner(owner) => Some(owner.value.as_str()),
        _ => None,
    })
}

fn approval_fixes(checked: &Checked, span: Span) -> Vec<QuickFix> {
    let Some((runbook, step)) = step_with(checked, span) else {
        return Vec::new();
    };
    let text = checked.text();
    if text.as_bytes().get(step.body_span.start) != Some(&b'{') {
        return Vec::new();
    }
    // The owner when it is an approver group, else the project's first group.
    let group = match &checked.approver_groups {
        Some(groups) => owner(runbook)
            .filter(|o| groups.contains_key(*o))
            .or_else(|| groups.keys().next().map(String::as_str))
            .unwrap_or("GROUP"),
        None => owner(runbook).unwrap_or("GROUP"),
    };
    let step_indent = indent_at(text, step.name.span.start);
    let runbook_indent = indent_at(text, runbook.name.span.start);
    let unit = step_indent.strip_prefix(runbook_indent).unwrap_or("  ");
    let indent = inner_indent(step_indent, unit);
    let at = step.body_span.start + 1;
    let line = |clause: String| vec![(at, format!("\n{indent}{clause}"))];
    vec![
        QuickFix {
            title: format!("Require approval from \"{group}\""),
            inserts: line(format!(
                "approval required from \"{group}\" timeout 5m on timeout deny"
            )),
            preferred: true,
        },
        QuickFix {
            title: "Waive approval with a reason".to_string(),
            inserts: line("approval none reason \"WHY\"".to_string()),
            preferred: false,
        },
    ]
}

/// After the `{` that opens the runbook named at `name_span`.
fn runbook_body_start(text: &str, runbook: &Runbook) -> Option<usize> {
    let after = runbook.name.span.end;
    text.get(after..)?.find('{').map(|i| after + i + 1)
}

fn first_line_of_runbook(checked: &Checked, runbook: &Runbook) -> Option<(usize, String)> {
    let text = checked.text();
    let at = runbook_body_start(text, runbook)?;
    let outer = indent_at(text, runbook.name.span.start);
    Some((at, inner_indent(outer, "")))
}

fn escalate_fix(checked: &Checked, span: Span) -> Option<QuickFix> {
    let (runbook, _) = runbook_with(checked, span)?;
    let (at, indent) = first_line_of_runbook(checked, runbook)?;
    let module = checked.module();
    // The alias `std.pagerduty` is known by, or a `use` to add.
    let mut inserts = Vec::new();
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
            let text = match last_use_end {
                Some(end) => (end, "\nuse std.pagerduty".to_string()),
                None => (0, "use std.pagerduty\n\n".to_string()),
            };
            inserts.push(text);
            "pagerduty".to_string()
        }
    };
    let service = owner(runbook).unwrap_or("ONCALL-SERVICE");
    inserts.push((
        at,
        format!(
            "\n{indent}escalate {alias}.page(service: \"{service}\", summary: \"{} needs a human: {{run.summary}}\")",
            runbook.name.name
        ),
    ));
    Some(QuickFix {
        title: "Escalate to PagerDuty when the run fails or is denied".to_string(),
        inserts,
        preferred: true,
    })
}

fn title_fix(checked: &Checked, span: Span) -> Option<QuickFix> {
    let (runbook, _) = runbook_with(checked, span)?;
    let (at, indent) = first_line_of_runbook(checked, runbook)?;
    let words = runbook.name.name.replace('_', " ");
    let mut chars = words.chars();
    let title: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    Some(QuickFix {
        title: format!("Add the title \"{title}\""),
        inserts: vec![(at, format!("\n{indent}title \"{title}\""))],
        preferred: true,
    })
}

/// `text` with the fix applied (inserts at distinct or equal offsets, applied from the end).
pub fn apply(text: &str, fix: &QuickFix) -> String {
    let mut inserts = fix.inserts.clone();
    inserts.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    let mut out = text.to_string();
    for (at, insert) in inserts {
        out.insert_str(at, &insert);
    }
    out
}

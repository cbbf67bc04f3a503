//! Completion: a module's members after `alias.`; elsewhere keywords, builtins and the names
//! the file defines.

use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::ItemKind;
use rbk_compiler::types::Builtin;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, Documentation, MarkupContent, MarkupKind,
};

use crate::documents::Checked;
use crate::hover;

/// The reserved words of the grammar (`grammar/rbk.pest`, `keyword`) and the contextual ones.
pub const KEYWORDS: &[&str] = &[
    "action",
    "abort",
    "and",
    "approval",
    "approve",
    "as",
    "backoff",
    "by",
    "called",
    "concurrency",
    "const",
    "continue",
    "denied",
    "deny",
    "destructive",
    "effect",
    "else",
    "escalate",
    "escalated",
    "every",
    "expect",
    "exponential",
    "extern",
    "fail",
    "failed",
    "fails",
    "failure",
    "false",
    "fn",
    "for",
    "from",
    "if",
    "in",
    "input",
    "let",
    "log",
    "manual",
    "mock",
    "none",
    "not",
    "notify",
    "on",
    "or",
    "owner",
    "per",
    "rate",
    "reason",
    "required",
    "retry",
    "return",
    "returns",
    "runbook",
    "safe_to_auto_approve",
    "schedule",
    "set",
    "skipped",
    "step",
    "succeeded",
    "test",
    "timeout",
    "times",
    "title",
    "trigger",
    "true",
    "type",
    "use",
    "verify",
    "when",
    "where",
    "with",
    "within",
    "alert",
    "run",
    "env",
    "secret",
    "read",
    "write",
];

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The `alias` of `alias.partial` ending at `offset`, if the cursor is after a dot.
pub fn member_access(text: &str, offset: usize) -> Option<&str> {
    let before = text.get(..offset)?;
    let partial_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map_or(before.len(), |(i, _)| i);
    let before_dot = before[..partial_start].strip_suffix('.')?;
    let alias_start = before_dot
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident_char(*c))
        .last()
        .map(|(i, _)| i)?;
    Some(&before_dot[alias_start..])
}

fn markdown(text: String) -> Documentation {
    Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value: text,
    })
}

/// The members of a module another file can use: externs, `fn`s, consts and types.
fn module_members(checked: &Checked, module: ModuleId) -> Vec<CompletionItem> {
    let m = checked.analysis.module(module);
    let mut items = Vec::new();
    for (index, item) in m.ast.items.iter().enumerate() {
        let (name, kind, detail) = match &item.kind {
            ItemKind::Extern(e) => (
                &e.name.name,
                CompletionItemKind::FUNCTION,
                format!("{} {}", e.effect, hover::signature(checked, module, index)),
            ),
            ItemKind::Fn(f) => (
                &f.name.name,
                CompletionItemKind::FUNCTION,
                hover::signature(checked, module, index),
            ),
            ItemKind::Const(c) => (&c.name.name, CompletionItemKind::CONSTANT, String::new()),
            ItemKind::Type(t) => (&t.name.name, CompletionItemKind::STRUCT, String::new()),
            _ => continue,
        };
        let documentation = hover::describe_item(checked, module, index)
            .or_else(|| item.doc.clone())
            .map(markdown);
        items.push(CompletionItem {
            label: name.clone(),
            kind: Some(kind),
            detail: (!detail.is_empty()).then_some(detail),
            documentation,
            ..Default::default()
        });
    }
    items.sort_by(|a, b| a.label.cmp(&b.label));
    items
}

/// The completions at `offset` of the buffer `text`, using its latest check.
pub fn complete(checked: Option<&Checked>, text: &str, offset: usize) -> Vec<CompletionItem> {
    if let Some(alias) = member_access(text, offset) {
        let Some(checked) = checked else {
            return Vec::new();
        };
        return match checked.module().names.imports.get(alias) {
            Some(import) => import
                .module
                .map(|m| module_members(checked, m))
                .unwrap_or_default(),
            None => Vec::new(),
        };
    }
    let mut items: Vec<CompletionItem> = KEYWORDS
        .iter()
        .map(|k| CompletionItem {
            label: k.to_string(),
            kind: Some(CompletionItemKind::KEYWORD),
            ..Default::default()
        })
        .collect();
    items.extend(Builtin::ALL.iter().map(|b| CompletionItem {
        label: b.name().to_string(),
        kind: Some(CompletionItemKind::FUNCTION),
        detail: Some(b.signature().to_string()),
        documentation: Some(markdown(b.doc().to_string())),
        ..Default::default()
    }));
    if let Some(checked) = checked {
        let names = &checked.module().names;
        for alias in names.imports.keys() {
            items.push(CompletionItem {
                label: alias.clone(),
                kind: Some(CompletionItemKind::MODULE),
                ..Default::default()
            });
        }
        for (table, kind) in [
            (&names.fns, CompletionItemKind::FUNCTION),
            (&names.externs, CompletionItemKind::FUNCTION),
            (&names.consts, CompletionItemKind::CONSTANT),
            (&names.types, CompletionItemKind::STRUCT),
        ] {
            for name in table.keys() {
                items.push(CompletionItem {
                    label: name.clone(),
                    kind: Some(kind),
                    ..Default::default()
                });
            }
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::member_access;

    #[test]
    fn finds_the_alias_before_a_dot() {
        assert_eq!(member_access("  pg.", 5), Some("pg"));
        assert_eq!(member_access("x = pg.ter", 10), Some("pg"));
        assert_eq!(member_access("pg", 2), None);
        assert_eq!(member_access(".x", 2), None);
    }
}

//! Completion: a module's members after `alias.`; parameter names inside a call; step names
//! after `expect step`, `approve`, `deny`; approver groups after `from`; a runbook's inputs in
//! `run NAME with {`; elsewhere the keywords valid in the enclosing block, builtins and the
//! names in scope (the runbook's inputs and `let`s included).

use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::{ClauseKind, ItemKind, Span, TestStmtKind};
use rbk_compiler::types::{Builtin, InputSig};
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, MarkupContent,
    MarkupKind, TextEdit,
};

use crate::convert::SourceText;
use crate::documents::Checked;
use crate::{cursor, definition, hover};

pub use rbk_compiler::syntax::keywords::KEYWORDS;

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

/// Words that start an item at the top level of a file.
const ITEM_KEYWORDS: &[&str] = &["use", "runbook", "fn", "const", "type", "extern", "test"];
/// Clauses of a runbook.
const RUNBOOK_KEYWORDS: &[&str] = &[
    "title",
    "owner",
    "trigger",
    "input",
    "concurrency",
    "rate",
    "timeout",
    "escalate",
    "step",
    "verify",
    "notify",
    "mode",
];
/// Options that open a step's block.
const STEP_OPTION_KEYWORDS: &[&str] = &["approval", "retry", "timeout", "on"];
/// Statements of steps and `fn` bodies.
const STATEMENT_KEYWORDS: &[&str] = &[
    "let", "if", "else", "for", "expect", "fail", "log", "return",
];
/// Statements of `test` blocks.
const TEST_KEYWORDS: &[&str] = &[
    "mock",
    "set",
    "approve",
    "deny",
    "run",
    "expect",
    "let",
    "called",
    "escalated",
    "step",
    "triggered",
    "coalesced",
    "suppressed",
];
/// Words inside an expression.
const EXPRESSION_KEYWORDS: &[&str] = &["true", "false", "not", "and", "or", "none"];
const TRIGGER_KEYWORDS: &[&str] = &["alert", "schedule", "manual"];
const MODE_KEYWORDS: &[&str] = &["shadow", "live"];
/// The fields of `run` inside `escalate`.
const RUN_FIELDS: &[(&str, &str)] = &[
    ("id", "string"),
    ("summary", "string"),
    ("failed_step", "string?"),
    ("log_url", "string"),
];

/// What the bracket the cursor is in holds.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scope {
    TopLevel,
    Runbook,
    Step,
    Block,
    Test,
    Inputs,
    Expression,
}

fn scope_of(text: &str, frame: Option<&cursor::Frame>) -> Scope {
    let Some(frame) = frame else {
        return Scope::TopLevel;
    };
    if frame.open != '{' {
        return Scope::Expression;
    }
    let before = text[..frame.at].trim_end();
    let last_word = frame.head.last().map(String::as_str);
    if before.ends_with(['=', '(', ',', ':', '[', '{', '?'])
        || matches!(
            last_word,
            Some("with" | "alert" | "returns" | "fails" | "log" | "fail" | "return")
        ) && before.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
    {
        return Scope::Expression;
    }
    match frame.head.first().map(String::as_str) {
        Some("runbook") => Scope::Runbook,
        Some("step" | "verify") => Scope::Step,
        Some("test") => Scope::Test,
        Some("input") => Scope::Inputs,
        _ => Scope::Block,
    }
}

fn keyword_items(words: &[&[&str]]) -> Vec<CompletionItem> {
    words
        .iter()
        .flat_map(|list| list.iter())
        .map(|k| CompletionItem {
            label: k.to_string(),
            kind: Some(CompletionItemKind::KEYWORD),
            sort_text: Some(format!("1{k}")),
            ..Default::default()
        })
        .collect()
}

/// The completions at `offset` of the buffer `text`, using its latest check.
pub fn complete(checked: Option<&Checked>, text: &str, offset: usize) -> Vec<CompletionItem> {
    let offset = floor_char_boundary(text, offset);
    let here = cursor::at(text, offset);
    let line = cursor::line_before(text, offset);
    let partial = cursor::partial_word(text, offset);
    let words: Vec<&str> = line[..line.len() - partial.len()]
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '"'))
        .filter(|w| !w.is_empty())
        .collect();
    match here.place {
        cursor::Place::Comment => return Vec::new(),
        cursor::Place::String { start } => {
            // Only `from "…` names something the editor knows: an approver group.
            let before_quote = text[..start].trim_end();
            return if before_quote.ends_with("from") && line.contains("approval") {
                approver_groups(checked, text, start, offset)
            } else {
                Vec::new()
            };
        }
        cursor::Place::Code => {}
    }
    if let Some(alias) = member_access(text, offset) {
        if alias == "run" && checked.is_none_or(|c| !c.module().names.imports.contains_key("run")) {
            return RUN_FIELDS
                .iter()
                .map(|(name, ty)| CompletionItem {
                    label: name.to_string(),
                    kind: Some(CompletionItemKind::FIELD),
                    detail: Some(ty.to_string()),
                    ..Default::default()
                })
                .collect();
        }
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
    let Some(checked) = checked else {
        return keyword_items(&[KEYWORDS]);
    };
    match words.as_slice() {
        [.., "expect", "step"] | ["approve"] | ["deny"] => return step_names(checked, offset),
        [.., "from"] if words.contains(&"approval") => {
            return approver_groups(Some(checked), text, offset - partial.len(), offset);
        }
        ["trigger"] => return keyword_items(&[TRIGGER_KEYWORDS]),
        ["mode"] => return keyword_items(&[MODE_KEYWORDS]),
        _ => {}
    }
    let frame = here.frames.last();
    let scope = scope_of(text, frame);
    let mut items = Vec::new();
    if let Some(frame) = frame {
        let at_argument = matches!(cursor::previous_char(text, offset), Some('(' | ',' | '{'));
        if frame.open == '(' && at_argument {
            if let Some(callee) = cursor::callee_before(text, frame.at) {
                let positional = frame.commas.saturating_sub(frame.named.len());
                items.extend(named_arguments(checked, callee, positional, &frame.named));
            }
        }
        if frame.open == '{' && at_argument && frame.head.first().map(String::as_str) == Some("run")
        {
            if let [_, runbook, ..] = frame.head.as_slice() {
                return runbook_inputs(checked, runbook, &frame.named);
            }
        }
    }
    let keywords: &[&[&str]] = match scope {
        Scope::TopLevel => &[ITEM_KEYWORDS],
        Scope::Runbook => &[RUNBOOK_KEYWORDS],
        Scope::Step => &[
            STEP_OPTION_KEYWORDS,
            STATEMENT_KEYWORDS,
            EXPRESSION_KEYWORDS,
        ],
        Scope::Block => &[STATEMENT_KEYWORDS, EXPRESSION_KEYWORDS],
        Scope::Test => &[TEST_KEYWORDS, EXPRESSION_KEYWORDS],
        Scope::Inputs => &[],
        Scope::Expression => &[EXPRESSION_KEYWORDS],
    };
    items.extend(keyword_items(keywords));
    if matches!(scope, Scope::TopLevel | Scope::Runbook | Scope::Inputs) {
        return items;
    }
    items.extend(Builtin::ALL.iter().map(|b| CompletionItem {
        label: b.name().to_string(),
        kind: Some(CompletionItemKind::FUNCTION),
        detail: Some(b.signature().to_string()),
        documentation: Some(markdown(b.doc().to_string())),
        ..Default::default()
    }));
    items.extend(names_in_scope(checked, offset));
    items
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The module-level names, and the inputs and `let`s of the runbook around the cursor.
fn names_in_scope(checked: &Checked, offset: usize) -> Vec<CompletionItem> {
    let module = checked.module();
    let names = &module.names;
    let mut items = Vec::new();
    let mut push = |label: &str, kind, detail: Option<String>| {
        items.push(CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail,
            ..Default::default()
        })
    };
    for alias in names.imports.keys() {
        push(alias, CompletionItemKind::MODULE, None);
    }
    for (table, kind) in [
        (&names.fns, CompletionItemKind::FUNCTION),
        (&names.externs, CompletionItemKind::FUNCTION),
        (&names.consts, CompletionItemKind::CONSTANT),
        (&names.types, CompletionItemKind::STRUCT),
    ] {
        for name in table.keys() {
            push(name, kind, None);
        }
    }
    let around = module
        .ast
        .items
        .iter()
        .enumerate()
        .find(|(_, item)| item.span.start <= offset && offset <= item.span.end);
    if let Some((index, item)) = around {
        match &item.kind {
            ItemKind::Runbook(runbook) => {
                for input in input_signatures(checked, index) {
                    push(
                        &input.name,
                        CompletionItemKind::VARIABLE,
                        Some(format!("input: {}", input.ty)),
                    );
                }
                let mut lets = Vec::new();
                for clause in &runbook.clauses {
                    if let ClauseKind::Step(step) = &clause.kind {
                        definition::stmt_binders(&step.body, &mut lets);
                    }
                }
                for name in lets.iter().filter(|b| b.span.start < offset) {
                    push(&name.name, CompletionItemKind::VARIABLE, None);
                }
            }
            ItemKind::Test(_) => {
                for name in names.runbooks.keys() {
                    push(name, CompletionItemKind::CLASS, Some("runbook".to_string()));
                }
            }
            _ => {}
        }
    }
    items
}

/// The steps of the file, those of the runbook around or run by the test at `offset` first.
fn step_names(checked: &Checked, offset: usize) -> Vec<CompletionItem> {
    let module = checked.module();
    let ran: Vec<&str> = module
        .ast
        .items
        .iter()
        .filter(|item| item.span.start <= offset && offset <= item.span.end)
        .filter_map(|item| match &item.kind {
            ItemKind::Test(test) => Some(test),
            _ => None,
        })
        .flat_map(|test| test.body.iter())
        .filter_map(|stmt| match &stmt.kind {
            TestStmtKind::Run { runbook, .. } => Some(runbook.name.as_str()),
            _ => None,
        })
        .collect();
    let mut items = Vec::new();
    for item in &module.ast.items {
        let ItemKind::Runbook(runbook) = &item.kind else {
            continue;
        };
        let preferred = ran.is_empty() || ran.contains(&runbook.name.name.as_str());
        for clause in &runbook.clauses {
            if let ClauseKind::Step(step) = &clause.kind {
                items.push(CompletionItem {
                    label: step.name.name.clone(),
                    kind: Some(CompletionItemKind::EVENT),
                    detail: Some(format!("step of {}", runbook.name.name)),
                    sort_text: Some(format!(
                        "{}{}",
                        if preferred { 0 } else { 1 },
                        step.name.name
                    )),
                    ..Default::default()
                });
            }
        }
    }
    items
}

/// The approver groups of `rbk.toml`, as strings replacing `from` .. cursor.
fn approver_groups(
    checked: Option<&Checked>,
    text: &str,
    replace_from: usize,
    offset: usize,
) -> Vec<CompletionItem> {
    let Some(groups) = checked.and_then(|c| c.approver_groups.as_ref()) else {
        return Vec::new();
    };
    let lines = rbk_compiler::diagnostics::LineIndex::new(text);
    let source = SourceText {
        text,
        lines: &lines,
    };
    let range = source.range(Span::new(replace_from, offset));
    groups
        .iter()
        .map(|(name, members)| {
            let quoted = format!("\"{name}\"");
            CompletionItem {
                label: name.clone(),
                kind: Some(CompletionItemKind::ENUM_MEMBER),
                detail: Some(format!("approvers: {}", members.join(", "))),
                filter_text: Some(quoted.clone()),
                text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(range, quoted))),
                ..Default::default()
            }
        })
        .collect()
}

fn named_argument(name: &str, detail: String, has_default: bool) -> CompletionItem {
    CompletionItem {
        label: format!("{name}:"),
        kind: Some(CompletionItemKind::FIELD),
        detail: Some(detail),
        insert_text: Some(format!("{name}: ")),
        filter_text: Some(name.to_string()),
        sort_text: Some(format!("0{}{name}", u8::from(has_default))),
        ..Default::default()
    }
}

/// `name:` for the parameters of the called extern or `fn` not given yet, by position or name.
fn named_arguments(
    checked: &Checked,
    callee: &str,
    positional: usize,
    given: &[String],
) -> Vec<CompletionItem> {
    let module = checked.module();
    let (target, name) = match callee.split_once('.') {
        Some((alias, name)) => match module.names.imports.get(alias).and_then(|i| i.module) {
            Some(target) => (target, name),
            None => return Vec::new(),
        },
        None => (checked.root, callee),
    };
    let names = &checked.analysis.module(target).names;
    let Some(&index) = names.externs.get(name).or_else(|| names.fns.get(name)) else {
        return Vec::new();
    };
    let Some(signature) = checked.analysis.types.signatures.get(&(target, index)) else {
        return Vec::new();
    };
    signature
        .params
        .iter()
        .skip(positional)
        .filter(|p| !given.contains(&p.name))
        .map(|p| named_argument(&p.name, p.ty.to_string(), p.has_default))
        .collect()
}

/// The typed inputs of the buffer's runbook at item `index`.
fn input_signatures(checked: &Checked, index: usize) -> impl Iterator<Item = &InputSig> {
    checked
        .analysis
        .types
        .inputs
        .get(&(checked.root, index))
        .into_iter()
        .flatten()
}

/// `name:` for the inputs of the runbook a test runs, not given yet.
fn runbook_inputs(checked: &Checked, runbook: &str, given: &[String]) -> Vec<CompletionItem> {
    let Some(&index) = checked.module().names.runbooks.get(runbook) else {
        return Vec::new();
    };
    input_signatures(checked, index)
        .filter(|input| !given.contains(&input.name))
        .map(|input| named_argument(&input.name, input.ty.to_string(), input.has_default))
        .collect()
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

//! Document symbols: runbooks with their steps, `fn`s, consts, types and tests.

use rbk_compiler::syntax::{Clause, ClauseKind, ItemKind, StepKind};
use tower_lsp_server::ls_types::{DocumentSymbol, SymbolKind};

use crate::convert::SourceText;
use crate::documents::Checked;

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written, even as `None`.
fn symbol(
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    range: tower_lsp_server::ls_types::Range,
    selection_range: tower_lsp_server::ls_types::Range,
    children: Option<Vec<DocumentSymbol>>,
) -> DocumentSymbol {
    DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range,
        children,
    }
}

fn step_symbols(clauses: &[Clause], source: &SourceText<'_>) -> Vec<DocumentSymbol> {
    clauses
        .iter()
        .filter_map(|clause| match &clause.kind {
            ClauseKind::Step(step) => Some(symbol(
                step.name.name.clone(),
                Some(match step.kind {
                    StepKind::Step => "step".to_string(),
                    StepKind::Verify => "verify".to_string(),
                }),
                SymbolKind::METHOD,
                source.range(clause.span),
                source.range(step.name.span),
                None,
            )),
            _ => None,
        })
        .collect()
}

pub fn document_symbols(checked: &Checked) -> Vec<DocumentSymbol> {
    let source = checked.source();
    let mut out = Vec::new();
    for item in &checked.module().ast.items {
        let range = source.range(item.span);
        match &item.kind {
            ItemKind::Runbook(runbook) => {
                // A runbook made from a template has its steps in the template's text, outside
                // its own line: they are listed under the template.
                let steps = match &runbook.template {
                    None => step_symbols(&runbook.clauses, &source),
                    Some(_) => Vec::new(),
                };
                out.push(symbol(
                    runbook.name.name.clone(),
                    Some(match &runbook.template {
                        None => "runbook".to_string(),
                        Some(template) => format!("runbook from template {}", template.name.name),
                    }),
                    SymbolKind::CLASS,
                    range,
                    source.range(runbook.name.span),
                    Some(steps),
                ));
            }
            ItemKind::Template(template) => out.push(symbol(
                template.name.name.clone(),
                Some("template".to_string()),
                SymbolKind::CLASS,
                range,
                source.range(template.name.span),
                Some(step_symbols(&template.clauses, &source)),
            )),
            // Replaced by its runbook before the language server sees the tree.
            ItemKind::Instance(_) => {}
            ItemKind::Fn(f) => out.push(symbol(
                f.name.name.clone(),
                Some("fn".to_string()),
                SymbolKind::FUNCTION,
                range,
                source.range(f.name.span),
                None,
            )),
            ItemKind::Extern(e) => out.push(symbol(
                e.name.name.clone(),
                Some(format!("extern, {}", e.effect)),
                SymbolKind::FUNCTION,
                range,
                source.range(e.name.span),
                None,
            )),
            ItemKind::Const(c) => out.push(symbol(
                c.name.name.clone(),
                Some("const".to_string()),
                SymbolKind::CONSTANT,
                range,
                source.range(c.name.span),
                None,
            )),
            ItemKind::Type(t) => out.push(symbol(
                t.name.name.clone(),
                Some("type".to_string()),
                SymbolKind::STRUCT,
                range,
                source.range(t.name.span),
                None,
            )),
            ItemKind::Test(t) => out.push(symbol(
                format!("test \"{}\"", t.name.value),
                None,
                SymbolKind::EVENT,
                range,
                source.range(t.name.span),
                None,
            )),
            ItemKind::Use(_) => {}
        }
    }
    out
}

//! Find references and rename, within the open buffer. A use of a name counts when go to
//! definition from it lands on the same definition, so scoping (shadowing `let`s, lambda
//! parameters, steps named in tests) is decided in one place: [`crate::definition`].

use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::{ClauseKind, ExprKind, Ident, ItemKind, Span};

use crate::cursor::word_at;
use crate::documents::Checked;
use crate::{definition, query};

/// Every name the buffer defines: items, imports, inputs, parameters, `let`s, loop variables,
/// lambda parameters and steps.
fn declarations(checked: &Checked) -> Vec<&Ident> {
    let module = checked.module();
    let mut out = Vec::new();
    for item in &module.ast.items {
        if let Some(name) = query::item_name(item) {
            out.push(name);
        }
        if let ItemKind::Runbook(runbook) = &item.kind {
            out.extend(runbook.clauses.iter().filter_map(|c| match &c.kind {
                ClauseKind::Step(step) => Some(&step.name),
                _ => None,
            }));
        }
        definition::item_binders(item, &mut out);
    }
    for expr in query::all_exprs(&module.ast) {
        if let ExprKind::Lambda { params, .. } = &expr.kind {
            out.extend(params);
        }
    }
    out
}

/// The definition the name at `offset` stands for: itself when it is a declaration, else what
/// go to definition finds.
fn target_at(checked: &Checked, declared: &[&Ident], offset: usize) -> Option<(ModuleId, Span)> {
    if let Some(ident) = declared.iter().find(|i| i.span.contains(offset)) {
        return Some((checked.root, ident.span));
    }
    definition::definition(checked, offset)
}

/// Every span in the buffer naming the same definition as the name at `offset`, in order.
/// The definition itself is included when `with_declaration` and it is in the buffer.
pub fn references(checked: &Checked, offset: usize, with_declaration: bool) -> Vec<Span> {
    let text = checked.text();
    let Some(word) = word_at(text, offset) else {
        return Vec::new();
    };
    let declared = declarations(checked);
    let Some(target) = target_at(checked, &declared, word.start) else {
        return Vec::new();
    };
    let name = &text[word.start..word.end];
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(index) = text[from..].find(name) {
        let start = from + index;
        from = start + name.len();
        if word_at(text, start) != Some(Span::new(start, start + name.len())) {
            continue;
        }
        let is_declaration = target == (checked.root, Span::new(start, start + name.len()));
        if is_declaration && !with_declaration {
            continue;
        }
        if is_declaration || target_at(checked, &declared, start) == Some(target) {
            found.push(Span::new(start, start + name.len()));
        }
    }
    found
}

/// Why a name cannot be renamed, or the span of the name that can.
pub fn prepare_rename(checked: &Checked, offset: usize) -> Result<Span, String> {
    let text = checked.text();
    let word = word_at(text, offset).ok_or("there is no name here to rename")?;
    let declared = declarations(checked);
    let (module, span) = target_at(checked, &declared, word.start)
        .ok_or("this is not a name defined in this file or the standard library")?;
    if module != checked.root {
        let m = checked.analysis.module(module);
        let whose = if m.is_std() {
            format!("the standard library (std.{})", m.display_name())
        } else {
            format!("{}.rbk", m.display_name())
        };
        return Err(format!(
            "`{}` is defined in {whose}; rename it where it is defined",
            &text[word.start..word.end]
        ));
    }
    let is_unaliased_import = checked
        .module()
        .ast
        .items
        .iter()
        .any(|item| match &item.kind {
            ItemKind::Use(use_item) => {
                use_item.alias.is_none() && use_item.binding().is_some_and(|b| b.span == span)
            }
            _ => false,
        });
    if is_unaliased_import {
        return Err(
            "this name is the module's own; add `as NEW_NAME` to the `use` to name it otherwise"
                .to_string(),
        );
    }
    Ok(word)
}

/// Whether `name` can name something: a word that is not reserved.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !rbk_compiler::syntax::keywords::is_reserved(name)
}

/// The spans to replace with `new_name`, or why the rename cannot be made.
pub fn rename(checked: &Checked, offset: usize, new_name: &str) -> Result<Vec<Span>, String> {
    prepare_rename(checked, offset)?;
    if !valid_name(new_name) {
        return Err(format!(
            "`{new_name}` cannot be a name: use letters, digits and `_`, not starting with a \
             digit, and not a keyword"
        ));
    }
    Ok(references(checked, offset, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    const SOURCE: &str = r#"use std.postgres as pg

fn double(x: int) -> int {
  return x * 2
}

runbook r {
  input { db_url: string, limit: int = 3 }
  step count {
    let db = pg.connect(db_url)
    let n = double(limit)
    let xs = [1, 2].map(limit => limit + n)
    log "{n} of {limit}"
  }
}

test "counts" {
  mock pg.connect returns pg.Database
  run r with { db_url: "x" }
  expect step count succeeded
}
"#;

    fn checked() -> Checked {
        Checked::new(
            PathBuf::from("/tmp/refs.rbk"),
            SOURCE.to_string(),
            HashMap::new(),
        )
        .unwrap()
    }

    fn texts(spans: &[Span]) -> Vec<(usize, &'static str)> {
        spans
            .iter()
            .map(|s| {
                let line = SOURCE[..s.start].matches('\n').count() + 1;
                (line, &SOURCE[s.start..s.end])
            })
            .collect()
    }

    #[test]
    fn an_input_and_its_uses_but_not_a_shadowing_lambda_parameter() {
        let checked = checked();
        let at = SOURCE.find("double(limit)").unwrap() + 8;
        assert_eq!(
            texts(&references(&checked, at, true)),
            vec![(8, "limit"), (11, "limit"), (13, "limit")]
        );
        assert_eq!(
            texts(&references(&checked, at, false)),
            vec![(11, "limit"), (13, "limit")]
        );
    }

    #[test]
    fn a_step_and_the_tests_naming_it() {
        let checked = checked();
        let at = SOURCE.find("step count").unwrap() + 6;
        assert_eq!(
            texts(&references(&checked, at, true)),
            vec![(9, "count"), (20, "count")]
        );
    }

    #[test]
    fn an_import_alias_everywhere() {
        let checked = checked();
        let at = SOURCE.find("pg.connect(").unwrap();
        assert_eq!(
            texts(&references(&checked, at, true)),
            vec![(1, "pg"), (10, "pg"), (18, "pg"), (18, "pg")]
        );
    }

    #[test]
    fn rename_refuses_what_it_cannot_do_well() {
        let checked = checked();
        let extern_at = SOURCE.find("pg.connect(").unwrap() + 3;
        let error = rename(&checked, extern_at, "open").unwrap_err();
        assert!(error.contains("standard library (std.postgres)"), "{error}");
        let fn_at = SOURCE.find("double(limit)").unwrap();
        assert!(rename(&checked, fn_at, "step")
            .unwrap_err()
            .contains("keyword"));
        assert!(rename(&checked, fn_at, "2x").is_err());
        assert_eq!(rename(&checked, fn_at, "twice").unwrap().len(), 2);
        assert!(prepare_rename(&checked, 1).is_err(), "`use` is a keyword");
    }
}

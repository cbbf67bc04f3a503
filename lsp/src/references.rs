//! Find references: within one file, a use of a name counts when go to definition from it
//! lands on the same definition, so scoping (shadowing `let`s, lambda parameters, steps named
//! in tests) is decided in one place: [`crate::definition`]. Across the files of a project
//! ([`crate::workspace`]) a definition is known by its file and span, which every check of
//! the same text agrees on.

use std::path::{Path, PathBuf};

use rbk_compiler::project::ProjectLoader;
use rbk_compiler::resolve::{ModuleId, ModuleOrigin};
use rbk_compiler::syntax::{ClauseKind, ExprKind, Ident, ItemKind, Span};

use crate::cursor::word_at;
use crate::documents::Checked;
use crate::workspace::Workspace;
use crate::{definition, query};

/// A definition wherever it is: its module (a file or `std.NAME`) and the span of its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub origin: ModuleOrigin,
    pub span: Span,
}

impl Definition {
    pub fn of(checked: &Checked, (module, span): (ModuleId, Span)) -> Definition {
        Definition {
            origin: checked.analysis.module(module).origin.clone(),
            span,
        }
    }
}

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

/// The name at `offset` (its span) and the definition it stands for (module and span).
pub fn target(checked: &Checked, offset: usize) -> Option<(Span, ModuleId, Span)> {
    let word = word_at(checked.text(), offset)?;
    let (module, span) = target_at(checked, &declarations(checked), word.start)?;
    Some((word, module, span))
}

/// Whether other files can name the definition: it is in another file or the standard
/// library, or it is a top-level item of this one (reached elsewhere as `alias.NAME`).
pub fn is_shared(checked: &Checked, module: ModuleId, span: Span) -> bool {
    module != checked.root
        || checked.module().ast.items.iter().any(|item| {
            !matches!(item.kind, ItemKind::Use(_))
                && query::item_name(item).is_some_and(|name| name.span == span)
        })
}

/// Every span in the buffer where `name` names `target`, in order; the declaration itself
/// only when `with_declaration`.
pub fn references_to(
    checked: &Checked,
    name: &str,
    target: &Definition,
    with_declaration: bool,
) -> Vec<Span> {
    let text = checked.text();
    if name.is_empty() {
        return Vec::new();
    }
    let declared = declarations(checked);
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(index) = text[from..].find(name) {
        let start = from + index;
        from = start + name.len();
        let span = Span::new(start, start + name.len());
        if word_at(text, start) != Some(span) {
            continue;
        }
        let Some(at) = target_at(checked, &declared, start) else {
            continue;
        };
        if Definition::of(checked, at) != *target {
            continue;
        }
        let is_declaration = at == (checked.root, span);
        if !is_declaration || with_declaration {
            found.push(span);
        }
    }
    found
}

/// Every span in the buffer naming the same definition as the name at `offset`, in order.
/// The definition itself is included when `with_declaration` and it is in the buffer.
pub fn references(checked: &Checked, offset: usize, with_declaration: bool) -> Vec<Span> {
    let Some((word, module, span)) = target(checked, offset) else {
        return Vec::new();
    };
    let name = &checked.text()[word.start..word.end];
    let target = Definition::of(checked, (module, span));
    references_to(checked, name, &target, with_declaration)
}

/// References in several files: each file module with its spans.
pub type FileReferences = Vec<(ModuleId, Vec<Span>)>;

/// Which files can name `target` as one of `names`: the file that defines it, and files whose
/// text has one of the names and the defining module's file name (`use "./lib.rbk"`) or, for
/// the standard library, its module name (`use std.postgres`). A cheap filter on text: the
/// check of what is kept decides.
pub fn can_name<'a>(
    target: &'a Definition,
    names: &'a [&'a str],
) -> impl Fn(&Path, &str) -> bool + 'a {
    let (defining, mark) = match &target.origin {
        ModuleOrigin::File(path) => (
            Some(path.as_path()),
            path.file_name().map(|n| n.to_string_lossy().into_owned()),
        ),
        ModuleOrigin::Std(name) => (None, Some(name.clone())),
    };
    move |path, text| {
        defining == Some(path)
            || (names.iter().any(|name| text.contains(name))
                && mark.as_deref().is_some_and(|mark| text.contains(mark)))
    }
}

/// The references to the name at `offset` of `document` in the files of its project that can
/// name it, read through `loader`: the project's check and, for each file module, its spans.
/// `known`: the name and its definition, when the caller knows them.
pub fn workspace_references(
    document: &Path,
    offset: usize,
    with_declaration: bool,
    files: &[PathBuf],
    loader: ProjectLoader,
    known: Option<(String, Definition)>,
) -> Option<(Workspace, FileReferences)> {
    // The name and what it stands for, from the latest check of the document when it saw
    // this text (`known`), else from a check of the document alone.
    let (name, target) = match known {
        Some(known) => known,
        None => {
            let alone = Workspace::check(document, &[], &|_, _| false, loader.clone())?;
            let view = alone.view(document)?;
            let (word, module, span) = target(&view, offset)?;
            let name = view.text()[word.start..word.end].to_string();
            (name, Definition::of(&view, (module, span)))
        }
    };
    let name = name.as_str();
    let project = Workspace::check(document, files, &can_name(&target, &[name]), loader)?;
    let found = project
        .file_views()
        .map(|file| {
            let spans = references_to(&file, name, &target, with_declaration);
            (file.root, spans)
        })
        .filter(|(_, spans)| !spans.is_empty())
        .collect();
    Some((project, found))
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
}

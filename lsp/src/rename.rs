//! Rename, across the files of a project: the name's definition and every reference to it
//! ([`crate::references`]), in every file that names it. A rename is refused, with the reason,
//! when the new name is not a name (a keyword, a digit first), when the definition is the
//! standard library's, and when it would clash: the renamed text is checked again, and the
//! rename stands only if the new name's references are exactly the renamed spans (nothing
//! shadowed, nothing captured) and no new error appears (no duplicate definition).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rbk_compiler::project::ProjectLoader;
use rbk_compiler::syntax::{ItemKind, Span};

use crate::cursor::word_at;
use crate::documents::Checked;
use crate::references::{self, Definition};
use crate::workspace::Workspace;

/// Why a rename is refused; the editor shows the text.
#[derive(Debug, thiserror::Error)]
pub enum RenameRefused {
    #[error("there is no name here to rename")]
    NoName,
    #[error("this is not a name defined in this project or the standard library")]
    NotDefined,
    #[error("`{name}` is defined in the standard library (std.{module}); it cannot be renamed")]
    InStd { name: String, module: String },
    #[error("this name is the module's own; add `as NEW_NAME` to the `use` to name it otherwise")]
    ModulesOwnName,
    #[error(transparent)]
    Unreadable(#[from] rbk_compiler::project::ProjectError),
    #[error("the file could not be checked")]
    FileNotChecked,
    #[error(
        "`{0}` cannot be a name: use letters, digits and `_`, not starting with a \
         digit, and not a keyword"
    )]
    NotAName(String),
    #[error("nothing to rename here")]
    NothingHere,
    #[error("the project could not be checked")]
    ProjectNotChecked,
    #[error("the renamed project could not be checked")]
    RenamedNotChecked,
    /// The new name would name something else at `line` of `file`.
    #[error(
        "renaming `{old}` to `{new}` would change what a name means in {file}, \
         line {line}: `{new}` is already a name there; choose another"
    )]
    Captures {
        old: String,
        new: String,
        file: String,
        line: u32,
    },
    /// The renamed text has an error the original had not (`error` is its message).
    #[error("renaming `{old}` to `{new}` would make an error: {error}")]
    MakesError {
        old: String,
        new: String,
        error: String,
    },
}

/// Why a name cannot be renamed, or the span of the name that can.
pub fn prepare_rename(checked: &Checked, offset: usize) -> Result<Span, RenameRefused> {
    let text = checked.text();
    let word = word_at(text, offset).ok_or(RenameRefused::NoName)?;
    let (_, module, span) = references::target(checked, offset).ok_or(RenameRefused::NotDefined)?;
    let m = checked.analysis.module(module);
    if m.is_std() {
        return Err(RenameRefused::InStd {
            name: text[word.start..word.end].to_string(),
            module: m.display_name().to_string(),
        });
    }
    let is_unaliased_import = m.ast.items.iter().any(|item| match &item.kind {
        ItemKind::Use(use_item) => {
            use_item.alias.is_none() && use_item.binding().is_some_and(|b| b.span == span)
        }
        _ => false,
    });
    if is_unaliased_import {
        return Err(RenameRefused::ModulesOwnName);
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

/// The edits of a rename: for each file, the spans to replace with the new name.
pub type RenameEdits = BTreeMap<PathBuf, Vec<Span>>;

/// Renames the name at `offset` of `document` to `new_name` in `files` (the document's
/// project), reading through `loader` (the open buffers first): the spans to replace in each
/// file, or why the rename cannot be made.
pub fn rename(
    document: &Path,
    offset: usize,
    new_name: &str,
    files: &[PathBuf],
    loader: ProjectLoader,
) -> Result<RenameEdits, RenameRefused> {
    let text = loader.read(document)?;
    let word = word_at(&text, offset).ok_or(RenameRefused::NoName)?;
    let old_name = &text[word.start..word.end];
    // The document alone says what the name is, and whether other files can name it.
    let alone = Workspace::check(document, &[], &|_, _| false, loader.clone())
        .ok_or(RenameRefused::FileNotChecked)?;
    let view = alone.view(document).ok_or(RenameRefused::FileNotChecked)?;
    prepare_rename(&view, offset)?;
    if !valid_name(new_name) {
        return Err(RenameRefused::NotAName(new_name.to_string()));
    }
    let (_, module, span) = references::target(&view, offset).ok_or(RenameRefused::NothingHere)?;
    let target = Definition {
        origin: view.analysis.module(module).origin.clone(),
        span,
    };
    let names = [old_name, new_name];
    let before = if references::is_shared(&view, module, span) {
        let keep = references::can_name(&target, &names);
        Workspace::check(document, files, &keep, loader.clone())
            .ok_or(RenameRefused::ProjectNotChecked)?
    } else {
        alone
    };
    let mut edits = RenameEdits::new();
    for file in before.file_views() {
        let spans = references::references_to(&file, old_name, &target, true);
        if !spans.is_empty() {
            edits.insert(before.path_of(file.root).to_path_buf(), spans);
        }
    }
    if new_name != old_name {
        verify(
            &before, document, &target, old_name, new_name, &edits, loader,
        )?;
    }
    Ok(edits)
}

/// Checks the renamed text: the new name must name the renamed definition exactly where the
/// edits put it, and no error may appear.
fn verify(
    before: &Workspace,
    document: &Path,
    target: &Definition,
    old_name: &str,
    new_name: &str,
    edits: &RenameEdits,
    loader: ProjectLoader,
) -> Result<(), RenameRefused> {
    let grow = new_name.len() as isize - old_name.len() as isize;
    // Where a span of the old text is once the edits before it in its file are made.
    let moved = |spans: &[Span], span: Span| {
        let earlier = spans.iter().filter(|s| s.start < span.start).count() as isize;
        let start = (span.start as isize + earlier * grow) as usize;
        Span::new(start, start + new_name.len())
    };
    let mut open: HashMap<PathBuf, String> = loader.open_buffers().clone();
    let mut expected: BTreeMap<PathBuf, Vec<Span>> = BTreeMap::new();
    for (path, spans) in edits {
        let mut text = loader.read(path)?;
        for span in spans.iter().rev() {
            text.replace_range(span.start..span.end, new_name);
        }
        open.insert(path.clone(), text);
        expected.insert(
            path.clone(),
            spans.iter().map(|span| moved(spans, *span)).collect(),
        );
    }
    let renamed_target = Definition {
        origin: target.origin.clone(),
        span: match &target.origin {
            rbk_compiler::resolve::ModuleOrigin::File(path) => edits
                .get(path)
                .map_or(target.span, |spans| moved(spans, target.span)),
            rbk_compiler::resolve::ModuleOrigin::Std(_) => target.span,
        },
    };
    let roots: Vec<PathBuf> = before
        .analysis()
        .roots
        .iter()
        .map(|root| before.path_of(*root).to_path_buf())
        .collect();
    let after = Workspace::check(
        document,
        &roots,
        &|_, _| true,
        loader.with_open_buffers(open),
    )
    .ok_or(RenameRefused::RenamedNotChecked)?;
    for file in after.file_views() {
        let path = after.path_of(file.root);
        let found = references::references_to(&file, new_name, &renamed_target, true);
        let wanted = expected.get(path).cloned().unwrap_or_default();
        if let Some(odd) = found
            .iter()
            .find(|s| !wanted.contains(s))
            .or_else(|| wanted.iter().find(|s| !found.contains(s)))
        {
            let line = file.source().range(*odd).start.line + 1;
            return Err(RenameRefused::Captures {
                old: old_name.to_string(),
                new: new_name.to_string(),
                file: file_name(path),
                line,
            });
        }
    }
    if after.error_count() > before.error_count() {
        let known: Vec<&str> = errors(before).collect();
        let new_error = errors(&after)
            .find(|m| !known.contains(m))
            .unwrap_or_default();
        return Err(RenameRefused::MakesError {
            old: old_name.to_string(),
            new: new_name.to_string(),
            error: new_error.to_string(),
        });
    }
    Ok(())
}

fn errors(workspace: &Workspace) -> impl Iterator<Item = &str> {
    workspace
        .analysis()
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.as_str())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"use std.postgres as pg

fn double(x: int) -> int {
  return x * 2
}

fn twice(x: int) -> int {
  return x + x
}

runbook r {
  input { db_url: string, limit: int = 3 }
  step count {
    let db = pg.connect(db_url)
    let n = double(limit)
    let m = n + 1
    log "{n} of {limit} and {m}"
  }
}
"#;

    fn path() -> PathBuf {
        PathBuf::from("/nonexistent/rbk-rename/main.rbk")
    }

    /// Renames in the unsaved buffer SOURCE (the only file of its project).
    fn rename_at(needle: &str, shift: usize, new_name: &str) -> Result<Vec<String>, String> {
        let offset = SOURCE.find(needle).unwrap() + shift;
        let loader = crate::documents::buffer_loader(HashMap::from([(path(), SOURCE.to_string())]));
        let edits =
            rename(&path(), offset, new_name, &[path()], loader).map_err(|e| e.to_string())?;
        let spans = edits.get(&path()).cloned().unwrap_or_default();
        Ok(spans
            .iter()
            .map(|s| format!("{}@{}", &SOURCE[s.start..s.end], s.start))
            .collect())
    }

    #[test]
    fn what_cannot_be_renamed_says_why() {
        let error = rename_at("pg.connect(", 3, "open").unwrap_err();
        assert!(error.contains("standard library (std.postgres)"), "{error}");
        assert!(rename_at("double(limit)", 0, "step")
            .unwrap_err()
            .contains("keyword"));
        assert!(rename_at("double(limit)", 0, "2x").is_err());
        assert_eq!(rename_at("double(limit)", 0, "thrice").unwrap().len(), 2);
        assert!(rename_at("use", 1, "x").is_err(), "`use` is a keyword");
    }

    #[test]
    fn a_rename_that_would_clash_is_refused() {
        // A second `fn twice`: a duplicate definition.
        let error = rename_at("double(limit)", 0, "twice").unwrap_err();
        assert!(error.contains("twice"), "{error}");
        // `n` renamed to `m` would make `let m = n + 1` read itself.
        let error = rename_at("let n", 4, "m").unwrap_err();
        assert!(error.contains("`m`"), "{error}");
        // `m` renamed to `limit` would hide the input from the log line after it.
        let error = rename_at("let m", 4, "limit").unwrap_err();
        assert!(error.contains("line"), "{error}");
        // A name nothing else uses is fine.
        assert_eq!(
            rename_at("let n", 4, "count_").unwrap(),
            vec![
                format!("n@{}", SOURCE.find("let n").unwrap() + 4),
                format!("n@{}", SOURCE.find("n + 1").unwrap()),
                format!("n@{}", SOURCE.find("{n}").unwrap() + 1),
            ]
        );
    }
}

//! `rbk check --fix`: writes the safe fixes the compiler attached to the diagnostics of the
//! files that were asked for (see `rbk_compiler::diagnostics::fixes` for which are safe).
//! A file with syntax errors is never touched, nor one that changed on disk while it was
//! checked; a fixed file is written beside itself and renamed over, so a crash leaves the old
//! text or the new one, never half of one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rbk_compiler::diagnostics::fixes::apply_safe_fixes;
use rbk_compiler::{syntax, Analysis, FileId};
use serde::Serialize;

use crate::workspace::describe_io;

/// One problem a fix was written for, with the position it had before the fix.
#[derive(Clone, Debug, Serialize)]
pub struct FixedProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub code: &'static str,
    pub title: String,
}

/// A file that had safe fixes but was left as it was, and why.
#[derive(Clone, Debug, Serialize)]
pub struct UntouchedFile {
    pub file: String,
    pub reason: String,
}

/// What `--fix` did.
#[derive(Debug, Default, Serialize)]
pub struct FixOutcome {
    pub fixed: Vec<FixedProblem>,
    pub not_fixed: Vec<UntouchedFile>,
    /// Safe fixes left out because they overlap one applied: a second `--fix` applies them.
    #[serde(skip)]
    pub held_back: usize,
}

impl FixOutcome {
    pub fn files_fixed(&self) -> usize {
        self.fixed
            .iter()
            .map(|f| f.file.as_str())
            .collect::<HashSet<_>>()
            .len()
    }
}

/// Applies the safe fixes of every analysis to the files that were asked for (not the standard
/// library, not modules only reached through `use`).
pub fn apply(analyses: &[Analysis]) -> FixOutcome {
    let mut outcome = FixOutcome::default();
    let mut seen = HashSet::new();
    for analysis in analyses {
        for &root in &analysis.roots {
            let file = analysis.module(root).file;
            let path = analysis.file(file).path.clone();
            if seen.insert(path.clone()) {
                fix_file(analysis, file, &path, &mut outcome);
            }
        }
    }
    outcome
}

fn fix_file(analysis: &Analysis, file: FileId, path: &Path, outcome: &mut FixOutcome) {
    let info = analysis.file(file);
    let text = info.text.as_str();
    let diagnostics = analysis.diagnostics.iter().filter(|d| d.file == file);
    let has_safe_fix = |d: &&rbk_compiler::diagnostics::Diagnostic| d.fixes.iter().any(|f| f.safe);
    if !diagnostics.clone().any(|d| has_safe_fix(&d)) {
        return;
    }
    let shown = path.display().to_string();
    let untouched = |reason: String| UntouchedFile {
        file: shown.clone(),
        reason,
    };
    if has_syntax_errors(text) {
        outcome.not_fixed.push(untouched(
            "it has syntax errors; fix those first".to_string(),
        ));
        return;
    }
    let result = apply_safe_fixes(text, diagnostics);
    outcome.held_back += result.held_back.len();
    // A fix that breaks the syntax is a compiler bug; the file is worth more than the fix.
    if has_syntax_errors(&result.text) {
        outcome.not_fixed.push(untouched(
            "its fixes would leave a syntax error (please report this)".to_string(),
        ));
        return;
    }
    match std::fs::read_to_string(path) {
        Ok(now) if now == text => {}
        Ok(_) => {
            outcome.not_fixed.push(untouched(
                "it changed on disk while it was checked".to_string(),
            ));
            return;
        }
        Err(error) => {
            outcome.not_fixed.push(untouched(describe_io(&error)));
            return;
        }
    }
    if let Err(error) = write_replacing(path, &result.text) {
        outcome.not_fixed.push(untouched(describe_io(&error)));
        return;
    }
    for (diagnostic, fix) in result.applied {
        let at = info.lines.location(text, diagnostic.primary.span.start);
        outcome.fixed.push(FixedProblem {
            file: shown.clone(),
            line: at.line,
            column: at.column,
            code: diagnostic.code.as_str(),
            title: fix.title.clone(),
        });
    }
}

fn has_syntax_errors(text: &str) -> bool {
    !syntax::parse(FileId(0), text).diagnostics.is_empty()
}

/// Writes a temporary file in the directory of the file `path` names (through a symbolic link,
/// the file it points to) and renames it over that file, keeping its permissions.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary: PathBuf =
        target.with_file_name(format!(".{name}.{}.rbk-fix", std::process::id()));
    let written = (|| {
        std::fs::write(&temporary, text)?;
        let permissions = std::fs::metadata(&target)?.permissions();
        std::fs::set_permissions(&temporary, permissions)?;
        std::fs::File::open(&temporary)?.sync_all()?;
        std::fs::rename(&temporary, &target)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

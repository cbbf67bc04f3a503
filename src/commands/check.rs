use std::path::PathBuf;

use rbk_compiler::diagnostics::{formats, Diagnostic};
use rbk_compiler::{check, Analysis};

use super::render;
use crate::workspace::{self, FileLoader};
use crate::{exit, Format};

/// Checks every file; files are checked together per `rbk.toml`, so the standard library is
/// parsed once per project rather than once per file.
pub fn run(paths: &[PathBuf], format: Format, deny_warnings: bool) -> u8 {
    let (file_count, projects) = match workspace::load_projects(paths) {
        Ok(found) => found,
        Err(message) => return usage_error(&message),
    };
    let analyses: Vec<Analysis> = projects
        .into_iter()
        .map(|p| check(p.sources, &FileLoader, &p.options))
        .collect();

    let all: Vec<(&Analysis, &Diagnostic)> = analyses
        .iter()
        .flat_map(|a| a.diagnostics.iter().map(move |d| (a, d)))
        .collect();
    let errors = all.iter().filter(|(_, d)| d.is_error()).count();
    let warnings = all.len() - errors;
    match format {
        Format::Human => {
            for (analysis, diagnostic) in &all {
                print!("{}", render::human(analysis, diagnostic));
                println!();
            }
            println!("{}", summary(errors, warnings, file_count));
        }
        Format::Json | Format::Sarif | Format::Github => {
            let mut records = Vec::new();
            for analysis in &analyses {
                records.extend(formats::records(analysis, &analysis.diagnostics));
            }
            records.sort_by(|a, b| {
                (&a.file, a.line, a.column, a.code).cmp(&(&b.file, b.line, b.column, b.code))
            });
            match format {
                Format::Json => println!("{}", formats::json(&records)),
                Format::Sarif => println!("{}", formats::sarif(&records)),
                _ => print!("{}", formats::github(&records)),
            }
        }
    }
    // The process ends here; freeing every syntax tree first would only cost time.
    std::mem::forget(analyses);
    if errors > 0 || (deny_warnings && warnings > 0) {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

pub fn summary(errors: usize, warnings: usize, files: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let checked = plural(files, "file");
    if errors == 0 && warnings == 0 {
        format!("ok: {checked} checked, no problems")
    } else {
        let verdict = if errors > 0 { "error" } else { "warning" };
        format!(
            "{verdict}: {}, {} in {checked}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

pub fn usage_error(message: &str) -> u8 {
    eprintln!("error: {message}");
    exit::USAGE
}

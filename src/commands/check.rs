//! `rbk check [PATHS]`: checks files and reports their diagnostics in the chosen format; with
//! `--fix`, first writes the safe fixes (check_fix.rs), then reports what remains.

use std::path::PathBuf;

use rbk_compiler::diagnostics::{formats, Diagnostic};
use rbk_compiler::{check, Analysis};
use serde_json::json;

use super::check_fix::{self, FixOutcome};
use super::render;
use crate::workspace::{self, FileLoader};
use crate::{exit, Format};

/// Checks every file; files are checked together per `rbk.toml`, so the standard library is
/// parsed once per project rather than once per file.
pub fn run(paths: &[PathBuf], format: Format, deny_warnings: bool, fix: bool) -> u8 {
    let (mut file_count, mut analyses) = match check_all(paths) {
        Ok(checked) => checked,
        Err(message) => return usage_error(&message),
    };
    let mut fixed = None;
    if fix {
        let outcome = check_fix::apply(&analyses);
        // Checked again from disk: what the report shows is what the files now say.
        if !outcome.fixed.is_empty() {
            (file_count, analyses) = match check_all(paths) {
                Ok(checked) => checked,
                Err(message) => return usage_error(&message),
            };
        }
        fixed = Some(outcome);
    }

    let all: Vec<(&Analysis, &Diagnostic)> = analyses
        .iter()
        .flat_map(|a| a.diagnostics.iter().map(move |d| (a, d)))
        .collect();
    let errors = all.iter().filter(|(_, d)| d.is_error()).count();
    let warnings = all.len() - errors;
    match format {
        Format::Human => {
            if let Some(outcome) = &fixed {
                print_fixes(outcome);
            }
            for (analysis, diagnostic) in &all {
                print!("{}", render::human(analysis, diagnostic));
                println!();
            }
            if let Some(outcome) = &fixed {
                print_fix_summary(outcome, &all);
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
            match (format, &fixed) {
                // With --fix the JSON is an object: what was fixed, and what remains.
                (Format::Json, Some(outcome)) => println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "fixed": outcome.fixed,
                        "not_fixed": outcome.not_fixed,
                        "diagnostics": records,
                    }))
                    .unwrap_or_default()
                ),
                (Format::Json, None) => println!("{}", formats::json(&records)),
                (Format::Sarif, _) => println!("{}", formats::sarif(&records)),
                _ => print!("{}", formats::github(&records)),
            }
            // SARIF and workflow commands have no place for it: what was fixed goes to stderr.
            if let (Format::Sarif | Format::Github, Some(outcome)) = (format, &fixed) {
                for line in fix_lines(outcome) {
                    eprintln!("{line}");
                }
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

fn check_all(
    paths: &[PathBuf],
) -> Result<(usize, Vec<Analysis>), rbk_compiler::project::ProjectError> {
    let (file_count, projects) = workspace::load_projects(paths)?;
    let analyses = projects
        .into_iter()
        .map(|p| check(p.sources, &FileLoader, &p.options))
        .collect();
    Ok((file_count, analyses))
}

fn fix_lines(outcome: &FixOutcome) -> Vec<String> {
    let fixed = outcome.fixed.iter().map(|f| {
        format!(
            "fixed {}:{}:{}: {} {}",
            f.file, f.line, f.column, f.code, f.title
        )
    });
    let untouched = outcome
        .not_fixed
        .iter()
        .map(|u| format!("not fixed {}: {}", u.file, u.reason));
    fixed.chain(untouched).collect()
}

fn print_fixes(outcome: &FixOutcome) {
    let lines = fix_lines(outcome);
    for line in &lines {
        println!("{line}");
    }
    if !lines.is_empty() {
        println!();
    }
}

/// One line on what `--fix` did, and what it left for a person or for a second run.
fn print_fix_summary(outcome: &FixOutcome, remaining: &[(&Analysis, &Diagnostic)]) {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let mut line = format!(
        "fixed {} in {}",
        plural(outcome.fixed.len(), "problem"),
        plural(outcome.files_fixed(), "file")
    );
    let for_review = remaining
        .iter()
        .filter(|(_, d)| d.fixes.iter().any(|f| !f.safe))
        .count();
    if for_review > 0 {
        line.push_str(&format!(
            "; {} a fix to review in an editor (or in --format json)",
            if for_review == 1 {
                "1 more problem has".to_string()
            } else {
                format!("{for_review} more problems have")
            }
        ));
    }
    if outcome.held_back > 0 {
        line.push_str(&format!(
            "; {} overlapped another: run `rbk check --fix` again",
            plural(outcome.held_back, "safe fix")
        ));
    }
    println!("{line}");
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

pub fn usage_error(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    exit::USAGE
}

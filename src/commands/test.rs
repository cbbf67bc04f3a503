use std::path::PathBuf;

use rbk_compiler::check;
use rbk_interpreter::test_runner::{coverage_gaps, run_tests};

use super::check::usage_error;
use super::render;
use crate::exit;
use crate::workspace::{self, FileLoader};

/// Runs the `test` blocks of every file; prints a cargo-test-like report ending in
/// `N passed, N failed`.
pub fn run(paths: &[PathBuf], coverage: bool) -> u8 {
    let projects = match workspace::load_projects(paths) {
        Ok((_, projects)) => projects,
        Err(message) => return usage_error(&message),
    };
    let (mut passed, mut failed) = (0, 0);
    let mut failures = Vec::new();
    let mut gaps = Vec::new();
    for project in projects {
        let analysis = check(project.sources, &FileLoader, &project.options);
        if analysis.has_errors() {
            for diagnostic in analysis.diagnostics.iter().filter(|d| d.is_error()) {
                print!("{}", render::human(&analysis, diagnostic));
                println!();
            }
            println!("error: the files do not check; fix the errors above before testing");
            return exit::FINDINGS;
        }
        for &module in &analysis.roots {
            let outcomes = run_tests(&analysis, module);
            if outcomes.is_empty() {
                continue;
            }
            let path = analysis
                .file(analysis.module(module).file)
                .path
                .display()
                .to_string();
            println!(
                "running {} test{} in {path}",
                outcomes.len(),
                if outcomes.len() == 1 { "" } else { "s" }
            );
            for outcome in &outcomes {
                if outcome.passed() {
                    passed += 1;
                    println!("test \"{}\" ... ok", outcome.name);
                } else {
                    failed += 1;
                    println!("test \"{}\" ... FAILED", outcome.name);
                    failures.push((path.clone(), outcome.name.clone(), outcome.failures.clone()));
                }
            }
            println!();
            if coverage {
                gaps.extend(
                    coverage_gaps(&analysis, module, &outcomes)
                        .into_iter()
                        .map(|gap| format!("{path}: {gap}")),
                );
            }
        }
    }
    if !failures.is_empty() {
        println!("failures:");
        for (path, name, messages) in &failures {
            println!();
            println!("---- {path}: \"{name}\" ----");
            for message in messages {
                println!("  {message}");
            }
        }
        println!();
    }
    if coverage {
        if gaps.is_empty() {
            println!("coverage: every step, condition and approval outcome is reached by a test");
        } else {
            println!("coverage: not reached by any test:");
            for gap in &gaps {
                println!("  {gap}");
            }
        }
        println!();
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

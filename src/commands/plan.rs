use std::path::Path;

use rbk_compiler::check;
use rbk_compiler::plan;

use super::check::usage_error;
use super::render;
use crate::workspace::{self, FileLoader};
use crate::{exit, Format};

/// Prints the effect-level plan of every runbook in the file. A file with errors has no plan.
pub fn run(file: &Path, format: Format) -> u8 {
    let text = match workspace::read_source(file) {
        Ok(text) => text,
        Err(message) => return usage_error(&message),
    };
    let options = match workspace::find_config(file) {
        Some(path) => match workspace::load_config(&path) {
            Ok(config) => rbk_stdlib::check_options(Some(&config)),
            Err(message) => return usage_error(&message),
        },
        None => rbk_stdlib::check_options(None),
    };
    let analysis = check(vec![(file.to_path_buf(), text)], &FileLoader, &options);
    let root_file = analysis.module(analysis.roots[0]).file;
    if analysis.has_errors() || format == Format::Human {
        for diagnostic in analysis
            .diagnostics
            .iter()
            .filter(|d| d.file == root_file || d.is_error())
        {
            print!("{}", render::human(&analysis, diagnostic));
            println!();
        }
    }
    if analysis.has_errors() {
        println!(
            "error: {} has errors; fix them to see its plan",
            file.display()
        );
        return exit::FINDINGS;
    }
    let plans = plan::build(&analysis, analysis.module(analysis.roots[0]));
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plans).unwrap_or_default()
        ),
        _ => {
            for (index, runbook) in plans.iter().enumerate() {
                if index > 0 {
                    println!();
                }
                print!("{runbook}");
            }
            if plans.is_empty() {
                println!("{} defines no runbook", file.display());
            }
        }
    }
    exit::OK
}

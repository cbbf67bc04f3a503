use std::path::PathBuf;

use rbk_compiler::check;
use rbk_compiler::graph::RunbookGraph;
use rbk_interpreter::start;

use super::check::usage_error;
use super::render;
use crate::exit;
use crate::workspace::{self, FileLoader};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Svg,
    Dot,
}

/// `rbk graph FILE[::RUNBOOK] [--runbook NAME] [--format mermaid|svg|dot]`: the picture of a
/// runbook on standard output. A file with errors has no picture.
pub fn run(target: &str, runbook: Option<&str>, format: GraphFormat) -> u8 {
    let (file, named) = match target.split_once("::") {
        Some((file, name)) => (PathBuf::from(file), Some(name)),
        None => (PathBuf::from(target), None),
    };
    let wanted = match (runbook, named) {
        (Some(a), Some(b)) if a != b => {
            return usage_error(format!(
                "{target} names runbook `{b}` but --runbook names `{a}`; give one of them"
            ))
        }
        (Some(name), _) | (None, Some(name)) => Some(name),
        (None, None) => None,
    };
    let text = match workspace::read_source(&file) {
        Ok(text) => text,
        Err(message) => return usage_error(&message),
    };
    let options = match workspace::find_config(&file) {
        Some(path) => match workspace::load_config(&path) {
            Ok(config) => rbk_stdlib::check_options(Some(&config)),
            Err(message) => return usage_error(&message),
        },
        None => rbk_stdlib::check_options(None),
    };
    let analysis = check(vec![(file.clone(), text)], &FileLoader, &options);
    if analysis.has_errors() {
        for diagnostic in analysis.diagnostics.iter().filter(|d| d.is_error()) {
            print!("{}", render::human(&analysis, diagnostic));
            println!();
        }
        println!(
            "error: {} has errors; fix them to see its graph",
            file.display()
        );
        return exit::FINDINGS;
    }
    let (module, item, _) = match start::choose_runbook(&analysis, &file, wanted) {
        Ok(chosen) => chosen,
        Err(error) => return usage_error(error.to_string()),
    };
    let graph = RunbookGraph::of(&analysis, module, item);
    print!(
        "{}",
        match format {
            GraphFormat::Mermaid => graph.to_mermaid(),
            GraphFormat::Dot => graph.to_dot(),
            GraphFormat::Svg => graph.to_svg(),
        }
    );
    exit::OK
}

//! `rbk fmt [PATHS] [--check]`: rewrites files in the canonical layout, or with `--check` names
//! the files that are not in it.

use std::fs;
use std::path::PathBuf;

use rbk_compiler::diagnostics::LineIndex;
use rbk_compiler::format::format;

use super::check::usage_error;
use crate::exit;
use crate::workspace::{self, describe_io};

pub fn run(paths: &[PathBuf], check: bool) -> u8 {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let files = match workspace::collect_sources(&paths) {
        Ok(files) => files,
        Err(message) => return usage_error(&message),
    };
    let mut changed = 0;
    let mut refused = 0;
    for file in &files {
        let text = match workspace::read_source(file) {
            Ok(text) => text,
            Err(message) => return usage_error(&message),
        };
        let formatted = match format(&text) {
            Ok(formatted) => formatted,
            Err(error) => {
                refused += 1;
                let first = &error.diagnostics[0];
                let at = LineIndex::new(&text).location(&text, first.primary.span.start);
                eprintln!(
                    "error: {}:{}:{}: {}; not formatted ({error}, see `rbk check`)",
                    file.display(),
                    at.line,
                    at.column,
                    first.message
                );
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed += 1;
        if check {
            println!("would reformat {}", file.display());
        } else if let Err(error) = fs::write(file, formatted) {
            return usage_error(format!("{}: {}", file.display(), describe_io(&error)));
        } else {
            println!("formatted {}", file.display());
        }
    }
    let plural = |n: usize| if n == 1 { "file" } else { "files" };
    let unchanged = files.len() - changed - refused;
    if check {
        println!(
            "{changed} {} would be reformatted, {unchanged} already formatted",
            plural(changed)
        );
    } else {
        println!(
            "{changed} {} reformatted, {unchanged} already formatted",
            plural(changed)
        );
    }
    if refused > 0 || (check && changed > 0) {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

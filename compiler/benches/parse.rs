//! How long each parsing pass takes on the benchmark workspace, on one thread: the nesting
//! pre-check, the hand-written parser and the pest grammar with its tree builder. Run
//! `python3 bench/gen_workspace.py bench/work --count 500`, then
//! `cargo bench -p rbk-compiler --bench parse`. It prints figures and asserts nothing about
//! time; `syntax::descent::differential` proves the two parsers build the same trees.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rbk_compiler::syntax::passes::{check_nesting, parse_clean, parse_with_grammar};
use rbk_compiler::FileId;

fn rbk_files_under(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rbk_files_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "rbk") {
            out.push(std::fs::read_to_string(&path).expect("a readable source"));
        }
    }
}

/// The fastest of five passes over every source (the least disturbed by the rest of the
/// machine).
fn fastest(sources: &[String], pass: impl Fn(&str)) -> Duration {
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for text in sources {
                pass(text);
            }
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/work/rbk");
    let mut sources = Vec::new();
    rbk_files_under(&workspace, &mut sources);
    if sources.is_empty() {
        eprintln!(
            "no sources under {}: run `python3 bench/gen_workspace.py bench/work --count 500` first",
            workspace.display()
        );
        std::process::exit(2);
    }
    let bytes: usize = sources.iter().map(String::len).sum();
    // Every file must take the fast path, or the figures compare different work.
    let refused = sources.iter().filter(|t| parse_clean(t).is_none()).count();
    if refused > 0 {
        eprintln!("{refused} files are not clean: the fast parser gives them to the grammar");
        std::process::exit(1);
    }
    let nesting = fastest(&sources, |text| {
        std::hint::black_box(check_nesting(FileId(0), text));
    });
    let fast = fastest(&sources, |text| {
        std::hint::black_box(parse_clean(text));
    });
    let grammar = fastest(&sources, |text| {
        std::hint::black_box(parse_with_grammar(FileId(0), text));
    });
    println!(
        "{} files, {bytes} bytes, one thread, fastest of 5:",
        sources.len()
    );
    println!("  nesting pre-check      {nesting:>10.1?}");
    println!("  hand-written parser    {fast:>10.1?}");
    println!(
        "  pest grammar + builder {grammar:>10.1?}  ({:.1}x the hand-written parser)",
        grammar.as_secs_f64() / fast.as_secs_f64()
    );
}

//! The code registry held to its files: every code has a fixture
//! (tests/fixtures/diagnostics/CODE.rbk) that the compiler reports it for, and a page
//! (docs/diagnostics/CODE.md); every fixture and page belongs to a code. The root test
//! tests/diagnostics.rs snapshots what the `rbk` binary prints for each fixture; this is the
//! same listing run by `cargo test -p rbk-compiler`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rbk_compiler::diagnostics::Code;

use crate::harness::Case;

fn repo_dir(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The stems of the files in `dir` ending in `.extension`.
fn stems(dir: &PathBuf, extension: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == extension)
                .then(|| path.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect()
}

#[test]
fn every_code_has_a_fixture_and_a_page_and_nothing_else_does() {
    let codes: BTreeSet<String> = Code::ALL.iter().map(|c| c.as_str().to_string()).collect();
    let fixtures = stems(&repo_dir("tests/fixtures/diagnostics"), "rbk");
    let pages = stems(&repo_dir("docs/diagnostics"), "md");
    let listing: Vec<String> = codes
        .iter()
        .map(|code| {
            format!(
                "{code}: fixture {}, page {}",
                if fixtures.contains(code) {
                    "yes"
                } else {
                    "MISSING"
                },
                if pages.contains(code) {
                    "yes"
                } else {
                    "MISSING"
                }
            )
        })
        .collect();
    assert!(
        listing.iter().all(|line| !line.contains("MISSING")),
        "{}",
        listing.join("\n")
    );
    let orphans: Vec<&String> = fixtures
        .iter()
        .chain(&pages)
        .filter(|stem| !codes.contains(*stem) && stem.as_str() != "README")
        .collect();
    assert!(
        orphans.is_empty(),
        "fixtures or pages of no code: {orphans:?}"
    );
    for code in Code::ALL {
        assert!(
            code.explanation()
                .starts_with(&format!("# {}", code.as_str())),
            "docs/diagnostics/{}.md must start with its code",
            code.as_str()
        );
    }
}

#[test]
fn every_fixture_reports_its_code() {
    for code in Code::ALL {
        let path = repo_dir(&format!("tests/fixtures/diagnostics/{}.rbk", code.as_str()));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // As the root test runs them: with the fixtures' rbk.toml groups, and a build whose
        // natives do not include the fixtures' externs.
        let analysis = Case::new(&text)
            .with_approvers()
            .with_native("unrelated", 0, rbk_compiler::syntax::Effect::Pure)
            .analyse();
        assert!(
            analysis.diagnostics.iter().any(|d| d.code == *code),
            "{} should report {}, got {:?}",
            path.display(),
            code.as_str(),
            analysis
                .diagnostics
                .iter()
                .map(|d| d.code.as_str())
                .collect::<Vec<_>>()
        );
    }
}

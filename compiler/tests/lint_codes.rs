//! Each lint raises only the codes it declares (`Lint::codes`, what the docs say it raises):
//! the check below runs every diagnostic fixture and example through the lints, where a debug
//! assertion in `lints::run_all` stops at the first code a lint did not declare.

mod support;

use std::path::Path;

#[test]
fn every_lint_raises_only_the_codes_it_declares() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for dir in ["tests/fixtures/diagnostics", "examples"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rbk") {
                let text = std::fs::read_to_string(&path).unwrap();
                support::analyse(&text);
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "only {checked} files were checked");
    // The lints' declared codes are registered codes with pages, and no two lints share one.
    let mut declared: Vec<_> = rbk_compiler::lints::ALL
        .iter()
        .flat_map(|lint| lint.codes().iter().copied())
        .collect();
    let all = declared.len();
    declared.sort();
    declared.dedup();
    assert_eq!(declared.len(), all, "two lints declare one code");
}

//! What the interpreter's integration tests share: checking a runbook that declares its own
//! externs, with no standard library and no local modules.

use std::path::PathBuf;

use rbk_compiler::project::StdOnly;
use rbk_compiler::{check, Analysis, CheckOptions};

/// Checks `source` as `rb.rbk`; panics (showing them) on any error diagnostic.
pub fn compile(source: &str) -> Analysis {
    let analysis = check(
        vec![(PathBuf::from("rb.rbk"), source.to_string())],
        &StdOnly(&[]),
        &CheckOptions::default(),
    );
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(
        errors.is_empty(),
        "the test runbook does not check: {errors:#?}"
    );
    analysis
}

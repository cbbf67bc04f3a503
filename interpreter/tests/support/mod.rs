//! What the interpreter's integration tests share: checking a runbook that declares its own
//! externs, with no standard library and no local modules.

use std::path::{Path, PathBuf};

use rbk_compiler::{check, Analysis, CheckOptions, ModuleLoader};

/// No standard library, no local modules: every runbook here declares its own externs.
pub struct NoModules;

impl ModuleLoader for NoModules {
    fn std_module(&self, _name: &str) -> Option<String> {
        None
    }
    fn std_module_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn local_module(
        &self,
        _from: &Path,
        relative: &str,
    ) -> Result<(PathBuf, String), rbk_compiler::ModuleUnavailable> {
        Err(rbk_compiler::ModuleUnavailable::NotServed {
            relative: relative.to_string(),
        })
    }
}

/// Checks `source` as `rb.rbk`; panics (showing them) on any error diagnostic.
pub fn compile(source: &str) -> Analysis {
    let analysis = check(
        vec![(PathBuf::from("rb.rbk"), source.to_string())],
        &NoModules,
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

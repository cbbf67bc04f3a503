//! Checking a runbook given as text, with the standard library from the `rbk-std` crate, for the
//! compiler's own tests of what the checker accepts and refuses.
// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::PathBuf;

use rbk_compiler::diagnostics::{Code, Diagnostic};
use rbk_compiler::project::StdOnly;
use rbk_compiler::{check, Analysis, CheckOptions};

pub fn analyse(source: &str) -> Analysis {
    analyse_with(source, &CheckOptions::default())
}

pub fn analyse_with(source: &str, options: &CheckOptions) -> Analysis {
    check(
        vec![(PathBuf::from("test.rbk"), source.to_string())],
        &StdOnly(rbk_std::MODULES),
        options,
    )
}

/// The codes reported for `source`, in order.
pub fn codes(source: &str) -> Vec<Code> {
    errors(source).iter().map(|d| d.code).collect()
}

pub fn errors(source: &str) -> Vec<Diagnostic> {
    analyse(source)
        .diagnostics
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect()
}

/// A runbook with the usual modules in scope, and `db` as an input.
pub fn runbook(body: &str) -> String {
    format!(
        "use std.postgres as pg\nuse std.k8s\nuse std.slack\nuse std.pagerduty\nuse std.shell\n\n\
         runbook r {{\n  title \"t\"\n  input {{\n    db: pg.Database = pg.connect(secret(\"URL\"))\n  }}\n{body}\n}}\n"
    )
}

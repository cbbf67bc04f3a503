//! The rbk standard library. `std/*.rbk` declares each module's types, extern actions (with
//! their effects) and plain `fn`s; the declarations are embedded in the binary so `rbk check`
//! needs nothing on disk.

pub mod natives;

/// The options every command, the language server and the server check with: the project's
/// `rbk.toml` (when one governs the files) and this build's native actions, so a user
/// `extern action` nothing implements is an error.
pub fn check_options(
    config: Option<&rbk_compiler::config::ProjectConfig>,
) -> rbk_compiler::CheckOptions {
    rbk_compiler::CheckOptions::for_project(config).with_natives(natives::catalog().clone())
}

/// Every standard module as (name, source), embedded at build time.
pub const MODULES: &[(&str, &str)] = &[
    ("alertmanager", include_str!("../std/alertmanager.rbk")),
    ("github", include_str!("../std/github.rbk")),
    ("http", include_str!("../std/http.rbk")),
    ("jira", include_str!("../std/jira.rbk")),
    ("k8s", include_str!("../std/k8s.rbk")),
    ("pagerduty", include_str!("../std/pagerduty.rbk")),
    ("postgres", include_str!("../std/postgres.rbk")),
    ("prometheus", include_str!("../std/prometheus.rbk")),
    ("shell", include_str!("../std/shell.rbk")),
    ("slack", include_str!("../std/slack.rbk")),
];

/// The source of `std.NAME`.
pub fn module_source(name: &str) -> Option<&'static str> {
    MODULES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| *source)
}

pub fn module_names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|(name, _)| *name)
}

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

/// The standard modules' sources live in the dependency-free `rbk-std` crate (the language
/// server and the compiler's tests read them without this crate's runtime); re-exported here
/// because the natives are checked against them.
pub use rbk_std::{module_names, module_source, MODULES};

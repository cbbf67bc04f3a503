//! The native actions the running binary implements, given once by the program that starts the
//! server. The language server checks with them (an `extern action` nothing implements is an
//! error, as in `rbk check`) without depending on the crate that implements them: that crate
//! brings the runtime (kube, reqwest, tokio-postgres), which an editor service has no use for.

use std::sync::OnceLock;

use rbk_compiler::config::ProjectConfig;
use rbk_compiler::lints::natives::NativeCatalog;
use rbk_compiler::CheckOptions;

static NATIVES: OnceLock<NativeCatalog> = OnceLock::new();

/// Records the binary's native actions; the first call wins (one binary has one set).
pub fn provide(natives: NativeCatalog) {
    let _ = NATIVES.set(natives);
}

/// The options a document is checked with: its project's `rbk.toml` and, when the program
/// provided them, the native actions (without them the natives lint has nothing to compare).
pub fn check_options(config: Option<&ProjectConfig>) -> CheckOptions {
    let options = CheckOptions::for_project(config);
    match NATIVES.get() {
        Some(natives) => options.with_natives(natives.clone()),
        None => options,
    }
}

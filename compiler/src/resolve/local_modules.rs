//! `use "./file.rbk"` targets that cannot be loaded: the one constructor each for a local
//! module that is unavailable (E0105) and for a target that is not a regular file (E0107).

use std::fmt::Display;

use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::Span;
use crate::FileId;

/// Why a local module cannot be loaded.
pub(crate) enum Unavailable<'a> {
    /// A standard module (`from` is not a file) uses a local file.
    FromStandardModule,
    /// Reading the file failed (`reason` says how).
    Unreadable {
        path: &'a str,
        reason: &'a dyn Display,
    },
}

/// E0105: fires when a `use` of a local file cannot be loaded.
pub(crate) fn local_module_unavailable(
    file: FileId,
    span: Span,
    unavailable: Unavailable<'_>,
) -> Diagnostic {
    let (message, label, help) = match unavailable {
        Unavailable::FromStandardModule => (
            "standard modules cannot use local files".to_string(),
            "local file",
            "use only `std.NAME` modules here",
        ),
        Unavailable::Unreadable { path, reason } => (
            format!("cannot load module \"{path}\": {reason}"),
            "this file",
            "the path is relative to the file that uses it; check the name and that the file is readable",
        ),
    };
    Diagnostic::new(Code::LocalModuleUnavailable, file, span, message)
        .label(label)
        .help(help)
}

/// E0107: fires when a `use` points at something that is not a regular file (`kind` says what:
/// a directory, a pipe, a device).
pub(crate) fn use_target_not_a_file(
    file: FileId,
    span: Span,
    path: &str,
    kind: &dyn Display,
) -> Diagnostic {
    Diagnostic::new(
        Code::UseTargetNotAFile,
        file,
        span,
        format!("cannot load module \"{path}\": it is {kind}, not a regular file"),
    )
    .label("not a regular file")
    .help("a module is a `.rbk` file: point the `use` at one (reading a pipe or device would never end)")
}

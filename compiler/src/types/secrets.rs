//! E0303, a secret on its way into text: the one constructor, and the ways a secret can be
//! turned into text (a message, an interpolation, `string`, `join`), each with its own wording.

use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::Span;
use crate::FileId;

/// How a secret would become text.
pub(super) enum Exposure<'a> {
    /// Passed to `log`, `fail` or an `expect` message (`what` names which).
    Message { what: &'a str },
    /// Interpolated into a string.
    Interpolated,
    /// Given to the `string` builtin.
    Stringified,
    /// A list of secrets given to `join`.
    Joined,
}

/// E0303: fires when a secret would be interpolated, logged or otherwise turned into text.
pub(super) fn secret_exposed(file: FileId, span: Span, exposure: Exposure<'_>) -> Diagnostic {
    let (message, label, help): (String, &str, &str) = match exposure {
        Exposure::Message { what } => (
            format!("a secret is passed to {what}"),
            "this value is a secret",
            "secrets may be passed to actions but never shown: log what the secret is for, not its value",
        ),
        Exposure::Interpolated => (
            "a secret is interpolated into a string".into(),
            "this value is a secret",
            "pass the secret to the action directly (it accepts `secret`); never put it in text, which ends up in logs and messages",
        ),
        Exposure::Stringified => (
            "a secret is turned into a string".into(),
            "this value is a secret",
            "secrets may be passed to actions but never turned into text",
        ),
        Exposure::Joined => (
            "secrets are joined into a string".into(),
            "this list holds secrets",
            "secrets may be passed to actions but never turned into text",
        ),
    };
    Diagnostic::new(Code::SecretExposed, file, span, message)
        .label(label)
        .help(help)
}

//! The formatter: one canonical layout for `.rbk` files, printed from the same syntax tree the
//! checker uses.
//!
//! The tree carries no `//` comments, so [`comments`] finds them in the text and the printer puts
//! each one back before the node that follows it, or at the end of the line it was written on.
//! Literals (strings, numbers, durations) are copied from the source as written. A file with
//! syntax errors is refused rather than guessed at.

mod comments;
mod printer;

use std::fmt;

use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::parse;
use crate::FileId;

/// Why a file was not formatted: its syntax errors (E0001, E0002).
#[derive(Clone, Debug)]
pub struct FormatError {
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(f, "{n} syntax error{}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for FormatError {}

/// Formats one file. `format(&format(x)?)? == format(x)?` for every `x` that parses.
pub fn format(text: &str) -> Result<String, FormatError> {
    let parsed = parse(FileId(0), text);
    // A literal out of range (E0210) still parses, and literals are copied as written.
    let syntax_errors: Vec<Diagnostic> = parsed
        .diagnostics
        .into_iter()
        .filter(|d| matches!(d.code, Code::SyntaxError | Code::NestingTooDeep))
        .collect();
    if !syntax_errors.is_empty() {
        return Err(FormatError {
            diagnostics: syntax_errors,
        });
    }
    Ok(printer::print(text, &parsed.file))
}

#[cfg(test)]
mod tests;

//! The formatter: one canonical layout for `.rbk` files, printed from the same syntax tree the
//! checker uses.
//!
//! The tree carries no `//` comments, so [`comments`] finds them in the text and the printer puts
//! each one back before the node that follows it, or at the end of the line it was written on.
//! Literals (strings, numbers, durations) are copied from the source as written. A file with
//! syntax errors is refused rather than guessed at.

pub(crate) mod comments;
mod printer;

use std::fmt;

use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::parse;
use crate::FileId;

/// Why a file was not formatted: its syntax errors (E0001, E0002, E0003).
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
///
/// A file whose every line ends in `\r\n` stays that way: it is formatted as if its lines
/// ended in `\n`, and `\r\n` is put back. That is exact, literals included, only because
/// every line ending is a `\r\n`; a file that mixes them comes out with `\n` outside literals.
pub fn format(text: &str) -> Result<String, FormatError> {
    if uses_crlf(text) {
        let formatted = format_lf(&text.replace("\r\n", "\n"))?;
        return Ok(formatted.replace('\n', "\r\n"));
    }
    format_lf(text)
}

/// Whether the file has line breaks and each is a `\r\n`.
fn uses_crlf(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut breaks = (0..bytes.len()).filter(|&at| bytes[at] == b'\n').peekable();
    breaks.peek().is_some() && breaks.all(|at| at > 0 && bytes[at - 1] == b'\r')
}

fn format_lf(text: &str) -> Result<String, FormatError> {
    let parsed = parse(FileId(0), text);
    // A literal out of range (E0210) still parses, and literals are copied as written. Every
    // other parse diagnostic means the tree lacks some of the text (an expression refused as
    // too long is a placeholder), so printing it would lose code.
    let syntax_errors: Vec<Diagnostic> = parsed
        .diagnostics
        .into_iter()
        .filter(|d| d.code != Code::DurationOutOfRange)
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

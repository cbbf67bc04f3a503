//! Byte spans to LSP positions (UTF-16 columns) and back, and compiler diagnostics to LSP ones.

use rbk_compiler::diagnostics::{Diagnostic, LineIndex, Severity};
use rbk_compiler::syntax::Span;
use tower_lsp_server::ls_types::{
    self as lsp, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Position, Range, Uri,
};

/// One text with its line index: the unit every conversion works on.
pub struct SourceText<'a> {
    pub text: &'a str,
    pub lines: &'a LineIndex,
}

impl SourceText<'_> {
    /// The LSP position of a byte offset: 0-based line, column in UTF-16 code units.
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.lines.line_of(offset);
        let start = self.lines.line_start(line).min(offset);
        let character: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, character as u32)
    }

    /// The byte offset of an LSP position; past the end of a line means its end.
    pub fn offset(&self, position: Position) -> usize {
        let start = self.lines.line_start(position.line as usize);
        if start > self.text.len() {
            return self.text.len();
        }
        let mut units = 0usize;
        for (index, ch) in self.text[start..].char_indices() {
            if ch == '\n' || units >= position.character as usize {
                return start + index;
            }
            units += ch.len_utf16();
        }
        self.text.len()
    }

    pub fn range(&self, span: Span) -> Range {
        Range::new(self.position(span.start), self.position(span.end))
    }

    pub fn span(&self, range: Range) -> Span {
        Span::new(self.offset(range.start), self.offset(range.end))
    }
}

/// The LSP form of one compiler diagnostic: same code and message; the help is appended to the
/// message, and secondary labels become related information.
pub fn diagnostic(source: &SourceText, uri: &Uri, diagnostic: &Diagnostic) -> lsp::Diagnostic {
    let mut message = diagnostic.message.clone();
    if !diagnostic.help.is_empty() {
        message.push_str("\nhelp: ");
        message.push_str(&diagnostic.help);
    }
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .secondary
        .iter()
        .map(|label| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), source.range(label.span)),
            message: label.message.clone(),
        })
        .collect();
    lsp::Diagnostic {
        range: source.range(diagnostic.primary.span),
        severity: Some(match diagnostic.severity() {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.as_str().to_string())),
        source: Some("rbk".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_units() {
        let text = "ab\n\u{e9}\u{1F600}x\n";
        let lines = LineIndex::new(text);
        let source = SourceText {
            text,
            lines: &lines,
        };
        let x = text.find('x').unwrap();
        assert_eq!(source.position(x), Position::new(1, 3));
        assert_eq!(source.offset(Position::new(1, 3)), x);
        assert_eq!(source.offset(Position::new(0, 99)), 2);
        assert_eq!(source.offset(Position::new(9, 0)), text.len());
        assert_eq!(source.position(text.len()), Position::new(2, 0));
    }
}

//! `textDocument/formatting`: the formatter's output as the one edit that turns the buffer into
//! it, covering only the part that changed. A whole-buffer replacement would move the cursor,
//! fold state and marks of every line, and editors show it as a change of the whole file.

use rbk_compiler::diagnostics::LineIndex;
use rbk_compiler::syntax::Span;
use tower_lsp_server::ls_types::TextEdit;

use crate::convert::SourceText;

/// The edits that turn `text` into `formatted`: none when they are equal, else one edit from
/// the first difference to the last.
pub fn edits(text: &str, formatted: &str) -> Vec<TextEdit> {
    if text == formatted {
        return Vec::new();
    }
    let (a, b) = (text.as_bytes(), formatted.as_bytes());
    let mut prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    while !is_cut(text, prefix) || !is_cut(formatted, prefix) {
        prefix -= 1;
    }
    let most = a.len().min(b.len()) - prefix;
    let mut suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(most)
        .take_while(|(x, y)| x == y)
        .count();
    while !is_cut(text, a.len() - suffix) || !is_cut(formatted, b.len() - suffix) {
        suffix -= 1;
    }
    let lines = LineIndex::new(text);
    let source = SourceText {
        text,
        lines: &lines,
    };
    let changed = Span::new(prefix, a.len() - suffix);
    vec![TextEdit::new(
        source.range(changed),
        formatted[prefix..b.len() - suffix].to_string(),
    )]
}

/// Whether an edit may start or end at `at`: a character boundary, not inside a `\r\n`.
fn is_cut(text: &str, at: usize) -> bool {
    text.is_char_boundary(at) && !(text[..at].ends_with('\r') && text[at..].starts_with('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` with the edits applied (positions converted back through the same index).
    fn apply(text: &str, edits: &[TextEdit]) -> String {
        let lines = LineIndex::new(text);
        let source = SourceText {
            text,
            lines: &lines,
        };
        let mut out = text.to_string();
        for edit in edits.iter().rev() {
            let span = source.span(edit.range);
            out.replace_range(span.start..span.end, &edit.new_text);
        }
        out
    }

    #[test]
    fn only_the_changed_part_is_replaced() {
        let text = "a\r\nbb  =  1\r\nc\r\n";
        let formatted = "a\r\nbb = 1\r\nc\r\n";
        let edits = edits(text, formatted);
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].range.start.line, 1);
        assert_eq!(edits[0].range.end.line, 1);
        assert_eq!(apply(text, &edits), formatted);
    }

    #[test]
    fn an_edit_never_splits_a_crlf_or_a_character() {
        for (text, formatted) in [
            ("x\r\ny", "x\r\n\r\ny"),
            ("x\r\ny", "x\ny"),
            ("é = ü", "é = ö"),
            ("ab", "abc"),
            ("abc", "ab"),
            ("", "a\r\n"),
        ] {
            let edits = edits(text, formatted);
            assert_eq!(apply(text, &edits), formatted, "{text:?} -> {formatted:?}");
        }
        assert!(edits("same\r\n", "same\r\n").is_empty());
    }
}

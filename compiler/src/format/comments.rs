//! What the formatter needs from the source text beyond the tree: where the `//` comments are
//! (the grammar skips them, so the tree does not have them), and where tokens and literals
//! start and end.

use crate::syntax::scan::{scan, string_end, TokenKind};

/// One `//` comment (not a `///` doc comment): its byte range and its text, without the
/// trailing whitespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Every `//` comment outside string literals, in source order (as the one scanner,
/// [`crate::syntax::scan`], finds them).
pub fn collect(src: &str) -> Vec<Comment> {
    scan(src)
        .filter(|token| token.kind == TokenKind::Comment)
        .map(|token| Comment {
            start: token.start,
            end: token.end,
            text: src[token.start..token.end].to_string(),
        })
        .collect()
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// The first position at or after `from` that is not whitespace or a comment (doc comments
/// included).
pub fn skip_trivia(src: &str, mut from: usize) -> usize {
    let bytes = src.as_bytes();
    while from < bytes.len() {
        match bytes[from] {
            b' ' | b'\t' | b'\r' | b'\n' => from += 1,
            b'/' if bytes.get(from + 1) == Some(&b'/') => from = line_end(bytes, from),
            _ => break,
        }
    }
    from
}

/// The position of the next `target` at or after `from`, stepping over trivia, commas and
/// opening parentheses (which the tree does not record). Falls back to `from`.
pub fn find_token(src: &str, from: usize, target: u8) -> usize {
    let bytes = src.as_bytes();
    let mut i = skip_trivia(src, from);
    while i < bytes.len() {
        if bytes[i] == target {
            return i;
        }
        match bytes[i] {
            b',' | b'(' | b')' => i = skip_trivia(src, i + 1),
            _ => break,
        }
    }
    from.min(src.len())
}

/// The text of the literal that starts at or after `from` (past any `(`): a string as written,
/// or a number, duration, percent, `true`, `false` or `none`.
pub fn literal_at(src: &str, from: usize) -> &str {
    let bytes = src.as_bytes();
    let mut start = skip_trivia(src, from);
    while bytes.get(start) == Some(&b'(') {
        start = skip_trivia(src, start + 1);
    }
    if start >= bytes.len() {
        return "";
    }
    let end = if bytes[start] == b'"' {
        string_end(src, start)
    } else {
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'_' | b'.' | b'%'))
        {
            end += 1;
        }
        end
    };
    &src[start..end.min(bytes.len())]
}

/// Whether the text between two nodes holds an empty line.
pub fn has_blank_line(gap: &str) -> bool {
    let lines: Vec<&str> = gap.split('\n').collect();
    lines.len() >= 3
        && lines[1..lines.len() - 1]
            .iter()
            .any(|l| l.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings_only() {
        let src = "let a = \"x // y {f(\"//\")}\" // real\n/// doc\n// two\n";
        let found: Vec<String> = collect(src).into_iter().map(|c| c.text).collect();
        assert_eq!(found, vec!["// real", "// two"]);
    }

    #[test]
    fn triple_quoted_strings_are_skipped() {
        let src = "const Q: string = \"\"\"\n // not a comment \"\n\"\"\" // yes";
        let found: Vec<String> = collect(src).into_iter().map(|c| c.text).collect();
        assert_eq!(found, vec!["// yes"]);
    }

    #[test]
    fn literals_are_taken_as_written() {
        assert_eq!(literal_at("  ((1h30m))", 0), "1h30m");
        assert_eq!(
            literal_at("\"a {b(\"c\")} d\" + 1", 0),
            "\"a {b(\"c\")} d\""
        );
        assert_eq!(literal_at("70%", 0), "70%");
    }
}

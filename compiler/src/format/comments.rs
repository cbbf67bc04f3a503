//! A small scanner over the source text: where the `//` comments are (the grammar skips them,
//! so the tree does not have them), and where tokens and literals start and end.

/// One `//` comment (not a `///` doc comment): its byte range and its text, without the
/// trailing whitespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Every `//` comment outside string literals, in source order.
pub fn collect(src: &str) -> Vec<Comment> {
    let bytes = src.as_bytes();
    let mut comments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = string_end(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = line_end(bytes, i);
                if bytes.get(i + 2) != Some(&b'/') {
                    let text = src[i..end].trim_end().to_string();
                    comments.push(Comment {
                        start: i,
                        end: i + text.len(),
                        text,
                    });
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    comments
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// The end (exclusive) of the string literal starting at `start` (`"` or `"""`), skipping
/// escapes and interpolated expressions, which may hold strings of their own.
pub fn string_end(bytes: &[u8], start: usize) -> usize {
    let triple = bytes[start..].starts_with(b"\"\"\"");
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' if triple => {
                if bytes[i..].starts_with(b"\"\"\"") {
                    return i + 3;
                }
                i += 1;
            }
            b'"' => return i + 1,
            b'{' => i = interpolation_end(bytes, i),
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end of `{ expr }` inside a string, starting at its `{`.
fn interpolation_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = line_end(bytes, i);
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
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
        string_end(bytes, start)
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

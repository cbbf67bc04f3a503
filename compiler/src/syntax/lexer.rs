//! A forgiving scanner over the raw text, for the features that must work on any buffer, however
//! broken: comments (the grammar skips them, so the tree has none), string pieces around
//! interpolations, numbers, words and brackets. It never fails and never recurses: nesting
//! (strings inside `{interpolations}` inside strings) is kept on an explicit stack.
//!
//! It follows `grammar/rbk.pest`: `//` comments, `///` doc comments, `"..."` strings that end at
//! the line end when unclosed, `"""..."""` strings, `\` escapes, `{expr}` interpolation.

/// What a lexeme is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexKind {
    /// `// ...` up to the end of its line (trailing whitespace excluded).
    Comment,
    /// `/// ...`.
    DocComment,
    /// A piece of a string literal between its quotes and interpolations; may span lines
    /// (`"""`).
    Str,
    /// An integer, float, percent or duration (`42`, `1.5`, `70%`, `1h30m`).
    Number,
    /// A name or keyword: `[A-Za-z_][A-Za-z0-9_]*`.
    Word,
    /// `{`, `(` or `[` in code (not the brace that opens an interpolation).
    Open(u8),
    /// `}`, `)` or `]` in code.
    Close(u8),
}

/// One lexeme: its kind and byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lexeme {
    pub kind: LexKind,
    pub start: usize,
    pub end: usize,
}

enum Mode {
    /// Code; inside an interpolation, `depth` counts the `{` opened since.
    Code { interpolation: bool, depth: usize },
    /// A string literal; `piece` is where its current piece of text started.
    Str { triple: bool, piece: usize },
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every lexeme of `text`, in order and without overlap. Every boundary falls on an ASCII byte
/// or the end of the text, so each range is valid `str` slicing.
pub fn lex(text: &str) -> Vec<Lexeme> {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let mut out = Vec::new();
    let mut push = |kind, start, end| {
        if end > start {
            out.push(Lexeme { kind, start, end });
        }
    };
    let mut stack = vec![Mode::Code {
        interpolation: false,
        depth: 0,
    }];
    let mut i = 0;
    while i < len {
        let b = bytes[i];
        match stack.last_mut() {
            Some(Mode::Str { triple, piece }) => {
                let (triple, piece) = (*triple, *piece);
                if b == b'\\' {
                    i += 2;
                } else if triple && bytes[i..].starts_with(b"\"\"\"") {
                    push(LexKind::Str, piece, i + 3);
                    stack.pop();
                    i += 3;
                } else if !triple && b == b'"' {
                    push(LexKind::Str, piece, i + 1);
                    stack.pop();
                    i += 1;
                } else if !triple && b == b'\n' {
                    // Unclosed: a one-line string ends with its line.
                    push(LexKind::Str, piece, i);
                    stack.pop();
                } else if b == b'{' {
                    push(LexKind::Str, piece, i);
                    stack.push(Mode::Code {
                        interpolation: true,
                        depth: 0,
                    });
                    i += 1;
                } else {
                    i += 1;
                }
            }
            Some(Mode::Code {
                interpolation,
                depth,
            }) => match b {
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    let end = bytes[i..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(len, |p| i + p);
                    let kind = if bytes.get(i + 2) == Some(&b'/') {
                        LexKind::DocComment
                    } else {
                        LexKind::Comment
                    };
                    push(kind, i, i + text[i..end].trim_end().len());
                    i = end;
                }
                b'"' => {
                    let triple = bytes[i..].starts_with(b"\"\"\"");
                    stack.push(Mode::Str { triple, piece: i });
                    i += if triple { 3 } else { 1 };
                }
                b'0'..=b'9' => {
                    let start = i;
                    while i < len && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                    if bytes.get(i) == Some(&b'.')
                        && bytes.get(i + 1).is_some_and(|c| c.is_ascii_digit())
                    {
                        i += 1;
                        while i < len && bytes[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                    if bytes.get(i) == Some(&b'%') {
                        i += 1;
                    } else {
                        // Duration units (`1h30m`), or a malformed number taken whole.
                        while i < len && is_word_byte(bytes[i]) {
                            i += 1;
                        }
                    }
                    push(LexKind::Number, start, i);
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    let start = i;
                    while i < len && is_word_byte(bytes[i]) {
                        i += 1;
                    }
                    push(LexKind::Word, start, i);
                }
                b'{' => {
                    if *interpolation {
                        *depth += 1;
                    }
                    push(LexKind::Open(b), i, i + 1);
                    i += 1;
                }
                b'}' if *interpolation && *depth == 0 => {
                    // The interpolation ends; its string goes on after the brace.
                    stack.pop();
                    if let Some(Mode::Str { piece, .. }) = stack.last_mut() {
                        *piece = i + 1;
                    }
                    i += 1;
                }
                b'}' => {
                    if *interpolation {
                        *depth -= 1;
                    }
                    push(LexKind::Close(b), i, i + 1);
                    i += 1;
                }
                b'(' | b'[' => {
                    push(LexKind::Open(b), i, i + 1);
                    i += 1;
                }
                b')' | b']' => {
                    push(LexKind::Close(b), i, i + 1);
                    i += 1;
                }
                _ => i += 1,
            },
            None => break,
        }
    }
    if let Some(Mode::Str { piece, .. }) = stack.last() {
        push(LexKind::Str, *piece, len);
    }
    out
}

/// The pairs of matching brackets, as (open, close) byte offsets, in order of the opening one.
/// An unmatched bracket is skipped; a closing one that matches an outer opener closes the
/// unclosed ones in between.
pub fn bracket_pairs(lexemes: &[Lexeme]) -> Vec<(usize, usize)> {
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut pairs = Vec::new();
    for lexeme in lexemes {
        match lexeme.kind {
            LexKind::Open(b) => open.push((b, lexeme.start)),
            LexKind::Close(b) => {
                let want = match b {
                    b'}' => b'{',
                    b')' => b'(',
                    _ => b'[',
                };
                if let Some(index) = open.iter().rposition(|&(o, _)| o == want) {
                    pairs.push((open[index].1, lexeme.start));
                    open.truncate(index);
                }
            }
            _ => {}
        }
    }
    pairs.sort_unstable();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(LexKind, &str)> {
        lex(text)
            .into_iter()
            .map(|l| (l.kind, &text[l.start..l.end]))
            .collect()
    }

    #[test]
    fn strings_split_around_interpolations() {
        assert_eq!(
            kinds(r#"log "a {f("x{y}")} b\" c" // done"#),
            vec![
                (LexKind::Word, "log"),
                (LexKind::Str, "\"a "),
                (LexKind::Word, "f"),
                (LexKind::Open(b'('), "("),
                (LexKind::Str, "\"x"),
                (LexKind::Word, "y"),
                (LexKind::Str, "\""),
                (LexKind::Close(b')'), ")"),
                (LexKind::Str, " b\\\" c\""),
                (LexKind::Comment, "// done"),
            ]
        );
    }

    #[test]
    fn numbers_comments_and_unclosed_strings() {
        assert_eq!(
            kinds("/// doc\nx = 1h30m + 12.5% - 3 \"open\ny"),
            vec![
                (LexKind::DocComment, "/// doc"),
                (LexKind::Word, "x"),
                (LexKind::Number, "1h30m"),
                (LexKind::Number, "12.5%"),
                (LexKind::Number, "3"),
                (LexKind::Str, "\"open"),
                (LexKind::Word, "y"),
            ]
        );
        assert_eq!(
            kinds("\"\"\"a\n\"b\"\n\"\"\" \"\"\"tail"),
            vec![
                (LexKind::Str, "\"\"\"a\n\"b\"\n\"\"\""),
                (LexKind::Str, "\"\"\"tail"),
            ]
        );
    }

    #[test]
    fn interpolation_braces_are_not_brackets() {
        let text = "f { \"{ {a: 1} }\" [ ( ] }";
        let pairs = bracket_pairs(&lex(text));
        let shown: Vec<(&str, &str)> = pairs
            .iter()
            .map(|&(o, c)| (&text[o..=o], &text[c..=c]))
            .collect();
        assert_eq!(shown, vec![("{", "}"), ("{", "}"), ("[", "]")]);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "\"{",
            "\"{\"{\"{",
            "}}}",
            "\\",
            "\"\\",
            "é\"é{é}é\"",
            "1.",
            "1.é",
            "///",
        ] {
            for lexeme in lex(text) {
                assert!(text.get(lexeme.start..lexeme.end).is_some(), "{text:?}");
            }
        }
    }
}

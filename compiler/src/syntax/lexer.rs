//! Lexemes for the editor features that must work on any buffer, however broken: comments (the
//! grammar skips them, so the tree has none), string pieces around interpolations, numbers,
//! words and brackets. They are the tokens of the one forgiving scanner, [`super::scan`],
//! grouped as highlighting and folding want them.

use super::scan::{scan, TokenKind};

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

/// Every lexeme of `text`, in order and without overlap: the tokens of [`scan`], with each
/// piece of a string (from its opening quote or the end of an interpolation to its closing
/// quote or the start of the next interpolation) as one [`LexKind::Str`].
pub fn lex(text: &str) -> Vec<Lexeme> {
    let mut out = Vec::new();
    let mut push = |kind, start, end| {
        if end > start {
            out.push(Lexeme { kind, start, end });
        }
    };
    // Where the string piece being read started, per open string.
    let mut pieces: Vec<usize> = Vec::new();
    for token in scan(text) {
        match token.kind {
            TokenKind::StrOpen { .. } => pieces.push(token.start),
            TokenKind::StrText => {}
            TokenKind::InterpolationOpen => {
                if let Some(&piece) = pieces.last() {
                    push(LexKind::Str, piece, token.start);
                }
            }
            TokenKind::InterpolationClose => {
                if let Some(piece) = pieces.last_mut() {
                    *piece = token.end;
                }
            }
            TokenKind::StrClose | TokenKind::StrUnclosed => {
                if let Some(piece) = pieces.pop() {
                    push(LexKind::Str, piece, token.end);
                }
            }
            TokenKind::Comment => push(LexKind::Comment, token.start, token.end),
            TokenKind::DocComment => push(LexKind::DocComment, token.start, token.end),
            TokenKind::Number => push(LexKind::Number, token.start, token.end),
            TokenKind::Word => push(LexKind::Word, token.start, token.end),
            TokenKind::Open(b) => push(LexKind::Open(b), token.start, token.end),
            TokenKind::Close(b) => push(LexKind::Close(b), token.start, token.end),
            TokenKind::Punct => {}
        }
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

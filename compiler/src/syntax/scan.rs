//! The one forgiving scanner of raw `.rbk` text. Every feature that must look at text the
//! grammar may not accept — the nesting guard before parsing, the cut points of incremental
//! parsing, the formatter's comments, the editor's lexemes and cursor context — reads tokens
//! from here, so they all agree on where strings, interpolations and comments start and end.
//!
//! It follows `grammar/rbk.pest`: `//` comments and `///` doc comments run to the end of their
//! line; a `"..."` string ends at its closing quote or, unclosed, at the end of its line (an
//! escape never carries it onto the next line); a `"""..."""` string may span lines; `\`
//! escapes one character; `{expr}` inside a string is code, which may hold strings again. It
//! never fails and never recurses: the strings and interpolations open at a point are an
//! explicit stack. Every token boundary falls on an ASCII byte or the end of the text, so each
//! range is valid `str` slicing.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// `// ...` up to the end of its line (trailing whitespace excluded).
    Comment,
    /// `/// ...`, likewise.
    DocComment,
    /// The opening `"` or `"""` of a string.
    StrOpen { triple: bool },
    /// Text of a string between its quotes and interpolations, escapes included.
    StrText,
    /// The closing `"` or `"""` of a string.
    StrClose,
    /// Where a string that never closes ends: the end of its line (one-line strings) or of the
    /// text. Empty.
    StrUnclosed,
    /// The `{` that starts an interpolation inside a string.
    InterpolationOpen,
    /// The `}` that ends an interpolation; the string goes on after it.
    InterpolationClose,
    /// An integer, float, percent or duration (`42`, `1.5`, `70%`, `1h30m`).
    Number,
    /// A name or keyword: `[A-Za-z_][A-Za-z0-9_]*`.
    Word,
    /// `{`, `(` or `[` in code (not the brace that opens an interpolation).
    Open(u8),
    /// `}`, `)` or `]` in code (not the brace that closes an interpolation).
    Close(u8),
    /// Any other character in code that is not whitespace (`,`, `:`, `<`, `+`, `é`, ...).
    Punct,
}

/// One token: its kind and byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Copy)]
enum Mode {
    /// Code; `braces` counts the `{` opened at this level and not closed (so an
    /// interpolation's own `}` is told from a record's), `brackets` all open brackets.
    Code {
        interpolation: bool,
        braces: usize,
        brackets: usize,
    },
    /// Inside a string literal.
    Str { triple: bool },
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The tokens of a text, in order and without overlap (an iterator: nothing is allocated per
/// token).
pub struct Scanner<'a> {
    text: &'a str,
    i: usize,
    modes: Vec<Mode>,
}

/// Scans `text` from its start, in code.
pub fn scan(text: &str) -> Scanner<'_> {
    Scanner {
        text,
        i: 0,
        modes: vec![Mode::Code {
            interpolation: false,
            braces: 0,
            brackets: 0,
        }],
    }
}

impl Scanner<'_> {
    /// How many strings, interpolations and brackets are open at the current point; 0 at the
    /// top level of code. A closing bracket with nothing open at its level counts for nothing.
    pub fn nesting(&self) -> usize {
        self.modes
            .iter()
            .map(|mode| match mode {
                Mode::Code { brackets, .. } => *brackets,
                Mode::Str { .. } => 0,
            })
            .sum::<usize>()
            + self.modes.len()
            - 1
    }

    /// Whether the current point is inside a string's text (not in an interpolation).
    pub fn in_string(&self) -> bool {
        matches!(self.modes.last(), Some(Mode::Str { .. }))
    }

    fn token(&mut self, kind: TokenKind, start: usize, end: usize) -> Option<Token> {
        self.i = end;
        Some(Token { kind, start, end })
    }

    fn in_string_step(&mut self, triple: bool) -> Option<Token> {
        let bytes = self.text.as_bytes();
        let len = bytes.len();
        let start = self.i;
        let b = bytes[start];
        if triple && bytes[start..].starts_with(b"\"\"\"") {
            self.modes.pop();
            return self.token(TokenKind::StrClose, start, start + 3);
        }
        if !triple && b == b'"' {
            self.modes.pop();
            return self.token(TokenKind::StrClose, start, start + 1);
        }
        if !triple && b == b'\n' {
            self.modes.pop();
            return self.token(TokenKind::StrUnclosed, start, start);
        }
        if b == b'{' {
            self.modes.push(Mode::Code {
                interpolation: true,
                braces: 0,
                brackets: 0,
            });
            return self.token(TokenKind::InterpolationOpen, start, start + 1);
        }
        // A run of text, escapes included, up to the next delimiter. Most text has none of
        // the bytes that matter: memchr finds the next one without a byte loop.
        let mut i = start;
        while i < len {
            let next = memchr::memchr3(b'\\', b'"', b'{', &bytes[i..]).map_or(len, |p| i + p);
            if !triple {
                if let Some(newline) = memchr::memchr(b'\n', &bytes[i..next]) {
                    i += newline;
                    break;
                }
            }
            i = next;
            if i == len {
                break;
            }
            match bytes[i] {
                b'\\' => {
                    // An escaped newline still ends a one-line string; the escape does not
                    // reach past the end of the text, nor into a multi-byte character.
                    let next = bytes.get(i + 1).copied();
                    i += match next {
                        Some(b'\n') if !triple => 1,
                        Some(c) if c.is_ascii() => 2,
                        _ => 1,
                    };
                }
                b'"' if !triple || bytes[i..].starts_with(b"\"\"\"") => break,
                b'{' => break,
                _ => i += 1,
            }
        }
        self.token(TokenKind::StrText, start, i.min(len))
    }

    fn in_code_step(&mut self) -> Option<Token> {
        let text = self.text;
        let bytes = text.as_bytes();
        let len = bytes.len();
        let start = self.i;
        let b = bytes[start];
        let Some(Mode::Code {
            interpolation,
            braces,
            brackets,
        }) = self.modes.last_mut()
        else {
            return None;
        };
        match b {
            b'/' if bytes.get(start + 1) == Some(&b'/') => {
                let end = memchr::memchr(b'\n', &bytes[start..]).map_or(len, |p| start + p);
                let kind = if bytes.get(start + 2) == Some(&b'/') {
                    TokenKind::DocComment
                } else {
                    TokenKind::Comment
                };
                let trimmed = start + text[start..end].trim_end().len();
                self.i = end;
                Some(Token {
                    kind,
                    start,
                    end: trimmed,
                })
            }
            b'"' => {
                let triple = bytes[start..].starts_with(b"\"\"\"");
                self.modes.push(Mode::Str { triple });
                let end = start + if triple { 3 } else { 1 };
                self.token(TokenKind::StrOpen { triple }, start, end)
            }
            b'0'..=b'9' => {
                let mut i = start;
                while i < len && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
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
                self.token(TokenKind::Number, start, i)
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let mut i = start;
                while i < len && is_word_byte(bytes[i]) {
                    i += 1;
                }
                self.token(TokenKind::Word, start, i)
            }
            b'}' if *interpolation && *braces == 0 => {
                self.modes.pop();
                self.token(TokenKind::InterpolationClose, start, start + 1)
            }
            b'{' | b'(' | b'[' => {
                if b == b'{' {
                    *braces += 1;
                }
                *brackets += 1;
                self.token(TokenKind::Open(b), start, start + 1)
            }
            b'}' | b')' | b']' => {
                if b == b'}' {
                    *braces = braces.saturating_sub(1);
                }
                *brackets = brackets.saturating_sub(1);
                self.token(TokenKind::Close(b), start, start + 1)
            }
            b' ' | b'\t' | b'\r' | b'\n' => {
                let mut i = start;
                while i < len && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                    i += 1;
                }
                self.i = i;
                None
            }
            _ => {
                let width = text[start..].chars().next().map_or(1, char::len_utf8);
                self.token(TokenKind::Punct, start, start + width)
            }
        }
    }
}

impl Iterator for Scanner<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        loop {
            if self.i >= self.text.len() {
                // A string still open at the end of the text ends there, once.
                return match self.modes.last() {
                    Some(Mode::Str { .. }) => {
                        self.modes.pop();
                        let end = self.text.len();
                        Some(Token {
                            kind: TokenKind::StrUnclosed,
                            start: end,
                            end,
                        })
                    }
                    _ => None,
                };
            }
            let token = match self.modes.last() {
                Some(&Mode::Str { triple }) => self.in_string_step(triple),
                _ => self.in_code_step(),
            };
            if token.is_some() {
                return token;
            }
        }
    }
}

/// Where the string literal starting at `start` (its `"` or `"""`) ends: after its closing
/// quote, or where it stops unclosed. Interpolations and the strings inside them are skipped.
pub fn string_end(text: &str, start: usize) -> usize {
    let mut scanner = scan(&text[start..]);
    while let Some(token) = scanner.next() {
        if scanner.nesting() == 0 {
            return start + token.end;
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(TokenKind, &str)> {
        scan(text)
            .map(|t| (t.kind, &text[t.start..t.end]))
            .collect()
    }

    #[test]
    fn a_one_line_string_ends_at_its_line_even_after_an_escape() {
        use TokenKind::*;
        assert_eq!(
            tokens("\"ab\\\n(("),
            vec![
                (StrOpen { triple: false }, "\""),
                (StrText, "ab\\"),
                (StrUnclosed, ""),
                (Open(b'('), "("),
                (Open(b'('), "("),
            ]
        );
    }

    #[test]
    fn interpolations_hold_code_and_strings() {
        use TokenKind::*;
        assert_eq!(
            tokens(r#""a{f("x", {b: 1})}c" // done"#),
            vec![
                (StrOpen { triple: false }, "\""),
                (StrText, "a"),
                (InterpolationOpen, "{"),
                (Word, "f"),
                (Open(b'('), "("),
                (StrOpen { triple: false }, "\""),
                (StrText, "x"),
                (StrClose, "\""),
                (Punct, ","),
                (Open(b'{'), "{"),
                (Word, "b"),
                (Punct, ":"),
                (Number, "1"),
                (Close(b'}'), "}"),
                (Close(b')'), ")"),
                (InterpolationClose, "}"),
                (StrText, "c"),
                (StrClose, "\""),
                (Comment, "// done"),
            ]
        );
    }

    #[test]
    fn string_end_skips_interpolated_strings() {
        let text = r#"x = "a{"b"}c" + 1"#;
        assert_eq!(string_end(text, 4), 13);
        assert_eq!(string_end("\"\"\"a\n\"b\"\n\"\"\" x", 0), 12);
        assert_eq!(string_end("\"open\nnext", 0), 5);
    }

    #[test]
    fn boundaries_are_valid_slices_on_odd_input() {
        for text in [
            "\"{",
            "\"{\"{\"{",
            "}}}",
            "\\",
            "\"\\",
            "\"\\é",
            "é\"é{é}é\"",
            "1.",
            "1.é",
            "///",
            "\"\"\"",
            "\"\"\"a\"b\"\"c",
            "\"\"\"\"\"\"\"",
        ] {
            let all: Vec<Token> = scan(text).collect();
            for token in &all {
                assert!(text.get(token.start..token.end).is_some(), "{text:?}");
            }
            assert!(all.windows(2).all(|w| w[0].end <= w[1].start), "{text:?}");
        }
    }
}

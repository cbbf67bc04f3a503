//! Where the cursor is, read from the raw text: the buffer is usually mid-edit and does not
//! parse, so completion asks the forgiving scanner ([`super::scan`]) what surrounds the cursor
//! (strings, interpolations, comments, brackets) instead of asking the syntax tree.

use super::ast::Span;
use super::scan::{scan, TokenKind};

/// An open bracket around the cursor and the words of its line before it (`step kill "..." {`
/// gives `["step", "kill"]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub open: char,
    pub at: usize,
    pub head: Vec<String>,
    /// Argument names written so far at this level (`name:`), for calls and records.
    pub named: Vec<String>,
    /// Commas so far at this level: with `named`, how many arguments were positional.
    pub commas: usize,
}

/// What kind of thing the cursor is in.
#[derive(Clone, Debug, PartialEq)]
pub enum Place {
    Code,
    Comment,
    /// Inside a string literal (not in an interpolation); the offset of its opening quote.
    String {
        start: usize,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    pub place: Place,
    /// Innermost last.
    pub frames: Vec<Frame>,
}

fn is_word_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Frames further out than this get no `head` (completion reads the innermost one; computing
/// every head of a line with a million open brackets would take quadratic time).
const FRAMES_WITH_HEADS: usize = 32;

/// The words of the line holding `at`, before `at` (string contents left out).
fn line_words(text: &str, at: usize) -> Vec<String> {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..at];
    scan(line)
        .filter(|token| matches!(token.kind, TokenKind::Word | TokenKind::Number))
        .map(|token| line[token.start..token.end].to_string())
        .collect()
}

/// Reads `text` up to `offset` and tells what surrounds that point.
pub fn at(text: &str, offset: usize) -> Cursor {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let bytes = before.as_bytes();
    let mut frames: Vec<Frame> = Vec::new();
    let mut string_starts: Vec<usize> = Vec::new();
    let mut last_word: Option<(usize, usize)> = None;
    let mut place = Place::Code;
    for token in scan(before) {
        place = Place::Code;
        match token.kind {
            TokenKind::Comment | TokenKind::DocComment => {
                // A comment runs to the end of its line: the cursor is in it when no line
                // ends between them.
                if !before[token.start..].contains('\n') {
                    place = Place::Comment;
                }
            }
            TokenKind::StrOpen { .. } => string_starts.push(token.start),
            TokenKind::StrText | TokenKind::StrClose => {}
            TokenKind::StrUnclosed => {
                let start = string_starts.pop().unwrap_or(0);
                // The text ends inside the string: that is where the cursor is.
                if token.start == offset {
                    place = Place::String { start };
                }
            }
            TokenKind::InterpolationOpen => frames.push(Frame {
                open: '$',
                at: token.start,
                head: Vec::new(),
                named: Vec::new(),
                commas: 0,
            }),
            TokenKind::InterpolationClose => {
                // Brackets left open inside the interpolation close with it.
                while let Some(frame) = frames.pop() {
                    if frame.open == '$' {
                        break;
                    }
                }
            }
            TokenKind::Open(open) => frames.push(Frame {
                open: open as char,
                at: token.start,
                head: Vec::new(),
                named: Vec::new(),
                commas: 0,
            }),
            TokenKind::Close(_) => {
                if frames.last().is_some_and(|frame| frame.open != '$') {
                    frames.pop();
                }
            }
            TokenKind::Word | TokenKind::Number => last_word = Some((token.start, token.end)),
            TokenKind::Punct => match bytes[token.start] {
                b',' => {
                    if let Some(frame) = frames.last_mut() {
                        frame.commas += 1;
                    }
                }
                b':' if text.as_bytes().get(token.start + 1) != Some(&b':') => {
                    if let (Some((start, end)), Some(frame)) = (last_word, frames.last_mut()) {
                        frame.named.push(text[start..end].to_string());
                    }
                }
                _ => {}
            },
        }
        if !matches!(token.kind, TokenKind::Word | TokenKind::Number) {
            last_word = None;
        }
    }
    let first_with_head = frames.len().saturating_sub(FRAMES_WITH_HEADS);
    for frame in &mut frames[first_with_head..] {
        if frame.open != '$' {
            frame.head = line_words(text, frame.at);
        }
    }
    Cursor { place, frames }
}

/// The identifier characters just before `offset` (what the user is typing).
pub fn partial_word(text: &str, offset: usize) -> &str {
    let before = &text[..offset.min(text.len())];
    let start = before
        .bytes()
        .rposition(|b| !is_word_char(b))
        .map_or(0, |i| i + 1);
    &before[start..]
}

/// The name (identifier characters, not starting with a digit) that `offset` is in or at the
/// end of.
pub fn word_at(text: &str, offset: usize) -> Option<Span> {
    let bytes = text.as_bytes();
    let mut start = offset.min(bytes.len());
    while start > 0 && is_word_char(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset.min(bytes.len());
    while end < bytes.len() && is_word_char(bytes[end]) {
        end += 1;
    }
    (start < end && !bytes[start].is_ascii_digit()).then(|| Span::new(start, end))
}

/// The text of the current line before `offset`.
pub fn line_before(text: &str, offset: usize) -> &str {
    let before = &text[..offset.min(text.len())];
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    &before[start..]
}

/// The last significant character before the word being typed at `offset`.
pub fn previous_char(text: &str, offset: usize) -> Option<char> {
    let before = &text[..offset.min(text.len()) - partial_word(text, offset).len()];
    before.trim_end().chars().last()
}

/// The callee written before the bracket at `open` (`pg.terminate` in `pg.terminate(`).
pub fn callee_before(text: &str, open: usize) -> Option<&str> {
    let before = text[..open].trim_end();
    let start = before
        .bytes()
        .rposition(|b| !(is_word_char(b) || b == b'.'))
        .map_or(0, |i| i + 1);
    let callee = &before[start..];
    (!callee.is_empty() && !callee.starts_with('.') && !callee.ends_with('.')).then_some(callee)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(text_with_bar: &str) -> (String, Cursor) {
        let offset = text_with_bar.find('|').unwrap();
        let text = text_with_bar.replacen('|', "", 1);
        let cursor = at(&text, offset);
        (text, cursor)
    }

    #[test]
    fn brackets_around_the_cursor_with_their_line() {
        let (_, c) = cursor("runbook r {\n  step s {\n    pg.terminate(db, max: 3, |");
        let heads: Vec<_> = c.frames.iter().map(|f| (f.open, f.head.clone())).collect();
        assert_eq!(
            heads,
            vec![
                ('{', vec!["runbook".to_string(), "r".to_string()]),
                ('{', vec!["step".to_string(), "s".to_string()]),
                ('(', vec!["pg".to_string(), "terminate".to_string()]),
            ]
        );
        assert_eq!(c.frames[2].named, vec!["max".to_string()]);
        assert_eq!(c.frames[2].commas, 2);
        assert_eq!(c.place, Place::Code);
    }

    #[test]
    fn closed_brackets_strings_and_comments_do_not_count() {
        let (_, c) = cursor("f(\")(\", [1]) // (\n{ x |");
        assert_eq!(c.frames.len(), 1);
        assert_eq!(c.frames[0].open, '{');
        let (_, c) = cursor("x // note (|");
        assert_eq!(c.place, Place::Comment);
    }

    #[test]
    fn strings_and_interpolations() {
        let (_, c) = cursor("log \"pool {pg.usage(|");
        assert_eq!(c.place, Place::Code);
        assert_eq!(c.frames.last().unwrap().open, '(');
        let (_, c) = cursor("log \"pool {x} and |");
        assert_eq!(c.place, Place::String { start: 4 });
        let (_, c) = cursor("approval required from \"ops|");
        assert_eq!(c.place, Place::String { start: 23 });
        let (_, c) = cursor("q(\"\"\"\nselect (\n\"\"\", |");
        assert_eq!(c.place, Place::Code);
        assert_eq!(c.frames.len(), 1);
    }

    #[test]
    fn words_before_the_cursor() {
        assert_eq!(partial_word("expect step ki", 14), "ki");
        assert_eq!(line_before("a\n  b c", 7), "  b c");
        assert_eq!(previous_char("f(a, ma", 7), Some(','));
        assert_eq!(
            callee_before("x = pg.terminate (", 17),
            Some("pg.terminate")
        );
        assert_eq!(callee_before("x = (", 4), None);
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let text = "runbook r { step s \"{a(\"x\")}\" { f(a: \"\"\"\n}\"\"\", [{ // c\n}]) } }é";
        for offset in 0..=text.len() + 2 {
            let _ = at(text, offset);
            if text.is_char_boundary(offset.min(text.len())) {
                let _ = partial_word(text, offset.min(text.len()));
                let _ = previous_char(text, offset.min(text.len()));
            }
        }
    }
}

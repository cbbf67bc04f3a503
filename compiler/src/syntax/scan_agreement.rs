//! Every reader of raw text agrees on where strings and comments end, because they all read
//! the one scanner: the nesting guard, incremental parsing's cut points, the formatter's
//! comments, the editor's lexemes and cursor, and the recovery helpers. Each tricky input
//! below ends a line inside (or just after) a string; every reader must see the next lines as
//! code. Before they shared a scanner, five of them disagreed about a string at end of line.

use super::cursor::{self, Place};
use super::lexer::{lex, LexKind};
use super::parser::comment_start;
use super::recovery::{check_nesting, unclosed_bracket};
use super::{item_starts, MAX_NESTING};
use crate::format::comments;
use crate::FileId;

/// Lines that end inside, or right after, a string — as typed mid-edit or written wrong.
const TRICKY_LINES: &[&str] = &[
    r#"log "unclosed // not a comment"#,
    r#"log "escaped newline \"#,
    r#"log "escaped quote \" // not a comment"#,
    r#"log "a {f("inner")} still open // not a comment"#,
    r#"log "a {x} b" + "c // not a comment"#,
    r#"log """closed""" + "open // not a comment"#,
    r#"log "\{ not an interpolation // not a comment"#,
    r#"log "é{"é"}é // not a comment"#,
];

/// A file with the tricky line in a function, then a comment and an item that must be seen
/// as code.
fn file_with(line: &str) -> String {
    format!("fn f() {{\n  {line}\n}}\n// note (\nrunbook after {{\n}}\n")
}

#[test]
fn every_reader_ends_a_string_at_the_end_of_its_line() {
    for line in TRICKY_LINES {
        let text = file_with(line);
        let note = text.find("// note (").unwrap();
        let item = text.find("runbook after").unwrap();

        // The editor's lexemes: the note is a comment; nothing on the tricky line is.
        let lexemes = lex(&text);
        let lexed_comments: Vec<usize> = lexemes
            .iter()
            .filter(|l| l.kind == LexKind::Comment)
            .map(|l| l.start)
            .collect();
        assert_eq!(lexed_comments, vec![note], "lexer on {line:?}");

        // The formatter's comments.
        let formatter_comments: Vec<usize> =
            comments::collect(&text).iter().map(|c| c.start).collect();
        assert_eq!(formatter_comments, vec![note], "formatter on {line:?}");

        // The tree builder's trailing-comment finder, line by line.
        assert_eq!(comment_start(line), None, "comment_start on {line:?}");
        assert_eq!(comment_start("// note ("), Some(0));

        // The cursor: code (not a string) at the item after, outside every bracket.
        let at_item = cursor::at(&text, item);
        assert_eq!(at_item.place, Place::Code, "cursor on {line:?}");
        assert!(at_item.frames.is_empty(), "cursor on {line:?}: {at_item:?}");
        let at_note = cursor::at(&text, note + 4);
        assert_eq!(at_note.place, Place::Comment, "cursor on {line:?}");

        // Incremental parsing cuts before the item.
        assert!(
            item_starts(&text).contains(&(item - 1)),
            "item_starts on {line:?}: {:?}",
            item_starts(&text)
        );

        // The recovery helper sees no bracket left open by the tricky line's string.
        assert_eq!(
            unclosed_bracket(&text),
            None,
            "unclosed_bracket on {line:?}"
        );

        // The nesting guard counts brackets on the lines after it.
        let deep = format!(
            "{}fn g() {{\n  let x = {}1{}\n}}\n",
            text,
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert!(
            check_nesting(FileId(0), &deep).is_some(),
            "check_nesting on {line:?}"
        );
        assert!(check_nesting(FileId(0), &text).is_none(), "{line:?}");
    }
}

#[test]
fn brackets_in_an_unclosed_string_count_for_the_nesting_guard() {
    // The grammar does not read an unclosed string as a string; its recovery may read the
    // brackets in it as code, so the guard counts them rather than let the parser recurse.
    let text = format!(
        "fn f() {{\n  log \"abc {}\n}}\n",
        "(".repeat(MAX_NESTING + 1)
    );
    assert!(check_nesting(FileId(0), &text).is_some());
    let closed = format!(
        "fn f() {{\n  log \"abc {}\"\n}}\n",
        "(".repeat(MAX_NESTING + 1)
    );
    assert!(check_nesting(FileId(0), &closed).is_none());
}

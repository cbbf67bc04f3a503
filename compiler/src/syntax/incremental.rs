//! Parsing a file item by item, reusing what did not change. An editor re-checks the whole
//! buffer after every keystroke, but one keystroke changes one item: the file is cut where
//! top-level items begin, each piece is parsed on its own (or taken from the cache when its
//! text is unchanged) and the pieces are moved to where they stand now ([`Shift`]).
//!
//! The cut points are chosen so that parsing the pieces gives exactly what parsing the whole
//! file gives: a line at column 0, outside every bracket, string and comment, that starts with
//! an item keyword (or a `///` doc comment not continuing one above). There, a whole-file parse
//! is always between items: an item cannot continue onto such a line, and the recovery rule
//! `bad_item` stops before it. A test compares the two on every prefix of every example.

use std::collections::HashMap;

use super::ast::Item;
use super::parser::{parse, ParseOutput};
use super::recovery::check_nesting;
use super::scan::scan;
use super::shift::Shift;
use crate::diagnostics::Diagnostic;
use crate::FileId;

/// Words that start an item (`item_start` in `grammar/rbk.pest`).
const ITEM_KEYWORDS: &[&[u8]] = &[
    b"use",
    b"runbook",
    b"template",
    b"fn",
    b"const",
    b"test",
    b"extern",
    b"type",
];

/// Pieces unused for this many parses are dropped.
const KEEP_FOR: u64 = 64;

struct Piece {
    items: Vec<Item>,
    diagnostics: Vec<Diagnostic>,
    /// Expression ids the piece used (ids run from 0 within it).
    ids: u32,
    last_used: u64,
}

/// Parsed pieces by their text, kept between checks of the same buffers.
#[derive(Default)]
pub struct ParseCache {
    pieces: HashMap<String, Piece>,
    parses: u64,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn starts_item(line: &[u8]) -> bool {
    ITEM_KEYWORDS.iter().any(|keyword| {
        line.starts_with(keyword) && !line.get(keyword.len()).copied().is_some_and(is_word_byte)
    })
}

/// Byte offsets where the pieces of `text` start: 0, then the newline before each line that
/// starts a top-level item.
pub fn item_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    // The scanner's tokens, each with how much is open after it.
    let mut scanner = scan(text);
    let mut pending = scanner.next().map(|token| (token, scanner.nesting()));
    let mut nesting = 0;
    // Inside a run of `///` lines (blank and `//` lines between them included), which belongs
    // to the item after it.
    let mut in_doc_run = false;
    let line_starts = std::iter::once(0).chain(newlines(bytes).map(|newline| newline + 1));
    for i in line_starts {
        if i > bytes.len() {
            break;
        }
        while let Some((token, after)) = pending {
            if token.start >= i {
                break;
            }
            nesting = after;
            pending = scanner.next().map(|token| (token, scanner.nesting()));
        }
        if nesting != 0 {
            in_doc_run = false;
            continue;
        }
        let line = &bytes[i..];
        let this_line = line.split(|&b| b == b'\n').next().unwrap_or_default();
        let trimmed = this_line.trim_ascii();
        let is_doc = trimmed.starts_with(b"///");
        let is_trivia = !is_doc && (trimmed.is_empty() || trimmed.starts_with(b"//"));
        // The piece starts at the newline before the line: what the parser reports at the very
        // start of a piece then points where it points in the whole file (the end of what came
        // before), never before the piece.
        let starts_here = line.starts_with(b"///") || starts_item(line);
        if i > 0 && !in_doc_run && starts_here {
            let last = *starts.last().unwrap_or(&0);
            if i - 1 > last {
                starts.push(i - 1);
            }
        }
        if is_doc {
            in_doc_run = true;
        } else if !is_trivia {
            in_doc_run = false;
        }
    }
    starts
}

/// The offsets of the newlines in `bytes`.
fn newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i)
}

impl ParseCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `text` as [`parse`] does, reusing the pieces seen before.
    pub fn parse(&mut self, file: FileId, text: &str) -> ParseOutput {
        self.parses += 1;
        let now = self.parses;
        // Too deep anywhere refuses the whole file, as a whole-file parse does.
        if let Some(diagnostic) = check_nesting(file, text) {
            return ParseOutput {
                file: Default::default(),
                diagnostics: vec![diagnostic],
                expr_ids: 0,
            };
        }
        let starts = item_starts(text);
        let mut output = ParseOutput {
            file: Default::default(),
            diagnostics: Vec::new(),
            expr_ids: 0,
        };
        let mut ids = 0u32;
        for (index, &start) in starts.iter().enumerate() {
            let end = starts.get(index + 1).copied().unwrap_or(text.len());
            let piece_text = &text[start..end];
            let piece = match self.pieces.get_mut(piece_text) {
                Some(piece) => piece,
                None => {
                    let parsed = parse(file, piece_text);
                    let ids = parsed.expr_ids;
                    self.pieces.entry(piece_text.to_string()).or_insert(Piece {
                        items: parsed.file.items,
                        diagnostics: parsed.diagnostics,
                        ids,
                        last_used: now,
                    })
                }
            };
            piece.last_used = now;
            let shift = Shift { bytes: start, ids };
            for item in &piece.items {
                let mut item = item.clone();
                shift.item(&mut item);
                output.file.items.push(item);
            }
            for diagnostic in &piece.diagnostics {
                let mut diagnostic = diagnostic.clone();
                diagnostic.file = file;
                shift.diagnostic(&mut diagnostic);
                output.diagnostics.push(diagnostic);
            }
            ids += piece.ids;
        }
        output.expr_ids = ids;
        self.pieces
            .retain(|_, piece| piece.last_used + KEEP_FOR > now);
        output
    }

    /// How many pieces are kept.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn corpus() -> Vec<(String, String)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for dir in ["examples", "tests/fixtures/diagnostics", "std"] {
            let mut names: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "rbk"))
                .collect();
            names.sort();
            for path in names {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path.display().to_string(), text));
            }
        }
        assert!(files.len() > 30);
        files
    }

    fn same(cache: &mut ParseCache, what: &str, text: &str) {
        let whole = parse(FileId(3), text);
        let pieces = cache.parse(FileId(3), text);
        let show = |items: &[Item]| -> Vec<String> {
            items.iter().map(|item| format!("{item:?}")).collect()
        };
        let (a, b) = (show(&whole.file.items), show(&pieces.file.items));
        if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
            panic!(
                "{what}: item {i} differs\nwhole:  {:.600}\npieces: {:.600}\nstarts: {:?}",
                a.get(i).map_or("-", |s| s),
                b.get(i).map_or("-", |s| s),
                item_starts(text)
            );
        }
        assert_eq!(whole.diagnostics, pieces.diagnostics, "{what}:\n{text}");
        assert_eq!(whole.expr_ids, pieces.expr_ids, "{what}");
    }

    /// Pieces parse to exactly the whole file's tree, spans, ids and diagnostics: for every file
    /// as written, cut short, and with one character deleted (a broken item amid good ones).
    #[test]
    fn pieces_parse_exactly_as_the_whole_file() {
        let mut cache = ParseCache::new();
        for (path, text) in corpus() {
            same(&mut cache, &path, &text);
            let boundaries: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            for &cut in boundaries.iter().step_by(3) {
                same(&mut cache, &format!("{path} cut at {cut}"), &text[..cut]);
            }
            for pair in boundaries.windows(2).step_by(7) {
                let edited = format!("{}{}", &text[..pair[0]], &text[pair[1]..]);
                same(
                    &mut cache,
                    &format!("{path} without byte {}", pair[0]),
                    &edited,
                );
            }
        }
    }

    #[test]
    fn cuts_only_between_top_level_items() {
        let text = "use std.k8s\n/// doc\n/// more\nrunbook r {\n  test x\n}\nconst s: string = \"\"\"\nfn\n\"\"\"\nfn f() {}\n  type T\ntype U\n";
        let starts = item_starts(text);
        let lines: Vec<&str> = starts
            .iter()
            .map(|&s| text[s..].trim_start_matches('\n').lines().next().unwrap())
            .collect();
        assert_eq!(
            lines,
            vec![
                "use std.k8s",
                "/// doc",
                "const s: string = \"\"\"",
                "fn f() {}",
                "type U"
            ]
        );
    }

    #[test]
    fn an_edit_reparses_one_piece_and_unused_pieces_are_dropped() {
        let mut cache = ParseCache::new();
        let a = "runbook a {\n  step s { log 1 }\n}\n";
        let b = "runbook b {\n  step s { log 2 }\n}\n";
        cache.parse(FileId(0), &format!("{a}{b}"));
        assert_eq!(cache.len(), 2);
        let edited = format!("{a}{}", b.replace("log 2", "log 22"));
        let output = cache.parse(FileId(0), &edited);
        assert_eq!(cache.len(), 3);
        assert_eq!(output.file.items.len(), 2);
        for _ in 0..KEEP_FOR {
            cache.parse(FileId(0), &edited);
        }
        assert_eq!(cache.len(), 2, "the old piece of b is gone");
    }
}

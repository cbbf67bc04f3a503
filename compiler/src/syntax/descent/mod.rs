//! The fast path of [`super::parse`]: a hand-written recursive-descent parser over bytes for
//! files the grammar reads without a single diagnostic. It builds exactly the tree the pest
//! path builds (every span, every expression id in the same order) and gives up — `None` — at
//! the first thing it is not sure of: any syntax error, anything the tree builder would report,
//! anything near a limit. `parse` then runs pest, so every message stays the grammar's own.
//! `grammar/rbk.pest` stays the language's definition; `differential.rs` proves the two equal.
//!
//! Conventions: each rule starts where the caller skipped trivia to, and stops right after its
//! last character (never after trailing trivia), so a node's span is where it started to where
//! it stopped. Where the grammar has a choice, this parser commits on the first character or
//! word of an alternative only when the grammar's earlier alternatives cannot match there, and
//! gives up if the chosen one then fails (the grammar would backtrack or recover).

mod clauses;
mod expressions;
mod items;
mod statements;
mod test_statements;
mod types;

use super::ast::{Expr, ExprId, ExprKind, Ident, SourceFile, Span, StrPart};
use super::grammar::{MAX_EXPR_DEPTH, MAX_EXPR_HEIGHT};

/// The tree of a file that parses without any diagnostic, and how many expression ids it uses;
/// `None` when the pest path must decide.
pub fn parse_clean(text: &str) -> Option<(SourceFile, u32)> {
    let mut parser = Descent::new(text);
    let file = parser.file()?;
    Some((file, parser.next_id))
}

/// One expression making up the whole text, as [`super::parse_expression`] reads it.
pub(super) fn parse_expression_clean(text: &str) -> Option<Expr> {
    let mut parser = Descent::new(text);
    parser.skip();
    let expr = parser.expr(true)?;
    parser.skip();
    (parser.pos == parser.bytes.len()).then_some(expr)
}

/// Gives up: the pest path decides.
type Sure<T> = Option<T>;

struct Descent<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    next_id: u32,
    /// The height of every expression built so far, by id (as the tree builder keeps them).
    heights: Vec<u32>,
    /// How deep `expr` and prefix operators are nested, counted as the tree builder counts.
    depth: usize,
    /// Inside a `template`, where plain-text clauses may name parameters (`"{db}"`).
    in_template: bool,
}

fn is_ident_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

fn is_word_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

/// The grammar's `keyword` rule: words that may not name anything (`keywords::RESERVED`).
fn is_reserved(word: &str) -> bool {
    matches!(
        word,
        "action"
            | "abort"
            | "and"
            | "approval"
            | "approve"
            | "as"
            | "backoff"
            | "by"
            | "called"
            | "coalesced"
            | "concurrency"
            | "const"
            | "continue"
            | "denied"
            | "deny"
            | "destructive"
            | "effect"
            | "else"
            | "escalate"
            | "escalated"
            | "every"
            | "expect"
            | "exponential"
            | "extern"
            | "fail"
            | "failed"
            | "fails"
            | "failure"
            | "false"
            | "fn"
            | "for"
            | "from"
            | "if"
            | "in"
            | "input"
            | "let"
            | "log"
            | "manual"
            | "mock"
            | "none"
            | "not"
            | "notify"
            | "on"
            | "or"
            | "owner"
            | "per"
            | "rate"
            | "reason"
            | "required"
            | "retry"
            | "return"
            | "returns"
            | "runbook"
            | "safe_to_auto_approve"
            | "schedule"
            | "set"
            | "skipped"
            | "step"
            | "succeeded"
            | "suppressed"
            | "test"
            | "timeout"
            | "times"
            | "title"
            | "trigger"
            | "triggered"
            | "true"
            | "type"
            | "use"
            | "verify"
            | "when"
            | "where"
            | "with"
            | "within"
    )
}

impl<'a> Descent<'a> {
    fn new(text: &'a str) -> Self {
        Descent {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            next_id: 0,
            heights: Vec::new(),
            depth: 0,
            in_template: false,
        }
    }

    fn byte_at(&self, at: usize) -> u8 {
        self.bytes.get(at).copied().unwrap_or(0)
    }

    fn peek(&self) -> u8 {
        self.byte_at(self.pos)
    }

    /// Where the trivia (whitespace, `//` comments — not `///` doc lines) from `at` ends.
    fn trivia_end(&self, mut at: usize) -> usize {
        loop {
            match self.byte_at(at) {
                b' ' | b'\t' | b'\r' | b'\n' => at += 1,
                b'/' if self.byte_at(at + 1) == b'/' && self.byte_at(at + 2) != b'/' => {
                    while at < self.bytes.len() && self.bytes[at] != b'\n' {
                        at += 1;
                    }
                }
                _ => return at,
            }
        }
    }

    fn skip(&mut self) {
        self.pos = self.trivia_end(self.pos);
    }

    /// Where the word starting at `at` ends (`at` itself when no word starts there).
    fn word_end(&self, at: usize) -> usize {
        if !is_word_start(self.byte_at(at)) {
            return at;
        }
        let mut end = at + 1;
        while is_ident_char(self.byte_at(end)) {
            end += 1;
        }
        end
    }

    /// The word starting at `at` ("" when none does).
    fn word_at(&self, at: usize) -> &'a str {
        &self.text[at..self.word_end(at)]
    }

    /// The word after the trivia at `at`, and where it starts.
    fn word_after_trivia(&self, at: usize) -> (&'a str, usize) {
        let start = self.trivia_end(at);
        (self.word_at(start), start)
    }

    /// Whether the whole word at `at` is `word` (a keyword never matches a prefix). `word` is
    /// a keyword: it starts with a letter and holds only word characters.
    fn word_is(&self, at: usize, word: &str) -> bool {
        self.bytes[at.min(self.bytes.len())..].starts_with(word.as_bytes())
            && !is_ident_char(self.byte_at(at + word.len()))
    }

    /// Consumes `word` if it is the whole word here (a keyword never matches a prefix).
    fn eat_word(&mut self, word: &str) -> bool {
        if self.word_is(self.pos, word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn expect_word(&mut self, word: &str) -> Sure<()> {
        self.eat_word(word).then_some(())
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == byte {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Sure<()> {
        self.eat(byte).then_some(())
    }

    /// After an element of a comma-separated list closed by `close` (a trailing comma
    /// allowed): `true` when the list ended here, `false` when a comma leads to another
    /// element; gives up on anything else. Leaves the position past the trivia either way.
    fn list_closed(&mut self, close: u8) -> Sure<bool> {
        self.skip();
        if self.eat(close) {
            return Some(true);
        }
        self.expect(b',')?;
        self.skip();
        Some(self.eat(close))
    }

    /// Skips trivia, then consumes `byte`; gives up when it is not there.
    fn skip_expect(&mut self, byte: u8) -> Sure<()> {
        self.skip();
        self.expect(byte)
    }

    /// If `byte` follows the trivia here, moves past both.
    fn eat_after_trivia(&mut self, byte: u8) -> bool {
        let at = self.trivia_end(self.pos);
        if self.byte_at(at) == byte {
            self.pos = at + 1;
            true
        } else {
            false
        }
    }

    /// If the word `word` follows the trivia here, moves past both.
    fn eat_word_after_trivia(&mut self, word: &str) -> bool {
        let at = self.trivia_end(self.pos);
        if self.word_is(at, word) {
            self.pos = at + word.len();
            true
        } else {
            false
        }
    }

    /// The grammar's `word`: any name, keywords included.
    fn word(&mut self) -> Sure<Ident> {
        let end = self.word_end(self.pos);
        (end > self.pos).then(|| self.take_word(end))
    }

    /// Consumes the word from here to `end`.
    fn take_word(&mut self, end: usize) -> Ident {
        let start = std::mem::replace(&mut self.pos, end);
        Ident {
            name: self.text[start..end].to_string(),
            span: Span::new(start, end),
        }
    }

    /// The grammar's `ident`: a name that is not a reserved word.
    fn ident(&mut self) -> Sure<Ident> {
        let end = self.word_end(self.pos);
        if end == self.pos || is_reserved(&self.text[self.pos..end]) {
            return None;
        }
        Some(self.take_word(end))
    }

    /// The span from `start` to here, as the tree builder's `span_of` gives it: a node whose
    /// last line holds `//` (a `"""` string's text, an interpolation spanning lines) is cut
    /// where the grammar's comment scanner would see a comment, as the builder cuts it.
    fn span_from(&self, start: usize) -> Span {
        let end = self.pos;
        // Every node's span is cut here, and nested nodes end on the same line: memchr's
        // searches keep this from being a byte loop over the line per node.
        let last_line =
            memchr::memrchr(b'\n', &self.bytes[start..end]).map_or(start, |i| start + i + 1);
        if memchr::memmem::find(&self.bytes[last_line..end], b"//").is_some() {
            let trimmed = super::parser::without_trailing_trivia(&self.text[start..end]);
            return Span::new(start, start + trimmed.len());
        }
        Span::new(start, end)
    }

    /// Makes a node as the tree builder's `mk` does; gives up where it would report the
    /// expression too tall.
    fn mk(&mut self, kind: ExprKind, span: Span) -> Sure<Expr> {
        let height = self.tallest_child(&kind) + 1;
        if height > MAX_EXPR_HEIGHT {
            return None;
        }
        let id = ExprId(self.next_id);
        self.next_id += 1;
        self.heights.push(height);
        Some(Expr { id, kind, span })
    }

    fn height_of(&self, child: &Expr) -> u32 {
        self.heights.get(child.id.0 as usize).copied().unwrap_or(1)
    }

    fn tallest_child(&self, kind: &ExprKind) -> u32 {
        let of = |child: &Expr| self.height_of(child);
        match kind {
            ExprKind::Str(parts) => parts
                .iter()
                .map(|part| match part {
                    StrPart::Interpolation(inner) => of(inner),
                    StrPart::Text(_) => 0,
                })
                .max()
                .unwrap_or(0),
            ExprKind::List(elements) => elements.iter().map(of).max().unwrap_or(0),
            ExprKind::Record(fields) => fields.iter().map(|f| of(&f.value)).max().unwrap_or(0),
            ExprKind::Field(base, _) => of(base),
            ExprKind::Index(base, index) => of(base).max(of(index)),
            ExprKind::Call { callee, args } => args
                .iter()
                .map(|arg| of(&arg.value))
                .fold(of(callee), u32::max),
            ExprKind::Unary(_, operand) => of(operand),
            ExprKind::Binary(_, lhs, rhs) => of(lhs).max(of(rhs)),
            ExprKind::Lambda { body, .. } => of(body),
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::None
            | ExprKind::Duration(_)
            | ExprKind::Percent(_)
            | ExprKind::Name(_)
            | ExprKind::StepOutcome { .. }
            | ExprKind::ApprovalValue(_) => 0,
        }
    }

    /// Enters one more level of expression nesting; gives up where the tree builder would
    /// report it too deep.
    fn enter(&mut self) -> Sure<()> {
        if self.depth + 1 >= MAX_EXPR_DEPTH {
            return None;
        }
        self.depth += 1;
        Some(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }
}

#[cfg(test)]
mod differential;

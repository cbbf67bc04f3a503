//! Folding ranges: runbooks, steps, `fn`s, tests, types and multi-line clauses from the syntax
//! tree (folding from their keyword's line, so a long header folds with its block); every other
//! multi-line `{ }`, `( )` and `[ ]` (if/else and `for` bodies, inputs, records, long calls) and
//! `"""` strings from the raw text, so a buffer the parser gave up on still folds; runs of
//! comment lines (kind `comment`) and of `use` lines (kind `imports`).
//!
//! A block's range ends on the line before its closing bracket when that bracket starts its
//! line, so the folded block still shows its `}`. At most one range starts on a line: the
//! largest (editors keep one per line anyway).

use std::collections::BTreeMap;

use rbk_compiler::diagnostics::LineIndex;
use rbk_compiler::syntax::{ClauseKind, ItemKind, Span};
use tower_lsp_server::ls_types::{FoldingRange, FoldingRangeKind};

use crate::documents::Checked;
use crate::lexer::{bracket_pairs, lex, LexKind};

struct Folds<'a> {
    text: &'a str,
    lines: LineIndex,
    /// Start line -> (end line, kind); the largest range per start line.
    ranges: BTreeMap<u32, (u32, Option<FoldingRangeKind>)>,
}

impl Folds<'_> {
    fn line(&self, offset: usize) -> u32 {
        self.lines.line_of(offset.min(self.text.len())) as u32
    }

    fn add(&mut self, start: u32, end: u32, kind: Option<FoldingRangeKind>) {
        if end <= start {
            return;
        }
        let entry = self.ranges.entry(start).or_insert((end, kind.clone()));
        if end > entry.0 {
            *entry = (end, kind);
        }
    }

    /// A construct from `start` to the bracket that closes it at `close` (a byte offset).
    fn block(&mut self, start: usize, close: usize) {
        let end_line = self.line(close);
        let line_start = self.lines.line_start(end_line as usize);
        let own_line = self
            .text
            .get(line_start..close)
            .is_some_and(|before| before.trim().is_empty());
        let end = if own_line {
            end_line.saturating_sub(1)
        } else {
            end_line
        };
        self.add(self.line(start), end, None);
    }

    /// A construct without a closing bracket: folds its whole span.
    fn span(&mut self, span: Span, kind: Option<FoldingRangeKind>) {
        if span.end <= span.start {
            return;
        }
        let (start, end) = (self.line(span.start), self.line(span.end - 1));
        self.add(start, end, kind);
    }

    /// A construct from `header` to the end of `span`, which usually is a closing bracket.
    fn braced(&mut self, header: usize, span: Span) {
        let last = span.end.checked_sub(1);
        if last
            .and_then(|l| self.text.as_bytes().get(l))
            .is_some_and(|b| b"})]".contains(b))
        {
            self.block(header, span.end - 1);
        } else {
            self.span(Span::new(header, span.end), None);
        }
    }
}

/// The folding ranges of a buffer; `checked` (the check of `text`) adds the tree's.
pub fn folding_ranges(text: &str, checked: Option<&Checked>) -> Vec<FoldingRange> {
    let mut folds = Folds {
        text,
        lines: LineIndex::new(text),
        ranges: BTreeMap::new(),
    };
    let lexemes = lex(text);
    for (open, close) in bracket_pairs(&lexemes) {
        folds.block(open, close);
    }
    // Comment runs: consecutive lines holding nothing but a comment.
    let mut run: Option<(u32, u32)> = None;
    for lexeme in &lexemes {
        match lexeme.kind {
            LexKind::Comment | LexKind::DocComment => {
                let line = folds.line(lexeme.start);
                let line_start = folds.lines.line_start(line as usize);
                if !text[line_start..lexeme.start].trim().is_empty() {
                    continue;
                }
                run = match run {
                    Some((first, last)) if last + 1 == line => Some((first, line)),
                    other => {
                        if let Some((first, last)) = other {
                            folds.add(first, last, Some(FoldingRangeKind::Comment));
                        }
                        Some((line, line))
                    }
                };
            }
            LexKind::Str if text[lexeme.start..].starts_with("\"\"\"") => {
                folds.span(Span::new(lexeme.start, lexeme.end), None)
            }
            _ => {}
        }
    }
    if let Some((first, last)) = run {
        folds.add(first, last, Some(FoldingRangeKind::Comment));
    }
    if let Some(checked) = checked.filter(|c| c.text() == text) {
        tree(&mut folds, checked);
    }
    folds
        .ranges
        .into_iter()
        .map(|(start_line, (end_line, kind))| FoldingRange {
            start_line,
            end_line,
            kind,
            ..Default::default()
        })
        .collect()
}

fn tree(folds: &mut Folds, checked: &Checked) {
    let mut uses: Option<Span> = None;
    for item in &checked.module().ast.items {
        if let ItemKind::Use(_) = item.kind {
            uses = Some(uses.map_or(item.span, |u| u.to(item.span)));
            continue;
        }
        if let Some(span) = uses.take() {
            folds.span(span, Some(FoldingRangeKind::Imports));
        }
        // From the keyword, not from the doc comment above it (that folds as a comment).
        let header = match &item.kind {
            ItemKind::Runbook(r) => r.name.span.start,
            ItemKind::Fn(f) => f.name.span.start,
            ItemKind::Test(t) => t.name.span.start,
            ItemKind::Type(t) => t.name.span.start,
            ItemKind::Const(c) => c.name.span.start,
            ItemKind::Extern(e) => e.name.span.start,
            ItemKind::Template(t) => t.name.span.start,
            ItemKind::Use(_) | ItemKind::Instance(_) => continue,
        };
        folds.braced(header, item.span);
        let clauses = match &item.kind {
            ItemKind::Runbook(runbook) if runbook.template.is_none() => &runbook.clauses,
            ItemKind::Template(template) => &template.clauses,
            _ => continue,
        };
        for clause in clauses {
            match &clause.kind {
                ClauseKind::Step(step) => {
                    folds.braced(step.name.span.start, step.body_span);
                    for option in &step.options {
                        folds.span(option.span, None);
                    }
                }
                _ => folds.braced(clause.span.start, clause.span),
            }
        }
    }
    if let Some(span) = uses {
        folds.span(span, Some(FoldingRangeKind::Imports));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(text: &str) -> Vec<(u32, u32, Option<FoldingRangeKind>)> {
        folding_ranges(text, None)
            .into_iter()
            .map(|r| (r.start_line, r.end_line, r.kind))
            .collect()
    }

    #[test]
    fn blocks_keep_their_closing_brace_visible() {
        let text = "if a {\n  x\n} else {\n  y\n}\nf(1,\n  2)\n";
        assert_eq!(ranges(text), vec![(0, 1, None), (2, 3, None), (5, 6, None)]);
    }

    #[test]
    fn comment_runs_fold_and_single_comments_do_not() {
        let text = "// a\n// b\n/// c\nx // not alone\n// d\n\n// e\n";
        assert_eq!(ranges(text), vec![(0, 2, Some(FoldingRangeKind::Comment))]);
    }
}

//! Where a fix puts a new clause and how it indents it: on a line of its own right after the
//! `{` that opens a runbook or a step, one level deeper than the line that opens the block,
//! with the file's own indentation unit where it shows one. The fixes built on this are
//! formatted as `rbk fmt` would write them.

use crate::syntax::{Runbook, Step};

/// The leading whitespace of the line holding `offset`.
fn indent_at(text: &str, offset: usize) -> &str {
    let offset = offset.min(text.len());
    let start = text
        .get(..offset)
        .and_then(|before| before.rfind('\n'))
        .map_or(0, |i| i + 1);
    let rest = &text[start..];
    &rest[..rest.len() - rest.trim_start_matches([' ', '\t']).len()]
}

/// The offset just after the `{` that follows `from`, when only whitespace and comments lie
/// between (a `{` inside a comment is not the block's).
fn after_open_brace(text: &str, from: usize) -> Option<usize> {
    let mut rest = text.get(from..)?;
    loop {
        let trimmed = rest.trim_start();
        if let Some(comment) = trimmed.strip_prefix("//") {
            rest = comment.find('\n').map_or("", |i| &comment[i..]);
        } else if trimmed.starts_with('{') {
            return Some(text.len() - trimmed.len() + 1);
        } else {
            return None;
        }
    }
}

/// The offset where a runbook's first clause line goes, and that line's indentation. `None`
/// for a runbook made from a template: its clauses are written in the template.
pub fn runbook_first_line(text: &str, runbook: &Runbook) -> Option<(usize, String)> {
    if runbook.template.is_some() {
        return None;
    }
    let at = after_open_brace(text, runbook.name.span.end)?;
    let outer = indent_at(text, runbook.name.span.start);
    Some((at, format!("{outer}  ")))
}

/// The offset where a step's first line goes (inside its `{`), and that line's indentation:
/// the step's own indentation plus the unit the runbook's lines step by.
pub fn step_first_line(text: &str, runbook: &Runbook, step: &Step) -> Option<(usize, String)> {
    if runbook.template.is_some() || text.as_bytes().get(step.body_span.start) != Some(&b'{') {
        return None;
    }
    let step_indent = indent_at(text, step.name.span.start);
    let runbook_indent = indent_at(text, runbook.name.span.start);
    let unit = match step_indent.strip_prefix(runbook_indent) {
        Some(unit) if !unit.is_empty() => unit,
        _ => "  ",
    };
    Some((step.body_span.start + 1, format!("{step_indent}{unit}")))
}

/// `value` as an rbk string literal, quotes included: what a fix writes for a name it took
/// from elsewhere (an owner, a group), so a `"` or `{` in it cannot break the line.
pub fn quoted(value: &str) -> String {
    crate::syntax::string_literal(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indentation_is_the_lines_own() {
        let text = "a\n\t  b c\n";
        assert_eq!(indent_at(text, text.find('c').unwrap()), "\t  ");
        assert_eq!(indent_at(text, 0), "");
        assert_eq!(indent_at(text, 999), "");
    }

    #[test]
    fn the_opening_brace_is_found_past_comments_only() {
        let text = "runbook a // not { this\n  {\n}";
        let name_end = "runbook a".len();
        assert_eq!(
            after_open_brace(text, name_end),
            Some(text.find("  {").unwrap() + 3)
        );
        assert_eq!(after_open_brace("runbook a = t()\nfn f() {}", 9), None);
        assert_eq!(after_open_brace("runbook a", 9), None);
    }
}

//! E0104, one name or clause given twice where it must be unique: the one constructor, and
//! what was given twice (a top-level name, an input, a step, a clause, a record field, an asked
//! value, a pattern binding), each with its own wording.

use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::Span;
use crate::FileId;

/// What was given twice; `previous` is where it was given first, when that is shown.
pub(crate) enum Duplicate<'a> {
    /// A top-level definition or a parameter.
    Name { name: &'a str, previous: Span },
    /// A runbook input.
    Input { name: &'a str },
    /// A step of one runbook.
    Step { name: &'a str, previous: Span },
    /// A second `mode` clause (`mode` is what it says).
    Mode { mode: &'a str, previous: Span },
    /// A second `trigger` clause.
    Trigger { previous: Span },
    /// Another clause a runbook has at most once.
    Clause { keyword: &'a str, previous: Span },
    /// A field of a record literal.
    RecordField { name: &'a str },
    /// A field of an approval's `ask { ... }`.
    AskedValue { name: &'a str },
    /// A name bound by two argument patterns of one mock or expectation.
    PatternBinding { name: &'a str, previous: Span },
}

/// E0104: fires when a name, clause or field that must be unique in its scope is given again.
pub(crate) fn duplicate_definition(
    file: FileId,
    span: Span,
    duplicate: Duplicate<'_>,
) -> Diagnostic {
    let (message, label, previous, help): (String, &str, Option<(Span, &str)>, String) =
        match duplicate {
            Duplicate::Name { name, previous } => (
                format!("`{name}` is defined twice"),
                "defined again here",
                Some((previous, "first defined here")),
                "rename one of them; every name in this scope must be unique".into(),
            ),
            Duplicate::Input { name } => (
                format!("input `{name}` is declared twice"),
                "declared again here",
                None,
                "rename or remove one of them".into(),
            ),
            Duplicate::Step { name, previous } => (
                format!("step `{name}` is defined twice"),
                "defined again here",
                Some((previous, "first defined here")),
                "give every step of a runbook its own name: approvals, logs and tests refer to steps by name".into(),
            ),
            Duplicate::Mode { mode, previous } => (
                format!("the runbook's `mode` is given twice (here `{mode}`)"),
                "given again here",
                Some((previous, "first given here")),
                "keep one `mode` clause: `mode shadow` or `mode live` (the default)".into(),
            ),
            Duplicate::Trigger { previous } => (
                "the runbook has a second `trigger`; only one starts it".into(),
                "given again here",
                Some((previous, "first given here")),
                "keep one `trigger`; for another alert or schedule, write a second runbook that calls the same `fn`s".into(),
            ),
            Duplicate::Clause { keyword, previous } => (
                format!("the runbook's `{keyword}` is given twice"),
                "given again here",
                Some((previous, "first given here")),
                format!("keep one `{keyword}` clause"),
            ),
            Duplicate::RecordField { name } => (
                format!("field `{name}` is given twice"),
                "given again here",
                None,
                "remove one of them".into(),
            ),
            Duplicate::AskedValue { name } => (
                format!("the approval asks for `{name}` twice"),
                "asked again here",
                None,
                "ask for each value once: remove or rename one of them".into(),
            ),
            Duplicate::PatternBinding { name, previous } => (
                format!("`{name}` is bound twice in these patterns"),
                "bound again here",
                Some((previous, "first bound here")),
                "give each argument its own name, and compare them in the `where`".into(),
            ),
        };
    let diagnostic = Diagnostic::new(Code::DuplicateDefinition, file, span, message)
        .label(label)
        .help(help);
    match previous {
        Some((span, label)) => diagnostic.with_secondary(span, label),
        None => diagnostic,
    }
}

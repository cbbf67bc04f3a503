//! The parser's diagnostics, one constructor per code (E0001 to E0005, E0210): text that does
//! not parse, nesting and length past the limits, literals out of range.

use super::grammar::{MAX_ELSE_IF, MAX_EXPR_DEPTH, MAX_EXPR_HEIGHT, MAX_NESTING};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::Span;
use crate::FileId;

/// What did not parse.
pub(super) enum Syntax<'a> {
    /// The grammar expected something else here (`expected` describes what).
    Expected { expected: &'a str },
    /// The grammar refused the text with its own message.
    Refused { message: &'a str },
    /// A whole node that the grammar reads, in a position it may not stand in.
    NotHere,
    /// A `{` in a string starts an interpolation that holds no expression.
    BraceStartsNoInterpolation,
    /// A bracket that is never closed.
    NeverClosed { bracket: char, closer: char },
}

/// E0001: fires when the text does not parse; the help says where to read the syntax.
pub(super) fn syntax_error(file: FileId, span: Span, syntax: Syntax<'_>) -> Diagnostic {
    let (message, label, help): (String, String, String) = match syntax {
        Syntax::Expected { expected } => (
            format!("expected {expected}"),
            format!("expected {expected} here"),
            "see docs/language.md for the syntax of this construct".into(),
        ),
        Syntax::Refused { message } => (
            message.into(),
            String::new(),
            "see docs/language.md for the syntax of this construct".into(),
        ),
        Syntax::NotHere => (
            "this does not belong here".into(),
            "not expected in this position".into(),
            "move it to where it belongs: items at the top level, clauses in a runbook, statements in a step".into(),
        ),
        Syntax::BraceStartsNoInterpolation => (
            "this `{` in a string starts an interpolation, and what follows it is not an expression".into(),
            "interpolation starts here".into(),
            "to write a literal `{` in a string (a PromQL label matcher, JSON), escape it: `\\{`; \
             to interpolate, put one expression between the braces: `{name}`"
                .into(),
        ),
        Syntax::NeverClosed { bracket, closer } => (
            format!("this `{bracket}` is never closed"),
            "opened here".into(),
            format!("add the missing `{closer}`"),
        ),
    };
    Diagnostic::new(Code::SyntaxError, file, span, message)
        .label(label)
        .help(help)
}

/// Which nesting limit was passed.
pub(super) enum TooDeep {
    /// Brackets, counted before parsing.
    Brackets,
    /// More `else if` branches than one `if` may have.
    ElseIfBranches,
    /// An expression nested past the parser's depth.
    Expression,
    /// A run of prefix operators past the parser's depth.
    PrefixOperators,
}

/// E0002: fires when brackets, `else if` chains or expressions nest past the parser's limits.
pub(super) fn nesting_too_deep(file: FileId, span: Span, too_deep: TooDeep) -> Diagnostic {
    let (message, label, help): (String, String, String) = match too_deep {
        TooDeep::Brackets => (
            "brackets are nested too deeply".into(),
            format!("nesting level {} starts here", MAX_NESTING + 1),
            format!(
                "at most {MAX_NESTING} levels of (), [] and {{}} are allowed; name intermediate values with `let`"
            ),
        ),
        TooDeep::ElseIfBranches => (
            format!("more than {MAX_ELSE_IF} `else if` branches"),
            String::new(),
            "split the decision into steps or use a map from values to actions".into(),
        ),
        TooDeep::Expression => (
            "this expression is nested too deeply".into(),
            String::new(),
            format!("split it with `let` bindings; at most {MAX_EXPR_DEPTH} levels are allowed"),
        ),
        TooDeep::PrefixOperators => (
            "too many prefix operators in a row".into(),
            String::new(),
            "simplify the expression".into(),
        ),
    };
    Diagnostic::new(Code::NestingTooDeep, file, span, message)
        .label(label)
        .help(help)
}

/// E0003: fires when a chain of operators, calls or fields is taller than the parser allows.
pub(super) fn expression_too_long(file: FileId, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::ExpressionTooLong,
        file,
        span,
        format!(
            "this expression is too long: more than {MAX_EXPR_HEIGHT} operators, calls or fields in a chain"
        ),
    )
    .help("split it with `let` bindings (each holding part of the chain), or use a list and a loop")
}

/// Which number did not fit.
pub(super) enum TooLarge {
    /// A count in a clause or option (a quorum, retries), held in 32 bits.
    Count,
    /// An integer literal, held in 64 bits.
    Integer,
}

/// E0004: fires when a number literal does not fit the integer that holds it.
pub(super) fn number_out_of_range(file: FileId, span: Span, too_large: TooLarge) -> Diagnostic {
    let (message, help) = match too_large {
        TooLarge::Count => ("this number is too large", "use a number below 4294967296"),
        TooLarge::Integer => (
            "this integer is too large",
            "integers are 64-bit: use a value below 9223372036854775808",
        ),
    };
    Diagnostic::new(Code::NumberOutOfRange, file, span, message).help(help)
}

/// Which string may not interpolate.
pub(super) enum Literal {
    /// A literal string in a template, where only a parameter may be interpolated.
    InTemplate,
    /// A string that must be plain text.
    Plain,
}

/// E0005: fires when a string that must be literal interpolates an expression.
pub(super) fn interpolation_not_allowed(file: FileId, span: Span, literal: Literal) -> Diagnostic {
    let (message, help) = match literal {
        Literal::InTemplate => (
            "only a template parameter may be interpolated in this string",
            "write `{param}` with a parameter's name, the text literally, or escape the brace as `\\{`",
        ),
        Literal::Plain => (
            "interpolation is not allowed in this string",
            "write the text literally, or escape the brace as `\\{`",
        ),
    };
    Diagnostic::new(Code::InterpolationNotAllowed, file, span, message).help(help)
}

/// E0210: fires when a duration literal is longer than a duration can hold.
pub(super) fn duration_out_of_range(file: FileId, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::DurationOutOfRange,
        file,
        span,
        "this duration is too long: durations are at most about 292 million years",
    )
    .help("use a shorter duration")
}

//! What can be wrong with a call: the one constructor each for a callee that cannot be called
//! (E0206), a wrong number of arguments (E0201), a bad argument name (E0202) and a missing
//! argument (E0203), with the situations each is raised in.

use super::builtins::Builtin;
use super::calls::describe_params;
use super::Signature;
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::Span;
use crate::FileId;

/// What was called.
pub(super) enum Uncallable<'a> {
    /// A bound value (a `let`, input or parameter) named like a function.
    Value { name: &'a str },
    /// Anything else that is not an action, `fn` or builtin.
    Other,
}

/// E0206: fires when something that is not an action, `fn` or builtin is called.
pub(super) fn not_callable(file: FileId, span: Span, uncallable: Uncallable<'_>) -> Diagnostic {
    let (message, label, help) = match uncallable {
        Uncallable::Value { name } => (
            format!("`{name}` is a value, not a function"),
            "cannot be called",
            "only actions, `fn`s and builtins can be called",
        ),
        Uncallable::Other => (
            "this cannot be called".to_string(),
            "not a function",
            "only actions (`pg.terminate(...)`), `fn`s and builtins (`len(xs)`) can be called",
        ),
    };
    Diagnostic::new(Code::NotCallable, file, span, message)
        .label(label)
        .help(help)
}

/// How the count was wrong.
pub(super) enum ArgumentCount<'a> {
    /// More positional arguments than `name`'s signature has parameters.
    TooMany {
        name: &'a str,
        signature: &'a Signature,
    },
    /// A builtin given a number of arguments it does not take.
    Builtin { builtin: Builtin, given: usize },
    /// A lambda with other than one parameter, given to a list builtin.
    LambdaParameters { builtin: Builtin, given: usize },
}

/// E0201: fires when a call or lambda has a number of arguments or parameters the callee does
/// not take.
pub(super) fn wrong_argument_count(
    file: FileId,
    span: Span,
    count: ArgumentCount<'_>,
) -> Diagnostic {
    let (message, label, help): (String, String, String) = match count {
        ArgumentCount::TooMany { name, signature } => {
            let params = signature.params.len();
            (
                format!(
                    "`{name}` takes {params} argument{}, but more were given",
                    if params == 1 { "" } else { "s" }
                ),
                "extra argument".into(),
                format!("`{name}({})`", describe_params(signature)),
            )
        }
        ArgumentCount::Builtin { builtin, given } => (
            format!("wrong number of arguments to `{}`", builtin.name()),
            format!("{given} given"),
            format!("`{}`", builtin.signature()),
        ),
        ArgumentCount::LambdaParameters { builtin, given } => (
            format!(
                "this lambda takes {given} parameters; `{}` passes one",
                builtin.name()
            ),
            "wrong number of parameters".into(),
            "write it as `x => ...`".into(),
        ),
    };
    Diagnostic::new(Code::WrongArgumentCount, file, span, message)
        .label(label)
        .help(help)
}

/// What is wrong with an argument's name.
pub(super) enum ArgumentName<'a> {
    /// `name` has no parameter `argument`; `suggestion` is its nearest parameter.
    Unknown {
        name: &'a str,
        signature: &'a Signature,
        argument: &'a str,
        suggestion: Option<&'a str>,
    },
    /// The parameter was already given, at `previous`.
    GivenTwice { param: &'a str, previous: Span },
    /// A builtin, which takes its arguments by position only, given one by name.
    NamedToBuiltin { builtin: Builtin },
}

/// E0202: fires when an argument's name is unknown, repeated, or given to a builtin.
pub(super) fn bad_argument_name(file: FileId, span: Span, problem: ArgumentName<'_>) -> Diagnostic {
    let (message, label, previous, help): (String, &str, Option<Span>, String) = match problem {
        ArgumentName::Unknown {
            name,
            signature,
            argument,
            suggestion,
        } => (
            format!("`{name}` has no parameter `{argument}`"),
            "unknown argument name",
            None,
            match suggestion {
                Some(s) => format!("did you mean `{s}:`?"),
                None => format!("`{name}({})`", describe_params(signature)),
            },
        ),
        ArgumentName::GivenTwice { param, previous } => (
            format!("argument `{param}` is given twice"),
            "given again here",
            Some(previous),
            "give each argument once".into(),
        ),
        ArgumentName::NamedToBuiltin { builtin } => (
            format!("`{}` takes no named arguments", builtin.name()),
            "named argument",
            None,
            format!("`{}`", builtin.signature()),
        ),
    };
    let diagnostic = Diagnostic::new(Code::BadArgumentName, file, span, message)
        .label(label)
        .help(help);
    match previous {
        Some(previous) => diagnostic.with_secondary(previous, "first given here"),
        None => diagnostic,
    }
}

/// E0203: fires when a call leaves out parameters of `name` that have no default (`missing`,
/// written `name: type`).
pub(super) fn missing_argument(
    file: FileId,
    span: Span,
    name: &str,
    signature: &Signature,
    missing: &[String],
) -> Diagnostic {
    Diagnostic::new(
        Code::MissingArgument,
        file,
        span,
        format!(
            "`{name}` is missing {} {}",
            if missing.len() == 1 {
                "argument"
            } else {
                "arguments"
            },
            missing.join(", ")
        ),
    )
    .label("in this call")
    .help(format!("`{name}({})`", describe_params(signature)))
}

//! E0204, a value of the wrong type: the one constructor, and the situations it is raised in
//! (an argument, a loop, a builtin, a value that is not one), each with its own wording.

use super::builtins::Builtin;
use super::{assignable, Ty};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::Span;
use crate::FileId;

/// Where a value of the wrong type was found; each situation has its own message, label and
/// help.
pub(super) enum Mismatch<'a> {
    /// A value checked against the type its place expects; `what` names the place ("this
    /// default", "argument `x`").
    Expected {
        what: &'a str,
        expected: &'a Ty,
        found: &'a Ty,
    },
    /// `for x in value` where the value is not a list.
    ForNeedsList { found: &'a Ty },
    /// A `log`, `fail` or `expect` message that is not text; `what` names the statement.
    MessageNotText { what: &'a str, found: &'a Ty },
    /// `escalate` or `notify` given something other than an action call.
    NotACall { what: &'a str },
    /// A value is needed where the expression returns `none`.
    NoValue { what: &'a str, help: &'a str },
    /// `value[i]` where the value is neither a list nor a map.
    NotIndexable { found: &'a Ty },
    /// A lambda anywhere but as a builtin's argument.
    LambdaOutsideBuiltin,
    /// A `fn`, extern or builtin named without being called.
    FunctionAsValue { name: &'a str },
    /// A module alias used as a value.
    ModuleAsValue { name: &'a str },
    /// `module.member` where the member is an action, `fn` or type.
    MemberAsValue { module: &'a str, member: &'a str },
    /// `sum` of a list whose elements are not numbers.
    SumOfNonNumbers { element: &'a Ty },
    /// `min` or `max` of a list whose elements have no order.
    Unordered { element: &'a Ty },
    /// A list builtin given something other than a list.
    NeedsList { builtin: Builtin, found: &'a Ty },
    /// A list builtin whose second argument is not a lambda.
    NeedsLambda { builtin: Builtin },
    /// `sort_by` with a key that has no order.
    UnorderedKeys { key: &'a Ty },
    /// `int`, `float` or `bool` of a value it cannot convert.
    CannotConvert { builtin: Builtin, found: &'a Ty },
    /// `size` of a value that is not a quantity.
    NotAQuantity { found: &'a Ty },
}

/// E0204: fires wherever a value's type does not fit the place it is used in.
pub(super) fn type_mismatch(file: FileId, span: Span, mismatch: Mismatch<'_>) -> Diagnostic {
    let (message, label, help): (String, String, String) = match mismatch {
        Mismatch::Expected {
            what,
            expected,
            found,
        } => (
            format!("{what} expects `{expected}`, found `{found}`"),
            format!("this is `{found}`"),
            expected_help(what, expected, found),
        ),
        Mismatch::ForNeedsList { found } => (
            format!("`for` needs a list, found `{found}`"),
            "not a list".into(),
            "loop over a list, e.g. `for pod in k8s.pods(namespace: \"prod\", selector: \"app=x\") { ... }`".into(),
        ),
        Mismatch::MessageNotText { what, found } => (
            format!("{what} takes a string, found `{found}`"),
            "not a string".into(),
            "interpolate the value into a message, e.g. \"usage is {usage}\"".into(),
        ),
        Mismatch::NotACall { what } => (
            format!("{what} takes an action call"),
            "not a call".into(),
            "call an action, e.g. `slack.post(channel: \"#incidents\", text: \"...\")`".into(),
        ),
        Mismatch::NoValue { what, help } => (
            format!("this {what} has no value"),
            "returns `none`".into(),
            help.into(),
        ),
        Mismatch::NotIndexable { found } => (
            format!("`{found}` cannot be indexed"),
            "not a list or map".into(),
            "index lists with `xs[0]` and maps with `m[\"key\"]`".into(),
        ),
        Mismatch::LambdaOutsideBuiltin => (
            "a lambda can only be passed to a builtin such as `filter`".into(),
            "lambda here".into(),
            "use it as an argument, e.g. `filter(pods, p => p.restarts > 5)`".into(),
        ),
        Mismatch::FunctionAsValue { name } => (
            format!("`{name}` is a function, not a value"),
            "not called".into(),
            format!("call it: `{name}(...)`"),
        ),
        Mismatch::ModuleAsValue { name } => (
            format!("`{name}` is a module, not a value"),
            "a module".into(),
            format!("use one of its members, e.g. `{name}.NAME(...)`"),
        ),
        Mismatch::MemberAsValue { module, member } => (
            format!("`{module}.{member}` is not a value"),
            "an action, function or type".into(),
            format!("call it: `{module}.{member}(...)`"),
        ),
        Mismatch::SumOfNonNumbers { element } => (
            format!("`sum` cannot add `{element}` values"),
            "not numbers".into(),
            "sum a list of ints, floats, durations, percents or sizes".into(),
        ),
        Mismatch::Unordered { element } => (
            format!("`{element}` values cannot be ordered"),
            "not orderable".into(),
            "min and max take numbers, durations, percents, times or strings".into(),
        ),
        Mismatch::NeedsList { builtin, found } => (
            format!("`{}` takes a list, found `{found}`", builtin.name()),
            "not a list".into(),
            format!("`{}`", builtin.signature()),
        ),
        Mismatch::NeedsLambda { builtin } => (
            format!("`{}` takes a lambda as its second argument", builtin.name()),
            "not a lambda".into(),
            format!("e.g. `{}(xs, x => ...)`", builtin.name()),
        ),
        Mismatch::UnorderedKeys { key } => (
            format!("`sort_by` cannot order `{key}` keys"),
            "not orderable".into(),
            "sort by a number, duration, percent, time or string".into(),
        ),
        Mismatch::CannotConvert { builtin, found } => (
            format!("`{}` cannot convert `{found}`", builtin.name()),
            format!("this is `{found}`"),
            format!("`{}`", builtin.signature()),
        ),
        Mismatch::NotAQuantity { found } => (
            format!("`size` cannot convert `{found}`"),
            format!("this is `{found}`"),
            "give `size` the quantity as text, e.g. `size(\"10Gi\")`".into(),
        ),
    };
    Diagnostic::new(Code::TypeMismatch, file, span, message)
        .label(label)
        .help(help)
}

/// How to write a value of the expected type, for the pairs people mix up most.
fn expected_help(what: &str, expected: &Ty, found: &Ty) -> String {
    match (expected, found) {
        (Ty::Percent, Ty::Int | Ty::Float) => {
            "write the number as a percent, e.g. `70%`".to_string()
        }
        (Ty::Duration, Ty::Int | Ty::Float) => {
            "write the number with a unit, e.g. `30s`, `5m` or `1h`".to_string()
        }
        (Ty::Size, Ty::Str | Ty::Int) => {
            "turn the quantity into a size with `size(\"10Gi\")`".to_string()
        }
        (Ty::Str, _) => "interpolate the value into a string, e.g. \"{value}\"".to_string(),
        (_, Ty::Optional(inner)) if assignable(inner, expected) => {
            "the value may be `none`: give a default with `??`".to_string()
        }
        (Ty::Named(_), Ty::Record(_)) => {
            format!("a record for `{expected}` must have exactly its fields (see docs/stdlib.md)")
        }
        _ => format!("give {what} a value of type `{expected}`"),
    }
}

//! Names that resolve to nothing: the one constructor each for an unknown name (E0101), module
//! (E0102) and member (E0103), and the kinds of name each is raised for, each with its own
//! wording. Callers pass the near name they found (`suggest`), if any.

use std::fmt::Display;

use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::Span;
use crate::FileId;

/// What kind of name was not found.
pub(crate) enum UnknownName<'a> {
    /// A name read as a value in a body (`alert` and `run` outside where they exist included).
    Value {
        name: &'a str,
        suggestion: Option<&'a str>,
    },
    /// A name called as a function.
    Function {
        name: &'a str,
        suggestion: Option<&'a str>,
    },
    /// A type name.
    Type {
        name: &'a str,
        suggestion: Option<&'a str>,
    },
    /// The runbook a test runs.
    Runbook {
        name: &'a str,
        suggestion: Option<&'a str>,
    },
    /// An input a test gives to its runbook; `inputs` are the runbook's.
    Input {
        name: &'a str,
        suggestion: Option<&'a str>,
        inputs: &'a [&'a str],
    },
    /// A `{name}` placeholder in a template that names none of its parameters (`params` lists
    /// them).
    Placeholder {
        name: &'a str,
        template: &'a str,
        params: &'a str,
    },
}

/// E0101: fires when a name (value, function, type, runbook, input, template placeholder) is
/// defined nowhere it could be read from.
pub(crate) fn unknown_name(file: FileId, span: Span, unknown: UnknownName<'_>) -> Diagnostic {
    let did_you_mean = |suggestion: Option<&str>, otherwise: String| match suggestion {
        Some(s) => format!("did you mean `{s}`?"),
        None => otherwise,
    };
    let (message, label, help): (String, &str, String) = match unknown {
        UnknownName::Value { name, suggestion } => (
            format!("unknown name `{name}`"),
            "not defined here",
            match name {
                "alert" => "`alert` exists only in runbooks with `trigger alert \"...\"`".into(),
                "run" => "`run` exists only in `escalate` and `notify`".into(),
                _ => did_you_mean(
                    suggestion,
                    "declare it with `let`, as an input, or as a `const` before using it".into(),
                ),
            },
        ),
        UnknownName::Function { name, suggestion } => (
            format!("unknown function `{name}`"),
            "not defined here",
            did_you_mean(
                suggestion,
                "actions are called through their module, e.g. `pg.pool_usage(db)`".into(),
            ),
        ),
        UnknownName::Type { name, suggestion } => (
            format!("unknown type `{name}`"),
            "no type of this name",
            did_you_mean(
                suggestion,
                "built-in types are int, float, bool, string, duration, percent, time, secret; module types are written `module.Type`".into(),
            ),
        ),
        UnknownName::Runbook { name, suggestion } => (
            format!("unknown runbook `{name}`"),
            "no runbook of this name in this file",
            did_you_mean(
                suggestion,
                "a test runs a runbook defined in the same file".into(),
            ),
        ),
        UnknownName::Input {
            name,
            suggestion,
            inputs,
        } => (
            format!("the runbook has no input `{name}`"),
            "unknown input",
            did_you_mean(suggestion, format!("its inputs are: {}", inputs.join(", "))),
        ),
        UnknownName::Placeholder {
            name,
            template,
            params,
        } => (
            format!("`{{{name}}}` names no parameter of template `{template}`"),
            "not a parameter",
            format!("the parameters are: {params}; write a literal brace as `\\{{`"),
        ),
    };
    Diagnostic::new(Code::UnknownName, file, span, message)
        .label(label)
        .help(help)
}

/// Which module was not found.
pub(crate) enum UnknownModule<'a> {
    /// An alias no `use` of this file brings in.
    NotImported {
        alias: &'a str,
        suggestion: Option<&'a str>,
    },
    /// A `use` of a dotted path that is not `std.NAME`.
    NotStandard { path: &'a str },
    /// `use std.NAME` where there is no such standard module.
    NoSuchStandard {
        name: &'a str,
        suggestion: Option<&'a str>,
        available: &'a [String],
    },
}

/// E0102: fires when a module alias is not imported, or a `use` names no standard module.
pub(crate) fn unknown_module(file: FileId, span: Span, unknown: UnknownModule<'_>) -> Diagnostic {
    let (message, label, help): (String, &str, String) = match unknown {
        UnknownModule::NotImported { alias, suggestion } => (
            format!("unknown module `{alias}`"),
            "not imported in this file",
            match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!(
                    "add `use std.{alias}` at the top of the file (or `use std.MODULE as {alias}`)"
                ),
            },
        ),
        UnknownModule::NotStandard { path } => (
            format!("unknown module `{path}`"),
            "not a standard module",
            "standard modules are written `std.NAME`; local files are written `use \"./file.rbk\" as NAME`".into(),
        ),
        UnknownModule::NoSuchStandard {
            name,
            suggestion,
            available,
        } => (
            format!("there is no standard module `{name}`"),
            "unknown module",
            match suggestion {
                Some(s) => format!("did you mean `std.{s}`?"),
                None => format!("the standard modules are: {}", available.join(", ")),
            },
        ),
    };
    Diagnostic::new(Code::UnknownModule, file, span, message)
        .label(label)
        .help(help)
}

/// What the fields of a value without the wanted field are.
pub(crate) enum KnownFields<'a> {
    /// The value's fields, and the one nearest the wanted name.
    Listed {
        fields: &'a [&'a str],
        suggestion: Option<&'a str>,
    },
    /// The value may be `none`.
    MaybeNone,
    /// The value's type has no fields.
    None,
}

/// Which member was not found.
pub(crate) enum UnknownMember<'a> {
    /// `module.member` where the module has no such member (`candidates` are the ones it has).
    OfModule {
        module: &'a str,
        member: &'a str,
        suggestion: Option<&'a str>,
        candidates: &'a [&'a str],
    },
    /// `value.field` where the value's type has no such field.
    Field {
        ty: &'a dyn Display,
        field: &'a str,
        known: KnownFields<'a>,
    },
    /// A test mocks an action its module does not define.
    MockedAction {
        target: &'a dyn Display,
        module: &'a str,
        suggestion: Option<&'a str>,
    },
    /// A test's alert sets a field alerts do not have.
    AlertField { field: &'a str },
}

/// E0103: fires when a module, value or alert has no member of the name read from it.
pub(crate) fn unknown_member(file: FileId, span: Span, unknown: UnknownMember<'_>) -> Diagnostic {
    let (message, label, help): (String, &str, String) = match unknown {
        UnknownMember::OfModule {
            module,
            member,
            suggestion,
            candidates,
        } => (
            format!("`{module}` has no member `{member}`"),
            "not defined in that module",
            match suggestion {
                Some(s) => format!("did you mean `{module}.{s}`?"),
                None if candidates.is_empty() => {
                    "see docs/stdlib.md for what each module provides".into()
                }
                None => {
                    let mut sorted = candidates.to_vec();
                    sorted.sort_unstable();
                    format!("it has: {}", sorted.join(", "))
                }
            },
        ),
        UnknownMember::Field { ty, field, known } => (
            format!("`{ty}` has no field `{field}`"),
            "no such field",
            match known {
                KnownFields::Listed {
                    suggestion: Some(s),
                    ..
                } => format!("did you mean `{s}`?"),
                KnownFields::Listed { fields, .. } => {
                    format!("its fields are: {}", fields.join(", "))
                }
                KnownFields::MaybeNone => {
                    "the value may be `none`: give a default with `??` first".into()
                }
                KnownFields::None => format!("`{ty}` has no fields"),
            },
        ),
        UnknownMember::MockedAction {
            target,
            module,
            suggestion,
        } => (
            format!("`{target}` is not defined"),
            "unknown action",
            match suggestion {
                Some(s) => format!("did you mean `{module}.{s}`?"),
                None => "see docs/stdlib.md for the actions each module provides".into(),
            },
        ),
        UnknownMember::AlertField { field } => (
            format!("an alert has no field `{field}`"),
            "unknown alert field",
            "alert fields are: name, labels, annotations, status, starts_at, ends_at, fingerprint"
                .into(),
        ),
    };
    Diagnostic::new(Code::UnknownMember, file, span, message)
        .label(label)
        .help(help)
}

//! What can be wrong with an instance's arguments: the one constructor each for arguments that
//! do not fit the template's parameters (E0114) and a value that is not a literal of its
//! parameter's type (E0115).

use super::{param_list, type_text};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::ast::{Ident, Param, Span, Template};
use crate::FileId;

/// How an instance's arguments fail to fit its template's parameters.
pub(super) enum Misfit<'a> {
    UnknownParameter(&'a Ident),
    /// The span is the argument's.
    PositionalAfterNamed(Span),
    TooMany(Span),
    GivenTwice(&'a Param, Span),
    /// The span is the instance's argument list.
    Missing(&'a Param, Span),
}

/// E0114: fires when an instance names, repeats, leaves out or adds to its template's
/// parameters.
pub(super) fn arguments_misfit(file_id: FileId, template: &Template, misfit: Misfit) -> Diagnostic {
    let declared_here = (template.name.span, "the template is declared here");
    let (span, message, label, secondary, help): (
        Span,
        String,
        String,
        Option<(Span, &str)>,
        String,
    ) = match misfit {
        Misfit::UnknownParameter(name) => (
            name.span,
            format!(
                "template `{}` has no parameter `{}`",
                template.name.name, name.name
            ),
            "unknown parameter".into(),
            Some(declared_here),
            format!("its parameters are: {}", param_list(template)),
        ),
        Misfit::PositionalAfterNamed(span) => (
            span,
            "a positional argument after a named one".into(),
            "name this argument".into(),
            None,
            format!(
                "write it as `NAME: value`; the parameters are: {}",
                param_list(template)
            ),
        ),
        Misfit::TooMany(span) => (
            span,
            format!(
                "template `{}` takes {} arguments",
                template.name.name,
                template.params.len()
            ),
            "one argument too many".into(),
            Some(declared_here),
            format!("its parameters are: {}", param_list(template)),
        ),
        Misfit::GivenTwice(param, span) => (
            span,
            format!("`{}` is given twice", param.name.name),
            "given again here".into(),
            None,
            "give each parameter once".into(),
        ),
        Misfit::Missing(param, span) => (
            span,
            format!(
                "`{}` is missing: template `{}` needs it",
                param.name.name, template.name.name
            ),
            format!("no `{}` here", param.name.name),
            Some((param.name.span, "the parameter")),
            format!("add `{}: …` to the arguments", param.name.name),
        ),
    };
    let diagnostic = Diagnostic::new(Code::TemplateArguments, file_id, span, message)
        .label(label)
        .help(help);
    match secondary {
        Some((span, label)) => diagnostic.with_secondary(span, label),
        None => diagnostic,
    }
}

/// Which value is not a literal of its parameter's type.
pub(super) enum NotLiteral<'a> {
    /// An instance's argument for `param`; `found` says what it is instead.
    Argument {
        param: &'a Param,
        found: &'a super::NotALiteral,
    },
    /// The default of `param`.
    Default { param: &'a Param },
}

/// E0115: fires when a template argument or parameter default is not a literal of the
/// parameter's type.
pub(super) fn argument_not_literal(
    file_id: FileId,
    span: Span,
    not_literal: NotLiteral<'_>,
) -> Diagnostic {
    let (message, secondary, help) = match not_literal {
        NotLiteral::Argument { param, found } => (
            format!(
                "`{}` must be a literal {}, not {found}",
                param.name.name,
                type_text(&param.ty)
            ),
            Some(param.ty.span),
            "write the value itself (`\"orders\"`, `3`, `5m`, `70%`, `true`): what differs between a template's instances is data",
        ),
        NotLiteral::Default { param } => (
            format!(
                "the default of `{}` must be a literal {}",
                param.name.name,
                type_text(&param.ty)
            ),
            None,
            "write the value itself (`\"orders\"`, `3`, `5m`, `70%`, `true`)",
        ),
    };
    let diagnostic = Diagnostic::new(Code::TemplateArgumentNotLiteral, file_id, span, message)
        .label("not a literal of the parameter's type")
        .help(help);
    match secondary {
        Some(span) => diagnostic.with_secondary(span, "the parameter's type"),
        None => diagnostic,
    }
}

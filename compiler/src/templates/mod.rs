//! Runbook templates: one procedure, many services. `template NAME(PARAMS) { clauses }` is a
//! runbook with parameters; `runbook orders_pool = NAME(ARGS)` is one service's runbook made
//! from it. Before names are collected, every instance is replaced by the runbook it stands
//! for: the template's clauses with each parameter replaced by the instance's argument. From
//! then on an instance is a runbook like any other — checked, linted, planned, tested, run and
//! served under its own name, with its own trigger matcher, limits, gates and escalation.
//!
//! Arguments are literals (a string, number, duration, percent or bool): what differs between
//! services is data, and a literal keeps each instance's plan readable on its own. In the
//! clauses that take plain text (title, owner, the alert's name, a schedule, an approver group,
//! a reason) `{param}` is replaced by the argument's text; everywhere else a parameter is an
//! ordinary name in expressions and string interpolations.

mod arguments;
mod substitute;

use std::collections::HashMap;

use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::{unknown_name, UnknownName};
use crate::syntax::ast::*;
use crate::FileId;

use arguments::{argument_not_literal, arguments_misfit, Misfit, NotLiteral};
use substitute::Substitution;

/// Replaces every `runbook NAME = TEMPLATE(ARGS)` item of `file` by the runbook it stands for.
/// An instance whose arguments do not fit its template is dropped after its diagnostic, so
/// nothing downstream sees a half-made runbook. `expr_ids` is how many expression ids the file
/// uses; instances get fresh ids after them.
pub fn expand(file_id: FileId, file: &mut SourceFile, expr_ids: u32, out: &mut Vec<Diagnostic>) {
    if !file
        .items
        .iter()
        .any(|item| matches!(item.kind, ItemKind::Instance(_)))
    {
        return;
    }
    let templates: HashMap<String, Template> = file
        .items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Template(template) => Some((template.name.name.clone(), template.clone())),
            _ => None,
        })
        .collect();
    // A template that rebinds a parameter would fill it in the wrong places: its instances
    // are not made until it is fixed.
    let broken: Vec<&str> = templates
        .values()
        .filter(|template| report_rebound_params(file_id, template, out))
        .map(|template| template.name.name.as_str())
        .collect();
    let mut next_id = expr_ids;
    let mut items = Vec::with_capacity(file.items.len());
    for item in std::mem::take(&mut file.items) {
        let ItemKind::Instance(instance) = &item.kind else {
            items.push(item);
            continue;
        };
        let Some(template) = templates.get(&instance.template.name) else {
            out.push(unknown_template(file_id, instance, &templates));
            continue;
        };
        if broken.contains(&template.name.name.as_str()) {
            continue;
        }
        let Some(values) = bind_arguments(file_id, template, instance, out) else {
            continue;
        };
        let arguments = template
            .params
            .iter()
            .map(|p| {
                let value = &values[&p.name.name];
                (p.name.name.clone(), substitute::written(value))
            })
            .collect();
        let mut substitution = Substitution::new(values, next_id);
        let clauses = substitution.clauses(&template.clauses);
        next_id = substitution.next_id();
        for (name, span) in std::mem::take(&mut substitution.unknown) {
            out.push(unknown_name(
                file_id,
                span,
                UnknownName::Placeholder {
                    name: &name,
                    template: &template.name.name,
                    params: &param_list(template),
                },
            ));
        }
        items.push(Item {
            doc: item.doc.clone(),
            kind: ItemKind::Runbook(Runbook {
                name: instance.name.clone(),
                clauses,
                template: Some(TemplateOrigin {
                    name: instance.template.clone(),
                    arguments,
                }),
            }),
            span: item.span,
        });
    }
    file.items = items;
}

/// E0113: fires when an instance names no template of its file; the help lists the ones it has.
fn unknown_template(
    file_id: FileId,
    instance: &Instance,
    templates: &HashMap<String, Template>,
) -> Diagnostic {
    let mut known: Vec<&str> = templates.keys().map(String::as_str).collect();
    known.sort_unstable();
    let help = if known.is_empty() {
        "declare `template NAME(PARAMS) { ... }` in this file; an instance is made from a template of its own file".to_string()
    } else {
        format!(
            "the templates of this file are: {}",
            known
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Diagnostic::new(
        Code::UnknownTemplate,
        file_id,
        instance.template.span,
        format!(
            "no template named `{}` in this file",
            instance.template.name
        ),
    )
    .label("not a template")
    .help(help)
}

/// The value of every parameter for `instance`, or `None` after reporting why it cannot be
/// made: an unknown, doubled or missing argument (E0114) or one that is not a literal of the
/// parameter's type (E0115).
fn bind_arguments(
    file_id: FileId,
    template: &Template,
    instance: &Instance,
    out: &mut Vec<Diagnostic>,
) -> Option<HashMap<String, Expr>> {
    let before = out.len();
    let mut given: HashMap<String, Expr> = HashMap::new();
    // Parameters given a value that was refused: reported once, not again as missing.
    let mut refused: Vec<&str> = Vec::new();
    let mut positional = template.params.iter();
    let mut named_seen = false;
    for arg in &instance.args {
        let param = match &arg.name {
            Some(name) => {
                named_seen = true;
                match template.params.iter().find(|p| p.name.name == name.name) {
                    Some(param) => param,
                    None => {
                        out.push(arguments_misfit(
                            file_id,
                            template,
                            Misfit::UnknownParameter(name),
                        ));
                        continue;
                    }
                }
            }
            None if named_seen => {
                out.push(arguments_misfit(
                    file_id,
                    template,
                    Misfit::PositionalAfterNamed(arg.value.span),
                ));
                continue;
            }
            None => match positional.next() {
                Some(param) => param,
                None => {
                    out.push(arguments_misfit(
                        file_id,
                        template,
                        Misfit::TooMany(arg.value.span),
                    ));
                    continue;
                }
            },
        };
        if given.contains_key(&param.name.name) {
            out.push(arguments_misfit(
                file_id,
                template,
                Misfit::GivenTwice(param, arg.value.span),
            ));
            continue;
        }
        if let Err(found) = literal_of_type(&arg.value, &param.ty) {
            refused.push(&param.name.name);
            out.push(argument_not_literal(
                file_id,
                arg.value.span,
                NotLiteral::Argument {
                    param,
                    found: &found,
                },
            ));
            continue;
        }
        given.insert(param.name.name.clone(), arg.value.clone());
    }
    for param in &template.params {
        if given.contains_key(&param.name.name) || refused.contains(&param.name.name.as_str()) {
            continue;
        }
        match &param.default {
            Some(default) if literal_of_type(default, &param.ty).is_ok() => {
                given.insert(param.name.name.clone(), default.clone());
            }
            Some(default) => out.push(argument_not_literal(
                file_id,
                default.span,
                NotLiteral::Default { param },
            )),
            None => out.push(arguments_misfit(
                file_id,
                template,
                Misfit::Missing(param, instance.args_span),
            )),
        }
    }
    (out.len() == before).then_some(given)
}

/// Why an argument or default is not a literal its template parameter accepts; shown after
/// "must be a literal TYPE, not ".
#[derive(Debug, thiserror::Error)]
enum NotALiteral {
    /// The parameter's type is not a plain named type (a list, a record, `mod.T`).
    #[error("a value of this type (a template parameter is a string, int, float, bool, duration or percent)")]
    UnsupportedShape,
    /// The parameter's type is named but is none of the literal types.
    #[error("a `{0}` (a template parameter is a string, int, float, bool, duration or percent)")]
    UnsupportedType(String),
    /// The value is of another kind (see [`describe`]).
    #[error("{0}")]
    Other(&'static str),
}

/// `Ok` when `value` is a literal the parameter type `ty` accepts; else what it is instead.
fn literal_of_type(value: &Expr, ty: &TypeExpr) -> Result<(), NotALiteral> {
    let TypeExprKind::Named { module: None, name } = &ty.kind else {
        return Err(NotALiteral::UnsupportedShape);
    };
    let negative_number = matches!(&value.kind, ExprKind::Unary(UnaryOp::Neg, inner)
        if matches!(inner.kind, ExprKind::Int(_) | ExprKind::Float(_)));
    let fits = match (name.name.as_str(), &value.kind) {
        ("string", ExprKind::Str(_)) => value.as_plain_str().is_some(),
        ("int", ExprKind::Int(_)) => true,
        ("float", ExprKind::Float(_) | ExprKind::Int(_)) => true,
        ("int" | "float", ExprKind::Unary(..)) => negative_number,
        ("bool", ExprKind::Bool(_)) => true,
        ("duration", ExprKind::Duration(_)) => true,
        ("percent", ExprKind::Percent(_)) => true,
        ("string" | "int" | "float" | "bool" | "duration" | "percent", _) => false,
        _ => return Err(NotALiteral::UnsupportedType(name.name.clone())),
    };
    if fits {
        Ok(())
    } else {
        Err(NotALiteral::Other(describe(value)))
    }
}

fn describe(value: &Expr) -> &'static str {
    match &value.kind {
        ExprKind::Str(_) if value.as_plain_str().is_none() => "an interpolated string",
        ExprKind::Str(_) => "a string",
        ExprKind::Int(_) => "an int",
        ExprKind::Float(_) => "a float",
        ExprKind::Bool(_) => "a bool",
        ExprKind::Duration(_) => "a duration",
        ExprKind::Percent(_) => "a percent",
        ExprKind::None => "`none`",
        ExprKind::List(_) => "a list",
        ExprKind::Record(_) => "a record",
        ExprKind::Call { .. } => "a call",
        ExprKind::Name(_) | ExprKind::Field(..) => "a name",
        _ => "an expression",
    }
}

fn type_text(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeExprKind::Named { module: None, name } => name.name.clone(),
        TypeExprKind::Named {
            module: Some(module),
            name,
        } => format!("{}.{}", module.name, name.name),
        _ => "value".into(),
    }
}

fn param_list(template: &Template) -> String {
    template
        .params
        .iter()
        .map(|p| format!("`{}: {}`", p.name.name, type_text(&p.ty)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// E0116: fires when a name bound inside a template (`name`, at `span`) is one of its
/// parameters (`param`).
fn template_param_rebound(
    file_id: FileId,
    span: Span,
    name: &str,
    template: &Template,
    param: &Param,
) -> Diagnostic {
    Diagnostic::new(
        Code::TemplateParamRebound,
        file_id,
        span,
        format!(
            "`{name}` is a parameter of template `{}` and cannot be bound again inside it",
            template.name.name
        ),
    )
    .label("binds the parameter's name again")
    .with_secondary(param.name.span, "the parameter")
    .help("give this binding another name")
}

/// A parameter is replaced wherever its name is read, so a name bound inside the template
/// (an input, a `let`, a `for` variable, a lambda parameter) must not hide it.
/// Whether it reported any.
fn report_rebound_params(file_id: FileId, template: &Template, out: &mut Vec<Diagnostic>) -> bool {
    let before = out.len();
    for binding in substitute::bindings(&template.clauses) {
        if let Some(param) = template.params.iter().find(|p| p.name.name == binding.name) {
            out.push(template_param_rebound(
                file_id,
                binding.span,
                &binding.name,
                template,
                param,
            ));
        }
    }
    out.len() > before
}

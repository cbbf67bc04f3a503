//! Calls: what a callee names (an extern, a `fn` or a builtin), the arguments of a call
//! against its signature, and the builtins whose arguments are lists and lambdas.

use super::builtins::Builtin;
use super::call_errors::{
    bad_argument_name, missing_argument, not_callable, wrong_argument_count, ArgumentCount,
    ArgumentName, Uncallable,
};
use super::checker::Checker;
use super::env::{BindingKind, Env};
use super::mismatch::{type_mismatch, Mismatch};
use super::secrets::{secret_exposed, Exposure};
use super::{assignable, Callee, ParamSig, Signature, Ty};
use crate::resolve::{suggest, unknown_name, Member, UnknownName};
use crate::syntax::*;
use crate::FileId;

impl Checker<'_> {
    /// What a callee expression names: an extern, a `fn` or a builtin.
    pub(super) fn resolve_callee(&mut self, env: &mut Env, callee: &Expr) -> Option<Callee> {
        let module = &self.modules[env.module.0 as usize];
        match &callee.kind {
            ExprKind::Name(ident) => {
                if let Some(binding) = env.lookup(&ident.name) {
                    binding.used = true;
                    self.report(not_callable(
                        env.file,
                        callee.span,
                        Uncallable::Value { name: &ident.name },
                    ));
                    return None;
                }
                if let Some(&item) = module.names.externs.get(&ident.name) {
                    return Some(Callee::Extern {
                        module: env.module,
                        item,
                    });
                }
                if let Some(&item) = module.names.fns.get(&ident.name) {
                    return Some(Callee::Fn {
                        module: env.module,
                        item,
                    });
                }
                if let Some(builtin) = Builtin::from_name(&ident.name) {
                    return Some(Callee::Builtin(builtin));
                }
                let mut candidates: Vec<&str> = Builtin::ALL.iter().map(|b| b.name()).collect();
                candidates.extend(module.names.fns.keys().map(String::as_str));
                candidates.extend(module.names.externs.keys().map(String::as_str));
                let suggestion = suggest(&ident.name, candidates);
                self.report(unknown_name(
                    env.file,
                    ident.span,
                    UnknownName::Function {
                        name: &ident.name,
                        suggestion,
                    },
                ));
                None
            }
            ExprKind::Field(base, member) => {
                let ExprKind::Name(qualifier) = &base.kind else {
                    self.check_expr(env, base, None);
                    self.not_callable(env.file, callee.span);
                    return None;
                };
                if env.lookup(&qualifier.name).is_some()
                    || !module.names.imports.contains_key(&qualifier.name)
                        && (qualifier.name == "alert" || qualifier.name == "run")
                {
                    self.check_expr(env, base, None);
                    self.not_callable(env.file, callee.span);
                    return None;
                }
                let target = self.import(module, qualifier)?;
                let target_module = &self.modules[target.0 as usize];
                match target_module.names.member(&member.name) {
                    Some(Member::Extern(item)) => Some(Callee::Extern {
                        module: target,
                        item,
                    }),
                    Some(Member::Fn(item)) => Some(Callee::Fn {
                        module: target,
                        item,
                    }),
                    Some(_) => {
                        self.not_callable(env.file, callee.span);
                        None
                    }
                    None => {
                        let names = target_module.names.all_names();
                        self.unknown_member(env.file, qualifier, member, &names);
                        None
                    }
                }
            }
            _ => {
                self.check_expr(env, callee, None);
                self.not_callable(env.file, callee.span);
                None
            }
        }
    }

    pub(super) fn not_callable(&mut self, file: FileId, span: Span) {
        self.report(not_callable(file, span, Uncallable::Other));
    }

    pub(super) fn infer_call(
        &mut self,
        env: &mut Env,
        call: &Expr,
        callee: &Expr,
        args: &[Arg],
    ) -> Ty {
        let Some(target) = self.resolve_callee(env, callee) else {
            for arg in args {
                self.check_expr(env, &arg.value, None);
            }
            return Ty::Unknown;
        };
        self.info.record_call(env.module, call.id, target);
        match target {
            Callee::Builtin(builtin) => self.check_builtin(env, call, builtin, args),
            Callee::Extern { module, item } | Callee::Fn { module, item } => {
                let Some(signature) = self.info.signatures.get(&(module, item)).cloned() else {
                    return Ty::Unknown;
                };
                let name = callee
                    .as_path()
                    .map(|p| {
                        p.iter()
                            .map(|i| i.name.as_str())
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .unwrap_or_default();
                self.check_arguments(env, call, &name, &signature, args);
                signature.ret.clone()
            }
        }
    }

    pub(super) fn check_arguments(
        &mut self,
        env: &mut Env,
        call: &Expr,
        name: &str,
        signature: &Signature,
        args: &[Arg],
    ) {
        let mut filled: Vec<Option<Span>> = vec![None; signature.params.len()];
        let mut positional = 0;
        for arg in args {
            let slot = match &arg.name {
                None => {
                    let slot = positional;
                    positional += 1;
                    if slot >= signature.params.len() {
                        self.report(wrong_argument_count(
                            env.file,
                            arg.value.span,
                            ArgumentCount::TooMany { name, signature },
                        ));
                        self.check_expr(env, &arg.value, None);
                        continue;
                    }
                    slot
                }
                Some(label) => match signature.params.iter().position(|p| p.name == label.name) {
                    Some(slot) => slot,
                    None => {
                        let names: Vec<&str> =
                            signature.params.iter().map(|p| p.name.as_str()).collect();
                        let suggestion = suggest(&label.name, names.iter().copied());
                        self.report(bad_argument_name(
                            env.file,
                            label.span,
                            ArgumentName::Unknown {
                                name,
                                signature,
                                argument: &label.name,
                                suggestion,
                            },
                        ));
                        self.check_expr(env, &arg.value, None);
                        continue;
                    }
                },
            };
            if let Some(previous) = filled[slot] {
                let param = &signature.params[slot].name;
                self.report(bad_argument_name(
                    env.file,
                    arg.value.span,
                    ArgumentName::GivenTwice { param, previous },
                ));
                self.check_expr(env, &arg.value, None);
                continue;
            }
            filled[slot] = Some(arg.value.span);
            let param = signature.params[slot].clone();
            self.expect_type(
                env,
                &arg.value,
                &param.ty,
                &format!("argument `{}`", param.name),
            );
        }
        let missing: Vec<&ParamSig> = signature
            .params
            .iter()
            .zip(&filled)
            .filter(|(p, f)| f.is_none() && !p.has_default)
            .map(|(p, _)| p)
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing
                .iter()
                .map(|p| format!("`{}: {}`", p.name, p.ty))
                .collect();
            self.report(missing_argument(
                env.file, call.span, name, signature, &names,
            ));
        }
    }

    pub(super) fn check_builtin(
        &mut self,
        env: &mut Env,
        call: &Expr,
        builtin: Builtin,
        args: &[Arg],
    ) -> Ty {
        for arg in args {
            if let Some(label) = &arg.name {
                self.report(bad_argument_name(
                    env.file,
                    label.span,
                    ArgumentName::NamedToBuiltin { builtin },
                ));
            }
        }
        let arity_ok = match builtin {
            Builtin::Now => args.is_empty(),
            Builtin::Len
            | Builtin::First
            | Builtin::Sum
            | Builtin::Env
            | Builtin::Secret
            | Builtin::String
            | Builtin::Json
            | Builtin::Int
            | Builtin::Float
            | Builtin::Bool
            | Builtin::Trim
            | Builtin::Lines
            | Builtin::Lower
            | Builtin::Upper
            | Builtin::UrlEncode
            | Builtin::Size => args.len() == 1,
            Builtin::Filter
            | Builtin::Map
            | Builtin::SortBy
            | Builtin::Any
            | Builtin::All
            | Builtin::Contains
            | Builtin::Split
            | Builtin::Join
            | Builtin::StartsWith
            | Builtin::EndsWith
            | Builtin::Matches
            | Builtin::Capture => args.len() == 2,
            Builtin::Replace => args.len() == 3,
            Builtin::Min | Builtin::Max => !args.is_empty(),
        };
        if !arity_ok {
            for arg in args {
                self.check_expr(env, &arg.value, None);
            }
            self.report(wrong_argument_count(
                env.file,
                call.span,
                ArgumentCount::Builtin {
                    builtin,
                    given: args.len(),
                },
            ));
            return Ty::Unknown;
        }
        match builtin {
            Builtin::Now => Ty::Time,
            Builtin::Env | Builtin::Secret => {
                self.expect_type(env, &args[0].value, &Ty::Str, "the variable name");
                if builtin == Builtin::Env {
                    Ty::Str
                } else {
                    Ty::Secret
                }
            }
            Builtin::String => {
                let ty = self.check_expr(env, &args[0].value, None);
                if ty.contains_secret() {
                    self.report(secret_exposed(
                        env.file,
                        args[0].value.span,
                        Exposure::Stringified,
                    ));
                }
                Ty::Str
            }
            Builtin::Len => {
                let ty = self.check_expr(env, &args[0].value, None);
                if !matches!(
                    ty,
                    Ty::List(_) | Ty::Map(..) | Ty::Str | Ty::Json | Ty::Unknown
                ) {
                    self.mismatch(
                        env.file,
                        args[0].value.span,
                        &Ty::list(Ty::Unknown),
                        &ty,
                        "`len`",
                    );
                }
                Ty::Int
            }
            Builtin::First | Builtin::Sum | Builtin::Min | Builtin::Max if args.len() == 1 => {
                let element = self.list_argument(env, &args[0].value, builtin);
                match builtin {
                    Builtin::Sum
                        if !matches!(
                            element,
                            Ty::Int
                                | Ty::Float
                                | Ty::Duration
                                | Ty::Percent
                                | Ty::Size
                                | Ty::Unknown
                        ) =>
                    {
                        self.report(type_mismatch(
                            env.file,
                            args[0].value.span,
                            Mismatch::SumOfNonNumbers { element: &element },
                        ));
                        Ty::Unknown
                    }
                    Builtin::Min | Builtin::Max if !element.is_ordered() => {
                        self.report(type_mismatch(
                            env.file,
                            args[0].value.span,
                            Mismatch::Unordered { element: &element },
                        ));
                        Ty::Unknown
                    }
                    _ => element,
                }
            }
            Builtin::Min | Builtin::Max => {
                let first = self.check_expr(env, &args[0].value, None);
                for arg in &args[1..] {
                    self.expect_type(env, &arg.value, &first, "this argument");
                }
                first
            }
            Builtin::Contains => {
                let container = self.check_expr(env, &args[0].value, None);
                let wanted = match &container {
                    Ty::List(element) => element.as_ref().clone(),
                    Ty::Map(key, _) => key.as_ref().clone(),
                    Ty::Str => Ty::Str,
                    _ => Ty::Unknown,
                };
                self.expect_type(env, &args[1].value, &wanted, "the value to look for");
                Ty::Bool
            }
            Builtin::Filter | Builtin::Map | Builtin::SortBy | Builtin::Any | Builtin::All => {
                let element = self.list_argument(env, &args[0].value, builtin);
                let result = self.check_lambda(env, &args[1].value, &element, builtin);
                match builtin {
                    Builtin::Filter | Builtin::SortBy => Ty::list(element),
                    Builtin::Map => Ty::list(result),
                    _ => Ty::Bool,
                }
            }
            // Handled by the guarded arm above.
            Builtin::First | Builtin::Sum => Ty::Unknown,
            _ => self.check_text_builtin(env, builtin, args),
        }
    }

    pub(super) fn list_argument(&mut self, env: &mut Env, arg: &Expr, builtin: Builtin) -> Ty {
        match self.check_expr(env, arg, None) {
            Ty::List(element) => *element,
            Ty::Unknown => Ty::Unknown,
            Ty::Json => Ty::Json,
            other => {
                self.report(type_mismatch(
                    env.file,
                    arg.span,
                    Mismatch::NeedsList {
                        builtin,
                        found: &other,
                    },
                ));
                Ty::Unknown
            }
        }
    }

    /// Checks `x => body` with `x` bound to the list's element type; returns the body's type.
    pub(super) fn check_lambda(
        &mut self,
        env: &mut Env,
        arg: &Expr,
        element: &Ty,
        builtin: Builtin,
    ) -> Ty {
        let ExprKind::Lambda { params, body } = &arg.kind else {
            self.check_expr(env, arg, None);
            self.report(type_mismatch(
                env.file,
                arg.span,
                Mismatch::NeedsLambda { builtin },
            ));
            return Ty::Unknown;
        };
        self.info.record_type(env.module, arg.id, Ty::Lambda);
        if params.len() != 1 {
            self.report(wrong_argument_count(
                env.file,
                arg.span,
                ArgumentCount::LambdaParameters {
                    builtin,
                    given: params.len(),
                },
            ));
        }
        env.push();
        for param in params {
            env.bind(param, element.clone(), BindingKind::Lambda);
        }
        let result = self.check_expr(env, body, None);
        env.pop();
        match builtin {
            Builtin::Filter | Builtin::Any | Builtin::All
                if !assignable(&result, &Ty::Bool) || matches!(result, Ty::Optional(_)) =>
            {
                self.report(super::statements::condition_not_bool(
                    env.file,
                    body.span,
                    &format!("the test given to `{}`", builtin.name()),
                    &result,
                    "`p => p.restarts > 5`",
                ));
            }
            Builtin::SortBy if !result.is_ordered() => {
                self.report(type_mismatch(
                    env.file,
                    body.span,
                    Mismatch::UnorderedKeys { key: &result },
                ));
            }
            _ => {}
        }
        result
    }
}

pub(super) fn describe_params(signature: &Signature) -> String {
    signature
        .params
        .iter()
        .map(|p| {
            if p.has_default {
                format!("{}: {} = ...", p.name, p.ty)
            } else {
                format!("{}: {}", p.name, p.ty)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

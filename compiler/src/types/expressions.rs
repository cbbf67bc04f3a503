//! Expressions: literals, names, fields, indexing, operators and lambdas, each recorded with
//! its type in [`TypeInfo`](super::TypeInfo).

use super::builtins::Builtin;
use super::checker::Checker;
use super::env::{BindingKind, Env};
use super::mismatch::{type_mismatch, Mismatch};
use super::operators::{self, bad_operands, Operands};
use super::secrets::{secret_exposed, Exposure};
use super::ty::record_fits;
use super::{assignable, NamedTy, Ty, TypeKey};
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::{
    duplicate_definition, suggest, unknown_member, unknown_name, Duplicate, KnownFields, Member,
    UnknownMember, UnknownName,
};
use crate::syntax::*;
use crate::FileId;

impl Checker<'_> {
    /// Checks an expression and records its type. `expected` only guides literals that need
    /// context (empty lists, lambdas); the caller compares the result.
    pub(super) fn check_expr(&mut self, env: &mut Env, expr: &Expr, expected: Option<&Ty>) -> Ty {
        let ty = self.infer(env, expr, expected);
        self.info.record_type(env.module, expr.id, ty.clone());
        ty
    }

    pub(super) fn infer(&mut self, env: &mut Env, expr: &Expr, expected: Option<&Ty>) -> Ty {
        match &expr.kind {
            ExprKind::Int(_) => Ty::Int,
            ExprKind::Float(_) => Ty::Float,
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::None => Ty::None,
            ExprKind::Duration(_) => Ty::Duration,
            ExprKind::Percent(_) => Ty::Percent,
            ExprKind::Str(parts) => {
                for part in parts {
                    if let StrPart::Interpolation(inner) = part {
                        let ty = self.check_expr(env, inner, None);
                        if ty.contains_secret() {
                            self.report(secret_exposed(
                                env.file,
                                inner.span,
                                Exposure::Interpolated,
                            ));
                        } else if ty == Ty::None {
                            self.report(type_mismatch(
                                env.file,
                                inner.span,
                                Mismatch::NoValue {
                                    what: "interpolation",
                                    help: "interpolate a value, not an action that returns nothing",
                                },
                            ));
                        }
                    }
                }
                Ty::Str
            }
            ExprKind::List(elements) => {
                let expected_element = match expected {
                    Some(Ty::List(element)) => Some(element.as_ref().clone()),
                    _ => None,
                };
                let mut element_ty: Option<Ty> = expected_element.clone();
                for element in elements {
                    let ty = self.check_expr(env, element, element_ty.as_ref());
                    match &element_ty {
                        None => element_ty = Some(ty),
                        Some(current) if assignable(&ty, current) => {}
                        Some(current) if assignable(current, &ty) && expected_element.is_none() => {
                            element_ty = Some(ty)
                        }
                        Some(current) => {
                            let current = current.clone();
                            self.mismatch(
                                env.file,
                                element.span,
                                &current,
                                &ty,
                                "this list element",
                            );
                        }
                    }
                }
                Ty::list(element_ty.unwrap_or(Ty::Unknown))
            }
            ExprKind::Record(fields) => self.infer_record(env, fields, expected),
            ExprKind::Name(ident) => self.infer_name(env, ident),
            ExprKind::StepOutcome { step, outcome } => self.infer_step_outcome(env, step, *outcome),
            ExprKind::ApprovalValue(field) => self.infer_approval_value(env, field),
            ExprKind::Field(base, field) => self.infer_field(env, base, field),
            ExprKind::Index(base, index) => {
                let base_ty = self.check_expr(env, base, None);
                match base_ty {
                    Ty::List(element) => {
                        self.expect_type(env, index, &Ty::Int, "a list index");
                        *element
                    }
                    Ty::Map(key, value) => {
                        self.expect_type(env, index, &key, "a map key");
                        Ty::optional(*value)
                    }
                    Ty::Json => {
                        let index_ty = self.check_expr(env, index, None);
                        if !matches!(index_ty, Ty::Int | Ty::Str | Ty::Unknown) {
                            self.mismatch(
                                env.file,
                                index.span,
                                &Ty::Str,
                                &index_ty,
                                "a JSON index",
                            );
                        }
                        Ty::Json
                    }
                    Ty::Unknown => {
                        self.check_expr(env, index, None);
                        Ty::Unknown
                    }
                    other => {
                        self.check_expr(env, index, None);
                        self.report(type_mismatch(
                            env.file,
                            base.span,
                            Mismatch::NotIndexable { found: &other },
                        ));
                        Ty::Unknown
                    }
                }
            }
            ExprKind::Call { callee, args } => self.infer_call(env, expr, callee, args),
            ExprKind::Unary(op, operand) => {
                let ty = self.check_expr(env, operand, None);
                match operators::unary(*op, &ty) {
                    Some(result) => result,
                    None => {
                        self.report(bad_operands(
                            env.file,
                            expr.span,
                            Operands::Unary {
                                op: *op,
                                operand: &ty,
                            },
                        ));
                        Ty::Unknown
                    }
                }
            }
            ExprKind::Binary(op, lhs, rhs) => {
                let lhs_ty = self.check_expr(env, lhs, None);
                let rhs_hint = if *op == BinaryOp::Coalesce {
                    Some(lhs_ty.strip_optional().clone())
                } else {
                    Some(lhs_ty.clone())
                };
                let rhs_ty = self.check_expr(env, rhs, rhs_hint.as_ref());
                match operators::binary(*op, &lhs_ty, &rhs_ty) {
                    Some(result) => result,
                    None => {
                        self.report(bad_operands(
                            env.file,
                            expr.span,
                            Operands::Binary {
                                op: *op,
                                lhs: &lhs_ty,
                                rhs: &rhs_ty,
                            },
                        ));
                        Ty::Unknown
                    }
                }
            }
            ExprKind::Lambda { body, .. } => {
                // A lambda outside a builtin's argument list: check its body for errors only.
                env.push();
                if let ExprKind::Lambda { params, .. } = &expr.kind {
                    for param in params {
                        env.bind(param, Ty::Unknown, BindingKind::Lambda);
                    }
                }
                self.check_expr(env, body, None);
                env.pop();
                self.report(type_mismatch(
                    env.file,
                    expr.span,
                    Mismatch::LambdaOutsideBuiltin,
                ));
                Ty::Unknown
            }
        }
    }

    pub(super) fn infer_record(
        &mut self,
        env: &mut Env,
        fields: &[RecordField],
        expected: Option<&Ty>,
    ) -> Ty {
        let string_keys = fields
            .iter()
            .filter(|f| matches!(f.key, RecordKey::Str(_)))
            .count();
        if string_keys > 0 {
            // `{"k": v}` is a map.
            let value_hint = match expected {
                Some(Ty::Map(_, value)) => Some(value.as_ref().clone()),
                _ => None,
            };
            let mut value_ty: Option<Ty> = value_hint;
            for field in fields {
                if let RecordKey::Name(name) = &field.key {
                    self.report(mixed_map_keys(env.file, name.span));
                }
                let ty = self.check_expr(env, &field.value, value_ty.as_ref());
                match &value_ty {
                    None => value_ty = Some(ty),
                    Some(current) if assignable(&ty, current) => {}
                    Some(current) => {
                        let current = current.clone();
                        self.mismatch(env.file, field.value.span, &current, &ty, "this map value");
                    }
                }
            }
            return Ty::Map(Box::new(Ty::Str), Box::new(value_ty.unwrap_or(Ty::Unknown)));
        }
        let expected_fields = match expected {
            Some(Ty::Named(named)) => self.info.named_types.get(&named.key).cloned().flatten(),
            Some(Ty::Record(fields)) => Some(fields.clone()),
            _ => None,
        };
        let mut result = Vec::new();
        for field in fields {
            let RecordKey::Name(name) = &field.key else {
                continue;
            };
            if result.iter().any(|(n, _): &(String, Ty)| n == &name.name) {
                self.report(duplicate_definition(
                    env.file,
                    name.span,
                    Duplicate::RecordField { name: &name.name },
                ));
                continue;
            }
            let hint = expected_fields
                .as_ref()
                .and_then(|fs| fs.iter().find(|(n, _)| n == &name.name))
                .map(|(_, t)| t.clone());
            let ty = self.check_expr(env, &field.value, hint.as_ref());
            result.push((name.name.clone(), ty));
        }
        let record = Ty::Record(result);
        // A literal that fits the expected named type takes that type.
        if let Some(expected @ Ty::Named(_)) = expected {
            if let Some(wanted) = &expected_fields {
                if let Ty::Record(given) = &record {
                    if record_fits(given, wanted) {
                        return expected.clone();
                    }
                }
            }
        }
        record
    }

    pub(super) fn infer_name(&mut self, env: &mut Env, ident: &Ident) -> Ty {
        let reading_step = env.step.clone();
        if let Some(binding) = env.lookup(&ident.name) {
            binding.used = true;
            let ty = binding.ty.clone();
            let (bound_at, unset_by) = (binding.span, binding.maybe_unset.clone());
            if let Some((step, why)) = unset_by {
                if reading_step.as_deref() != Some(step.as_str())
                    && !env.proven_succeeded.contains(&step)
                {
                    self.report(maybe_unset(env.file, ident, bound_at, &step, why));
                }
            }
            return ty;
        }
        if ident.name == "alert" && env.alert {
            return Ty::Named(NamedTy {
                key: TypeKey::Alert,
                display: "alert.Alert".into(),
            });
        }
        if ident.name == "run" && env.run {
            return Ty::Named(NamedTy {
                key: TypeKey::Run,
                display: "run".into(),
            });
        }
        let module = &self.modules[env.module.0 as usize];
        if let Some(&index) = module.names.consts.get(&ident.name) {
            return self
                .info
                .const_types
                .get(&(env.module, index))
                .cloned()
                .unwrap_or(Ty::Unknown);
        }
        let callable = module.names.fns.contains_key(&ident.name)
            || module.names.externs.contains_key(&ident.name)
            || Builtin::from_name(&ident.name).is_some();
        if callable {
            self.report(type_mismatch(
                env.file,
                ident.span,
                Mismatch::FunctionAsValue { name: &ident.name },
            ));
            return Ty::Unknown;
        }
        if module.names.imports.contains_key(&ident.name) {
            self.report(type_mismatch(
                env.file,
                ident.span,
                Mismatch::ModuleAsValue { name: &ident.name },
            ));
            return Ty::Unknown;
        }
        // `alert` and `run` get their own help, without spending the suggestion budget.
        let suggestion =
            if ident.name != "alert" && ident.name != "run" && self.suggestions_left > 0 {
                self.suggestions_left -= 1;
                let mut candidates: Vec<&str> = env.visible_names();
                candidates.extend(module.names.consts.keys().map(String::as_str));
                suggest(&ident.name, candidates)
            } else {
                None
            };
        self.report(unknown_name(
            env.file,
            ident.span,
            UnknownName::Value {
                name: &ident.name,
                suggestion,
            },
        ));
        Ty::Unknown
    }

    pub(super) fn infer_field(&mut self, env: &mut Env, base: &Expr, field: &Ident) -> Ty {
        // `module.CONST`
        if let ExprKind::Name(qualifier) = &base.kind {
            let module = &self.modules[env.module.0 as usize];
            let shadowed = env.lookup(&qualifier.name).is_some()
                || (qualifier.name == "alert" && env.alert)
                || (qualifier.name == "run" && env.run);
            if !shadowed && module.names.imports.contains_key(&qualifier.name) {
                let Some(target) = self.import(module, qualifier) else {
                    return Ty::Unknown;
                };
                let target_module = &self.modules[target.0 as usize];
                return match target_module.names.member(&field.name) {
                    Some(Member::Const(index)) => self
                        .info
                        .const_types
                        .get(&(target, index))
                        .cloned()
                        .unwrap_or(Ty::Unknown),
                    Some(_) => {
                        self.report(type_mismatch(
                            env.file,
                            field.span,
                            Mismatch::MemberAsValue {
                                module: &qualifier.name,
                                member: &field.name,
                            },
                        ));
                        Ty::Unknown
                    }
                    None => {
                        let names = target_module.names.all_names();
                        self.unknown_member(env.file, qualifier, field, &names);
                        Ty::Unknown
                    }
                };
            }
        }
        let base_ty = self.check_expr(env, base, None);
        let fields = match &base_ty {
            Ty::Unknown => return Ty::Unknown,
            Ty::Json => return Ty::Json,
            Ty::Record(fields) => Some(fields.clone()),
            Ty::Named(named) => self.info.named_types.get(&named.key).cloned().flatten(),
            _ => None,
        };
        match fields {
            Some(fields) => match fields.iter().find(|(n, _)| n == &field.name) {
                Some((_, ty)) => ty.clone(),
                None => {
                    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
                    let suggestion = suggest(&field.name, names.iter().copied());
                    self.report(no_such_field(
                        env.file,
                        field,
                        &base_ty,
                        KnownFields::Listed {
                            fields: &names,
                            suggestion,
                        },
                    ));
                    Ty::Unknown
                }
            },
            None => {
                let known = if matches!(base_ty, Ty::Optional(_)) {
                    KnownFields::MaybeNone
                } else {
                    KnownFields::None
                };
                self.report(no_such_field(env.file, field, &base_ty, known));
                Ty::Unknown
            }
        }
    }
}

/// E0108: fires when a name bound in step `step` is read after it, where the step may not have
/// bound it (`why` says why).
fn maybe_unset(file: FileId, name: &Ident, bound_at: Span, step: &str, why: &str) -> Diagnostic {
    Diagnostic::new(
        Code::MaybeUnset,
        file,
        name.span,
        format!("`{}` may have no value here: step `{step}` binds it, and {why}", name.name),
    )
    .label("read after that step")
    .with_secondary(bound_at, "bound here")
    .help(format!("bind `{}` in a step that always runs to its end (no `when`, no `on failure continue`), or read it only inside step `{step}`", name.name))
}

/// E0223: fires when a map literal mixes quoted and bare keys (`bare_key` is a bare one).
fn mixed_map_keys(file: FileId, bare_key: Span) -> Diagnostic {
    Diagnostic::new(
        Code::MixedMapKeys,
        file,
        bare_key,
        "a map literal mixes quoted and bare keys",
    )
    .label("bare key")
    .help("quote every key of a map: {\"a\": 1, \"b\": 2}")
}

/// E0103 for `value.field` where the value's type has no such field (or no fields at all).
fn no_such_field(file: FileId, field: &Ident, base_ty: &Ty, known: KnownFields) -> Diagnostic {
    unknown_member(
        file,
        field.span,
        UnknownMember::Field {
            ty: base_ty,
            field: &field.name,
            known,
        },
    )
}

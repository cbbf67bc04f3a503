//! Declarations: named types, the signatures of externs and `fn`s, parameter defaults, type
//! expressions and the module an alias names. The checker reads these before any body.

use std::collections::HashMap;

use super::checker::Checker;
use super::env::Env;
use super::{NamedTy, ParamSig, Signature, Ty, TypeKey};
use crate::resolve::{
    suggest, unknown_member, unknown_module, unknown_name, Module, ModuleId, UnknownMember,
    UnknownModule, UnknownName,
};
use crate::syntax::*;
use crate::FileId;

impl Checker<'_> {
    pub(super) fn declare_types(&mut self, module: &Module) {
        for item in &module.ast.items {
            if let ItemKind::Type(ty) = &item.kind {
                self.info
                    .named_types
                    .insert(TypeKey::Module(module.id, ty.name.name.clone()), None);
            }
        }
        for item in &module.ast.items {
            if let ItemKind::Type(ty) = &item.kind {
                let fields = ty.fields.as_ref().map(|fields| {
                    fields
                        .iter()
                        .map(|(name, field_ty)| {
                            (name.name.clone(), self.resolve_type(module, field_ty))
                        })
                        .collect()
                });
                self.info
                    .named_types
                    .insert(TypeKey::Module(module.id, ty.name.name.clone()), fields);
            }
        }
        self.info
            .named_types
            .insert(TypeKey::Alert, Some(alert_fields()));
        self.info
            .named_types
            .insert(TypeKey::Run, Some(run_fields()));
    }

    pub(super) fn declare_signatures(&mut self, module: &Module) {
        for (index, item) in module.ast.items.iter().enumerate() {
            let (params, ret) = match &item.kind {
                ItemKind::Extern(external) => (&external.params, &external.ret),
                ItemKind::Fn(function) => (&function.params, &function.ret),
                _ => continue,
            };
            let mut seen: HashMap<&str, Span> = HashMap::new();
            let params = params
                .iter()
                .map(|param| {
                    if let Some(previous) = seen.insert(&param.name.name, param.name.span) {
                        self.report(crate::resolve::duplicate(
                            module.file,
                            &param.name.name,
                            param.name.span,
                            previous,
                        ));
                    }
                    ParamSig {
                        name: param.name.name.clone(),
                        ty: self.resolve_type(module, &param.ty),
                        has_default: param.default.is_some(),
                    }
                })
                .collect();
            let ret = ret
                .as_ref()
                .map_or(Ty::None, |t| self.resolve_type(module, t));
            self.info.signatures.insert(
                (module.id, index),
                std::sync::Arc::new(Signature { params, ret }),
            );
        }
    }

    pub(super) fn check_param_defaults(&mut self, module: &Module, params: &[Param]) {
        for param in params {
            if let Some(default) = &param.default {
                let mut env = Env::new(module.id, module.file);
                let ty = self.resolve_type(module, &param.ty);
                self.expect_type(&mut env, default, &ty, "this default");
            }
        }
    }

    pub(super) fn resolve_type(&mut self, module: &Module, ty: &TypeExpr) -> Ty {
        match &ty.kind {
            TypeExprKind::List(element) => Ty::list(self.resolve_type(module, element)),
            TypeExprKind::Map(key, value) => Ty::Map(
                Box::new(self.resolve_type(module, key)),
                Box::new(self.resolve_type(module, value)),
            ),
            TypeExprKind::Optional(inner) => Ty::optional(self.resolve_type(module, inner)),
            TypeExprKind::Record(fields) => Ty::Record(
                fields
                    .iter()
                    .map(|(n, t)| (n.name.clone(), self.resolve_type(module, t)))
                    .collect(),
            ),
            TypeExprKind::Named { module: None, name } => {
                if let Some(primitive) = primitive_type(&name.name) {
                    return primitive;
                }
                if module.names.types.contains_key(&name.name) {
                    let display = if module.is_std() {
                        format!("{}.{}", module.display_name(), name.name)
                    } else {
                        name.name.clone()
                    };
                    return Ty::Named(NamedTy {
                        key: TypeKey::Module(module.id, name.name.clone()),
                        display,
                    });
                }
                let mut candidates: Vec<&str> = PRIMITIVES.to_vec();
                candidates.extend(module.names.types.keys().map(String::as_str));
                let suggestion = suggest(&name.name, candidates);
                self.report(unknown_name(
                    module.file,
                    name.span,
                    UnknownName::Type {
                        name: &name.name,
                        suggestion,
                    },
                ));
                Ty::Unknown
            }
            TypeExprKind::Named {
                module: Some(qualifier),
                name,
            } => {
                if qualifier.name == "alert" && name.name == "Alert" {
                    return Ty::Named(NamedTy {
                        key: TypeKey::Alert,
                        display: "alert.Alert".into(),
                    });
                }
                let Some(target) = self.import(module, qualifier) else {
                    return Ty::Unknown;
                };
                let target_module = &self.modules[target.0 as usize];
                if target_module.names.types.contains_key(&name.name) {
                    return Ty::Named(NamedTy {
                        key: TypeKey::Module(target, name.name.clone()),
                        display: format!("{}.{}", target_module.display_name(), name.name),
                    });
                }
                let types: Vec<&str> = target_module
                    .names
                    .types
                    .keys()
                    .map(String::as_str)
                    .collect();
                self.unknown_member(module.file, qualifier, name, &types);
                Ty::Unknown
            }
        }
    }

    /// The module an alias names, reporting an unknown module.
    pub(super) fn import(&mut self, module: &Module, alias: &Ident) -> Option<ModuleId> {
        match module.names.imports.get(&alias.name) {
            Some(import) => import.module,
            None => {
                let imports: Vec<&str> = module.names.imports.keys().map(String::as_str).collect();
                let suggestion = suggest(&alias.name, imports);
                self.report(unknown_module(
                    module.file,
                    alias.span,
                    UnknownModule::NotImported {
                        alias: &alias.name,
                        suggestion,
                    },
                ));
                None
            }
        }
    }

    pub(super) fn unknown_member(
        &mut self,
        file: FileId,
        qualifier: &Ident,
        member: &Ident,
        candidates: &[&str],
    ) {
        let suggestion = suggest(&member.name, candidates.iter().copied());
        self.report(unknown_member(
            file,
            member.span,
            UnknownMember::OfModule {
                module: &qualifier.name,
                member: &member.name,
                suggestion,
                candidates,
            },
        ));
    }
}

pub(super) const PRIMITIVES: &[&str] = &[
    "int", "float", "bool", "string", "duration", "percent", "size", "time", "secret", "none",
    "json",
];

fn primitive_type(name: &str) -> Option<Ty> {
    Some(match name {
        "int" => Ty::Int,
        "float" => Ty::Float,
        "bool" => Ty::Bool,
        "string" => Ty::Str,
        "duration" => Ty::Duration,
        "percent" => Ty::Percent,
        "size" => Ty::Size,
        "time" => Ty::Time,
        "secret" => Ty::Secret,
        "none" => Ty::None,
        "json" => Ty::Json,
        _ => return None,
    })
}

fn alert_fields() -> Vec<(String, Ty)> {
    let labels = Ty::Map(Box::new(Ty::Str), Box::new(Ty::Str));
    vec![
        ("name".into(), Ty::Str),
        ("labels".into(), labels.clone()),
        ("annotations".into(), labels),
        ("status".into(), Ty::Str),
        ("starts_at".into(), Ty::Time),
        ("ends_at".into(), Ty::optional(Ty::Time)),
        ("fingerprint".into(), Ty::Str),
    ]
}

fn run_fields() -> Vec<(String, Ty)> {
    vec![
        ("id".into(), Ty::Str),
        ("summary".into(), Ty::Str),
        ("failed_step".into(), Ty::optional(Ty::Str)),
        ("log_url".into(), Ty::Str),
    ]
}

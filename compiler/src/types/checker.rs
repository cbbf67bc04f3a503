//! The type checker: walks every body with a scope of bindings and fills [`TypeInfo`].

use std::collections::HashMap;

use super::builtins::Builtin;
use super::operators;
use super::{Callee, InputSig, NamedTy, ParamSig, Signature, Ty, TypeInfo, TypeKey};
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::{suggest, Member, Module, ModuleId};
use crate::syntax::*;
use crate::FileId;

pub(crate) struct Checker<'a> {
    pub(super) modules: &'a [Module],
    pub(super) info: TypeInfo,
    pub(super) diagnostics: &'a mut Vec<Diagnostic>,
    /// How many more unknown names may be compared with every name in scope for a "did you
    /// mean": each comparison walks the whole scope, so a file of many unknown names among
    /// many names would otherwise take quadratic time.
    pub(super) suggestions_left: usize,
}

/// Unknown names (per check) that get a "did you mean" hint; later ones get the plain help.
const SUGGESTION_BUDGET: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BindingKind {
    Let,
    Input,
    Param,
    Loop,
    Lambda,
}

#[derive(Debug)]
pub(super) struct Binding {
    name: String,
    ty: Ty,
    span: Span,
    kind: BindingKind,
    used: bool,
    /// A step's `let` that later steps see but that may have no value when they run: the step
    /// and why (`it has a \`when\``, `it may fail and the run goes on`).
    maybe_unset: Option<(String, &'static str)>,
}

/// The names visible while checking one body.
pub(super) struct Env {
    pub module: ModuleId,
    pub file: FileId,
    bindings: Vec<Binding>,
    scopes: Vec<Vec<usize>>,
    /// `alert` is in scope (alert-triggered runbooks).
    pub alert: bool,
    /// `run` is in scope (`escalate`, `notify`).
    pub run: bool,
    /// The declared return type inside a `fn`.
    pub return_ty: Option<Ty>,
    /// The step being checked, when inside one.
    pub step: Option<String>,
    /// The values the approval of the step being checked asks for, inside its body.
    pub(super) asked: Option<Vec<(String, Ty)>>,
    /// Which steps have ended where this body runs (`step.NAME.outcome`); `None` outside a
    /// runbook.
    pub(super) step_order: Option<super::decisions::StepOrder>,
    /// Steps a `when` or `if` condition proved succeeded: their `let`s are bound here.
    pub(super) proven_succeeded: Vec<String>,
}

impl Env {
    pub fn new(module: ModuleId, file: FileId) -> Self {
        Env {
            module,
            file,
            bindings: Vec::new(),
            scopes: vec![Vec::new()],
            alert: false,
            run: false,
            return_ty: None,
            step: None,
            asked: None,
            step_order: None,
            proven_succeeded: Vec::new(),
        }
    }

    pub fn push(&mut self) {
        self.scopes.push(Vec::new());
    }

    pub fn pop(&mut self) {
        self.scopes.pop();
    }

    pub fn bind(&mut self, name: &Ident, ty: Ty, kind: BindingKind) {
        self.bindings.push(Binding {
            name: name.name.clone(),
            ty,
            span: name.span,
            kind,
            used: false,
            maybe_unset: None,
        });
        let index = self.bindings.len() - 1;
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(index);
        }
    }

    fn lookup(&mut self, name: &str) -> Option<&mut Binding> {
        let index = self
            .scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .copied()
            .find(|&i| self.bindings[i].name == name)?;
        Some(&mut self.bindings[index])
    }

    pub fn visible_names(&self) -> Vec<&str> {
        self.scopes
            .iter()
            .flat_map(|s| s.iter())
            .map(|&i| self.bindings[i].name.as_str())
            .collect()
    }

    /// `let` bindings never read, as (name, span).
    pub fn unused_lets(&self) -> Vec<(&str, Span)> {
        self.bindings
            .iter()
            .filter(|b| b.kind == BindingKind::Let && !b.used && !b.name.starts_with('_'))
            .map(|b| (b.name.as_str(), b.span))
            .collect()
    }
}

/// Can a value of type `from` be used where `to` is expected?
pub fn assignable(from: &Ty, to: &Ty) -> bool {
    match (from, to) {
        (Ty::Unknown, _) | (_, Ty::Unknown) => true,
        (a, b) if a == b => true,
        (Ty::Str, Ty::Secret) => true,
        (Ty::Int, Ty::Float) => true,
        (Ty::None, Ty::Optional(_)) => true,
        (Ty::Optional(a), Ty::Optional(b)) => assignable(a, b),
        (a, Ty::Optional(b)) => assignable(a, b),
        (Ty::List(a), Ty::List(b)) => assignable(a, b),
        (Ty::Map(ka, va), Ty::Map(kb, vb)) => assignable(ka, kb) && assignable(va, vb),
        (Ty::Record(a), Ty::Record(b)) => record_fits(a, b),
        // A JSON document may be built from plain data (a merge patch from a record literal).
        (from, Ty::Json) => is_json_data(from),
        _ => false,
    }
}

/// Values that have one obvious JSON form: no secret, handle, time, duration or size (whose
/// JSON spelling would be a guess).
fn is_json_data(ty: &Ty) -> bool {
    match ty {
        Ty::Int | Ty::Float | Ty::Bool | Ty::Str | Ty::None | Ty::Json | Ty::Unknown => true,
        Ty::List(element) | Ty::Optional(element) => is_json_data(element),
        Ty::Map(key, value) => matches!(**key, Ty::Str) && is_json_data(value),
        Ty::Record(fields) => fields.iter().all(|(_, ty)| is_json_data(ty)),
        _ => false,
    }
}

/// A record literal fits a record type when every field is there (optional ones may be left
/// out) with a fitting type, and there is no extra field.
fn record_fits(given: &[(String, Ty)], wanted: &[(String, Ty)]) -> bool {
    let all_wanted_present =
        wanted
            .iter()
            .all(|(name, ty)| match given.iter().find(|(n, _)| n == name) {
                Some((_, given_ty)) => assignable(given_ty, ty),
                None => matches!(ty, Ty::Optional(_)),
            });
    all_wanted_present
        && given
            .iter()
            .all(|(name, _)| wanted.iter().any(|(n, _)| n == name))
}

impl<'a> Checker<'a> {
    pub fn new(modules: &'a [Module], diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        Checker {
            modules,
            info: TypeInfo::default(),
            diagnostics,
            suggestions_left: SUGGESTION_BUDGET,
        }
    }

    pub fn into_info(self) -> TypeInfo {
        self.info
    }

    pub(super) fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn check_all(&mut self) {
        let modules = self.modules;
        for module in modules {
            self.declare_types(module);
        }
        for module in modules {
            self.declare_signatures(module);
        }
        for module in modules {
            for (index, item) in module.ast.items.iter().enumerate() {
                if let ItemKind::Const(constant) = &item.kind {
                    let mut env = Env::new(module.id, module.file);
                    let declared = self.resolve_type(module, &constant.ty);
                    self.expect_type(&mut env, &constant.value, &declared, "this constant");
                    self.info.const_types.insert((module.id, index), declared);
                }
            }
        }
        for module in modules {
            for (index, item) in module.ast.items.iter().enumerate() {
                match &item.kind {
                    ItemKind::Fn(function) => self.check_fn(module, index, function),
                    ItemKind::Runbook(runbook) => self.check_runbook(module, index, runbook),
                    ItemKind::Extern(external) => {
                        self.check_param_defaults(module, &external.params)
                    }
                    _ => {}
                }
            }
        }
        for module in modules {
            for item in &module.ast.items {
                if let ItemKind::Test(test) = &item.kind {
                    self.check_test(module, test);
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Declarations
    // -----------------------------------------------------------------------------------------

    fn declare_types(&mut self, module: &Module) {
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

    fn declare_signatures(&mut self, module: &Module) {
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

    fn check_param_defaults(&mut self, module: &Module, params: &[Param]) {
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
                let mut diagnostic = Diagnostic::new(
                    Code::UnknownName,
                    module.file,
                    name.span,
                    format!("unknown type `{}`", name.name),
                )
                .label("no type of this name");
                diagnostic = match suggest(&name.name, candidates) {
                    Some(s) => diagnostic.help(format!("did you mean `{s}`?")),
                    None => diagnostic.help("built-in types are int, float, bool, string, duration, percent, time, secret; module types are written `module.Type`"),
                };
                self.report(diagnostic);
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
                let diagnostic = Diagnostic::new(
                    Code::UnknownModule,
                    module.file,
                    alias.span,
                    format!("unknown module `{}`", alias.name),
                )
                .label("not imported in this file");
                let diagnostic = match suggest(&alias.name, imports) {
                    Some(s) => diagnostic.help(format!("did you mean `{s}`?")),
                    None => diagnostic.help(format!(
                        "add `use std.{}` at the top of the file (or `use std.MODULE as {}`)",
                        alias.name, alias.name
                    )),
                };
                self.report(diagnostic);
                None
            }
        }
    }

    fn unknown_member(
        &mut self,
        file: FileId,
        qualifier: &Ident,
        member: &Ident,
        candidates: &[&str],
    ) {
        let diagnostic = Diagnostic::new(
            Code::UnknownMember,
            file,
            member.span,
            format!("`{}` has no member `{}`", qualifier.name, member.name),
        )
        .label("not defined in that module");
        let diagnostic = match suggest(&member.name, candidates.iter().copied()) {
            Some(s) => diagnostic.help(format!("did you mean `{}.{s}`?", qualifier.name)),
            None if candidates.is_empty() => {
                diagnostic.help("see docs/stdlib.md for what each module provides")
            }
            None => {
                let mut sorted = candidates.to_vec();
                sorted.sort_unstable();
                diagnostic.help(format!("it has: {}", sorted.join(", ")))
            }
        };
        self.report(diagnostic);
    }

    // -----------------------------------------------------------------------------------------
    // Bodies
    // -----------------------------------------------------------------------------------------

    fn check_fn(&mut self, module: &Module, index: usize, function: &FnItem) {
        self.check_param_defaults(module, &function.params);
        let Some(signature) = self.info.signatures.get(&(module.id, index)).cloned() else {
            return;
        };
        let mut env = Env::new(module.id, module.file);
        for (param, sig) in function.params.iter().zip(&signature.params) {
            env.bind(&param.name, sig.ty.clone(), BindingKind::Param);
        }
        env.return_ty = Some(signature.ret.clone());
        self.check_block(&mut env, &function.body);
        self.report_unused(&env);
    }

    fn check_runbook(&mut self, module: &Module, index: usize, runbook: &Runbook) {
        let mut env = Env::new(module.id, module.file);
        env.alert = runbook
            .clauses
            .iter()
            .any(|c| matches!(c.kind, ClauseKind::Trigger(Trigger::Alert { .. })));
        let mut step_names: HashMap<&str, Span> = HashMap::new();
        let mut inputs = Vec::new();
        // Inputs first: every later clause sees them, whatever the order they are written in.
        for clause in &runbook.clauses {
            if let ClauseKind::Input(fields) = &clause.kind {
                for field in fields {
                    let ty = self.resolve_type(module, &field.ty);
                    if let Some(default) = &field.default {
                        self.expect_type(&mut env, default, &ty, "this default");
                    }
                    if inputs.iter().any(|i: &InputSig| i.name == field.name.name) {
                        let previous = env.visible_names().len();
                        let _ = previous;
                        self.report(
                            Diagnostic::new(
                                Code::DuplicateDefinition,
                                module.file,
                                field.name.span,
                                format!("input `{}` is declared twice", field.name.name),
                            )
                            .label("declared again here")
                            .help("rename or remove one of them"),
                        );
                        continue;
                    }
                    inputs.push(InputSig {
                        name: field.name.name.clone(),
                        ty: ty.clone(),
                        has_default: field.default.is_some(),
                    });
                    env.bind(&field.name, ty, BindingKind::Input);
                }
            }
        }
        self.info.inputs.insert((module.id, index), inputs);
        self.report_repeated_clauses(module.file, runbook);
        let all_steps: Vec<String> = runbook
            .clauses
            .iter()
            .filter_map(|c| match &c.kind {
                ClauseKind::Step(step) => Some(step.name.name.clone()),
                _ => None,
            })
            .collect();
        env.step_order = Some(super::decisions::StepOrder {
            earlier: Vec::new(),
            all: all_steps,
        });
        for clause in &runbook.clauses {
            match &clause.kind {
                ClauseKind::Trigger(Trigger::Alert {
                    filter: Some(filter),
                    ..
                }) => {
                    self.expect_condition(&mut env, filter, "a `where` filter");
                }
                ClauseKind::Concurrency { limit, per } => {
                    self.expect_type(&mut env, limit, &Ty::Int, "`concurrency`");
                    if let Some(per) = per {
                        self.check_expr(&mut env, per, None);
                    }
                }
                ClauseKind::Rate { limit, window, by } => {
                    self.expect_type(&mut env, limit, &Ty::Int, "`rate`");
                    self.expect_type(&mut env, window, &Ty::Duration, "a rate window");
                    if let Some(by) = by {
                        self.check_expr(&mut env, by, None);
                    }
                }
                ClauseKind::Timeout(limit) => {
                    self.expect_type(&mut env, limit, &Ty::Duration, "`timeout`")
                }
                ClauseKind::Escalate(call) => {
                    // Escalation runs whenever the run stops early, so it may only rely on what
                    // exists from the start: inputs, the alert and `run`.
                    let mut escalation_env = Env::new(module.id, module.file);
                    escalation_env.alert = env.alert;
                    escalation_env.run = true;
                    for input in self
                        .info
                        .inputs
                        .get(&(module.id, index))
                        .cloned()
                        .unwrap_or_default()
                    {
                        let ident = Ident {
                            name: input.name.clone(),
                            span: Span::default(),
                        };
                        escalation_env.bind(&ident, input.ty.clone(), BindingKind::Input);
                    }
                    self.expect_call(&mut escalation_env, call, "`escalate`");
                    // Inputs read only in escalation still count as used.
                    for name in escalation_env.used_names() {
                        if let Some(binding) = env.lookup(&name) {
                            binding.used = true;
                        }
                    }
                }
                ClauseKind::Notify(call) => {
                    env.run = true;
                    self.expect_call(&mut env, call, "`notify`");
                    env.run = false;
                }
                ClauseKind::Step(step) => {
                    if let Some(previous) = step_names.insert(&step.name.name, step.name.span) {
                        self.report(
                            Diagnostic::new(Code::DuplicateDefinition, module.file, step.name.span, format!("step `{}` is defined twice", step.name.name))
                                .label("defined again here")
                                .with_secondary(previous, "first defined here")
                                .help("give every step of a runbook its own name: approvals, logs and tests refer to steps by name"),
                        );
                    }
                    self.check_step(module, &mut env, step);
                    if let Some(order) = env.step_order.as_mut() {
                        order.earlier.push(super::decisions::step_facts(step));
                    }
                }
                _ => {}
            }
        }
        self.report_unused(&env);
    }

    fn check_step(&mut self, module: &Module, env: &mut Env, step: &Step) {
        if let Some(title) = &step.title {
            self.check_expr(env, title, None);
        }
        if let Some(condition) = &step.when {
            self.expect_condition(env, condition, "a `when` condition");
        }
        for option in &step.options {
            match &option.kind {
                StepOptionKind::ApprovalRequired {
                    timeout: Some(limit),
                    ..
                }
                | StepOptionKind::Timeout(limit)
                | StepOptionKind::Retry {
                    every: Some(limit), ..
                } => self.expect_type(env, limit, &Ty::Duration, "this option"),
                _ => {}
            }
        }
        let asked = self.check_asks(module, step);
        // A step's top-level `let`s stay visible to later steps; blocks inside it are scoped.
        let first_binding = env.bindings.len();
        let previous_step = env.step.replace(step.name.name.clone());
        let has_ask = !asked_fields(&step.options).is_empty();
        env.asked = has_ask.then_some(asked);
        let proven = step
            .when
            .as_ref()
            .map(super::decisions::proven_succeeded)
            .unwrap_or_default();
        let proven_before = env.proven_succeeded.len();
        env.proven_succeeded.extend(proven);
        self.check_stmts(env, &step.body);
        env.proven_succeeded.truncate(proven_before);
        env.asked = None;
        env.step = previous_step;
        let continues_after_failure = step
            .options
            .iter()
            .any(|o| matches!(o.kind, StepOptionKind::OnFailure(FailureMode::Continue)));
        let why = if step.when.is_some() {
            Some("it has a `when` and may be skipped")
        } else if continues_after_failure {
            Some("it has `on failure continue` and may fail before binding it")
        } else {
            None
        };
        if let Some(why) = why {
            for binding in &mut env.bindings[first_binding..] {
                if binding.kind == BindingKind::Let {
                    binding.maybe_unset = Some((step.name.name.clone(), why));
                }
            }
        }
    }

    fn check_block(&mut self, env: &mut Env, stmts: &[Stmt]) {
        env.push();
        self.check_stmts(env, stmts);
        env.pop();
    }

    fn check_stmts(&mut self, env: &mut Env, stmts: &[Stmt]) {
        for stmt in stmts {
            self.check_stmt(env, stmt);
        }
    }

    fn check_stmt(&mut self, env: &mut Env, stmt: &Stmt) {
        match &stmt.kind {
            StmtKind::Let { name, ty, value } => {
                let module = &self.modules[env.module.0 as usize];
                let ty = match ty {
                    Some(annotation) => {
                        let declared = self.resolve_type(module, annotation);
                        self.expect_type(env, value, &declared, "this binding");
                        declared
                    }
                    None => self.check_expr(env, value, None),
                };
                if ty == Ty::None {
                    self.report(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            env.file,
                            value.span,
                            "this expression has no value",
                        )
                        .label("returns `none`")
                        .help("call it as a statement without `let`"),
                    );
                }
                env.bind(name, ty, BindingKind::Let);
            }
            StmtKind::If {
                cond,
                then_body,
                else_body,
            } => {
                self.expect_condition(env, cond, "an `if` condition");
                let proven_before = env.proven_succeeded.len();
                env.proven_succeeded
                    .extend(super::decisions::proven_succeeded(cond));
                self.check_block(env, then_body);
                env.proven_succeeded.truncate(proven_before);
                if let Some(else_body) = else_body {
                    self.check_block(env, else_body);
                }
            }
            StmtKind::For { var, iter, body } => {
                let iter_ty = self.check_expr(env, iter, None);
                let element = match iter_ty {
                    Ty::List(element) => *element,
                    Ty::Unknown => Ty::Unknown,
                    // A JSON array; anything else fails the step when the loop starts.
                    Ty::Json => Ty::Json,
                    other => {
                        self.report(
                            Diagnostic::new(Code::TypeMismatch, env.file, iter.span, format!("`for` needs a list, found `{other}`"))
                                .label("not a list")
                                .help("loop over a list, e.g. `for pod in k8s.pods(namespace: \"prod\", selector: \"app=x\") { ... }`"),
                        );
                        Ty::Unknown
                    }
                };
                env.push();
                env.bind(var, element, BindingKind::Loop);
                self.check_stmts(env, body);
                env.pop();
            }
            StmtKind::Expect {
                cond,
                within,
                every,
                message,
            } => {
                self.expect_condition(env, cond, "`expect`");
                for limit in [within, every].into_iter().flatten() {
                    self.expect_type(env, limit, &Ty::Duration, "this limit");
                }
                if let Some(message) = message {
                    self.check_message(env, message, "an `expect` message");
                }
            }
            StmtKind::Fail(message) => self.check_message(env, message, "`fail`"),
            StmtKind::Log(message) => self.check_message(env, message, "`log`"),
            StmtKind::Return(value) => match env.return_ty.clone() {
                Some(ret) => self.expect_type(env, value, &ret, "the return value"),
                None => {
                    self.check_expr(env, value, None);
                    self.report(
                        Diagnostic::new(Code::SyntaxError, env.file, stmt.span, "`return` outside a `fn`")
                            .label("steps do not return values")
                            .help("use `let` to keep a value for later steps, or `fail \"...\"` to stop the run"),
                    );
                }
            },
            StmtKind::Expr(expr) => {
                self.check_expr(env, expr, None);
            }
        }
    }

    /// `log`, `fail` and `expect ... else` messages: text, and never a secret.
    fn check_message(&mut self, env: &mut Env, message: &Expr, what: &str) {
        let ty = self.check_expr(env, message, None);
        if ty.contains_secret() {
            self.report(
                Diagnostic::new(Code::SecretExposed, env.file, message.span, format!("a secret is passed to {what}"))
                    .label("this value is a secret")
                    .help("secrets may be passed to actions but never shown: log what the secret is for, not its value"),
            );
        } else if !assignable(&ty, &Ty::Str) {
            self.report(
                Diagnostic::new(
                    Code::TypeMismatch,
                    env.file,
                    message.span,
                    format!("{what} takes a string, found `{ty}`"),
                )
                .label("not a string")
                .help("interpolate the value into a message, e.g. \"usage is {usage}\""),
            );
        }
    }

    pub(super) fn expect_condition(&mut self, env: &mut Env, cond: &Expr, what: &str) {
        let ty = self.check_expr(env, cond, Some(&Ty::Bool));
        if !assignable(&ty, &Ty::Bool) || matches!(ty, Ty::Optional(_)) {
            self.report(
                Diagnostic::new(
                    Code::ConditionNotBool,
                    env.file,
                    cond.span,
                    format!("{what} must be a bool, found `{ty}`"),
                )
                .label(format!("this is `{ty}`"))
                .help("compare the value, e.g. `pg.pool_usage(db) > 90%` or `len(pods) > 0`"),
            );
        }
    }

    pub(super) fn expect_type(&mut self, env: &mut Env, expr: &Expr, expected: &Ty, what: &str) {
        let ty = self.check_expr(env, expr, Some(expected));
        if !assignable(&ty, expected) {
            self.mismatch(env.file, expr.span, expected, &ty, what);
        }
    }

    fn expect_call(&mut self, env: &mut Env, expr: &Expr, what: &str) {
        self.check_expr(env, expr, None);
        if !matches!(expr.kind, ExprKind::Call { .. }) {
            self.report(
                Diagnostic::new(
                    Code::TypeMismatch,
                    env.file,
                    expr.span,
                    format!("{what} takes an action call"),
                )
                .label("not a call")
                .help("call an action, e.g. `slack.post(channel: \"#incidents\", text: \"...\")`"),
            );
        }
    }

    pub(super) fn mismatch(
        &mut self,
        file: FileId,
        span: Span,
        expected: &Ty,
        found: &Ty,
        what: &str,
    ) {
        let help = match (expected, found) {
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
                format!(
                    "a record for `{expected}` must have exactly its fields (see docs/stdlib.md)"
                )
            }
            _ => format!("give {what} a value of type `{expected}`"),
        };
        self.report(
            Diagnostic::new(
                Code::TypeMismatch,
                file,
                span,
                format!("{what} expects `{expected}`, found `{found}`"),
            )
            .label(format!("this is `{found}`"))
            .help(help),
        );
    }

    fn report_unused(&mut self, env: &Env) {
        let unused: Vec<(String, Span)> = env
            .unused_lets()
            .into_iter()
            .map(|(n, s)| (n.to_string(), s))
            .collect();
        for (name, span) in unused {
            self.report(
                Diagnostic::new(Code::UnusedLet, env.file, span, format!("`{name}` is never used"))
                    .label("bound here and never read")
                    .help(format!("remove the `let` and keep the call as a statement, or name it `_{name}` if the value is deliberately unused")),
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // Expressions
    // -----------------------------------------------------------------------------------------

    /// Checks an expression and records its type. `expected` only guides literals that need
    /// context (empty lists, lambdas); the caller compares the result.
    pub(super) fn check_expr(&mut self, env: &mut Env, expr: &Expr, expected: Option<&Ty>) -> Ty {
        let ty = self.infer(env, expr, expected);
        self.info
            .expr_types
            .insert((env.module, expr.id), ty.clone());
        ty
    }

    fn infer(&mut self, env: &mut Env, expr: &Expr, expected: Option<&Ty>) -> Ty {
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
                            self.report(
                                Diagnostic::new(Code::SecretExposed, env.file, inner.span, "a secret is interpolated into a string")
                                    .label("this value is a secret")
                                    .help("pass the secret to the action directly (it accepts `secret`); never put it in text, which ends up in logs and messages"),
                            );
                        } else if ty == Ty::None {
                            self.report(
                                Diagnostic::new(
                                    Code::TypeMismatch,
                                    env.file,
                                    inner.span,
                                    "this interpolation has no value",
                                )
                                .label("returns `none`")
                                .help("interpolate a value, not an action that returns nothing"),
                            );
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
            ExprKind::Record(fields) => self.infer_record(env, expr, fields, expected),
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
                        self.report(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                env.file,
                                base.span,
                                format!("`{other}` cannot be indexed"),
                            )
                            .label("not a list or map")
                            .help("index lists with `xs[0]` and maps with `m[\"key\"]`"),
                        );
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
                        let symbol = if *op == UnaryOp::Not { "not" } else { "-" };
                        self.report(
                            Diagnostic::new(
                                Code::BadOperands,
                                env.file,
                                expr.span,
                                format!("`{symbol}` does not apply to `{ty}`"),
                            )
                            .label(format!("this is `{ty}`"))
                            .help(if *op == UnaryOp::Not {
                                "`not` takes a bool"
                            } else {
                                "`-` takes a number, duration or percent"
                            }),
                        );
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
                        self.report(
                            Diagnostic::new(
                                Code::BadOperands,
                                env.file,
                                expr.span,
                                format!(
                                    "`{}` is not defined for `{lhs_ty}` and `{rhs_ty}`",
                                    op.symbol()
                                ),
                            )
                            .label(format!("`{lhs_ty}` {} `{rhs_ty}`", op.symbol()))
                            .help(operators::hint(*op, &lhs_ty, &rhs_ty)),
                        );
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
                self.report(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        env.file,
                        expr.span,
                        "a lambda can only be passed to a builtin such as `filter`",
                    )
                    .label("lambda here")
                    .help("use it as an argument, e.g. `filter(pods, p => p.restarts > 5)`"),
                );
                Ty::Unknown
            }
        }
    }

    fn infer_record(
        &mut self,
        env: &mut Env,
        expr: &Expr,
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
                    self.report(
                        Diagnostic::new(
                            Code::SyntaxError,
                            env.file,
                            name.span,
                            "a map literal mixes quoted and bare keys",
                        )
                        .label("bare key")
                        .help("quote every key of a map: {\"a\": 1, \"b\": 2}"),
                    );
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
                self.report(
                    Diagnostic::new(
                        Code::DuplicateDefinition,
                        env.file,
                        name.span,
                        format!("field `{}` is given twice", name.name),
                    )
                    .label("given again here")
                    .help("remove one of them"),
                );
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
        let _ = expr;
        record
    }

    fn infer_name(&mut self, env: &mut Env, ident: &Ident) -> Ty {
        let reading_step = env.step.clone();
        if let Some(binding) = env.lookup(&ident.name) {
            binding.used = true;
            let ty = binding.ty.clone();
            let (bound_at, maybe_unset) = (binding.span, binding.maybe_unset.clone());
            if let Some((step, why)) = maybe_unset {
                if reading_step.as_deref() != Some(step.as_str())
                    && !env.proven_succeeded.contains(&step)
                {
                    self.report(
                        Diagnostic::new(
                            Code::MaybeUnset,
                            env.file,
                            ident.span,
                            format!("`{}` may have no value here: step `{step}` binds it, and {why}", ident.name),
                        )
                        .label("read after that step")
                        .with_secondary(bound_at, "bound here")
                        .help(format!("bind `{}` in a step that always runs to its end (no `when`, no `on failure continue`), or read it only inside step `{step}`", ident.name)),
                    );
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
            self.report(
                Diagnostic::new(
                    Code::TypeMismatch,
                    env.file,
                    ident.span,
                    format!("`{}` is a function, not a value", ident.name),
                )
                .label("not called")
                .help(format!("call it: `{}(...)`", ident.name)),
            );
            return Ty::Unknown;
        }
        if module.names.imports.contains_key(&ident.name) {
            self.report(
                Diagnostic::new(
                    Code::TypeMismatch,
                    env.file,
                    ident.span,
                    format!("`{}` is a module, not a value", ident.name),
                )
                .label("a module")
                .help(format!(
                    "use one of its members, e.g. `{}.NAME(...)`",
                    ident.name
                )),
            );
            return Ty::Unknown;
        }
        let help = if ident.name == "alert" {
            "`alert` exists only in runbooks with `trigger alert \"...\"`".to_string()
        } else if ident.name == "run" {
            "`run` exists only in `escalate` and `notify`".to_string()
        } else {
            let suggestion = if self.suggestions_left > 0 {
                self.suggestions_left -= 1;
                let mut candidates: Vec<&str> = env.visible_names();
                candidates.extend(module.names.consts.keys().map(String::as_str));
                suggest(&ident.name, candidates)
            } else {
                None
            };
            match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => "declare it with `let`, as an input, or as a `const` before using it"
                    .to_string(),
            }
        };
        self.report(
            Diagnostic::new(
                Code::UnknownName,
                env.file,
                ident.span,
                format!("unknown name `{}`", ident.name),
            )
            .label("not defined here")
            .help(help),
        );
        Ty::Unknown
    }

    fn infer_field(&mut self, env: &mut Env, base: &Expr, field: &Ident) -> Ty {
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
                        self.report(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                env.file,
                                field.span,
                                format!("`{}.{}` is not a value", qualifier.name, field.name),
                            )
                            .label("an action, function or type")
                            .help(format!("call it: `{}.{}(...)`", qualifier.name, field.name)),
                        );
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
                    let diagnostic = Diagnostic::new(
                        Code::UnknownMember,
                        env.file,
                        field.span,
                        format!("`{base_ty}` has no field `{}`", field.name),
                    )
                    .label("no such field");
                    let diagnostic = match suggest(&field.name, names.iter().copied()) {
                        Some(s) => diagnostic.help(format!("did you mean `{s}`?")),
                        None => diagnostic.help(format!("its fields are: {}", names.join(", "))),
                    };
                    self.report(diagnostic);
                    Ty::Unknown
                }
            },
            None => {
                let help = if matches!(base_ty, Ty::Optional(_)) {
                    "the value may be `none`: give a default with `??` first".to_string()
                } else {
                    format!("`{base_ty}` has no fields")
                };
                self.report(
                    Diagnostic::new(
                        Code::UnknownMember,
                        env.file,
                        field.span,
                        format!("`{base_ty}` has no field `{}`", field.name),
                    )
                    .label("no such field")
                    .help(help),
                );
                Ty::Unknown
            }
        }
    }

    /// What a callee expression names: an extern, a `fn` or a builtin.
    pub(super) fn resolve_callee(&mut self, env: &mut Env, callee: &Expr) -> Option<Callee> {
        let module = &self.modules[env.module.0 as usize];
        match &callee.kind {
            ExprKind::Name(ident) => {
                if let Some(binding) = env.lookup(&ident.name) {
                    binding.used = true;
                    self.report(
                        Diagnostic::new(
                            Code::NotCallable,
                            env.file,
                            callee.span,
                            format!("`{}` is a value, not a function", ident.name),
                        )
                        .label("cannot be called")
                        .help("only actions, `fn`s and builtins can be called"),
                    );
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
                let help = match suggest(&ident.name, candidates) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "actions are called through their module, e.g. `pg.pool_usage(db)`"
                        .to_string(),
                };
                self.report(
                    Diagnostic::new(
                        Code::UnknownName,
                        env.file,
                        ident.span,
                        format!("unknown function `{}`", ident.name),
                    )
                    .label("not defined here")
                    .help(help),
                );
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

    fn not_callable(&mut self, file: FileId, span: Span) {
        self.report(
            Diagnostic::new(Code::NotCallable, file, span, "this cannot be called")
                .label("not a function")
                .help("only actions (`pg.terminate(...)`), `fn`s and builtins (`len(xs)`) can be called"),
        );
    }

    fn infer_call(&mut self, env: &mut Env, call: &Expr, callee: &Expr, args: &[Arg]) -> Ty {
        let Some(target) = self.resolve_callee(env, callee) else {
            for arg in args {
                self.check_expr(env, &arg.value, None);
            }
            return Ty::Unknown;
        };
        self.info.calls.insert((env.module, call.id), target);
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

    fn check_arguments(
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
                        self.report(
                            Diagnostic::new(
                                Code::WrongArgumentCount,
                                env.file,
                                arg.value.span,
                                format!(
                                    "`{name}` takes {} argument{}, but more were given",
                                    signature.params.len(),
                                    plural(signature.params.len())
                                ),
                            )
                            .label("extra argument")
                            .help(format!("`{name}({})`", describe_params(signature))),
                        );
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
                        let help = match suggest(&label.name, names.iter().copied()) {
                            Some(s) => format!("did you mean `{s}:`?"),
                            None => format!("`{name}({})`", describe_params(signature)),
                        };
                        self.report(
                            Diagnostic::new(
                                Code::BadArgumentName,
                                env.file,
                                label.span,
                                format!("`{name}` has no parameter `{}`", label.name),
                            )
                            .label("unknown argument name")
                            .help(help),
                        );
                        self.check_expr(env, &arg.value, None);
                        continue;
                    }
                },
            };
            if let Some(previous) = filled[slot] {
                let param = &signature.params[slot].name;
                self.report(
                    Diagnostic::new(
                        Code::BadArgumentName,
                        env.file,
                        arg.value.span,
                        format!("argument `{param}` is given twice"),
                    )
                    .label("given again here")
                    .with_secondary(previous, "first given here")
                    .help("give each argument once"),
                );
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
            self.report(
                Diagnostic::new(
                    Code::MissingArgument,
                    env.file,
                    call.span,
                    format!(
                        "`{name}` is missing {} {}",
                        if missing.len() == 1 {
                            "argument"
                        } else {
                            "arguments"
                        },
                        names.join(", ")
                    ),
                )
                .label("in this call")
                .help(format!("`{name}({})`", describe_params(signature))),
            );
        }
    }

    fn check_builtin(&mut self, env: &mut Env, call: &Expr, builtin: Builtin, args: &[Arg]) -> Ty {
        for arg in args {
            if let Some(label) = &arg.name {
                self.report(
                    Diagnostic::new(
                        Code::BadArgumentName,
                        env.file,
                        label.span,
                        format!("`{}` takes no named arguments", builtin.name()),
                    )
                    .label("named argument")
                    .help(format!("`{}`", builtin.signature())),
                );
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
            self.report(
                Diagnostic::new(
                    Code::WrongArgumentCount,
                    env.file,
                    call.span,
                    format!("wrong number of arguments to `{}`", builtin.name()),
                )
                .label(format!("{} given", args.len()))
                .help(format!("`{}`", builtin.signature())),
            );
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
                    self.report(
                        Diagnostic::new(
                            Code::SecretExposed,
                            env.file,
                            args[0].value.span,
                            "a secret is turned into a string",
                        )
                        .label("this value is a secret")
                        .help("secrets may be passed to actions but never turned into text"),
                    );
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
                        self.report(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                env.file,
                                args[0].value.span,
                                format!("`sum` cannot add `{element}` values"),
                            )
                            .label("not numbers")
                            .help("sum a list of ints, floats, durations, percents or sizes"),
                        );
                        Ty::Unknown
                    }
                    Builtin::Min | Builtin::Max if !element.is_ordered() => {
                        self.report(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                env.file,
                                args[0].value.span,
                                format!("`{element}` values cannot be ordered"),
                            )
                            .label("not orderable")
                            .help(
                                "min and max take numbers, durations, percents, times or strings",
                            ),
                        );
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

    fn list_argument(&mut self, env: &mut Env, arg: &Expr, builtin: Builtin) -> Ty {
        match self.check_expr(env, arg, None) {
            Ty::List(element) => *element,
            Ty::Unknown => Ty::Unknown,
            Ty::Json => Ty::Json,
            other => {
                self.report(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        env.file,
                        arg.span,
                        format!("`{}` takes a list, found `{other}`", builtin.name()),
                    )
                    .label("not a list")
                    .help(format!("`{}`", builtin.signature())),
                );
                Ty::Unknown
            }
        }
    }

    /// Checks `x => body` with `x` bound to the list's element type; returns the body's type.
    fn check_lambda(&mut self, env: &mut Env, arg: &Expr, element: &Ty, builtin: Builtin) -> Ty {
        let ExprKind::Lambda { params, body } = &arg.kind else {
            self.check_expr(env, arg, None);
            self.report(
                Diagnostic::new(
                    Code::TypeMismatch,
                    env.file,
                    arg.span,
                    format!("`{}` takes a lambda as its second argument", builtin.name()),
                )
                .label("not a lambda")
                .help(format!("e.g. `{}(xs, x => ...)`", builtin.name())),
            );
            return Ty::Unknown;
        };
        self.info
            .expr_types
            .insert((env.module, arg.id), Ty::Lambda);
        if params.len() != 1 {
            self.report(
                Diagnostic::new(
                    Code::WrongArgumentCount,
                    env.file,
                    arg.span,
                    format!(
                        "this lambda takes {} parameters; `{}` passes one",
                        params.len(),
                        builtin.name()
                    ),
                )
                .label("wrong number of parameters")
                .help("write it as `x => ...`"),
            );
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
                self.report(
                    Diagnostic::new(
                        Code::ConditionNotBool,
                        env.file,
                        body.span,
                        format!(
                            "the test given to `{}` must be a bool, found `{result}`",
                            builtin.name()
                        ),
                    )
                    .label(format!("this is `{result}`"))
                    .help("compare the value, e.g. `p => p.restarts > 5`"),
                );
            }
            Builtin::SortBy if !result.is_ordered() => {
                self.report(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        env.file,
                        body.span,
                        format!("`sort_by` cannot order `{result}` keys"),
                    )
                    .label("not orderable")
                    .help("sort by a number, duration, percent, time or string"),
                );
            }
            _ => {}
        }
        result
    }
}

impl Env {
    fn used_names(&self) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|b| b.used)
            .map(|b| b.name.clone())
            .collect()
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

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
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

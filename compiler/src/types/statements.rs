//! Bodies: `fn`s, runbooks (inputs and clauses), steps and the statements in them.

use std::collections::HashMap;

use super::checker::Checker;
use super::env::{BindingKind, Env};
use super::mismatch::{type_mismatch, Mismatch};
use super::secrets::{secret_exposed, Exposure};
use super::{assignable, InputSig, Ty};
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::{duplicate_definition, Duplicate, Module};
use crate::syntax::*;
use crate::FileId;

impl Checker<'_> {
    pub(super) fn check_fn(&mut self, module: &Module, index: usize, function: &FnItem) {
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

    pub(super) fn check_runbook(&mut self, module: &Module, index: usize, runbook: &Runbook) {
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
                        self.report(duplicate_definition(
                            module.file,
                            field.name.span,
                            Duplicate::Input {
                                name: &field.name.name,
                            },
                        ));
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
                        self.report(duplicate_definition(
                            module.file,
                            step.name.span,
                            Duplicate::Step {
                                name: &step.name.name,
                                previous,
                            },
                        ));
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

    pub(super) fn check_step(&mut self, module: &Module, env: &mut Env, step: &Step) {
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

    pub(super) fn check_block(&mut self, env: &mut Env, stmts: &[Stmt]) {
        env.push();
        self.check_stmts(env, stmts);
        env.pop();
    }

    pub(super) fn check_stmts(&mut self, env: &mut Env, stmts: &[Stmt]) {
        for stmt in stmts {
            self.check_stmt(env, stmt);
        }
    }

    pub(super) fn check_stmt(&mut self, env: &mut Env, stmt: &Stmt) {
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
                    self.report(type_mismatch(
                        env.file,
                        value.span,
                        Mismatch::NoValue {
                            what: "expression",
                            help: "call it as a statement without `let`",
                        },
                    ));
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
                        self.report(type_mismatch(
                            env.file,
                            iter.span,
                            Mismatch::ForNeedsList { found: &other },
                        ));
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
                    self.report(return_outside_fn(env.file, stmt.span));
                }
            },
            StmtKind::Expr(expr) => {
                self.check_expr(env, expr, None);
            }
        }
    }

    /// `log`, `fail` and `expect ... else` messages: text, and never a secret.
    pub(super) fn check_message(&mut self, env: &mut Env, message: &Expr, what: &str) {
        let ty = self.check_expr(env, message, None);
        if ty.contains_secret() {
            self.report(secret_exposed(
                env.file,
                message.span,
                Exposure::Message { what },
            ));
        } else if !assignable(&ty, &Ty::Str) {
            self.report(type_mismatch(
                env.file,
                message.span,
                Mismatch::MessageNotText { what, found: &ty },
            ));
        }
    }

    pub(super) fn expect_condition(&mut self, env: &mut Env, cond: &Expr, what: &str) {
        let ty = self.check_expr(env, cond, Some(&Ty::Bool));
        if !assignable(&ty, &Ty::Bool) || matches!(ty, Ty::Optional(_)) {
            self.report(condition_not_bool(
                env.file,
                cond.span,
                what,
                &ty,
                "`pg.pool_usage(db) > 90%` or `len(pods) > 0`",
            ));
        }
    }

    pub(super) fn expect_type(&mut self, env: &mut Env, expr: &Expr, expected: &Ty, what: &str) {
        let ty = self.check_expr(env, expr, Some(expected));
        if !assignable(&ty, expected) {
            self.mismatch(env.file, expr.span, expected, &ty, what);
        }
    }

    pub(super) fn expect_call(&mut self, env: &mut Env, expr: &Expr, what: &str) {
        self.check_expr(env, expr, None);
        if !matches!(expr.kind, ExprKind::Call { .. }) {
            self.report(type_mismatch(
                env.file,
                expr.span,
                Mismatch::NotACall { what },
            ));
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
        self.report(type_mismatch(
            file,
            span,
            Mismatch::Expected {
                what,
                expected,
                found,
            },
        ));
    }

    pub(super) fn report_unused(&mut self, env: &Env) {
        let unused: Vec<(String, Span)> = env
            .unused_lets()
            .into_iter()
            .map(|(n, s)| (n.to_string(), s))
            .collect();
        for (name, span) in unused {
            self.report(unused_let(env.file, span, &name));
        }
    }
}

/// W0002: fires when a `let` binds a name no later code reads.
fn unused_let(file: FileId, span: Span, name: &str) -> Diagnostic {
    Diagnostic::new(Code::UnusedLet, file, span, format!("`{name}` is never used"))
        .label("bound here and never read")
        .help(format!("remove the `let` and keep the call as a statement, or name it `_{name}` if the value is deliberately unused"))
}

/// E0222: fires when `return` appears outside a `fn` (in a step or runbook).
fn return_outside_fn(file: FileId, span: Span) -> Diagnostic {
    Diagnostic::new(Code::ReturnOutsideFn, file, span, "`return` outside a `fn`")
        .label("steps do not return values")
        .help("use `let` to keep a value for later steps, or `fail \"...\"` to stop the run")
}

/// E0205: fires when a condition (`if`, `when`, `expect`, a filter's test...) is not a `bool`;
/// `example` shows a comparison that would be one.
pub(super) fn condition_not_bool(
    file: FileId,
    span: Span,
    what: &str,
    found: &Ty,
    example: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::ConditionNotBool,
        file,
        span,
        format!("{what} must be a bool, found `{found}`"),
    )
    .label(format!("this is `{found}`"))
    .help(format!("compare the value, e.g. {example}"))
}

//! The evaluator: statements and expressions, calls of `fn`s, actions and builtins, and the
//! entry point test blocks use to evaluate one expression.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::*;
use rbk_compiler::types::{Builtin, Callee};
use rbk_compiler::Analysis;

use crate::action::{ActionCall, ActionError, BoxFuture};
use crate::journal::EventKind;
use crate::secrets::{Learned, SecretMask};
use crate::value::{format_duration, Secret, Value};

use super::{fail, Eval, Flow, Frame, Machine, Services, StepState, APPROVAL_VALUES};

impl<'a> Machine<'a> {
    /// A step body runs in the runbook's scope, so its top-level `let`s reach later steps.
    pub(super) fn exec_block_in_place<'s>(
        &'s mut self,
        stmts: &'a [Stmt],
    ) -> BoxFuture<'s, Eval<()>> {
        Box::pin(async move {
            for stmt in stmts {
                self.exec(stmt).await?;
            }
            Ok(())
        })
    }

    pub(super) fn exec_block<'s>(&'s mut self, stmts: &'a [Stmt]) -> BoxFuture<'s, Eval<()>> {
        Box::pin(async move {
            self.push_scope();
            let result = async {
                for stmt in stmts {
                    self.exec(stmt).await?;
                }
                Ok(())
            }
            .await;
            self.pop_scope();
            result
        })
    }

    pub(super) fn exec<'s>(&'s mut self, stmt: &'a Stmt) -> BoxFuture<'s, Eval<()>> {
        Box::pin(async move {
            match &stmt.kind {
                StmtKind::Let { name, value, .. } => {
                    let value = self.eval(value).await?;
                    self.bind(&name.name, value);
                }
                StmtKind::If {
                    cond,
                    then_body,
                    else_body,
                } => {
                    let taken = self.eval(cond).await?.as_bool() == Some(true);
                    self.branches.push((stmt.span.start, taken));
                    if taken {
                        self.exec_block(then_body).await?;
                    } else if let Some(else_body) = else_body {
                        self.exec_block(else_body).await?;
                    }
                }
                StmtKind::For { var, iter, body } => {
                    let Value::List(items) = self.eval(iter).await? else {
                        return fail("`for` needs a list");
                    };
                    for item in items {
                        self.push_scope();
                        self.bind(&var.name, item);
                        let result = self.exec_block(body).await;
                        self.pop_scope();
                        result?;
                    }
                }
                StmtKind::Expect {
                    cond,
                    within,
                    every,
                    message,
                } => {
                    let within = match within {
                        Some(e) => duration_of(self.eval(e).await?),
                        None => 0,
                    };
                    let every = match every {
                        Some(e) => duration_of(self.eval(e).await?).max(1),
                        None => 1_000,
                    };
                    let deadline = tokio::time::Instant::now() + Duration::from_millis(within);
                    loop {
                        if self.eval(cond).await?.as_bool() == Some(true) {
                            break;
                        }
                        let now = tokio::time::Instant::now();
                        if now >= deadline {
                            let text = match message {
                                Some(m) => self.eval(m).await?.to_string(),
                                None if within > 0 => format!(
                                    "`{}` was still false after {}",
                                    self.source(cond.span),
                                    format_duration(within)
                                ),
                                None => format!("`{}` was false", self.source(cond.span)),
                            };
                            return fail(text);
                        }
                        // The last poll lands on the deadline itself.
                        tokio::time::sleep((deadline - now).min(Duration::from_millis(every)))
                            .await;
                    }
                }
                StmtKind::Fail(message) => {
                    let text = self.eval(message).await?.to_string();
                    return fail(text);
                }
                StmtKind::Log(message) => {
                    let text = self.eval(message).await?.to_string();
                    self.journal(EventKind::Log {
                        step: self.step.clone(),
                        message: text,
                    })
                    .await
                    .map_err(|e| Flow::Fatal(e.into()))?;
                }
                StmtKind::Return(value) => {
                    let value = self.eval(value).await?;
                    return Err(Flow::Return(value));
                }
                StmtKind::Expr(expr) => {
                    self.eval(expr).await?;
                }
            }
            Ok(())
        })
    }

    pub(super) fn eval<'s>(&'s mut self, expr: &'a Expr) -> BoxFuture<'s, Eval<Value>> {
        Box::pin(async move {
            Ok(match &expr.kind {
                ExprKind::Int(i) => Value::Int(*i),
                ExprKind::Float(x) => Value::Float(*x),
                ExprKind::Bool(b) => Value::Bool(*b),
                ExprKind::None => Value::None,
                ExprKind::Duration(ms) => Value::Duration(*ms),
                ExprKind::Percent(p) => Value::Percent(*p),
                ExprKind::StepOutcome { step, outcome } => {
                    let wanted = match outcome {
                        StepOutcome::Succeeded => StepState::Succeeded,
                        StepOutcome::Failed => StepState::Failed,
                        StepOutcome::Skipped => StepState::Skipped,
                        StepOutcome::Denied => StepState::Denied,
                    };
                    Value::Bool(self.outcomes.get(&step.name) == Some(&wanted))
                }
                ExprKind::ApprovalValue(field) => match self.lookup(APPROVAL_VALUES) {
                    Some(Value::Record(values)) => match values.get(&field.name) {
                        Some(value) => value.clone(),
                        None => {
                            return fail(format!("the approval gave no value for `{}`", field.name))
                        }
                    },
                    _ => {
                        return fail(format!(
                            "`approval.{}` has no value: this step was not approved with values",
                            field.name
                        ))
                    }
                },
                ExprKind::Str(parts) => {
                    let mut text = String::new();
                    for part in parts {
                        match part {
                            StrPart::Text(t) => text.push_str(t),
                            StrPart::Interpolation(inner) => {
                                text.push_str(&self.eval(inner).await?.to_string())
                            }
                        }
                    }
                    Value::Str(text)
                }
                ExprKind::List(items) => {
                    let mut values = Vec::with_capacity(items.len());
                    for item in items {
                        values.push(self.eval(item).await?);
                    }
                    Value::List(values)
                }
                ExprKind::Record(fields) => {
                    let mut map = BTreeMap::new();
                    let mut is_map = false;
                    for field in fields {
                        let key = match &field.key {
                            RecordKey::Name(n) => n.name.clone(),
                            RecordKey::Str(s) => {
                                is_map = true;
                                s.value.clone()
                            }
                        };
                        map.insert(key, self.eval(&field.value).await?);
                    }
                    if is_map {
                        Value::Map(map)
                    } else {
                        Value::Record(map)
                    }
                }
                ExprKind::Name(ident) => match self.lookup(&ident.name) {
                    Some(value) => value.clone(),
                    None => {
                        let module = self.module();
                        match module.names.consts.get(&ident.name) {
                            Some(&index) => self.const_value(module.id, index).await?,
                            None => {
                                return fail(format!(
                                    "`{}` has no value here (was the step that sets it skipped?)",
                                    ident.name
                                ))
                            }
                        }
                    }
                },
                ExprKind::Field(base, field) => {
                    if let ExprKind::Name(qualifier) = &base.kind {
                        if self.lookup(&qualifier.name).is_none() {
                            let module = self.module();
                            if let Some(target) = module
                                .names
                                .imports
                                .get(&qualifier.name)
                                .and_then(|i| i.module)
                            {
                                let target_module = self.program.module(target);
                                if let Some(&index) = target_module.names.consts.get(&field.name) {
                                    return self.const_value(target, index).await;
                                }
                            }
                        }
                    }
                    match self.eval(base).await? {
                        Value::Record(map) | Value::Map(map) => {
                            map.get(&field.name).cloned().unwrap_or(Value::None)
                        }
                        Value::None => {
                            return fail(format!(
                                "`{}` is none, so it has no field `{}`",
                                self.source(base.span),
                                field.name
                            ))
                        }
                        other => {
                            return fail(format!(
                                "a {} has no field `{}`",
                                other.type_name(),
                                field.name
                            ))
                        }
                    }
                }
                ExprKind::Index(base, index) => {
                    let base_value = self.eval(base).await?;
                    let index_value = self.eval(index).await?;
                    match (base_value, index_value) {
                        (Value::List(items), Value::Int(i)) => {
                            let len = items.len();
                            let position = if i < 0 { len as i64 + i } else { i };
                            match usize::try_from(position)
                                .ok()
                                .and_then(|p| items.into_iter().nth(p))
                            {
                                Some(value) => value,
                                None => {
                                    return fail(format!(
                                        "index {i} is out of range for a list of {len}"
                                    ))
                                }
                            }
                        }
                        (Value::Map(map), Value::Str(key))
                        | (Value::Record(map), Value::Str(key)) => {
                            map.get(&key).cloned().unwrap_or(Value::None)
                        }
                        (base, index) => {
                            return fail(format!(
                                "cannot index a {} with a {}",
                                base.type_name(),
                                index.type_name()
                            ))
                        }
                    }
                }
                ExprKind::Call { args, .. } => self.call(expr, args).await?,
                ExprKind::Unary(op, operand) => {
                    let value = self.eval(operand).await?;
                    match (op, value) {
                        (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
                        (UnaryOp::Neg, Value::Int(i)) => Value::Int(
                            i.checked_neg()
                                .ok_or_else(|| Flow::Failed("integer overflow".into()))?,
                        ),
                        (UnaryOp::Neg, Value::Float(x)) => Value::Float(-x),
                        (UnaryOp::Neg, Value::Percent(p)) => Value::Percent(-p),
                        (UnaryOp::Neg, Value::Size(bytes)) => Value::Size(
                            bytes
                                .checked_neg()
                                .ok_or_else(|| Flow::Failed("size overflow".into()))?,
                        ),
                        (_, value) => {
                            return fail(format!(
                                "operator does not apply to a {}",
                                value.type_name()
                            ))
                        }
                    }
                }
                ExprKind::Binary(op, lhs, rhs) => {
                    match op {
                        BinaryOp::And => {
                            if self.eval(lhs).await?.as_bool() != Some(true) {
                                return Ok(Value::Bool(false));
                            }
                            return Ok(Value::Bool(self.eval(rhs).await?.as_bool() == Some(true)));
                        }
                        BinaryOp::Or => {
                            if self.eval(lhs).await?.as_bool() == Some(true) {
                                return Ok(Value::Bool(true));
                            }
                            return Ok(Value::Bool(self.eval(rhs).await?.as_bool() == Some(true)));
                        }
                        BinaryOp::Coalesce => {
                            let left = self.eval(lhs).await?;
                            if left != Value::None {
                                return Ok(left);
                            }
                            return self.eval(rhs).await;
                        }
                        _ => {}
                    }
                    let left = self.eval(lhs).await?;
                    let right = self.eval(rhs).await?;
                    crate::operators::binary(*op, left, right)
                        .map_err(|e| Flow::Failed(e.to_string()))?
                }
                ExprKind::Lambda { .. } => return fail("a lambda is not a value"),
            })
        })
    }

    pub(super) async fn const_value(&mut self, module: ModuleId, index: usize) -> Eval<Value> {
        if let Some(value) = self.const_cache.get(&(module, index)) {
            return Ok(value.clone());
        }
        let ItemKind::Const(constant) = &self.program.module(module).ast.items[index].kind else {
            return fail("not a constant");
        };
        self.frames.push(Frame {
            module,
            scopes: vec![HashMap::new()],
        });
        let value = self.eval(&constant.value).await;
        self.frames.pop();
        let value = value?;
        self.const_cache.insert((module, index), value.clone());
        Ok(value)
    }

    pub(super) async fn call(&mut self, expr: &'a Expr, args: &'a [Arg]) -> Eval<Value> {
        let module = self.module().id;
        let Some(callee) = self.program.types.callee(module, expr.id) else {
            return Err(Flow::Fatal(format!(
                "`{}` was not resolved by the checker",
                self.source(expr.span)
            )));
        };
        match callee {
            Callee::Builtin(builtin) => self.builtin(builtin, args).await,
            Callee::Extern {
                module: target,
                item,
            } => {
                let (params, ret, name) = match &self.program.module(target).ast.items[item].kind {
                    ItemKind::Extern(ext) => (&ext.params, &ext.ret, &ext.name.name),
                    _ => return Err(Flow::Fatal("extern expected".into())),
                };
                // The effect of this call, as the checker judged it: `shell.run` of a command
                // the read-only table names is a read, also for `--dry-run`.
                let effect = self
                    .program
                    .effects
                    .call_actions(&self.program.modules, &self.program.types, module, expr)
                    .first()
                    .map_or(Effect::Destructive, |action| action.effect);
                // A string holding a secret's value (from `env`, say) is masked before it can leave
                // in a notification or a command line; a secret itself goes through, unmasked,
                // to the action that needs it.
                let values: Vec<Value> = self
                    .arguments(target, params, args)
                    .await?
                    .into_iter()
                    .map(|value| {
                        self.secrets.learn_value(&value);
                        self.secrets.mask_value(value)
                    })
                    .collect();
                let target_module = self.program.module(target);
                let returns_handle = ret.as_ref().and_then(|t| match &t.kind {
                    TypeExprKind::Named { module: None, name } => target_module
                        .ast
                        .items
                        .iter()
                        .any(|i| matches!(&i.kind, ItemKind::Type(ty) if ty.name.name == name.name && ty.fields.is_none()))
                        .then(|| format!("{}.{}", target_module.display_name(), name.name)),
                    _ => None,
                });
                let call = ActionCall {
                    action: format!("{}.{}", target_module.display_name(), name),
                    effect,
                    returns_handle,
                    returns: self
                        .program
                        .types
                        .signatures
                        .get(&(target, item))
                        .map_or(rbk_compiler::types::Ty::Unknown, |s| s.ret.clone()),
                    args: params
                        .iter()
                        .map(|p| p.name.name.clone())
                        .zip(values)
                        .collect(),
                    run_id: self.run_id.clone(),
                };
                self.journal(EventKind::ActionCalled {
                    step: self.step.clone(),
                    call: call.describe(),
                    effect: effect.to_string(),
                })
                .await
                .map_err(|e| Flow::Fatal(e.into()))?;
                // What comes back (a command's output, a server's error) may echo a secret: it is
                // masked before the runbook can log it, notify with it or pass it on.
                match self.services.actions.call(&call).await {
                    Ok(value) => Ok(self.secrets.mask_value(value)),
                    Err(ActionError {
                        message,
                        fatal: true,
                    }) => Err(Flow::Fatal(self.secrets.mask(&message))),
                    Err(ActionError { message, .. }) => fail(format!(
                        "{} failed: {}",
                        call.action,
                        self.secrets.mask(&message)
                    )),
                }
            }
            Callee::Fn {
                module: target,
                item,
            } => {
                let ItemKind::Fn(function) = &self.program.module(target).ast.items[item].kind
                else {
                    return Err(Flow::Fatal("fn expected".into()));
                };
                let values = self.arguments(target, &function.params, args).await?;
                let scope = function
                    .params
                    .iter()
                    .map(|p| p.name.name.clone())
                    .zip(values)
                    .collect();
                self.frames.push(Frame {
                    module: target,
                    scopes: vec![scope],
                });
                let mut result = Ok(Value::None);
                for stmt in &function.body {
                    match self.exec(stmt).await {
                        Ok(()) => {}
                        Err(Flow::Return(value)) => {
                            result = Ok(value);
                            break;
                        }
                        Err(other) => {
                            result = Err(other);
                            break;
                        }
                    }
                }
                self.frames.pop();
                result
            }
        }
    }

    /// Arguments in parameter order: positional, then named, then defaults (evaluated in the
    /// callee's module).
    pub(super) async fn arguments(
        &mut self,
        callee_module: ModuleId,
        params: &'a [Param],
        args: &'a [Arg],
    ) -> Eval<Vec<Value>> {
        let mut values: Vec<Option<Value>> = vec![None; params.len()];
        let mut positional = 0;
        for arg in args {
            let slot = match &arg.name {
                Some(label) => params.iter().position(|p| p.name.name == label.name),
                None => {
                    positional += 1;
                    Some(positional - 1)
                }
            };
            let value = self.eval(&arg.value).await?;
            if let Some(slot) = slot.filter(|s| *s < params.len()) {
                values[slot] = Some(value);
            }
        }
        let mut out = Vec::with_capacity(params.len());
        for (param, value) in params.iter().zip(values) {
            match (value, &param.default) {
                (Some(v), _) => out.push(v),
                (None, Some(default)) => {
                    self.frames.push(Frame {
                        module: callee_module,
                        scopes: vec![HashMap::new()],
                    });
                    let value = self.eval(default).await;
                    self.frames.pop();
                    out.push(value?);
                }
                (None, None) => {
                    return Err(Flow::Fatal(format!(
                        "argument `{}` is missing",
                        param.name.name
                    )))
                }
            }
        }
        Ok(out)
    }

    pub(super) async fn builtin(&mut self, builtin: Builtin, args: &'a [Arg]) -> Eval<Value> {
        match builtin {
            Builtin::Filter | Builtin::Map | Builtin::SortBy | Builtin::Any | Builtin::All => {
                let Value::List(items) = self.eval(&args[0].value).await? else {
                    return fail("expected a list");
                };
                let ExprKind::Lambda { params, body } = &args[1].value.kind else {
                    return fail("expected a lambda");
                };
                let param = params.first().map(|p| p.name.clone()).unwrap_or_default();
                let mut results = Vec::with_capacity(items.len());
                for item in &items {
                    self.push_scope();
                    self.bind(&param, item.clone());
                    let result = self.eval(body).await;
                    self.pop_scope();
                    results.push(result?);
                }
                Ok(match builtin {
                    Builtin::Filter => Value::List(
                        items
                            .into_iter()
                            .zip(results)
                            .filter(|(_, keep)| keep.as_bool() == Some(true))
                            .map(|(i, _)| i)
                            .collect(),
                    ),
                    Builtin::Map => Value::List(results),
                    Builtin::Any => Value::Bool(results.iter().any(|r| r.as_bool() == Some(true))),
                    Builtin::All => Value::Bool(results.iter().all(|r| r.as_bool() == Some(true))),
                    _ => {
                        let mut pairs: Vec<(Value, Value)> =
                            results.into_iter().zip(items).collect();
                        pairs.sort_by(|a, b| {
                            crate::operators::compare(&a.0, &b.0)
                                .unwrap_or(std::cmp::Ordering::Equal)
                        });
                        Value::List(pairs.into_iter().map(|(_, item)| item).collect())
                    }
                })
            }
            _ => {
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(&arg.value).await?);
                }
                match builtin {
                    Builtin::Now => Ok(Value::Time(self.now())),
                    Builtin::Env => {
                        let name = values[0].to_string();
                        match self.services.environment.env(&name) {
                            Some(value) => Ok(Value::Str(value)),
                            None => fail(format!("environment variable {name} is not set")),
                        }
                    }
                    Builtin::Secret => {
                        let name = values[0].to_string();
                        match self.services.environment.read_secret(&name) {
                            Ok(value) => {
                                if self.secrets.learn(&name, &value) == Learned::TooShort {
                                    self.journal(EventKind::Log {
                                        step: self.step.clone(),
                                        message: format!(
                                            "warning: secret {name} (or the password in it) is shorter than {} characters, so rbk does not mask it where a program echoes it; use a longer secret",
                                            crate::secrets::SHORTEST_MASKED
                                        ),
                                    })
                                    .await
                                    .map_err(|e| Flow::Fatal(e.into()))?;
                                }
                                Ok(Value::Secret(Secret::new(name, value)))
                            }
                            Err(why) => fail(why.to_string()),
                        }
                    }
                    _ => crate::operators::simple_builtin(builtin, values)
                        .map_err(|e| Flow::Failed(e.to_string())),
                }
            }
        }
    }
}

fn duration_of(value: Value) -> u64 {
    match value {
        Value::Duration(ms) => ms,
        _ => 0,
    }
}

/// Evaluates one expression of `module` with the given bindings (test blocks use this for mock
/// values, inputs and assertions).
pub async fn evaluate(
    program: &Analysis,
    services: Services<'_>,
    module: ModuleId,
    bindings: HashMap<String, Value>,
    expr: &Expr,
) -> Result<Value, EvalError> {
    let mut machine = Machine {
        program,
        services,
        frames: vec![Frame {
            module,
            scopes: vec![bindings],
        }],
        run_id: String::new(),
        started_by: String::new(),
        started_at: 0,
        clock_origin: tokio::time::Instant::now(),
        step: "test".into(),
        in_flight: None,
        resume: None,
        branches: Vec::new(),
        const_cache: HashMap::new(),
        secrets: SecretMask::default(),
        outcomes: HashMap::new(),
    };
    machine.eval(expr).await.map_err(|flow| match flow {
        Flow::Failed(message) => EvalError::Failed(message),
        Flow::Fatal(message) => EvalError::Fatal(message),
        Flow::Return(_) => EvalError::UnexpectedReturn,
    })
}

/// Why [`evaluate`] has no value: the texts are the run-time failures a step would journal.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The expression failed as a step fails (a failed action, a run-time error).
    #[error("{0}")]
    Failed(String),
    /// The harness failed (e.g. an unmocked action in a test).
    #[error("{0}")]
    Fatal(String),
    /// `return` outside a `fn` body.
    #[error("unexpected return")]
    UnexpectedReturn,
}

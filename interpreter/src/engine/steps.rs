//! The state machine of one step: its condition, the approval gate (with the plan the
//! approver reads and the digest the answer is bound to), retries, the timeout, verification,
//! and the question asked about a step that was in flight when its process died.

use std::collections::BTreeMap;
use std::time::Duration;

use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::*;
use rbk_compiler::types::Callee;
use rbk_compiler::Analysis;

use crate::approval::{ApprovalDecision, ApprovalRequest};
use crate::asked_values;
use crate::journal::EventKind;
use crate::present::PlannedAction;
use crate::value::{format_duration, Value};

use super::{flow_message, Flow, Machine, RunError, StepState, APPROVAL_VALUES};

/// What a human answered for a step that was in flight when its process died.
pub(super) enum InDoubtAnswer {
    /// Run it again.
    Retry,
    /// Its effect is there: do not run it again, go on.
    Done,
    /// Stop the run.
    Stop,
}

/// Why a step stops the whole run rather than failing on its own.
#[derive(Debug, thiserror::Error)]
pub(super) enum RunAbort {
    /// The journal could not be written.
    #[error(transparent)]
    Journal(#[from] RunError),
    /// The harness failed (e.g. an unmocked action in a test); the text is its report, kept
    /// as the run's `fatal`.
    #[error("{0}")]
    Fatal(String),
}

impl<'a> Machine<'a> {
    /// `Err` only when the harness failed and the run must stop.
    pub(super) async fn run_step(&mut self, step: &'a Step) -> Result<StepState, RunAbort> {
        let name = step.name.name.clone();
        self.step = name.clone();
        if let Some(condition) = &step.when {
            match self.eval(condition).await {
                Ok(Value::Bool(true)) => {}
                Ok(value) => {
                    self.journal(EventKind::StepSkipped {
                        step: name,
                        condition: format!("{} was {value}", self.source(condition.span)),
                    })
                    .await?;
                    return Ok(StepState::Skipped);
                }
                Err(Flow::Fatal(message)) => return Err(RunAbort::Fatal(message)),
                Err(flow) => {
                    self.journal(EventKind::StepFailed {
                        step: name,
                        error: format!("condition: {}", flow_message(flow)),
                    })
                    .await?;
                    return Ok(StepState::Failed);
                }
            }
        }
        for option in &step.options {
            match &option.kind {
                StepOptionKind::ApprovalNone { reason } => {
                    self.journal(EventKind::ApprovalWaived {
                        step: name.clone(),
                        reason: reason.value.clone(),
                    })
                    .await?
                }
                StepOptionKind::ApprovalRequired {
                    quorum,
                    group,
                    timeout,
                    on_timeout,
                    ..
                } => {
                    let timeout = match timeout {
                        Some(limit) => match self.eval(limit).await {
                            Ok(Value::Duration(ms)) => Some(ms),
                            _ => None,
                        },
                        None => None,
                    };
                    let outcome = on_timeout.map_or(TimeoutOutcome::Deny, |(o, _)| o);
                    let (actions, planned) = self.step_action_calls(step).await;
                    let request = ApprovalRequest {
                        run_id: self.run_id.clone(),
                        step: name.clone(),
                        group: group.as_ref().map(|g| g.value.clone()),
                        quorum: quorum.map_or(1, |(n, _)| n),
                        timeout,
                        on_timeout: outcome,
                        started_by: self.started_by.clone(),
                        actions: actions.clone(),
                        planned: planned.clone(),
                        digest: self.plan_digest(&name),
                        asks: asked_values::asks_of(&step.options),
                    };
                    self.journal(EventKind::ApprovalRequested {
                        step: name.clone(),
                        group: request.group.clone(),
                        quorum: request.quorum,
                        actions,
                        digest: request.digest.clone(),
                        timeout_ms: request.timeout,
                        on_timeout: request.timeout.map(|_| outcome.to_string()),
                        planned,
                        asks: request.asks.clone(),
                    })
                    .await?;
                    match self.services.approver.request(&request).await {
                        ApprovalDecision::Granted {
                            by,
                            channel,
                            values,
                        } => {
                            let typed = asked_values::typed_values(&request.asks, &values);
                            self.journal(EventKind::ApprovalGranted {
                                step: name.clone(),
                                by,
                                channel,
                                values,
                            })
                            .await?;
                            match typed {
                                // Read as `approval.NAME` in the body; unbound when it ends.
                                Ok(typed) if !request.asks.is_empty() => {
                                    self.bind(APPROVAL_VALUES, Value::Record(typed))
                                }
                                Ok(_) => {}
                                Err(why) => {
                                    self.journal(EventKind::StepFailed {
                                        step: name,
                                        error: format!("the approval's values: {why}"),
                                    })
                                    .await?;
                                    return Ok(StepState::Failed);
                                }
                            }
                        }
                        ApprovalDecision::Denied { by, channel } => {
                            self.journal(EventKind::ApprovalDenied {
                                step: name.clone(),
                                by,
                                channel,
                            })
                            .await?;
                            self.journal(EventKind::StepDenied { step: name }).await?;
                            return Ok(StepState::Denied);
                        }
                        ApprovalDecision::TimedOut => {
                            self.journal(EventKind::ApprovalTimedOut {
                                step: name.clone(),
                                outcome: outcome.to_string(),
                            })
                            .await?;
                            // Nobody gave the asked values, so a gate that asks is never
                            // approved by its timeout (the checker refuses it: E0308).
                            if outcome != TimeoutOutcome::Approve || !request.asks.is_empty() {
                                self.journal(EventKind::StepDenied { step: name }).await?;
                                return Ok(StepState::Denied);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let (retries, delay, exponential) = step
            .options
            .iter()
            .find_map(|o| match &o.kind {
                StepOptionKind::Retry {
                    attempts,
                    every,
                    exponential,
                } => Some((*attempts, every.as_ref(), *exponential)),
                _ => None,
            })
            .unwrap_or((0, None, false));
        let delay_ms = match delay {
            Some(expr) => match self.eval(expr).await {
                Ok(Value::Duration(ms)) => ms,
                _ => 1_000,
            },
            None => 1_000,
        };
        let step_timeout = match step.options.iter().find_map(|o| match &o.kind {
            StepOptionKind::Timeout(limit) => Some(limit),
            _ => None,
        }) {
            Some(limit) => match self.eval(limit).await {
                Ok(Value::Duration(ms)) => Some(ms),
                _ => None,
            },
            None => None,
        };
        let mut wait = delay_ms;
        self.in_flight = Some(name.clone());
        let depth = self.depth();
        for attempt in 1..=retries.saturating_add(1) {
            self.journal(EventKind::StepStarted {
                step: name.clone(),
                attempt,
            })
            .await?;
            let body = self.exec_block_in_place(&step.body);
            let result = match step_timeout {
                Some(ms) => match tokio::time::timeout(Duration::from_millis(ms), body).await {
                    Ok(result) => result,
                    Err(_) => Err(Flow::Failed(format!(
                        "step timed out after {}",
                        format_duration(ms)
                    ))),
                },
                None => body.await,
            };
            self.restore(depth);
            match result {
                Ok(()) | Err(Flow::Return(_)) => {
                    self.in_flight = None;
                    for stmt in &step.body {
                        if let StmtKind::Let { name: bound, .. } = &stmt.kind {
                            if let Some(value) = self.lookup(&bound.name).map(Value::to_stored) {
                                self.journal(EventKind::Bound {
                                    step: name.clone(),
                                    name: bound.name.clone(),
                                    value,
                                })
                                .await?;
                            }
                        }
                    }
                    self.journal(EventKind::StepSucceeded { step: name })
                        .await?;
                    return Ok(StepState::Succeeded);
                }
                Err(Flow::Fatal(message)) => return Err(RunAbort::Fatal(message)),
                Err(Flow::Failed(message)) => {
                    if attempt <= retries {
                        self.journal(EventKind::StepRetrying {
                            step: name.clone(),
                            attempt,
                            error: message,
                        })
                        .await?;
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                        if exponential {
                            wait = wait.saturating_mul(2);
                        }
                        continue;
                    }
                    self.in_flight = None;
                    self.journal(EventKind::StepFailed {
                        step: name,
                        error: message,
                    })
                    .await?;
                    return Ok(StepState::Failed);
                }
            }
        }
        Ok(StepState::Failed)
    }

    /// A step that was running when the process died may have done part of its work. A `read`
    /// step simply runs again; for one that writes or destroys, a human answers, through the
    /// approval mechanism: approving `STEP#retry` runs it again, approving `STEP#done` says its
    /// effect is there (it does not run again, the run goes on), and denying either stops the
    /// run. Whoever answers, and which answer, is journaled.
    pub(super) async fn answer_in_doubt(
        &mut self,
        step: &'a Step,
    ) -> Result<InDoubtAnswer, RunAbort> {
        let module = self.module();
        let effect = crate_effect(self.program, module.id, step);
        if effect <= Effect::Read {
            return Ok(InDoubtAnswer::Retry);
        }
        let name = step.name.name.clone();
        self.journal(EventKind::StepInDoubt {
            step: name.clone(),
            effect: effect.to_string(),
        })
        .await?;
        let group = step.options.iter().find_map(|o| match &o.kind {
            StepOptionKind::ApprovalRequired { group, .. } => {
                group.as_ref().map(|g| g.value.clone())
            }
            _ => None,
        });
        let (actions, planned) = self.step_action_calls(step).await;
        let mut requests = Vec::new();
        for key in [format!("{name}#retry"), format!("{name}#done")] {
            let request = ApprovalRequest {
                run_id: self.run_id.clone(),
                step: key.clone(),
                group: group.clone(),
                quorum: 1,
                timeout: None,
                on_timeout: TimeoutOutcome::Deny,
                started_by: self.started_by.clone(),
                actions: actions.clone(),
                planned: planned.clone(),
                digest: self.plan_digest(&key),
                asks: Vec::new(),
            };
            self.journal(EventKind::ApprovalRequested {
                step: key,
                group: group.clone(),
                quorum: 1,
                actions: actions.clone(),
                digest: request.digest.clone(),
                timeout_ms: None,
                on_timeout: None,
                planned: planned.clone(),
                asks: Vec::new(),
            })
            .await?;
            requests.push(request);
        }
        let approver = self.services.approver;
        // Whichever question is answered first decides; the other is dropped unanswered.
        let (key, decision, done) = tokio::select! {
            // In a fixed order, so the questions are put in the same order every time.
            biased;
            decision = approver.request(&requests[0]) => (&requests[0].step, decision, false),
            decision = approver.request(&requests[1]) => (&requests[1].step, decision, true),
        };
        let key = key.clone();
        match decision {
            ApprovalDecision::Granted { by, channel, .. } => {
                self.journal(EventKind::ApprovalGranted {
                    step: key,
                    by: by.clone(),
                    channel,
                    values: Default::default(),
                })
                .await?;
                if done {
                    self.journal(EventKind::StepMarkedDone { step: name, by })
                        .await?;
                    return Ok(InDoubtAnswer::Done);
                }
                Ok(InDoubtAnswer::Retry)
            }
            ApprovalDecision::Denied { by, channel } => {
                self.journal(EventKind::ApprovalDenied {
                    step: key,
                    by,
                    channel,
                })
                .await?;
                self.journal(EventKind::StepDenied { step: name }).await?;
                Ok(InDoubtAnswer::Stop)
            }
            ApprovalDecision::TimedOut => {
                self.journal(EventKind::ApprovalTimedOut {
                    step: key,
                    outcome: "deny".into(),
                })
                .await?;
                self.journal(EventKind::StepDenied { step: name }).await?;
                Ok(InDoubtAnswer::Stop)
            }
        }
    }

    /// What an approval is bound to: the program text, the step, and every value in scope (the
    /// inputs and earlier results the step will act on). Any change voids earlier answers.
    pub(super) fn plan_digest(&self, step: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(self.program.file(self.module().file).text.as_bytes());
        hasher.update([0]);
        hasher.update(step.as_bytes());
        if let Some(frame) = self.frames.last() {
            let mut values: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
            for scope in &frame.scopes {
                for (name, value) in scope {
                    values.insert(name, value.to_digest_json());
                }
            }
            hasher.update(serde_json::to_vec(&values).unwrap_or_default());
        }
        hasher
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The calls of a step for the approval prompt: with their arguments resolved to values
    /// (the pids it would terminate) where that is possible without acting — every argument is
    /// bound already and reaches no action — and as written otherwise. Each call twice: as one
    /// line of text, and as a [`PlannedAction`] for approvers to read.
    pub(super) async fn step_action_calls(
        &mut self,
        step: &'a Step,
    ) -> (Vec<String>, Vec<PlannedAction>) {
        let module = self.module().id;
        let mut calls: Vec<&'a Expr> = Vec::new();
        rbk_compiler::syntax::visit::walk_stmts(&step.body, &mut |expr| {
            if let Some(Callee::Extern { .. } | Callee::Fn { .. }) =
                self.program.types.callee(module, expr.id)
            {
                calls.push(expr);
            }
        });
        let mut described = Vec::with_capacity(calls.len());
        let mut planned = Vec::with_capacity(calls.len());
        for call in calls {
            let (ExprKind::Call { args, .. }, Some(callee)) =
                (&call.kind, self.program.types.callee(module, call.id))
            else {
                continue;
            };
            let (target, item) = match callee {
                Callee::Extern { module, item } | Callee::Fn { module, item } => (module, item),
                _ => continue,
            };
            let resolvable = args.iter().all(|a| self.acts_nowhere(module, &a.value));
            let resolved = match resolvable {
                true => self.resolve_call(target, item, args).await,
                false => None,
            };
            let action = match resolved {
                Some(action) => action,
                None => self.written_call(target, item, args),
            };
            let text = match (&callee, action.resolved) {
                (Callee::Extern { .. }, true) => {
                    let rendered: Vec<String> = action
                        .arguments
                        .iter()
                        .map(|(name, value)| format!("{name}: {}", crate::present::cell(value)))
                        .collect();
                    format!("{}({})", action.call, rendered.join(", "))
                }
                _ => self.source(call.span),
            };
            // The prompt shows resolved values: a string holding a secret is shown masked.
            described.push(self.secrets.mask(&text));
            planned.push(action);
        }
        (described, planned)
    }

    /// The call's name, effect and parameters of the extern or `fn` at `item` of `target`.
    pub(super) fn callee_of(
        &self,
        target: ModuleId,
        item: usize,
    ) -> Option<(String, Effect, &'a [Param])> {
        let module = self.program.module(target);
        let (name, effect, params) = match &module.ast.items[item].kind {
            ItemKind::Extern(ext) => (&ext.name.name, ext.effect, &ext.params),
            ItemKind::Fn(function) => (
                &function.name.name,
                self.program
                    .effects
                    .fn_effect(&self.program.modules, target, item),
                &function.params,
            ),
            _ => return None,
        };
        Some((
            format!("{}.{name}", module.display_name()),
            effect,
            params.as_slice(),
        ))
    }

    /// A call whose arguments are values already: evaluated (defaults filled in) and masked.
    pub(super) async fn resolve_call(
        &mut self,
        target: ModuleId,
        item: usize,
        args: &'a [Arg],
    ) -> Option<PlannedAction> {
        let (call, effect, params) = self.callee_of(target, item)?;
        let values = self.arguments(target, params, args).await.ok()?;
        Some(PlannedAction {
            call,
            effect: effect.to_string(),
            arguments: params
                .iter()
                .zip(values)
                .map(|(p, v)| (p.name.name.clone(), self.secrets.mask_json(v.to_json())))
                .collect(),
            resolved: true,
        })
    }

    /// A call whose arguments depend on what the step computes: each argument as written.
    pub(super) fn written_call(
        &self,
        target: ModuleId,
        item: usize,
        args: &'a [Arg],
    ) -> PlannedAction {
        let (call, effect, params) = self
            .callee_of(target, item)
            .unwrap_or_else(|| ("?".into(), Effect::Destructive, &[]));
        let mut positional = 0;
        let arguments = args
            .iter()
            .map(|arg| {
                let name = match &arg.name {
                    Some(label) => label.name.clone(),
                    None => {
                        positional += 1;
                        params
                            .get(positional - 1)
                            .map_or_else(|| format!("#{positional}"), |p| p.name.name.clone())
                    }
                };
                let text = self.secrets.mask(&self.source(arg.value.span));
                (name, serde_json::Value::String(text))
            })
            .collect();
        PlannedAction {
            call,
            effect: effect.to_string(),
            arguments,
            resolved: false,
        }
    }

    /// True when evaluating `expr` calls no action (only builtins and pure `fn`s).
    pub(super) fn acts_nowhere(&self, module: ModuleId, expr: &Expr) -> bool {
        let (program, mut pure) = (self.program, true);
        rbk_compiler::syntax::visit::walk_expr(expr, &mut |e| {
            let acts = match program.types.callee(module, e.id) {
                Some(Callee::Extern { .. }) => true,
                Some(Callee::Fn { module: m, item }) => {
                    program.effects.fn_effect(&program.modules, m, item) > Effect::Pure
                }
                _ => false,
            };
            pure &= !acts;
        });
        pure
    }
}

/// The strongest effect a step can reach.
fn crate_effect(program: &Analysis, module: ModuleId, step: &Step) -> Effect {
    rbk_compiler::effects::strongest(&program.effects.step_actions(
        &program.modules,
        &program.types,
        module,
        step,
    ))
}

//! Starting, resuming and finishing a run: the runbook's inputs and alert, the clauses in
//! order, what a resumed run skips, and escalation when a step fails.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rbk_compiler::resolve::Module;
use rbk_compiler::syntax::*;
use rbk_compiler::types::{Builtin, Callee};
use rbk_compiler::Analysis;

use crate::action::BoxFuture;
use crate::approval::Environment;
use crate::journal::EventKind;
use crate::secrets::SecretMask;
use crate::value::{format_duration, Value};

use super::steps::InDoubtAnswer;
use super::{
    flow_message, Flow, Frame, Machine, RunError, RunReport, RunRequest, RunStatus, Services,
    StepState, APPROVAL_VALUES,
};

/// What a dead process had done, read back from its journal.
#[derive(Clone, Debug, Default)]
pub struct Resume {
    /// Steps that ended, with their outcome; they never run again.
    pub completed: Vec<(String, StepState)>,
    /// Inputs and `let`s bound before the crash.
    pub bindings: Vec<(String, Value)>,
    /// The step that had started and not ended.
    pub in_flight: Option<String>,
    pub resumed_by: String,
}

impl Resume {
    /// What the journal of a run whose process died says it had done.
    pub fn from_journal(
        events: &[crate::journal::Event],
        environment: &dyn Environment,
    ) -> Result<Resume, crate::value::StoredValueError> {
        let mut resume = Resume::default();
        let mut started: Vec<String> = Vec::new();
        let mut bindings: HashMap<String, Value> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        for event in events {
            let ended = match &event.kind {
                EventKind::StepStarted { step, .. } => {
                    started.push(step.clone());
                    None
                }
                EventKind::StepSucceeded { step } => Some((step, StepState::Succeeded)),
                EventKind::StepSkipped { step, .. } => Some((step, StepState::Skipped)),
                EventKind::StepDenied { step } => Some((step, StepState::Denied)),
                EventKind::StepFailed { step, .. } => Some((step, StepState::Failed)),
                EventKind::StepMarkedDone { step, .. } => Some((step, StepState::Succeeded)),
                EventKind::Bound { name, value, .. } => {
                    let value = Value::from_stored(value, &|secret| environment.secret(secret))?;
                    if !bindings.contains_key(name) {
                        order.push(name.clone());
                    }
                    bindings.insert(name.clone(), value);
                    None
                }
                _ => None,
            };
            if let Some((step, state)) = ended {
                if !resume.completed.iter().any(|(n, _)| n == step) {
                    resume.completed.push((step.clone(), state));
                }
            }
        }
        resume.in_flight = started
            .into_iter()
            .rev()
            .find(|s| !resume.completed.iter().any(|(n, _)| n == s));
        resume.bindings = order
            .into_iter()
            .filter_map(|name| bindings.remove(&name).map(|v| (name, v)))
            .collect();
        Ok(resume)
    }
}

/// Runs the runbook; an `Err` means it could not start (unknown runbook, missing input).
pub async fn run(
    program: &Analysis,
    services: Services<'_>,
    request: RunRequest,
) -> Result<RunReport, RunError> {
    let module = program.module(request.module);
    let runbook = module
        .ast
        .items
        .iter()
        .find_map(|item| match &item.kind {
            ItemKind::Runbook(r) if r.name.name == request.runbook => Some(r),
            _ => None,
        })
        .ok_or_else(|| RunError::NoSuchRunbook {
            runbook: request.runbook.clone(),
            file: program.file(module.file).path.display().to_string(),
        })?;
    let mut machine = Machine {
        program,
        services,
        frames: vec![Frame {
            module: request.module,
            scopes: vec![HashMap::new()],
        }],
        run_id: request.run_id.clone(),
        started_by: request.started_by.clone(),
        started_at: request.started_at,
        clock_origin: tokio::time::Instant::now(),
        step: String::new(),
        in_flight: None,
        resume: request.resume.clone(),
        branches: Vec::new(),
        const_cache: HashMap::new(),
        secrets: SecretMask::default(),
        outcomes: HashMap::new(),
    };
    // Secrets a resumed run had read come back from the environment: mask them from the start.
    let carried = request.inputs.values().chain(&request.alert).chain(
        request
            .resume
            .iter()
            .flat_map(|r| r.bindings.iter().map(|(_, v)| v)),
    );
    for value in carried {
        machine.secrets.learn_value(value);
    }
    // The project's own credentials (a Slack webhook, a PagerDuty key), and every secret the
    // program names with a literal, are masked from the start: a program may print one
    // (`printenv X`) before any step has read it as a secret. One that cannot be read now
    // fails where the runbook reads it, with the reason.
    let environment = machine.services.environment;
    let named = environment
        .credential_names()
        .into_iter()
        .chain(literal_secret_names(program));
    for name in named {
        if let Some(value) = environment.secret(&name) {
            machine.secrets.learn_quietly(&name, &value);
        }
    }
    let secrets = machine.secrets.clone();
    match machine.run_runbook(module, runbook, request).await {
        Ok(mut report) => {
            report.summary = secrets.mask(&report.summary);
            report.fatal = report.fatal.map(|fatal| secrets.mask(&fatal));
            Ok(report)
        }
        Err(error) => Err(error.masked(&secrets)),
    }
}

impl<'a> Machine<'a> {
    pub(super) async fn run_runbook(
        &mut self,
        module: &'a Module,
        runbook: &'a Runbook,
        request: RunRequest,
    ) -> Result<RunReport, RunError> {
        let inputs_json = serde_json::Value::Object(
            request
                .inputs
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        );
        let resume = request.resume.clone();
        match &resume {
            Some(resume) => {
                self.journal(EventKind::RunResumed {
                    by: resume.resumed_by.clone(),
                    completed: resume.completed.iter().map(|(n, _)| n.clone()).collect(),
                    in_flight: resume.in_flight.clone(),
                })
                .await?
            }
            None => {
                self.journal(EventKind::RunStarted {
                    runbook: runbook.name.name.clone(),
                    started_by: request.started_by.clone(),
                    inputs: inputs_json,
                    run_id: Some(request.run_id.clone()),
                    digest: Some(crate::start::module_digest(self.program, module.id)),
                    dry_run: request.dry_run,
                    shadow: request.shadow,
                })
                .await?
            }
        }
        // Values from before a crash, except handles (a connection of the dead process): those
        // are computed again.
        let restored: HashMap<String, Value> = resume
            .as_ref()
            .map(|r| {
                r.bindings
                    .iter()
                    .filter(|(_, v)| !v.holds_handle())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if let Some(alert) = &request.alert {
            self.bind("alert", alert.clone());
        } else if resume.is_none() {
            if let Some(reason) = self.missing_alert(module, runbook) {
                let escalated = self
                    .escalate(module, runbook, &input_names_of(runbook), &reason, None)
                    .await;
                return self.finish_early(reason, escalated, None).await;
            }
        }
        // Inputs: given values first, then defaults in declaration order.
        let mut input_names = Vec::new();
        for clause in &runbook.clauses {
            let ClauseKind::Input(fields) = &clause.kind else {
                continue;
            };
            for field in fields {
                input_names.push(field.name.name.clone());
                let given = request
                    .inputs
                    .get(&field.name.name)
                    .or_else(|| restored.get(&field.name.name));
                let value = match (given, &field.default) {
                    (Some(value), _) => value.clone(),
                    (None, Some(default)) => match self.eval(default).await {
                        Ok(value) => value,
                        Err(flow) => {
                            let flow_kind = match &flow {
                                Flow::Fatal(m) => Flow::Fatal(m.clone()),
                                _ => Flow::Failed(String::new()),
                            };
                            let message = flow_message(flow);
                            let summary = format!(
                                "{}: input `{}` could not be computed: {message}",
                                runbook.name.name, field.name.name
                            );
                            if let Flow::Fatal(_) = flow_kind {
                                return self
                                    .finish_early(summary.clone(), false, Some(summary))
                                    .await;
                            }
                            let escalated = self
                                .escalate(module, runbook, &input_names_of(runbook), &summary, None)
                                .await;
                            return self.finish_early(summary, escalated, None).await;
                        }
                    },
                    (None, None) => {
                        return Err(RunError::MissingInput {
                            name: field.name.name.clone(),
                        })
                    }
                };
                self.journal(EventKind::Bound {
                    step: String::new(),
                    name: field.name.name.clone(),
                    value: value.to_stored(),
                })
                .await?;
                self.bind(&field.name.name, value);
            }
        }
        for (name, value) in &restored {
            if !input_names.contains(name) {
                self.bind(name, value.clone());
            }
        }

        let run_timeout = runbook.clauses.iter().find_map(|c| match &c.kind {
            ClauseKind::Timeout(limit) => Some(limit),
            _ => None,
        });
        let run_timeout = match run_timeout {
            Some(limit) => match self.eval(limit).await {
                Ok(Value::Duration(ms)) => Some(ms),
                _ => None,
            },
            None => None,
        };

        let mut steps: Vec<(String, StepState)> = resume
            .as_ref()
            .map(|r| r.completed.clone())
            .unwrap_or_default();
        let mut failed_step = None;
        let mut fatal = None;
        let depth = self.depth();
        let body = self.run_clauses(runbook, &mut steps, &mut failed_step, &mut fatal);
        let status = match run_timeout {
            Some(ms) => match tokio::time::timeout(Duration::from_millis(ms), body).await {
                Ok(status) => status,
                Err(_) => RunStatus::TimedOut,
            },
            None => body.await,
        };
        self.restore(depth);
        if status == RunStatus::TimedOut {
            if let Some(step) = self.in_flight.take() {
                self.journal(EventKind::StepFailed {
                    step: step.clone(),
                    error: "the run timed out while this step ran".into(),
                })
                .await?;
                steps.push((step.clone(), StepState::Failed));
                failed_step = Some(step);
            }
        }
        let summary = match status {
            RunStatus::Succeeded => {
                format!("{} succeeded ({} steps)", runbook.name.name, steps.len())
            }
            RunStatus::TimedOut => format!(
                "{} timed out after {}",
                runbook.name.name,
                format_duration(run_timeout.unwrap_or(0))
            ),
            RunStatus::Denied => format!(
                "{}: approval for step `{}` was not given",
                runbook.name.name,
                failed_step.clone().unwrap_or_default()
            ),
            RunStatus::Failed => format!(
                "{}: step `{}` failed",
                runbook.name.name,
                failed_step.clone().unwrap_or_default()
            ),
        };
        let mut escalated = false;
        if status != RunStatus::Succeeded && fatal.is_none() {
            escalated = self
                .escalate(
                    module,
                    runbook,
                    &input_names,
                    &summary,
                    failed_step.as_deref(),
                )
                .await;
        }
        self.journal(EventKind::RunFinished {
            status: status.as_str().into(),
            summary: summary.clone(),
        })
        .await?;
        Ok(RunReport {
            status,
            steps,
            escalated,
            summary,
            failed_step,
            fatal,
            branches: std::mem::take(&mut self.branches),
        })
    }

    pub(super) async fn finish_early(
        &mut self,
        summary: String,
        escalated: bool,
        fatal: Option<String>,
    ) -> Result<RunReport, RunError> {
        self.journal(EventKind::RunFinished {
            status: "failed".into(),
            summary: summary.clone(),
        })
        .await?;
        Ok(RunReport {
            status: RunStatus::Failed,
            steps: Vec::new(),
            escalated,
            summary,
            failed_step: None,
            fatal,
            branches: std::mem::take(&mut self.branches),
        })
    }

    pub(super) fn run_clauses<'s>(
        &'s mut self,
        runbook: &'a Runbook,
        steps: &'s mut Vec<(String, StepState)>,
        failed_step: &'s mut Option<String>,
        fatal: &'s mut Option<String>,
    ) -> BoxFuture<'s, RunStatus> {
        Box::pin(async move {
            let resume = self.resume.clone();
            // Notifications before the point where the dead process stopped have been sent.
            let resume_point = resume.as_ref().map_or(0, |r| {
                runbook
                    .clauses
                    .iter()
                    .rposition(|c| match &c.kind {
                        ClauseKind::Step(step) => {
                            r.completed.iter().any(|(n, _)| n == &step.name.name)
                                || r.in_flight.as_ref() == Some(&step.name.name)
                        }
                        _ => false,
                    })
                    .unwrap_or(0)
            });
            for (index, clause) in runbook.clauses.iter().enumerate() {
                match &clause.kind {
                    ClauseKind::Step(step) => {
                        let continue_on_failure = step.options.iter().any(|o| {
                            matches!(o.kind, StepOptionKind::OnFailure(FailureMode::Continue))
                        });
                        let ended_before = resume.as_ref().and_then(|r| {
                            r.completed
                                .iter()
                                .find(|(n, _)| n == &step.name.name)
                                .map(|(_, state)| *state)
                        });
                        if let Some(state) = ended_before {
                            self.outcomes.insert(step.name.name.clone(), state);
                            // The dead process ended this step; if that ended the run, the
                            // run ends here too rather than going on to the steps after it.
                            match state {
                                StepState::Failed if !continue_on_failure => {
                                    *failed_step = Some(step.name.name.clone());
                                    return RunStatus::Failed;
                                }
                                StepState::Denied => {
                                    *failed_step = Some(step.name.name.clone());
                                    return RunStatus::Denied;
                                }
                                _ => continue,
                            }
                        }
                        let in_doubt = resume.as_ref().and_then(|r| r.in_flight.as_ref())
                            == Some(&step.name.name);
                        if in_doubt {
                            match self.answer_in_doubt(step).await {
                                Ok(InDoubtAnswer::Retry) => {}
                                Ok(InDoubtAnswer::Done) => {
                                    steps.push((step.name.name.clone(), StepState::Succeeded));
                                    self.outcomes
                                        .insert(step.name.name.clone(), StepState::Succeeded);
                                    continue;
                                }
                                Ok(InDoubtAnswer::Stop) => {
                                    steps.push((step.name.name.clone(), StepState::Denied));
                                    *failed_step = Some(step.name.name.clone());
                                    return RunStatus::Denied;
                                }
                                Err(abort) => {
                                    *fatal = Some(abort.to_string());
                                    return RunStatus::Failed;
                                }
                            }
                        }
                        let ran = self.run_step(step).await;
                        self.unbind_root(APPROVAL_VALUES);
                        let state = match ran {
                            Ok(state) => state,
                            Err(abort) => {
                                *fatal = Some(abort.to_string());
                                steps.push((step.name.name.clone(), StepState::Failed));
                                *failed_step = Some(step.name.name.clone());
                                return RunStatus::Failed;
                            }
                        };
                        steps.push((step.name.name.clone(), state));
                        self.outcomes.insert(step.name.name.clone(), state);
                        match state {
                            StepState::Failed if !continue_on_failure => {
                                *failed_step = Some(step.name.name.clone());
                                return RunStatus::Failed;
                            }
                            StepState::Denied => {
                                *failed_step = Some(step.name.name.clone());
                                return RunStatus::Denied;
                            }
                            _ => {}
                        }
                    }
                    ClauseKind::Notify(_) if index < resume_point => {}
                    ClauseKind::Notify(call) => {
                        self.step = "notify".into();
                        self.bind_run_value("", None, "running");
                        match self.eval(call).await {
                            Ok(_) => {}
                            Err(Flow::Fatal(message)) => {
                                *fatal = Some(message);
                                return RunStatus::Failed;
                            }
                            Err(flow) => {
                                let written = self
                                    .journal(EventKind::NotifyFailed {
                                        error: flow_message(flow),
                                    })
                                    .await;
                                if let Err(error) = written {
                                    *fatal = Some(error.into());
                                    return RunStatus::Failed;
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            RunStatus::Succeeded
        })
    }

    /// Why this run cannot go on without an alert: its runbook is started by one and reads
    /// `alert` outside its trigger, limits and escalation. `None` when it can.
    pub(super) fn missing_alert(&self, module: &Module, runbook: &Runbook) -> Option<String> {
        let trigger = runbook.clauses.iter().find_map(|c| match &c.kind {
            ClauseKind::Trigger(Trigger::Alert { name, .. }) => Some(name.value.clone()),
            _ => None,
        })?;
        let read = first_alert_read(runbook)?;
        let file = self.program.file(module.file);
        let line = file.lines.line_of(read.start) + 1;
        let text = file.text.get(read.start..read.end).unwrap_or("alert");
        Some(format!(
            "runbook `{}` is started by alert \"{trigger}\" and reads `{text}` (line {line}), \
             but this run has no alert: give it one with `rbk run FILE --alert PAYLOAD.json` \
             (an Alertmanager webhook body or one alert object); no step was run",
            runbook.name.name
        ))
    }

    pub(super) fn bind_run_value(
        &mut self,
        summary: &str,
        failed_step: Option<&str>,
        _state: &str,
    ) {
        let mut run = BTreeMap::new();
        run.insert("id".to_string(), Value::str(self.run_id.clone()));
        run.insert("summary".to_string(), Value::str(summary));
        run.insert(
            "failed_step".to_string(),
            failed_step.map_or(Value::None, Value::str),
        );
        run.insert(
            "log_url".to_string(),
            Value::str(format!("rbk log {}", self.run_id)),
        );
        self.bind("run", Value::Record(run));
    }

    pub(super) async fn escalate(
        &mut self,
        module: &'a Module,
        runbook: &'a Runbook,
        inputs: &[String],
        summary: &str,
        failed_step: Option<&str>,
    ) -> bool {
        let Some(call) = runbook.clauses.iter().find_map(|c| match &c.kind {
            ClauseKind::Escalate(call) => Some(call),
            _ => None,
        }) else {
            return false;
        };
        // Escalation sees what existed from the start: inputs, the alert, and `run`. It must
        // page even when the run stopped because one of them is missing (an input whose default
        // failed, an alert runbook started by hand): a missing input reads as `none`, a missing
        // alert as one with the trigger's name and nothing else.
        let mut scope = HashMap::new();
        for name in inputs {
            let value = self.lookup(name).cloned().unwrap_or(Value::None);
            scope.insert(name.clone(), value);
        }
        let alert = match self.lookup("alert") {
            Some(alert) => Some(alert.clone()),
            None => absent_alert(runbook, self.started_at),
        };
        if let Some(alert) = alert {
            scope.insert("alert".to_string(), alert);
        }
        self.frames.push(Frame {
            module: module.id,
            scopes: vec![scope],
        });
        self.bind_run_value(summary, failed_step, "escalating");
        self.step = "escalate".into();
        let result = self.eval(call).await;
        self.frames.pop();
        match result {
            Ok(_) => self
                .journal(EventKind::EscalationSent {
                    reason: summary.to_string(),
                })
                .await
                .is_ok(),
            Err(flow) => {
                let _ = self
                    .journal(EventKind::EscalationFailed {
                        error: flow_message(flow),
                    })
                    .await;
                false
            }
        }
    }
}

/// The names every `secret("NAME")` with a literal name in the program reads.
fn literal_secret_names(program: &Analysis) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for module in &program.modules {
        rbk_compiler::syntax::visit::walk_items(&module.ast.items, &mut |expr| {
            let ExprKind::Call { args, .. } = &expr.kind else {
                return;
            };
            if program.types.callee(module.id, expr.id) == Some(Callee::Builtin(Builtin::Secret)) {
                names.extend(args.first().and_then(|arg| arg.value.as_plain_str()));
            }
        });
    }
    names
}

/// The names of a runbook's inputs, in declaration order.
fn input_names_of(runbook: &Runbook) -> Vec<String> {
    runbook
        .clauses
        .iter()
        .filter_map(|c| match &c.kind {
            ClauseKind::Input(fields) => Some(fields.iter().map(|f| f.name.name.clone())),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Where a run of `runbook` first reads `alert` (the span of the innermost expression that
/// reads it, e.g. `alert.labels["db"]`): in input defaults, steps, conditions or `notify`. The
/// trigger's `where` and the limit keys are read at matching time, `escalate` copes without.
fn first_alert_read(runbook: &Runbook) -> Option<Span> {
    use rbk_compiler::syntax::visit::{walk_expr, walk_step};
    let mut found: Option<Span> = None;
    let mut look = |expr: &Expr| {
        // Outermost first: `alert.labels` in `alert.labels["db"]`, else a bare `alert`.
        let is_alert = |e: &Expr| matches!(&e.kind, ExprKind::Name(n) if n.name == "alert");
        let reads = |e: &Expr| match &e.kind {
            ExprKind::Field(base, _) | ExprKind::Index(base, _) => is_alert(base),
            _ => is_alert(e),
        };
        let mut seen: Option<Span> = None;
        walk_expr(expr, &mut |e| {
            if seen.is_none() && reads(e) {
                seen = Some(e.span);
            }
        });
        if let Some(span) = seen {
            if found.is_none_or(|f| span.start < f.start) {
                found = Some(span);
            }
        }
    };
    for clause in &runbook.clauses {
        match &clause.kind {
            ClauseKind::Input(fields) => fields
                .iter()
                .filter_map(|f| f.default.as_ref())
                .for_each(&mut look),
            ClauseKind::Step(step) => walk_step(step, &mut |e| look(e)),
            ClauseKind::Notify(call) => look(call),
            _ => {}
        }
    }
    found
}

/// What escalation sees as `alert` when an alert runbook runs without one: the trigger's name,
/// no labels or annotations, status "absent", started when the run did. `None` for a runbook
/// no alert triggers.
fn absent_alert(runbook: &Runbook, started_at: i64) -> Option<Value> {
    let trigger = runbook.clauses.iter().find_map(|c| match &c.kind {
        ClauseKind::Trigger(Trigger::Alert { name, .. }) => Some(name.value.clone()),
        _ => None,
    })?;
    let mut fields = BTreeMap::new();
    fields.insert("name".to_string(), Value::str(trigger));
    fields.insert("labels".to_string(), Value::Map(BTreeMap::new()));
    fields.insert("annotations".to_string(), Value::Map(BTreeMap::new()));
    fields.insert("status".to_string(), Value::str("absent"));
    fields.insert("starts_at".to_string(), Value::Time(started_at));
    fields.insert("ends_at".to_string(), Value::None);
    fields.insert("fingerprint".to_string(), Value::str(""));
    Some(Value::Record(fields))
}

//! Runs one runbook of a checked program: inputs, steps in order, conditions, gates, retries,
//! timeouts, verification polling, notifications and escalation, journaling every decision.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rbk_compiler::resolve::{Module, ModuleId};
use rbk_compiler::syntax::*;
use rbk_compiler::types::{Builtin, Callee};
use rbk_compiler::Analysis;

use crate::action::{ActionCall, ActionError, Actions, BoxFuture};
use crate::approval::{ApprovalDecision, ApprovalRequest, Approver, Environment};
use crate::asked_values;
use crate::journal::{EventKind, Journal};
use crate::present::PlannedAction;
use crate::secrets::{Learned, SecretMask};
use crate::value::{format_duration, Secret, Value};

/// The systems a run talks to.
pub struct Services<'a> {
    pub actions: &'a dyn Actions,
    pub approver: &'a dyn Approver,
    pub journal: &'a dyn Journal,
    pub environment: &'a dyn Environment,
}

pub struct RunRequest {
    pub module: ModuleId,
    pub runbook: String,
    /// Values given by the caller, already of the declared types.
    pub inputs: BTreeMap<String, Value>,
    /// The triggering alert, for alert-triggered runbooks.
    pub alert: Option<Value>,
    pub started_by: String,
    pub run_id: String,
    /// Wall-clock time at the start, in milliseconds since the epoch; `now()` counts from here.
    pub started_at: i64,
    /// Continue a run whose process died, instead of starting one.
    pub resume: Option<Resume>,
    /// A `--dry-run` (the caller withholds write and destructive actions): journaled as such.
    pub dry_run: bool,
    /// A `mode shadow` run (write and destructive actions only reported, as in a dry run):
    /// journaled as such.
    pub shadow: bool,
}

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
    ) -> Result<Resume, String> {
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

/// What a human answered for a step that was in flight when its process died.
enum InDoubtAnswer {
    /// Run it again.
    Retry,
    /// Its effect is there: do not run it again, go on.
    Done,
    /// Stop the run.
    Stop,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepState {
    Succeeded,
    Failed,
    Skipped,
    Denied,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Succeeded => "succeeded",
            StepState::Failed => "failed",
            StepState::Skipped => "skipped",
            StepState::Denied => "denied",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Succeeded,
    Failed,
    Denied,
    TimedOut,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Denied => "denied",
            RunStatus::TimedOut => "timed out",
        }
    }
}

#[derive(Clone, Debug)]
pub struct RunReport {
    pub status: RunStatus,
    pub steps: Vec<(String, StepState)>,
    pub escalated: bool,
    pub summary: String,
    pub failed_step: Option<String>,
    /// Set when the harness itself failed (e.g. an unmocked action in a test).
    pub fatal: Option<String>,
    /// Every `if` decided, as (byte offset of the `if` in its file, branch taken), for test
    /// coverage.
    pub branches: Vec<(usize, bool)>,
}

/// Why evaluation stopped early.
enum Flow {
    /// The step fails with this message (its `on failure` decides what happens next).
    Failed(String),
    /// The run cannot go on at all.
    Fatal(String),
    /// `return` in a `fn`.
    Return(Value),
}

type Eval<T> = Result<T, Flow>;

fn fail<T>(message: impl Into<String>) -> Eval<T> {
    Err(Flow::Failed(message.into()))
}

struct Frame {
    module: ModuleId,
    scopes: Vec<HashMap<String, Value>>,
}

/// The name the approver's values are bound under while their step runs (`approval.NAME`);
/// `approval` is a keyword, so no `let` or input can take it.
const APPROVAL_VALUES: &str = "approval";

struct Machine<'a> {
    program: &'a Analysis,
    services: Services<'a>,
    frames: Vec<Frame>,
    run_id: String,
    started_by: String,
    started_at: i64,
    clock_origin: tokio::time::Instant,
    step: String,
    /// The step whose body is running: a run `timeout` records it as failed.
    in_flight: Option<String>,
    resume: Option<Resume>,
    branches: Vec<(usize, bool)>,
    const_cache: HashMap<(ModuleId, usize), Value>,
    /// Every secret value read so far: what leaves the engine is masked with it.
    secrets: SecretMask,
    /// How each step that ended did (`step.NAME.failed`), resumed steps included.
    outcomes: HashMap<String, StepState>,
}

/// Runs the runbook; an `Err` means it could not start (unknown runbook, missing input).
pub async fn run(
    program: &Analysis,
    services: Services<'_>,
    request: RunRequest,
) -> Result<RunReport, String> {
    let module = program.module(request.module);
    let runbook = module
        .ast
        .items
        .iter()
        .find_map(|item| match &item.kind {
            ItemKind::Runbook(r) if r.name.name == request.runbook => Some(r),
            _ => None,
        })
        .ok_or_else(|| {
            format!(
                "there is no runbook `{}` in {}",
                request.runbook,
                program.file(module.file).path.display()
            )
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
        Err(message) => Err(secrets.mask(&message)),
    }
}

impl<'a> Machine<'a> {
    fn now(&self) -> i64 {
        self.started_at + self.clock_origin.elapsed().as_millis() as i64
    }

    /// Every event goes out masked: the store, the live display and `rbk log` show what this
    /// writes, so this is where a secret echoed back by an action is caught.
    async fn journal(&self, kind: EventKind) -> Result<(), String> {
        let kind = self
            .secrets
            .mask_event(kind)
            .map_err(|e| format!("the journal could not be written, so the run stops: {e}"))?;
        self.services
            .journal
            .append(self.now(), kind)
            .await
            .map_err(|e| format!("the journal could not be written, so the run stops: {e}"))
    }

    fn module(&self) -> &'a Module {
        let id = self.frames.last().map_or(ModuleId(0), |f| f.module);
        self.program.module(id)
    }

    fn source(&self, span: Span) -> String {
        let text = &self.program.file(self.module().file).text;
        text.get(span.start..span.end).unwrap_or("").to_string()
    }

    fn bind(&mut self, name: &str, value: Value) {
        if let Some(scope) = self.frames.last_mut().and_then(|f| f.scopes.last_mut()) {
            scope.insert(name.to_string(), value);
        }
    }

    /// Removes `name` from the runbook's scope (the approver's values after their step).
    fn unbind_root(&mut self, name: &str) {
        if let Some(root) = self.frames.first_mut().and_then(|f| f.scopes.first_mut()) {
            root.remove(name);
        }
    }

    fn lookup(&self, name: &str) -> Option<&Value> {
        self.frames
            .last()?
            .scopes
            .iter()
            .rev()
            .find_map(|scope| scope.get(name))
    }

    /// How deep the frames and the runbook's scopes are, to restore after a cancelled body:
    /// a timeout drops the body mid-call, before it could pop what it pushed.
    fn depth(&self) -> (usize, usize) {
        (
            self.frames.len(),
            self.frames.first().map_or(0, |f| f.scopes.len()),
        )
    }

    fn restore(&mut self, (frames, scopes): (usize, usize)) {
        self.frames.truncate(frames);
        if let Some(root) = self.frames.first_mut() {
            root.scopes.truncate(scopes);
        }
    }

    fn push_scope(&mut self) {
        if let Some(frame) = self.frames.last_mut() {
            frame.scopes.push(HashMap::new());
        }
    }

    fn pop_scope(&mut self) {
        if let Some(frame) = self.frames.last_mut() {
            frame.scopes.pop();
        }
    }

    async fn run_runbook(
        &mut self,
        module: &'a Module,
        runbook: &'a Runbook,
        request: RunRequest,
    ) -> Result<RunReport, String> {
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
                        return Err(format!(
                            "input `{}` is required: give it with --input {}=VALUE",
                            field.name.name, field.name.name
                        ))
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

    async fn finish_early(
        &mut self,
        summary: String,
        escalated: bool,
        fatal: Option<String>,
    ) -> Result<RunReport, String> {
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

    fn run_clauses<'s>(
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
                                Err(message) => {
                                    *fatal = Some(message);
                                    return RunStatus::Failed;
                                }
                            }
                        }
                        let ran = self.run_step(step).await;
                        self.unbind_root(APPROVAL_VALUES);
                        let state = match ran {
                            Ok(state) => state,
                            Err(message) => {
                                *fatal = Some(message);
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
                                if let Err(message) = written {
                                    *fatal = Some(message);
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
    fn missing_alert(&self, module: &Module, runbook: &Runbook) -> Option<String> {
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

    fn bind_run_value(&mut self, summary: &str, failed_step: Option<&str>, _state: &str) {
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

    async fn escalate(
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

    /// `Err` only when the harness failed and the run must stop.
    async fn run_step(&mut self, step: &'a Step) -> Result<StepState, String> {
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
                Err(Flow::Fatal(message)) => return Err(message),
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
                Err(Flow::Fatal(message)) => return Err(message),
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
    async fn answer_in_doubt(&mut self, step: &'a Step) -> Result<InDoubtAnswer, String> {
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
    fn plan_digest(&self, step: &str) -> String {
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
    async fn step_action_calls(&mut self, step: &'a Step) -> (Vec<String>, Vec<PlannedAction>) {
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
    fn callee_of(&self, target: ModuleId, item: usize) -> Option<(String, Effect, &'a [Param])> {
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
    async fn resolve_call(
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
    fn written_call(&self, target: ModuleId, item: usize, args: &'a [Arg]) -> PlannedAction {
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
    fn acts_nowhere(&self, module: ModuleId, expr: &Expr) -> bool {
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

    /// A step body runs in the runbook's scope, so its top-level `let`s reach later steps.
    fn exec_block_in_place<'s>(&'s mut self, stmts: &'a [Stmt]) -> BoxFuture<'s, Eval<()>> {
        Box::pin(async move {
            for stmt in stmts {
                self.exec(stmt).await?;
            }
            Ok(())
        })
    }

    fn exec_block<'s>(&'s mut self, stmts: &'a [Stmt]) -> BoxFuture<'s, Eval<()>> {
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

    fn exec<'s>(&'s mut self, stmt: &'a Stmt) -> BoxFuture<'s, Eval<()>> {
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
                    .map_err(Flow::Fatal)?;
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

    fn eval<'s>(&'s mut self, expr: &'a Expr) -> BoxFuture<'s, Eval<Value>> {
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
                    crate::operators::binary(*op, left, right).map_err(Flow::Failed)?
                }
                ExprKind::Lambda { .. } => return fail("a lambda is not a value"),
            })
        })
    }

    async fn const_value(&mut self, module: ModuleId, index: usize) -> Eval<Value> {
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

    async fn call(&mut self, expr: &'a Expr, args: &'a [Arg]) -> Eval<Value> {
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
                .map_err(Flow::Fatal)?;
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
    async fn arguments(
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

    async fn builtin(&mut self, builtin: Builtin, args: &'a [Arg]) -> Eval<Value> {
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
                                    .map_err(Flow::Fatal)?;
                                }
                                Ok(Value::Secret(Secret::new(name, value)))
                            }
                            Err(message) => fail(message),
                        }
                    }
                    _ => crate::operators::simple_builtin(builtin, values).map_err(Flow::Failed),
                }
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

fn duration_of(value: Value) -> u64 {
    match value {
        Value::Duration(ms) => ms,
        _ => 0,
    }
}

fn flow_message(flow: Flow) -> String {
    match flow {
        Flow::Failed(m) | Flow::Fatal(m) => m,
        Flow::Return(_) => "unexpected return".into(),
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
) -> Result<Value, String> {
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
    machine.eval(expr).await.map_err(flow_message)
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

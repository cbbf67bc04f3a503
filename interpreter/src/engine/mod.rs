//! Runs one runbook of a checked program. The engine is a `Machine` (frames of scopes, the
//! journal, the secrets seen) that three parts drive: [`orchestration`] starts, resumes and
//! finishes a run (inputs, the clause loop, escalation), [`steps`] is the state machine of one
//! step (condition, approval gate, retry, timeout, verification, the plan digest approvals
//! are bound to), and [`evaluator`] runs statements and expressions.

use std::collections::{BTreeMap, HashMap};

use rbk_compiler::resolve::{Module, ModuleId};
use rbk_compiler::syntax::*;
use rbk_compiler::Analysis;

use crate::action::Actions;
use crate::approval::{Approver, Environment};
use crate::journal::{EventKind, Journal, JournalError};
use crate::secrets::SecretMask;
use crate::value::Value;

mod evaluator;
mod orchestration;
mod run_error;
mod steps;

pub use evaluator::{evaluate, EvalError};
pub use orchestration::{run, Resume};
pub use run_error::RunError;

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

impl<'a> Machine<'a> {
    fn now(&self) -> i64 {
        self.started_at + self.clock_origin.elapsed().as_millis() as i64
    }

    /// Every event goes out masked: the store, the live display and `rbk log` show what this
    /// writes, so this is where a secret echoed back by an action is caught.
    async fn journal(&self, kind: EventKind) -> Result<(), RunError> {
        let kind = self
            .secrets
            .mask_event(kind)
            // The journal's errors are compared and cloned; the mask's keeps only its text.
            .map_err(|e| RunError::Journal(JournalError::Refused(e.to_string())))?;
        self.services
            .journal
            .append(self.now(), kind)
            .await
            .map_err(RunError::Journal)
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
}

fn flow_message(flow: Flow) -> String {
    match flow {
        Flow::Failed(m) | Flow::Fatal(m) => m,
        Flow::Return(_) => "unexpected return".into(),
    }
}

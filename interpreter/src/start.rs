//! Starting a run, the one way: `rbk run`, `rbk resume`, `rbk serve`'s intake and its scheduler
//! all choose the runbook, bind its inputs, name the run and digest its program here, and
//! execute it through [`execute`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::ItemKind;
use rbk_compiler::types::Ty;
use rbk_compiler::Analysis;

use crate::approval::{Approver, Environment};
use crate::dry_run::DryRunActions;
use crate::engine::{self, Resume, RunReport, RunStatus, Services};
use crate::journal::{EventKind, FanOut, Journal, JournalError};
use crate::store::{
    FencedJournal, Lease, RunLimits, RunOwner, RunRecord, RunState, RunTrigger, Store, StoreError,
    StoreJournal,
};
use crate::value::{InputError, StoredValueError};
use crate::{Actions, BoxFuture, Value};

/// Where a run's inputs come from.
#[derive(Clone, Copy, Debug)]
pub enum InputSource<'a> {
    /// `NAME=VALUE` pairs, as `--input` gives them.
    Pairs(&'a [String]),
    /// A JSON object of name → value (a schedule's or a webhook's mapping, a stored run):
    /// strings are read as `--input` reads text, numbers, booleans, lists and null as such.
    Json(&'a serde_json::Value),
}

pub struct StartSpec<'a> {
    pub program: &'a Analysis,
    /// The runbook file (a root of `program`).
    pub file: &'a Path,
    /// The runbook to start; `None` when the file defines only one.
    pub runbook: Option<&'a str>,
    pub inputs: InputSource<'a>,
    /// A key may be left empty (a start by hand, also with `--alert`): it becomes the run id.
    pub trigger: RunTrigger,
    /// The runbook's typed `alert`.
    pub alert: Option<Value>,
    pub started_by: String,
    pub dry_run: bool,
    /// A `mode shadow` runbook started by an alert or a schedule.
    pub shadow: bool,
}

pub struct PreparedRun {
    /// `running` and owned by this process, ready for `Store::start_run`; `Store::ingest`
    /// records it `queued` and unowned instead.
    pub record: RunRecord,
    pub request: engine::RunRequest,
    pub limits: RunLimits,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// No runbook by that name, or none at all, or several and none chosen.
    NoSuchRunbook(String),
    /// An input is unknown, missing or not of its type.
    Input(String),
    /// The alert does not match the runbook's trigger.
    NotTriggered(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::NoSuchRunbook(message)
            | StartError::Input(message)
            | StartError::NotTriggered(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for StartError {}

/// Chooses the runbook, binds its typed inputs, names the run and digests its program.
pub fn prepare(spec: StartSpec<'_>) -> Result<PreparedRun, StartError> {
    let program = spec.program;
    let (module, item, name) = choose_runbook(program, spec.file, spec.runbook)?;
    let inputs = bind_inputs(program, module, item, &name, spec.inputs)?;
    let run_id = new_run_id();
    let now = now_ms();
    let mut trigger = spec.trigger;
    // A start with no occurrence of its own (by hand, also `rbk run --alert`) never collides.
    if trigger.key.is_empty() {
        trigger.key = run_id.clone();
    }
    let record = RunRecord {
        id: run_id.clone(),
        // Absolute, so `rbk resume` and other processes find it from any directory.
        file: std::fs::canonicalize(spec.file)
            .unwrap_or_else(|_| spec.file.to_path_buf())
            .display()
            .to_string(),
        runbook: name.clone(),
        started_by: spec.started_by.clone(),
        started_at: now,
        // Running in this process, as `rbk run` does; `Store::ingest` records it queued and
        // unowned instead, for a worker to claim.
        state: RunState::Running,
        summary: String::new(),
        digest: module_digest(program, module),
        inputs: inputs_json(&inputs),
        limit_key: String::new(),
        head: None,
        owner: Some(RunOwner::this_process()),
        dry_run: spec.dry_run,
        trigger,
        alert: spec.alert.as_ref().map(Value::to_stored),
        shadow: spec.shadow,
        coalesce_key: None,
        held: false,
        ended_at: None,
    };
    let request = engine::RunRequest {
        module,
        runbook: name,
        inputs,
        alert: spec.alert,
        started_by: spec.started_by,
        run_id,
        started_at: now,
        resume: None,
        dry_run: spec.dry_run,
        shadow: spec.shadow,
    };
    Ok(PreparedRun {
        record,
        request,
        limits: RunLimits::of(program, module, item),
    })
}

/// The request that executes a stored run (one a worker claimed): its runbook in `program`,
/// its inputs and alert as recorded, and `resume` when it had begun (see [`resume_request`]).
pub fn request_for(
    program: &Analysis,
    record: &RunRecord,
    resume: Option<Resume>,
) -> Result<engine::RunRequest, StartError> {
    let (module, item, name) = choose_runbook(
        program,
        Path::new(&record.file),
        Some(record.runbook.as_str()),
    )?;
    // A resumed run gets its inputs back from the journal, as `rbk resume` does.
    let inputs = if resume.is_some() {
        BTreeMap::new()
    } else {
        bind_inputs(
            program,
            module,
            item,
            &name,
            InputSource::Json(&record.inputs),
        )?
    };
    let alert = record
        .alert
        .as_ref()
        .map(|stored| {
            Value::from_stored(stored, &|name| std::env::var(name).ok())
                .map_err(|e| StartError::Input(format!("the run's alert cannot be read: {e}")))
        })
        .transpose()?;
    Ok(engine::RunRequest {
        module,
        runbook: name,
        inputs,
        alert,
        started_by: record.started_by.clone(),
        run_id: record.id.clone(),
        // The engine's clock (`now()`, every event's time) counts from here: a run taken over
        // later goes on from the present, or its new events would be dated before the
        // takeover that let them be written.
        started_at: if resume.is_some() {
            now_ms()
        } else {
            record.started_at
        },
        resume,
        dry_run: record.dry_run,
        shadow: record.shadow,
    })
}

/// Why a claimed run cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A journal with a removed or altered tail would make a step run twice.
    #[error(
        "run {run_id} is not resumed: its journal does not verify ({}); see rbk log {run_id} --verify",
        findings.join("; ")
    )]
    NotVerified {
        run_id: String,
        findings: Vec<String>,
    },
    /// A value the journal bound (a `let`, a secret) cannot be read back.
    #[error(transparent)]
    Stored(#[from] StoredValueError),
}

/// How a claimed run goes on, by `rbk resume`'s rules: `None` when it never began (it starts
/// from its first step), else what its journal says was done (finished steps never run again;
/// the step in flight runs again if it only reads, else it is in doubt and a human decides).
/// A journal that does not verify is refused: a removed tail would make a step run twice.
pub async fn resume_request(
    store: &dyn Store,
    record: &RunRecord,
    resumed_by: &str,
    environment: &dyn Environment,
) -> Result<Option<Resume>, ResumeError> {
    let events = store.events(&record.id).await?;
    let answers = store.run_answers(&record.id).await?;
    let audit = crate::audit::verify_run(record, &events, &answers);
    if !audit.is_intact() {
        return Err(ResumeError::NotVerified {
            run_id: record.id.clone(),
            findings: audit.findings,
        });
    }
    let began = events
        .iter()
        .any(|e| matches!(e.kind, EventKind::RunStarted { .. }));
    if !began {
        return Ok(None);
    }
    let mut resume = Resume::from_journal(&events, environment)?;
    resume.resumed_by = resumed_by.to_string();
    Ok(Some(resume))
}

/// Executes a prepared or claimed run: the journal goes to the store (fenced by `lease` when
/// a worker holds one) and to `extra_journal` (a live display); approvals go through
/// `approver`; `env()` and `secret()` read `environment`; a shadow run's write and destructive
/// actions are only reported; the final state is saved. A denied or timed-out run ends `failed`, its summary says why. `Err` when
/// the run could not run or its outcome could not be saved (or the lease was lost).
// Each collaborator is named at the call, as `Services` names them for the engine.
#[allow(clippy::too_many_arguments)]
pub async fn execute(
    program: &Analysis,
    store: Arc<dyn Store>,
    request: engine::RunRequest,
    lease: Option<Lease>,
    actions: &dyn Actions,
    approver: &dyn Approver,
    environment: &dyn Environment,
    extra_journal: Option<&dyn Journal>,
) -> Result<RunReport, ExecuteError> {
    let run_id = request.run_id.clone();
    let writer = RunWriter {
        store: store.as_ref(),
        lease: lease.clone(),
        run_id: run_id.clone(),
    };
    let tracked = StateTracking { writer: &writer };
    let mut journals: Vec<&dyn Journal> = vec![&tracked];
    if let Some(extra) = extra_journal {
        journals.push(extra);
    }
    let journal = FanOut(journals);
    let shadow_actions = DryRunActions::new(actions, &program.types.named_types);
    let actions: &dyn Actions = if request.shadow && !request.dry_run {
        &shadow_actions
    } else {
        actions
    };
    let services = Services {
        actions,
        approver,
        journal: &journal,
        environment,
    };
    let report = match engine::run(program, services, request).await {
        Ok(report) => report,
        Err(error) => {
            if error.is_lease_lost() {
                return Err(ExecuteError::Run(error));
            }
            let message = error.to_string();
            // The journal ends with the state the record gets, or `rbk log --verify` would
            // rightly call its tail missing.
            let finished = EventKind::RunFinished {
                status: RunState::Failed.as_str().into(),
                summary: message.clone(),
            };
            let _ = writer.append(now_ms(), finished).await;
            let _ = writer.set_state(RunState::Failed, &message).await;
            return Err(ExecuteError::Run(error));
        }
    };
    let summary = report
        .fatal
        .clone()
        .unwrap_or_else(|| report.summary.clone());
    let state = final_state(report.status);
    if let Err(error) = writer.set_state(state, &summary).await {
        // A run whose outcome is not in the store did not happen as far as anyone can later
        // tell: never report it as a success.
        return Err(ExecuteError::OutcomeNotSaved {
            status: report.status,
            source: error,
        });
    }
    Ok(report)
}

/// Why [`execute`] has no report to give.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    /// The run could not start or go on (its journal failed, the lease was lost).
    #[error(transparent)]
    Run(#[from] crate::engine::RunError),
    /// The run ended but the store does not record how.
    #[error(
        "the run {} but its final state could not be saved, so the store does not show it: {source}",
        status.as_str()
    )]
    OutcomeNotSaved {
        status: RunStatus,
        #[source]
        source: JournalError,
    },
}

impl ExecuteError {
    /// Another worker holds the run now: this one must stop without writing its outcome.
    pub fn is_lease_lost(&self) -> bool {
        match self {
            ExecuteError::Run(error) => error.is_lease_lost(),
            ExecuteError::OutcomeNotSaved { source, .. } => {
                matches!(source, JournalError::LeaseLost { .. })
            }
        }
    }
}

/// Keeps a worker's lease alive while it executes the run: renews it every third of
/// `lease_ms`, and returns once it is lost (reaped, taken by another worker, ended) or cannot
/// be renewed before it would expire. Run it beside [`execute`] (`tokio::select!`): once it
/// returns, the run's next journal write fails with "lease lost" anyway, so nothing more is
/// done under a lease the worker no longer holds.
pub async fn hold_lease(store: &dyn Store, lease: &Lease, lease_ms: u64) {
    let every = std::time::Duration::from_millis((lease_ms / 3).max(1));
    let mut renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        match store.heartbeat(lease, lease_ms).await {
            Ok(true) => renewed = tokio::time::Instant::now(),
            Ok(false) => return,
            // A store that fails now may answer at the next beat, while the lease still runs.
            Err(_) if renewed.elapsed() + every < std::time::Duration::from_millis(lease_ms) => {}
            Err(_) => return,
        }
    }
}

/// The state a finished run is recorded in.
pub fn final_state(status: RunStatus) -> RunState {
    match status {
        RunStatus::Succeeded => RunState::Succeeded,
        RunStatus::Failed | RunStatus::Denied | RunStatus::TimedOut => RunState::Failed,
    }
}

/// Writes a run's journal and state, under its lease when it has one.
struct RunWriter<'s> {
    store: &'s dyn Store,
    lease: Option<Lease>,
    run_id: String,
}

impl RunWriter<'_> {
    async fn append(&self, at: i64, kind: EventKind) -> Result<(), JournalError> {
        match &self.lease {
            Some(lease) => {
                FencedJournal {
                    store: self.store,
                    lease: lease.clone(),
                }
                .append(at, kind)
                .await
            }
            None => {
                StoreJournal {
                    store: self.store,
                    run_id: self.run_id.clone(),
                }
                .append(at, kind)
                .await
            }
        }
    }

    async fn set_state(&self, state: RunState, summary: &str) -> Result<(), JournalError> {
        match &self.lease {
            Some(lease) => match self.store.set_state_fenced(lease, state, summary).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(lease.lost()),
                Err(error) => Err(JournalError::Store(error)),
            },
            None => self
                .store
                .set_state(&self.run_id, state, summary)
                .await
                .map_err(JournalError::Store),
        }
    }
}

/// Keeps the record's state with the journal while the run goes: `waiting` while it waits
/// for an approval, `in_doubt` while a human decides about a step that was in flight, then
/// `running` again. `rbk runs` shows it.
struct StateTracking<'w, 's> {
    writer: &'w RunWriter<'s>,
}

impl Journal for StateTracking<'_, '_> {
    fn append<'a>(&'a self, at: i64, kind: EventKind) -> BoxFuture<'a, Result<(), JournalError>> {
        Box::pin(async move {
            let next = match &kind {
                EventKind::ApprovalRequested { step, .. } if step.contains('#') => {
                    Some(RunState::InDoubt)
                }
                EventKind::ApprovalRequested { .. } => Some(RunState::Waiting),
                EventKind::StepInDoubt { .. } => Some(RunState::InDoubt),
                EventKind::ApprovalGranted { .. }
                | EventKind::ApprovalDenied { .. }
                | EventKind::ApprovalTimedOut { .. }
                | EventKind::StepMarkedDone { .. } => Some(RunState::Running),
                _ => None,
            };
            self.writer.append(at, kind).await?;
            if let Some(state) = next {
                self.writer.set_state(state, "").await?;
            }
            Ok(())
        })
    }
}

/// The root module of `file` in `program` and its runbook (item index and name): the one
/// named, or the only one.
pub fn choose_runbook(
    program: &Analysis,
    file: &Path,
    wanted: Option<&str>,
) -> Result<(ModuleId, usize, String), StartError> {
    let same_file = |id: &ModuleId| {
        let path = &program.file(program.module(*id).file).path;
        path == file
            || std::fs::canonicalize(path)
                .ok()
                .is_some_and(|p| Some(p) == std::fs::canonicalize(file).ok())
    };
    let root = program
        .roots
        .iter()
        .copied()
        .find(same_file)
        .or_else(|| (program.roots.len() == 1).then(|| program.roots[0]))
        .ok_or_else(|| {
            StartError::NoSuchRunbook(format!("{} is not among the checked files", file.display()))
        })?;
    let module = program.module(root);
    let runbooks: Vec<(usize, &str)> = module
        .ast
        .items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match &item.kind {
            ItemKind::Runbook(r) => Some((i, r.name.name.as_str())),
            _ => None,
        })
        .collect();
    let chosen = match (wanted, runbooks.as_slice()) {
        (Some(name), _) => runbooks.iter().find(|(_, n)| *n == name).copied(),
        (None, [only]) => Some(*only),
        _ => None,
    };
    let Some((item, name)) = chosen else {
        let names: Vec<&str> = runbooks.iter().map(|(_, n)| *n).collect();
        return Err(StartError::NoSuchRunbook(match wanted {
            Some(name) => format!(
                "{} has no runbook `{name}`; it has: {}",
                file.display(),
                names.join(", ")
            ),
            None if names.is_empty() => format!("{} defines no runbook", file.display()),
            None => format!(
                "{} defines several runbooks; pick one: {}",
                file.display(),
                names
                    .iter()
                    .map(|n| format!("{}::{n}", file.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }));
    };
    Ok((root, item, name.to_string()))
}

/// The runbook's inputs from `source`, each of its declared type; every required one given.
fn bind_inputs(
    program: &Analysis,
    module: ModuleId,
    item: usize,
    runbook: &str,
    source: InputSource<'_>,
) -> Result<BTreeMap<String, Value>, StartError> {
    let declared = program
        .types
        .inputs
        .get(&(module, item))
        .cloned()
        .unwrap_or_default();
    let unknown = |name: &str| {
        let names: Vec<&str> = declared.iter().map(|i| i.name.as_str()).collect();
        StartError::Input(format!(
            "runbook `{runbook}` has no input `{name}`; its inputs are: {}",
            names.join(", ")
        ))
    };
    let mut inputs = BTreeMap::new();
    match source {
        InputSource::Pairs(pairs) => {
            for pair in pairs {
                let Some((name, raw)) = pair.split_once('=') else {
                    return Err(StartError::Input(format!(
                        "--input `{pair}` should be NAME=VALUE"
                    )));
                };
                let input = declared
                    .iter()
                    .find(|i| i.name == name)
                    .ok_or_else(|| unknown(name))?;
                let value = Value::parse_input(raw, &input.ty)
                    .map_err(|message| StartError::Input(format!("--input {name}: {message}")))?;
                inputs.insert(name.to_string(), value);
            }
        }
        InputSource::Json(json) => {
            let object = match json {
                serde_json::Value::Object(object) => object.clone(),
                serde_json::Value::Null => serde_json::Map::new(),
                other => {
                    return Err(StartError::Input(format!(
                        "inputs must be a JSON object of name to value, not {other}"
                    )))
                }
            };
            for (name, raw) in &object {
                let input = declared
                    .iter()
                    .find(|i| &i.name == name)
                    .ok_or_else(|| unknown(name))?;
                let value = json_input(raw, &input.ty)
                    .map_err(|message| StartError::Input(format!("input {name}: {message}")))?;
                inputs.insert(name.clone(), value);
            }
        }
    }
    if let Some(missing) = declared
        .iter()
        .find(|i| !i.has_default && !inputs.contains_key(&i.name))
    {
        return Err(StartError::Input(match source {
            InputSource::Pairs(_) => format!(
                "input `{}` ({}) is required: give it with --input {}=VALUE",
                missing.name, missing.ty, missing.name
            ),
            InputSource::Json(_) => format!(
                "input `{}` ({}) is required but the mapping does not give it",
                missing.name, missing.ty
            ),
        }));
    }
    Ok(inputs)
}

/// Why a JSON value is not an input of its declared type.
#[derive(Debug, thiserror::Error)]
enum JsonInputError {
    #[error(transparent)]
    Text(#[from] InputError),
    #[error("{0} is not a whole number")]
    NotWhole(serde_json::Number),
    #[error("{0} is not a number")]
    NotANumber(serde_json::Number),
    #[error("{raw} is not a {ty}")]
    Mismatch { raw: serde_json::Value, ty: Ty },
}

/// A JSON value as an input of type `ty`: text is read as `--input` reads it.
fn json_input(raw: &serde_json::Value, ty: &Ty) -> Result<Value, JsonInputError> {
    use serde_json::Value as Json;
    match (raw, ty) {
        (Json::Null, Ty::Optional(_)) => Ok(Value::None),
        (raw, Ty::Optional(inner)) => json_input(raw, inner),
        (Json::String(text), Ty::Str) => Ok(Value::str(text.as_str())),
        (Json::String(text), ty) => Ok(Value::parse_input(text, ty)?),
        (Json::Bool(b), Ty::Bool) => Ok(Value::Bool(*b)),
        (Json::Number(n), Ty::Int) => n
            .as_i64()
            .map(Value::Int)
            .ok_or_else(|| JsonInputError::NotWhole(n.clone())),
        (Json::Number(n), Ty::Float) => n
            .as_f64()
            .map(Value::Float)
            .ok_or_else(|| JsonInputError::NotANumber(n.clone())),
        (Json::Number(n), Ty::Str) => Ok(Value::str(n.to_string())),
        (Json::Bool(b), Ty::Str) => Ok(Value::str(b.to_string())),
        (Json::Array(items), Ty::List(element)) => items
            .iter()
            .map(|item| json_input(item, element))
            .collect::<Result<_, _>>()
            .map(Value::List),
        (raw, ty) => Err(JsonInputError::Mismatch {
            raw: raw.clone(),
            ty: ty.clone(),
        }),
    }
}

fn inputs_json(inputs: &BTreeMap<String, Value>) -> serde_json::Value {
    serde_json::Value::Object(
        inputs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    )
}

/// The digest of the program a run of `program`'s first root executes: see [`module_digest`].
pub fn program_digest(program: &Analysis) -> String {
    match program.roots.first() {
        Some(root) => module_digest(program, *root),
        None => crate::journal::text_digest(""),
    }
}

/// SHA-256 over the text of `module`'s file and of every module it uses, directly or not
/// (the standard library's included): a change to any of them voids earlier approvals. A file
/// that uses nothing digests as its text alone, as rbk did before it digested modules.
pub fn module_digest(program: &Analysis, module: ModuleId) -> String {
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut pending = vec![module];
    while let Some(next) = pending.pop() {
        for import in program.module(next).names.imports.values() {
            if let Some(id) = import.module {
                if id != module && used.insert(id.0 as usize) {
                    pending.push(id);
                }
            }
        }
    }
    let root_text = &program.file(program.module(module).file).text;
    if used.is_empty() {
        return crate::journal::text_digest(root_text);
    }
    let mut parts: Vec<String> = used
        .iter()
        .map(|&id| {
            let module = &program.modules[id];
            crate::journal::text_digest(&program.file(module.file).text)
        })
        .collect();
    parts.sort();
    let mut text = crate::journal::text_digest(root_text);
    for part in parts {
        text.push('\n');
        text.push_str(&part);
    }
    crate::journal::text_digest(&text)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `r-20261125-160102-3f2a0007`: sortable by time; the last part is this process's mark (a
/// hash of its id and start) and a counter, so ids never repeat within a process and two
/// processes collide only if their marks do and they start the same count in the same second.
pub fn new_run_id() -> String {
    use sha2::Digest;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::OnceLock;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    static MARK: OnceLock<String> = OnceLock::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mark = MARK.get_or_init(|| {
        let mut hasher = sha2::Sha256::new();
        hasher.update(now.as_nanos().to_le_bytes());
        hasher.update(std::process::id().to_le_bytes());
        hasher
            .finalize()
            .iter()
            .take(2)
            .map(|b| format!("{b:02x}"))
            .collect()
    });
    let stamp = crate::value::format_time(now.as_millis() as i64);
    let compact: String = stamp.chars().filter(|c| c.is_ascii_digit()).collect();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff;
    format!("r-{}-{}-{mark}{count:04x}", &compact[..8], &compact[8..14])
}

//! Where runs live: their records, hash-chained journals, approval answers, and the claims that
//! enforce `concurrency` and `rate` across processes. One trait, two backends: SQLite (the
//! embedded default, `.rbk/rbk.db`) and PostgreSQL (`postgres://…`, shared by many workers).

use serde::{Deserialize, Serialize};

use crate::action::BoxFuture;
use crate::journal::{Event, EventKind};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// A unique id, e.g. `r-20261125-153000-3f2a`.
    pub id: String,
    /// The file the runbook came from, as given.
    pub file: String,
    pub runbook: String,
    pub started_by: String,
    /// Milliseconds since the Unix epoch.
    pub started_at: i64,
    /// `running`, `waiting`, `succeeded`, `failed`, `denied`, `timed out`, `suppressed`.
    pub status: String,
    pub summary: String,
    /// SHA-256 of the compiled program text the run executes; approvals are bound to it.
    pub digest: String,
    /// Inputs as JSON, secrets redacted.
    pub inputs: serde_json::Value,
    /// The `concurrency ... per` / `rate ... by` key, `""` when the runbook has none.
    pub limit_key: String,
    // The audit anchor (kept together so that other record fields merge cleanly).
    /// The journal's head as the store wrote it with the last event; `None` for runs recorded
    /// by an rbk that did not anchor heads. Stores set it; what a caller passes is ignored.
    #[serde(default)]
    pub head: Option<JournalHead>,
    // Who executes the run (kept together: resume safety and dead runs' slots).
    /// The process executing the run (the last one to start or resume it); `None` in records
    /// written before rbk recorded it.
    #[serde(default)]
    pub owner: Option<RunOwner>,
    /// A `--dry-run`: it takes no `concurrency` or `rate` slot and is never resumed.
    #[serde(default)]
    pub dry_run: bool,
}

/// How far a run's journal goes: the number of events and the hash of the last one (`""` for
/// none). Written in the same transaction as each event, it makes a removed tail visible; kept
/// outside the store (`rbk log --export`), it makes a rewritten journal visible too.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalHead {
    pub events: u64,
    pub hash: String,
}

impl RunRecord {
    /// The status to show: a run that has not ended but whose process is known to be dead is
    /// `interrupted` (resume it with `rbk resume`).
    pub fn shown_status(&self) -> &str {
        let ended = FINAL_STATES.contains(&self.status.as_str());
        match &self.owner {
            Some(owner) if !ended && owner.liveness() == Liveness::Dead => "interrupted",
            _ => &self.status,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalAnswer {
    pub run_id: String,
    pub step: String,
    pub user: String,
    pub approve: bool,
    pub comment: Option<String>,
    /// `cli`, `terminal`, `slack`, `http`.
    pub channel: String,
    pub at: i64,
    /// The digest of the step's plan (program digest plus resolved arguments) the answer is for.
    pub digest: String,
}

/// The outcome of asking to start a run under the runbook's limits.
#[derive(Clone, Debug, PartialEq)]
pub enum StartDecision {
    Started,
    /// Not started: `concurrency` or `rate` would be exceeded. The run is recorded as
    /// `suppressed` with this reason.
    Suppressed(String),
}

/// Limits declared by the runbook, evaluated for this run.
/// Why a run cannot be taken over by a new process (`rbk resume`).
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimRefusal {
    /// There is no such run.
    Missing,
    /// It ended with this status.
    Ended(String),
    /// It was a dry run: resuming it would perform what it only reported.
    DryRun,
    /// Its process still runs.
    Alive(RunOwner),
    /// Its process is on another host (or was not recorded), so rbk cannot tell whether it
    /// still runs; the caller did not ask to take it over anyway.
    Unknown(Option<RunOwner>),
    /// `concurrency` would be exceeded: another run took the slot this one held.
    SlotTaken(String),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct RunLimits {
    /// At most this many runs of the same runbook and key in a non-final state.
    pub concurrency: Option<u32>,
    /// At most `.0` runs of the same runbook and key started within the last `.1` milliseconds.
    pub rate: Option<(u32, u64)>,
}

impl RunLimits {
    /// The runbook's `concurrency N` and `rate N per D`, when written as literals. Keys
    /// (`per`/`by`) come from alerts, which only alert-triggered starts have.
    pub fn of(
        program: &rbk_compiler::Analysis,
        module: rbk_compiler::resolve::ModuleId,
        item: usize,
    ) -> RunLimits {
        use rbk_compiler::syntax::{ClauseKind, ExprKind, ItemKind};
        let mut limits = RunLimits::default();
        let ItemKind::Runbook(runbook) = &program.module(module).ast.items[item].kind else {
            return limits;
        };
        for clause in &runbook.clauses {
            match &clause.kind {
                ClauseKind::Concurrency { limit, .. } => {
                    if let ExprKind::Int(n) = limit.kind {
                        limits.concurrency = u32::try_from(n).ok();
                    }
                }
                ClauseKind::Rate { limit, window, .. } => {
                    if let (ExprKind::Int(n), ExprKind::Duration(ms)) = (&limit.kind, &window.kind)
                    {
                        limits.rate = u32::try_from(*n).ok().map(|n| (n, *ms));
                    }
                }
                _ => {}
            }
        }
        limits
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Final states: a run in one of these never changes again.
pub const FINAL_STATES: &[&str] = &["succeeded", "failed", "denied", "timed out", "suppressed"];

pub trait Store: Send + Sync {
    /// Records a new run, atomically checking `limits` against the other runs of the same
    /// runbook and `limit_key` (across processes). A suppressed run is recorded too.
    fn start_run<'a>(
        &'a self,
        run: &'a RunRecord,
        limits: &'a RunLimits,
    ) -> BoxFuture<'a, Result<StartDecision, StoreError>>;
    /// Makes `owner` the process executing the run, atomically checking that the run may
    /// continue: not ended, not a dry run, its previous process not alive (nor of unknown
    /// liveness, unless `takeover`), and its `concurrency` slot not taken by another run.
    fn claim_run<'a>(
        &'a self,
        run_id: &'a str,
        owner: &'a RunOwner,
        limits: &'a RunLimits,
        takeover: bool,
    ) -> BoxFuture<'a, Result<Result<(), ClaimRefusal>, StoreError>>;
    /// Appends an event to the run's journal, computing `seq`, `prev_hash` and `hash`
    /// atomically (two writers never get the same `seq`), and moves the run's anchored head.
    fn append_event<'a>(
        &'a self,
        run_id: &'a str,
        at: i64,
        kind: &'a EventKind,
    ) -> BoxFuture<'a, Result<Event, StoreError>>;
    fn events<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Vec<Event>, StoreError>>;
    fn set_status<'a>(
        &'a self,
        run_id: &'a str,
        status: &'a str,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// A run by id or by a unique prefix of its id.
    fn run<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>, StoreError>>;
    /// The most recent runs first.
    fn runs<'a>(&'a self, limit: usize) -> BoxFuture<'a, Result<Vec<RunRecord>, StoreError>>;
    /// Records an answer, and journals it (`ApprovalAnswered`) in the same transaction; a second
    /// answer by the same user for the same run and step replaces the first row.
    fn record_answer<'a>(
        &'a self,
        answer: &'a ApprovalAnswer,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn answers<'a>(
        &'a self,
        run_id: &'a str,
        step: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApprovalAnswer>, StoreError>>;
    /// Every answer row of a run, whatever the step: what `rbk log --verify` checks against
    /// the journal.
    fn run_answers<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApprovalAnswer>, StoreError>>;
}

mod common;
pub mod memory;
pub mod owner;
pub mod postgres;
pub mod sqlite;

pub use memory::MemoryStore;
pub use owner::{Liveness, RunOwner};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Writes a run's journal into a store.
pub struct StoreJournal<'s> {
    pub store: &'s dyn Store,
    pub run_id: String,
}

impl crate::journal::Journal for StoreJournal<'_> {
    fn append<'a>(&'a self, at: i64, kind: EventKind) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.store
                .append_event(&self.run_id, at, &kind)
                .await
                .map(|_| ())
                .map_err(|e| e.0)
        })
    }
}

//! Where runs live: their records, hash-chained journals, approval answers, and the claims that
//! enforce `concurrency` and `rate` across processes. One trait, two backends: SQLite (the
//! embedded default, `.rbk/rbk.db`) and PostgreSQL (`postgres://…`, shared by many workers).

use std::time::Duration;

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
    pub state: RunState,
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
    // What started the run (the queue's columns).
    #[serde(default)]
    pub trigger: RunTrigger,
    /// The alert the run sees as `alert`, as JSON; `None` for runs no alert started.
    #[serde(default)]
    pub alert: Option<serde_json::Value>,
    /// A `mode shadow` run: it goes through every step with write and destructive actions
    /// only reported, as `--dry-run` does.
    #[serde(default)]
    pub shadow: bool,
    /// The key of `concurrency N per KEY`: runs with the same runbook and key share N slots.
    #[serde(default)]
    pub coalesce_key: Option<String>,
    /// Held by the storm rule: it waits for a human instead of starting by itself.
    #[serde(default)]
    pub held: bool,
    /// When it reached a final state (ms since the epoch); `None` while active, and in runs
    /// recorded before rbk kept it.
    #[serde(default)]
    pub ended_at: Option<i64>,
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
        // A queued run is the queue's business, not a process's: only a run a process was
        // executing is interrupted by its death.
        let executing = matches!(
            self.state,
            RunState::Running | RunState::Waiting | RunState::InDoubt
        );
        match &self.owner {
            Some(owner) if executing && owner.liveness() == Liveness::Dead => "interrupted",
            _ => self.state.as_str(),
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
    /// The id the channel gave the click or event (Slack `action_ts`, an event id): a second
    /// answer with the same (channel, external id), on any run, is a re-delivery and is not
    /// recorded.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Where it came from ("slack U0123ABCD", "web 127.0.0.1 (token)"): journaled with it.
    #[serde(default)]
    pub from: Option<String>,
    /// The values an approval gave for the gate's `ask` fields: journaled with it (the journal,
    /// not the answers table, is what the run reads them from).
    #[serde(default)]
    pub values: crate::asked_values::GivenValues,
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
    /// It ended in this state.
    Ended(RunState),
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

/// Which store an error comes from: the first words of its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Memory => "memory store",
            Backend::Sqlite => "sqlite store",
            Backend::Postgres => "postgres store",
        })
    }
}

/// Why a store could not do what it was asked, by kind: the database failing, a run that is not
/// there or is there already, a state change the run's history forbids, a file that is no longer
/// the one opened. The driver's report is kept as text (`detail`) because a journal error is
/// masked for secrets before it is shown or stored, and the texts are the messages users read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The database (or encoding what goes into it) failed while doing `context`.
    #[error("{backend}: {context}: {detail}")]
    Database {
        backend: Backend,
        context: String,
        detail: String,
    },
    /// No run has this id; `backend` is `None` when a check shared by the stores says it.
    #[error("{}no run {run_id}", backend.map(|b| format!("{b}: ")).unwrap_or_default())]
    NoSuchRun {
        backend: Option<Backend>,
        run_id: String,
    },
    /// A run with this id already exists.
    #[error("{backend}: run {run_id} exists already")]
    RunExists { backend: Backend, run_id: String },
    /// The runbook already has a run for this trigger key.
    #[error("{backend}: runbook {runbook} already has a run for {key}")]
    TriggerTaken {
        backend: Backend,
        runbook: String,
        key: String,
    },
    /// A database constraint refused the run: its id or its (runbook, trigger key) is taken.
    #[error(
        "{backend}: run {run_id} already exists (or runbook {runbook} already has a run for {key:?})"
    )]
    RunOrTriggerExists {
        backend: Backend,
        run_id: String,
        runbook: String,
        key: String,
    },
    /// A run that ended cannot change to another state.
    #[error("run {run_id} is already {current} and cannot become {wanted}")]
    AlreadyEnded {
        run_id: String,
        current: RunState,
        wanted: RunState,
    },
    /// A check shared by the stores refused, told by the store that asked it.
    #[error("{backend}: {refusal}")]
    Refused {
        backend: Backend,
        refusal: Box<StoreError>,
    },
    /// A run id prefix that matches more than one run.
    #[error(
        "run id prefix {prefix:?} is ambiguous: it matches more than one run ({}, ...); give more of the id",
        matches.join(", ")
    )]
    AmbiguousPrefix {
        prefix: String,
        matches: Vec<String>,
    },
    /// A journal sequence number the database cannot hold.
    #[error("{backend}: seq {seq} out of range")]
    SeqOutOfRange { backend: Backend, seq: u64 },
    /// The SQLite file was deleted or replaced after it was opened.
    #[error(
        "sqlite store: {} was deleted or replaced while rbk was using it; what is written now would be lost",
        path.display()
    )]
    FileReplaced { path: std::path::PathBuf },
    /// The SQLite file was made read-only after it was opened.
    #[error("sqlite store: {} was made read-only; rbk does not write to it", path.display())]
    FileReadOnly { path: std::path::PathBuf },
    /// The database was written by a newer rbk.
    #[error(
        "sqlite store: schema version {found} is newer than this rbk understands ({understood}); upgrade rbk"
    )]
    SchemaTooNew { found: i64, understood: i64 },
}

impl StoreError {
    /// The failure of `context` in `backend`, with the driver's (or encoder's) report.
    pub(crate) fn database(
        backend: Backend,
        context: &str,
        detail: impl std::fmt::Display,
    ) -> StoreError {
        StoreError::Database {
            backend,
            context: context.to_string(),
            detail: detail.to_string(),
        }
    }

    /// The same error with every secret in its texts masked: it is shown and stored.
    pub fn masked(self, secrets: &crate::secrets::SecretMask) -> StoreError {
        let mask = |text: String| secrets.mask(&text);
        match self {
            StoreError::Database {
                backend,
                context,
                detail,
            } => StoreError::Database {
                backend,
                context: mask(context),
                detail: mask(detail),
            },
            StoreError::NoSuchRun { backend, run_id } => StoreError::NoSuchRun {
                backend,
                run_id: mask(run_id),
            },
            StoreError::RunExists { backend, run_id } => StoreError::RunExists {
                backend,
                run_id: mask(run_id),
            },
            StoreError::TriggerTaken {
                backend,
                runbook,
                key,
            } => StoreError::TriggerTaken {
                backend,
                runbook: mask(runbook),
                key: mask(key),
            },
            StoreError::RunOrTriggerExists {
                backend,
                run_id,
                runbook,
                key,
            } => StoreError::RunOrTriggerExists {
                backend,
                run_id: mask(run_id),
                runbook: mask(runbook),
                key: mask(key),
            },
            StoreError::AlreadyEnded {
                run_id,
                current,
                wanted,
            } => StoreError::AlreadyEnded {
                run_id: mask(run_id),
                current,
                wanted,
            },
            StoreError::Refused { backend, refusal } => StoreError::Refused {
                backend,
                refusal: Box::new(refusal.masked(secrets)),
            },
            StoreError::AmbiguousPrefix { prefix, matches } => StoreError::AmbiguousPrefix {
                prefix: mask(prefix),
                matches: matches.into_iter().map(mask).collect(),
            },
            StoreError::FileReplaced { path } => StoreError::FileReplaced {
                path: mask(path.to_string_lossy().into_owned()).into(),
            },
            StoreError::FileReadOnly { path } => StoreError::FileReadOnly {
                path: mask(path.to_string_lossy().into_owned()).into(),
            },
            error @ (StoreError::SeqOutOfRange { .. } | StoreError::SchemaTooNew { .. }) => error,
        }
    }
}

/// Which runs `Store::list_runs` returns, most recent first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunQuery {
    pub limit: usize,
    pub state: Option<RunState>,
    pub runbook: Option<String>,
}

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
    /// Moves the run to `state` (a final state also records when it ended). A final state
    /// never changes again; setting the same final state and summary again is allowed.
    fn set_state<'a>(
        &'a self,
        run_id: &'a str,
        state: RunState,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// A run by id or by a unique prefix of its id.
    fn run<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>, StoreError>>;
    /// The most recent runs first, filtered by state and runbook.
    fn list_runs<'a>(
        &'a self,
        query: &'a RunQuery,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>, StoreError>>;
    /// The most recent runs first.
    fn runs<'a>(&'a self, limit: usize) -> BoxFuture<'a, Result<Vec<RunRecord>, StoreError>> {
        Box::pin(async move {
            let query = RunQuery {
                limit,
                ..RunQuery::default()
            };
            self.list_runs(&query).await
        })
    }
    /// Records an answer, and journals it (`ApprovalAnswered`) in the same transaction; a second
    /// answer by the same user for the same run and step replaces the first row (the decision
    /// path, [`crate::decisions::decide`], refuses a second vote before it gets here). A parked
    /// run (see [`Store::requeue_parked`]) is queued again in that transaction.
    /// `false`, with nothing written, when an answer with the same (channel, external id) was
    /// recorded before, on any run: a re-delivered click or event.
    fn record_answer<'a>(
        &'a self,
        answer: &'a ApprovalAnswer,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Keeps a small value for the run under `key`, replacing what was there: e.g. where a
    /// chat message about a step was posted ("slack:STEP"), to update it later.
    fn save_notice<'a>(
        &'a self,
        run_id: &'a str,
        key: &'a str,
        value: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The value saved under `key` for the run, if any.
    fn notice<'a>(
        &'a self,
        run_id: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, StoreError>>;
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

    // The queue (`rbk serve`): see queue.rs for the rules.

    /// Records a whole payload in ONE transaction: its alert rows (a re-delivered one is a
    /// duplicate), each start (queued, duplicate, coalesced, suppressed or storm-held; every
    /// outcome a row and a journal event) and the cancellations its resolved alerts cause.
    /// Nothing of it is recorded when it fails.
    fn ingest<'a>(&'a self, intake: &'a Intake) -> BoxFuture<'a, Result<IntakeReport, StoreError>>;
    /// Takes up to `max` queued runs, oldest first, for `worker`: each becomes `running` under
    /// a new lease token valid for `lease_ms`. Two claimers never get the same run.
    fn claim<'a>(
        &'a self,
        worker: &'a str,
        max: usize,
        lease_ms: u64,
    ) -> BoxFuture<'a, Result<Vec<(RunRecord, Lease)>, StoreError>>;
    /// Extends the lease by `lease_ms` from now; `false` when it is no longer this lease's run
    /// (reaped, taken by another worker, ended): the worker must stop before its next effect.
    fn heartbeat<'a>(
        &'a self,
        lease: &'a Lease,
        lease_ms: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// `append_event`, only while the lease holds; `None` when it was lost.
    fn append_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        at: i64,
        kind: &'a EventKind,
    ) -> BoxFuture<'a, Result<Option<Event>, StoreError>>;
    /// `set_state`, only while the lease holds; `false` when it was lost. A final state or
    /// `waiting` gives the lease up.
    fn set_state_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        state: RunState,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Gives the run back: a `running` run goes back to the queue (a `waiting` one stays
    /// waiting, holding no lease), journaled. Nothing happens when the lease was lost already.
    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>>;
    /// A run that a worker released while it waited for a human (`waiting` or `in_doubt`,
    /// claimed before, no lease now) goes back to the queue, so that a worker goes on with
    /// it; `true` when it did. `record_answer` does the same in its own transaction; a worker
    /// calls this after parking, for an answer that came while it still held the lease.
    fn requeue_parked<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// A parked run (see [`Store::requeue_parked`]) waits for a gate with a deadline: it is
    /// queued again at `wake_at` (ms since the epoch) by [`Store::wake_due`], so that the gate
    /// times out without a worker waiting for it. `false` when the run is not parked.
    fn park_until<'a>(
        &'a self,
        run_id: &'a str,
        wake_at: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Parked runs whose `wake_at` is not after `now` go back to the queue; returns their ids.
    fn wake_due<'a>(&'a self, now: i64) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;
    /// Decides a run held by the storm rule (`held`, still `waiting`), journaled in the same
    /// transaction: a release queues it (no longer held, `storm_hold_released`), a denial
    /// cancels it (`run_cancelled`, `run_finished`). `false`, with nothing written, when the
    /// run is not held (any more).
    fn decide_hold<'a>(
        &'a self,
        run_id: &'a str,
        decision: &'a HoldDecision,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// Runs whose lease expired before `now` (ms since the epoch) go back to the queue, each
    /// with a `RunTakenOver` event; their old token no longer holds. Returns their ids.
    fn reap<'a>(&'a self, now: i64) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;
    /// Queues the run of one schedule tick (`record.trigger.key`), once across processes:
    /// `true` when this call queued it, `false` when another did already.
    /// It is an ingest of one start with no limits: the unique (runbook, trigger key) makes it
    /// once, in every store alike.
    fn schedule_tick<'a>(
        &'a self,
        record: &'a RunRecord,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let intake = Intake {
                starts: vec![QueuedStart {
                    record: record.clone(),
                    limits: RunLimits::default(),
                    rate_key: None,
                    storm: None,
                }],
                ..Intake::default()
            };
            Ok(self.ingest(&intake).await?.queued_any())
        })
    }
    /// Returns when work may have been queued (PostgreSQL: a NOTIFY from any process; the
    /// others: a queueing call on this handle), or after `max`, or after 1 s at most: the
    /// poll that catches what no notification announced.
    fn wait_for_work<'a>(&'a self, max: Duration) -> BoxFuture<'a, ()>;
}

/// The longest `wait_for_work` sleeps without looking at the queue again.
pub const POLL_FALLBACK: Duration = Duration::from_secs(1);

mod common;
pub mod memory;
pub mod owner;
pub mod postgres;
pub mod queue;
pub mod sqlite;
pub mod state;

pub use memory::MemoryStore;
pub use owner::{Liveness, RunOwner};
pub use postgres::PostgresStore;
pub use queue::{
    AlertRow, FencedJournal, HoldDecision, Intake, IntakeReport, Lease, QueuedStart, StartOutcome,
    StormLimit,
};
pub use sqlite::SqliteStore;
pub use state::{RunState, RunTrigger, TriggerKind, UnknownRunState};

/// Writes a run's journal into a store.
pub struct StoreJournal<'s> {
    pub store: &'s dyn Store,
    pub run_id: String,
}

impl crate::journal::Journal for StoreJournal<'_> {
    fn append<'a>(
        &'a self,
        at: i64,
        kind: EventKind,
    ) -> BoxFuture<'a, Result<(), crate::journal::JournalError>> {
        Box::pin(async move {
            self.store
                .append_event(&self.run_id, at, &kind)
                .await
                .map(|_| ())
                .map_err(crate::journal::JournalError::Store)
        })
    }
}

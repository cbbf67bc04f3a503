//! The embedded store: one SQLite file (WAL mode), shareable by several `rbk` processes on one
//! machine. Writers serialize through `BEGIN IMMEDIATE` and wait for each other up to
//! [`BUSY_TIMEOUT`].
//!
//! rusqlite is synchronous: the connection sits behind a `std::sync::Mutex` and each call does
//! its (short) work inside the returned future, without holding the lock across an `.await`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::common::{
    answered_event, check_transition, claim_allowed, ended_at, finished_state, head_from_columns,
    limit_exceeded, slot_holders, unique_prefix,
};
use super::queue::{
    cancel_events, expiry, mark_alert_resolved, now_ms, plan, QueuedStart, StartFacts,
    RESOLVED_BEFORE_START,
};
use super::{
    ApprovalAnswer, Backend, ClaimRefusal, HoldDecision, Intake, IntakeReport, Lease, RunLimits,
    RunOwner, RunQuery, RunRecord, RunState, RunTrigger, StartDecision, Store, StoreError,
    TriggerKind,
};
use crate::action::BoxFuture;
use crate::journal::{event_hash, Event, EventKind};

/// How long a writer waits for another process's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// 2: runs anchor their journal's head (`head_events`, `head_hash`); an older rbk would append
/// events without moving it, so it must not open a version-2 file.
/// 3: typed run states ("denied" and "timed out" rows became "failed"), the queue's columns
/// (trigger, lease, alert, shadow), one run per (runbook, trigger key), `rbk_alert_events`.
/// 4: answers' external ids (unique per channel), parked runs' `wake_at`, `rbk_notices`.
const SCHEMA_VERSION: i64 = 4;

/// Columns added after version 1, as (table, column, type): added to an existing file on open.
/// NULL in old rows means "not recorded".
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("rbk_runs", "head_events", "INTEGER"),
    ("rbk_runs", "head_hash", "TEXT"),
    ("rbk_runs", "owner_host", "TEXT NOT NULL DEFAULT ''"),
    ("rbk_runs", "owner_pid", "INTEGER NOT NULL DEFAULT 0"),
    ("rbk_runs", "owner_started", "TEXT NOT NULL DEFAULT ''"),
    ("rbk_runs", "dry_run", "INTEGER NOT NULL DEFAULT 0"),
    ("rbk_runs", "trigger_kind", "TEXT NOT NULL DEFAULT 'manual'"),
    ("rbk_runs", "trigger_name", "TEXT"),
    ("rbk_runs", "trigger_fingerprint", "TEXT"),
    ("rbk_runs", "trigger_key", "TEXT"),
    ("rbk_runs", "coalesce_key", "TEXT"),
    ("rbk_runs", "alert", "TEXT"),
    ("rbk_runs", "shadow", "INTEGER NOT NULL DEFAULT 0"),
    ("rbk_runs", "held", "INTEGER NOT NULL DEFAULT 0"),
    ("rbk_runs", "ended_at", "INTEGER"),
    ("rbk_runs", "lease_owner", "TEXT"),
    ("rbk_runs", "lease_token", "INTEGER NOT NULL DEFAULT 0"),
    ("rbk_runs", "lease_expires_at", "INTEGER"),
    ("rbk_runs", "wake_at", "INTEGER"),
    ("rbk_answers", "external_id", "TEXT"),
];

/// What needs the added columns: created after them.
const QUEUE_SCHEMA: &str = r#"
-- One start per occurrence (R2), across processes. Older runs have no key (NULLs differ).
CREATE UNIQUE INDEX IF NOT EXISTS rbk_runs_trigger ON rbk_runs (runbook, trigger_key);
-- The claim's path: only queued runs, so finished ones stay out of it.
CREATE INDEX IF NOT EXISTS rbk_runs_queued ON rbk_runs (started_at, id) WHERE status = 'queued';
CREATE INDEX IF NOT EXISTS rbk_runs_leases ON rbk_runs (lease_expires_at)
    WHERE lease_owner IS NOT NULL;
-- What a start looks at: the active runs of a `concurrency` key, a runbook's recent alert
-- runs (storms), its held run.
CREATE INDEX IF NOT EXISTS rbk_runs_active ON rbk_runs (runbook, coalesce_key)
    WHERE status IN ('queued', 'running', 'waiting', 'in_doubt');
CREATE INDEX IF NOT EXISTS rbk_runs_alerts ON rbk_runs (runbook, started_at)
    WHERE trigger_kind = 'alert';
CREATE INDEX IF NOT EXISTS rbk_runs_held ON rbk_runs (runbook) WHERE held = 1;
CREATE TABLE IF NOT EXISTS rbk_alert_events (
    source      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    starts_at   INTEGER NOT NULL,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (source, fingerprint, starts_at, status)
);
-- A click or event delivered twice is one answer, whatever run it names.
CREATE UNIQUE INDEX IF NOT EXISTS rbk_answers_external ON rbk_answers (channel, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS rbk_runs_wake ON rbk_runs (wake_at) WHERE wake_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS rbk_notices (
    run_id      TEXT NOT NULL REFERENCES rbk_runs (id),
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
"#;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS rbk_runs (
    id          TEXT PRIMARY KEY NOT NULL,
    file        TEXT NOT NULL,
    runbook     TEXT NOT NULL,
    started_by  TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    summary     TEXT NOT NULL,
    digest      TEXT NOT NULL,
    inputs      TEXT NOT NULL,
    limit_key   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rbk_runs_limits ON rbk_runs (runbook, limit_key, started_at);
CREATE INDEX IF NOT EXISTS rbk_runs_started ON rbk_runs (started_at);
CREATE TABLE IF NOT EXISTS rbk_events (
    run_id      TEXT NOT NULL REFERENCES rbk_runs (id),
    seq         INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS rbk_answers (
    run_id      TEXT NOT NULL REFERENCES rbk_runs (id),
    step        TEXT NOT NULL,
    "user"      TEXT NOT NULL,
    approve     INTEGER NOT NULL,
    comment     TEXT,
    channel     TEXT NOT NULL,
    at          INTEGER NOT NULL,
    digest      TEXT NOT NULL,
    UNIQUE (run_id, step, "user")
);
"#;

const RUN_COLUMNS: &str = "id, file, runbook, started_by, started_at, status, summary, digest, \
     inputs, limit_key, head_events, head_hash, owner_host, owner_pid, owner_started, dry_run, \
     trigger_kind, trigger_name, trigger_fingerprint, trigger_key, coalesce_key, alert, shadow, \
     held, ended_at";

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Wakes this handle's `wait_for_work` when it queues work itself; other processes' work
    /// is found by the 1 s poll.
    work: super::queue::WorkSignal,
    /// The file the store lives in (`None` in memory), checked before every write.
    file: Option<StoreFile>,
}

/// The store's file as opened. SQLite goes on writing through its open descriptor after the
/// file is deleted or made read-only, so every later write would be lost or unwanted while
/// the run reported success: writes check first that the file is still this one, writable.
struct StoreFile {
    path: std::path::PathBuf,
    identity: (u64, u64),
}

impl StoreFile {
    fn of(path: &Path) -> Result<StoreFile, StoreError> {
        let metadata = std::fs::metadata(path)
            .map_err(|e| err(&format!("cannot read {}", path.display()), e))?;
        Ok(StoreFile {
            path: path.to_path_buf(),
            identity: file_identity(&metadata),
        })
    }

    fn check(&self) -> Result<(), StoreError> {
        let gone = || StoreError::FileReplaced {
            path: self.path.clone(),
        };
        let metadata = std::fs::metadata(&self.path).map_err(|_| gone())?;
        if file_identity(&metadata) != self.identity {
            return Err(gone());
        }
        if metadata.permissions().readonly() {
            return Err(StoreError::FileReadOnly {
                path: self.path.clone(),
            });
        }
        Ok(())
    }
}

#[cfg(unix)]
fn file_identity(metadata: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (metadata.dev(), metadata.ino())
}

#[cfg(not(unix))]
fn file_identity(_metadata: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

fn err(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::database(Backend::Sqlite, context, e)
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, its parent directories and its schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| err(&format!("cannot create {}", parent.display()), e))?;
            }
        }
        let conn = Connection::open(path)
            .map_err(|e| err(&format!("cannot open {}", path.display()), e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| err("busy_timeout", e))?;
        // WAL lets readers go on while a writer writes; it is a property of the file, so the
        // first process sets it for all. The answer is the mode actually in force.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(|e| err("journal_mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(err(
                &format!("cannot use WAL mode for {}", path.display()),
                format!("journal mode is {mode}"),
            ));
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL;")
            .map_err(|e| err("synchronous", e))?;
        let mut store = Self::init(conn)?;
        store.file = Some(StoreFile::of(path)?);
        Ok(store)
    }

    /// A store that lives and dies with this value: for tests and `--dry-run`.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| err("cannot open in memory", e))?;
        Self::init(conn)
    }

    fn init(mut conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(|e| err("foreign_keys", e))?;
        // Several processes may open a new file at once: create the schema in one writer
        // transaction so they queue rather than fail.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| err("cannot begin", e))?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| err("user_version", e))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                understood: SCHEMA_VERSION,
            });
        }
        tx.execute_batch(SCHEMA)
            .map_err(|e| err("cannot create schema", e))?;
        for (table, column, kind) in ADDED_COLUMNS {
            add_column_if_missing(&tx, table, column, kind)?;
        }
        tx.execute_batch(QUEUE_SCHEMA)
            .map_err(|e| err("cannot create the queue's schema", e))?;
        if version < 3 {
            // Typed states: a denied or timed-out run is a failed one (its summary says why).
            tx.execute_batch(
                "UPDATE rbk_runs SET status = 'failed' WHERE status IN ('denied', 'timed out');",
            )
            .map_err(|e| err("cannot migrate run states", e))?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
            .map_err(|e| err("user_version", e))?;
        tx.commit().map_err(|e| err("cannot commit schema", e))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            work: super::queue::WorkSignal::default(),
            file: None,
        })
    }

    /// Fails when the store's file is no longer the one opened, or no longer writable.
    fn writable(&self) -> Result<(), StoreError> {
        self.file.as_ref().map_or(Ok(()), StoreFile::check)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs raw SQL against the store, bypassing every check: for tests (e.g. tampering with
    /// the journal to see it detected) and manual repairs. Returns the rows changed.
    pub fn execute_raw(&self, sql: &str) -> Result<usize, StoreError> {
        self.lock().execute(sql, []).map_err(|e| err("raw sql", e))
    }
}

/// Migrations that depend on what a file has rather than on its version number, so they can
/// be applied in any order.
fn add_column_if_missing(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    column: &str,
    kind: &str,
) -> Result<(), StoreError> {
    let present: bool = tx
        .query_row(
            &format!("SELECT count(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
            [column],
            |row| row.get(0),
        )
        .map_err(|e| err(&format!("cannot read the columns of {table}"), e))?;
    if !present {
        tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind};"))
            .map_err(|e| err(&format!("cannot add {table}.{column}"), e))?;
    }
    Ok(())
}

fn owner_from(host: String, pid: i64, started: String) -> Option<RunOwner> {
    (!host.is_empty()).then(|| RunOwner {
        host,
        pid: u32::try_from(pid).unwrap_or(0),
        started,
    })
}

/// The `status` column: a name this rbk does not know is a conversion error naming it, never a
/// guessed state.
impl rusqlite::types::FromSql for RunState {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
    }
}

/// A run row as read, with its JSON columns still text.
struct RawRun {
    run: RunRecord,
    inputs: String,
    alert: Option<String>,
}

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<RawRun> {
    let kind: String = row.get(16)?;
    let key: Option<String> = row.get(19)?;
    Ok(RawRun {
        run: RunRecord {
            id: row.get(0)?,
            file: row.get(1)?,
            runbook: row.get(2)?,
            started_by: row.get(3)?,
            started_at: row.get(4)?,
            state: row.get(5)?,
            summary: row.get(6)?,
            digest: row.get(7)?,
            inputs: serde_json::Value::Null,
            limit_key: row.get(9)?,
            head: head_from_columns(row.get(10)?, row.get(11)?),
            owner: owner_from(row.get(12)?, row.get(13)?, row.get(14)?),
            dry_run: row.get(15)?,
            trigger: RunTrigger {
                kind: TriggerKind::parse(&kind).unwrap_or_default(),
                name: row.get(17)?,
                fingerprint: row.get(18)?,
                key: key.unwrap_or_default(),
            },
            alert: None,
            shadow: row.get(22)?,
            coalesce_key: row.get(20)?,
            held: row.get(23)?,
            ended_at: row.get(24)?,
        },
        inputs: row.get(8)?,
        alert: row.get(21)?,
    })
}

fn finish_run(raw: RawRun) -> Result<RunRecord, StoreError> {
    let RawRun {
        mut run,
        inputs,
        alert,
    } = raw;
    run.inputs = serde_json::from_str(&inputs)
        .map_err(|e| err(&format!("run {}: bad inputs JSON", run.id), e))?;
    run.alert = alert
        .map(|alert| serde_json::from_str(&alert))
        .transpose()
        .map_err(|e| err(&format!("run {}: bad alert JSON", run.id), e))?;
    Ok(run)
}

fn active_states_sql() -> String {
    RunState::active_names()
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records `run` as it is (its state and summary included).
fn insert_run(tx: &rusqlite::Transaction<'_>, run: &RunRecord) -> Result<(), StoreError> {
    let inputs = serde_json::to_string(&run.inputs).map_err(|e| err("inputs", e))?;
    let alert = run
        .alert
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| err("alert", e))?;
    let (host, pid, started) = owner_columns(run.owner.as_ref());
    let key = (!run.trigger.key.is_empty()).then_some(run.trigger.key.as_str());
    tx.prepare_cached(&format!(
        "INSERT INTO rbk_runs ({RUN_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, '', ?11, ?12, ?13, ?14, \
         ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
    ))
    .and_then(|mut statement| {
        statement.execute(params![
            run.id,
            run.file,
            run.runbook,
            run.started_by,
            run.started_at,
            run.state.as_str(),
            run.summary,
            run.digest,
            inputs,
            run.limit_key,
            host,
            pid,
            started,
            run.dry_run,
            run.trigger.kind.as_str(),
            run.trigger.name,
            run.trigger.fingerprint,
            key,
            run.coalesce_key,
            alert,
            run.shadow,
            run.held,
            run.ended_at,
        ])
    })
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::RunOrTriggerExists {
                backend: Backend::Sqlite,
                run_id: run.id.clone(),
                runbook: run.runbook.clone(),
                key: run.trigger.key.clone(),
            }
        }
        e => err(&format!("cannot record run {}", run.id), e),
    })?;
    Ok(())
}

fn owner_columns(owner: Option<&RunOwner>) -> (&str, i64, &str) {
    owner.map_or(("", 0, ""), |o| {
        (o.host.as_str(), i64::from(o.pid), o.started.as_str())
    })
}

/// The owners of the other not-ended, real runs of a runbook and key.
fn active_owners(
    tx: &rusqlite::Transaction<'_>,
    runbook: &str,
    limit_key: &str,
    except: &str,
) -> Result<Vec<Option<RunOwner>>, StoreError> {
    let mut stmt = tx
        .prepare(&format!(
            "SELECT owner_host, owner_pid, owner_started FROM rbk_runs \
             WHERE runbook = ?1 AND limit_key = ?2 AND id <> ?3 AND dry_run = 0 \
             AND status IN ({})",
            active_states_sql()
        ))
        .map_err(|e| err("cannot count active runs", e))?;
    let rows = stmt
        .query_map(params![runbook, limit_key, except], |row| {
            Ok(owner_from(row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .map_err(|e| err("cannot count active runs", e))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| err("cannot count active runs", e))
}

fn seq_to_sql(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::SeqOutOfRange {
        backend: Backend::Sqlite,
        seq,
    })
}

/// Appends `kind` to the run's journal inside `tx` and moves the run's anchored head with it.
fn append_in(
    tx: &rusqlite::Transaction<'_>,
    run_id: &str,
    at: i64,
    kind: &EventKind,
) -> Result<Event, StoreError> {
    let json = serde_json::to_string(kind).map_err(|e| err("event", e))?;
    // Cached statements: compiling the SQL again for every event was a quarter of the time of
    // a cheap step.
    let exists: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM rbk_runs WHERE id = ?1")
        .and_then(|mut statement| statement.query_row([run_id], |row| row.get(0)).optional())
        .map_err(|e| err("cannot read run", e))?;
    if exists.is_none() {
        return Err(StoreError::NoSuchRun {
            backend: Some(Backend::Sqlite),
            run_id: run_id.to_string(),
        });
    }
    let last: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT seq, hash FROM rbk_events WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1",
        )
        .and_then(|mut statement| {
            statement
                .query_row([run_id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(|e| err("cannot read journal", e))?;
    let (seq, prev_hash) = match last {
        None => (0u64, String::new()),
        Some((seq, hash)) => (seq as u64 + 1, hash),
    };
    let hash = event_hash(&prev_hash, seq, at, kind);
    let seq_value = seq_to_sql(seq)?;
    tx.prepare_cached(
        "INSERT INTO rbk_events (run_id, seq, at, kind, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut statement| {
        statement.execute(params![run_id, seq_value, at, json, prev_hash, hash])
    })
    .map_err(|e| err("cannot append event", e))?;
    tx.prepare_cached("UPDATE rbk_runs SET head_events = ?2, head_hash = ?3 WHERE id = ?1")
        .and_then(|mut statement| statement.execute(params![run_id, seq_value + 1, hash]))
        .map_err(|e| err("cannot anchor the journal head", e))?;
    if let Some((state, summary)) = finished_state(kind) {
        // The lease stays until the worker sets the state itself: it still holds the run.
        let active: Vec<String> = RunState::active_stored_names()
            .into_iter()
            .map(|name| format!("'{name}'"))
            .collect();
        tx.execute(
            &format!(
                "UPDATE rbk_runs SET status = ?2, summary = ?3, ended_at = ?4 \
                 WHERE id = ?1 AND status IN ({})",
                active.join(", ")
            ),
            params![run_id, state.as_str(), summary, ended_at(state)],
        )
        .map_err(|e| err("cannot record the run's end", e))?;
    }
    Ok(Event {
        seq,
        at,
        kind: kind.clone(),
        prev_hash,
        hash,
    })
}

fn set_state_in(
    tx: &rusqlite::Transaction<'_>,
    run_id: &str,
    state: RunState,
    summary: &str,
) -> Result<(), StoreError> {
    let current: Option<(String, String, Option<i64>)> = tx
        .query_row(
            "SELECT status, summary, ended_at FROM rbk_runs WHERE id = ?1",
            [run_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(|e| err("cannot read run", e))?;
    let current = match current {
        Some((old, summary, at)) => {
            let old: RunState = old.parse().map_err(|e| err(&format!("run {run_id}"), e))?;
            Some((old, summary, at))
        }
        None => None,
    };
    let ended = match &current {
        Some((old, _, Some(at))) if *old == state => Some(*at),
        _ => ended_at(state),
    };
    let summary = check_transition(
        run_id,
        current.map(|(state, summary, _)| (state, summary)),
        state,
        summary,
    )
    .map_err(|refusal| StoreError::Refused {
        backend: Backend::Sqlite,
        refusal: Box::new(refusal),
    })?;
    // A final state holds no lease.
    let keeps_lease = !state.is_final();
    tx.execute(
        "UPDATE rbk_runs SET status = ?2, summary = ?3, ended_at = ?4, \
         lease_owner = CASE WHEN ?5 THEN lease_owner END, \
         lease_expires_at = CASE WHEN ?5 THEN lease_expires_at END WHERE id = ?1",
        params![run_id, state.as_str(), summary, ended, keeps_lease],
    )
    .map_err(|e| err("cannot set state", e))?;
    Ok(())
}

/// Whether `lease` is still the run's lease.
fn holds(tx: &rusqlite::Transaction<'_>, lease: &Lease) -> Result<bool, StoreError> {
    tx.prepare_cached(
        "SELECT count(*) > 0 FROM rbk_runs WHERE id = ?1 AND lease_token = ?2 AND lease_owner = ?3",
    )
    .and_then(|mut statement| {
        statement.query_row(params![lease.run_id, lease.token, lease.worker], |row| {
            row.get(0)
        })
    })
    .map_err(|e| err("cannot check the lease", e))
}

/// What the rules need to know about one start, read inside the ingest transaction.
fn facts_in(tx: &rusqlite::Transaction<'_>, start: &QueuedStart) -> Result<StartFacts, StoreError> {
    let record = &start.record;
    let bad = |e| err("cannot read the runbook's runs", e);
    let existing = if record.trigger.key.is_empty() {
        None
    } else {
        tx.prepare_cached("SELECT id FROM rbk_runs WHERE runbook = ?1 AND trigger_key = ?2")
            .and_then(|mut s| {
                s.query_row(params![record.runbook, record.trigger.key], |row| {
                    row.get(0)
                })
                .optional()
            })
            .map_err(bad)?
    };
    let mut facts = StartFacts {
        existing,
        ..StartFacts::default()
    };
    if facts.existing.is_some() {
        return Ok(facts);
    }
    if start.limits.concurrency.is_some() {
        let mut statement = tx
            .prepare_cached(
                "SELECT id FROM rbk_runs WHERE runbook = ?1 AND coalesce_key IS ?2 \
                 AND status IN ('queued', 'running', 'waiting', 'in_doubt') \
                 AND dry_run = 0 AND held = 0 ORDER BY started_at, id",
            )
            .map_err(bad)?;
        facts.active = statement
            .query_map(params![record.runbook, record.coalesce_key], |row| {
                row.get(0)
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
            .map_err(bad)?;
    }
    if let Some(since) = start.rate_since() {
        facts.recent = tx
            .prepare_cached(
                "SELECT count(*) FROM rbk_runs WHERE runbook = ?1 AND limit_key = ?2 \
                 AND status NOT IN ('suppressed', 'coalesced', 'cancelled') \
                 AND dry_run = 0 AND started_at >= ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![record.runbook, start.rate_key(), since], |row| {
                    row.get(0)
                })
            })
            .map_err(bad)?;
    }
    if let Some(since) = start.storm_since() {
        facts.distinct = tx
            .prepare_cached(
                "SELECT count(*) FROM rbk_runs WHERE runbook = ?1 AND trigger_kind = 'alert' \
                 AND started_at >= ?2",
            )
            .and_then(|mut s| s.query_row(params![record.runbook, since], |row| row.get(0)))
            .map_err(bad)?;
        facts.held = tx
            .prepare_cached(
                "SELECT id FROM rbk_runs WHERE runbook = ?1 AND held = 1 AND status = 'waiting' \
                 ORDER BY started_at LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![record.runbook], |row| row.get(0))
                    .optional()
            })
            .map_err(bad)?;
    }
    Ok(facts)
}

/// Records a whole intake inside `tx`.
fn ingest_in(tx: &rusqlite::Transaction<'_>, intake: &Intake) -> Result<IntakeReport, StoreError> {
    let mut report = IntakeReport::default();
    for alert in &intake.alerts {
        let body = serde_json::to_string(&alert.body).map_err(|e| err("alert body", e))?;
        let added = tx
            .prepare_cached(
                "INSERT INTO rbk_alert_events \
                 (source, fingerprint, starts_at, status, body, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    alert.source,
                    alert.fingerprint,
                    alert.starts_at,
                    alert.status,
                    body,
                    alert.received_at
                ])
            })
            .map_err(|e| err("cannot record an alert", e))?;
        if added == 1 {
            report.new_alerts += 1;
        } else {
            report.duplicate_alerts += 1;
        }
    }
    let at = now_ms();
    for start in &intake.starts {
        let facts = facts_in(tx, start)?;
        let planned = plan(start, &facts);
        if let Some(record) = &planned.record {
            insert_run(tx, record)?;
            for event in &planned.events {
                append_in(tx, &record.id, at, event)?;
            }
        }
        if let Some((onto, event)) = &planned.onto {
            append_in(tx, onto, at, event)?;
        }
        report.starts.push(planned.outcome);
    }
    for (runbook, key) in &intake.resolved {
        let found: Option<(String, String)> = tx
            .prepare_cached(
                "SELECT id, status FROM rbk_runs WHERE runbook = ?1 AND trigger_key = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![runbook, key], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()
            })
            .map_err(|e| err("cannot read the resolved alert's run", e))?;
        let Some((id, state)) = found else { continue };
        let state: RunState = state.parse().map_err(|e| err(&format!("run {id}"), e))?;
        match state {
            RunState::Queued => {
                for event in cancel_events(RESOLVED_BEFORE_START) {
                    append_in(tx, &id, at, &event)?;
                }
                set_state_in(tx, &id, RunState::Cancelled, RESOLVED_BEFORE_START)?;
                report.cancelled.push(id);
            }
            state if state.is_active() => {
                let event = EventKind::AlertResolved {
                    trigger_key: key.clone(),
                };
                append_in(tx, &id, at, &event)?;
                let alert: Option<String> = tx
                    .query_row("SELECT alert FROM rbk_runs WHERE id = ?1", [&id], |row| {
                        row.get(0)
                    })
                    .map_err(|e| err("cannot read the run's alert", e))?;
                if let Some(resolved) = alert.as_deref().and_then(resolved_alert) {
                    tx.execute(
                        "UPDATE rbk_runs SET alert = ?2 WHERE id = ?1",
                        params![id, resolved],
                    )
                    .map_err(|e| err("cannot mark the run's alert resolved", e))?;
                }
            }
            _ => {}
        }
    }
    Ok(report)
}

/// The alert JSON with its status set to `resolved`.
fn resolved_alert(alert: &str) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(alert).ok()?;
    mark_alert_resolved(&mut value);
    serde_json::to_string(&value).ok()
}

fn answer_from_row(row: &Row<'_>) -> rusqlite::Result<ApprovalAnswer> {
    Ok(ApprovalAnswer {
        run_id: row.get(0)?,
        step: row.get(1)?,
        user: row.get(2)?,
        approve: row.get(3)?,
        comment: row.get(4)?,
        channel: row.get(5)?,
        at: row.get(6)?,
        digest: row.get(7)?,
        external_id: row.get(8)?,
        from: None,
        values: Default::default(),
    })
}

const ANSWER_COLUMNS: &str =
    r#"run_id, step, "user", approve, comment, channel, at, digest, external_id"#;

impl Store for SqliteStore {
    fn start_run<'a>(
        &'a self,
        run: &'a RunRecord,
        limits: &'a RunLimits,
    ) -> BoxFuture<'a, Result<StartDecision, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            // A dry run acts on nothing: no limit applies to it.
            let no_limits = RunLimits::default();
            let limits = if run.dry_run { &no_limits } else { limits };
            let reason = limit_exceeded(
                limits,
                || {
                    let owners = active_owners(&tx, &run.runbook, &run.limit_key, &run.id)?;
                    Ok(slot_holders(owners.iter().map(Option::as_ref)))
                },
                |window_ms| {
                    let since = run
                        .started_at
                        .saturating_sub(i64::try_from(window_ms).unwrap_or(i64::MAX));
                    tx.query_row(
                        "SELECT count(*) FROM rbk_runs WHERE runbook = ?1 AND limit_key = ?2 \
                         AND status NOT IN ('suppressed', 'coalesced', 'cancelled') \
                         AND dry_run = 0 AND started_at >= ?3",
                        params![run.runbook, run.limit_key, since],
                        |row| row.get(0),
                    )
                    .map_err(|e| err("cannot count recent runs", e))
                },
                &run.limit_key,
            )?;
            let decision = match reason {
                None => {
                    insert_run(&tx, run)?;
                    StartDecision::Started
                }
                Some(reason) => {
                    let mut suppressed = run.clone();
                    suppressed.state = RunState::Suppressed;
                    suppressed.summary = reason.clone();
                    suppressed.ended_at = Some(run.started_at);
                    insert_run(&tx, &suppressed)?;
                    StartDecision::Suppressed(reason)
                }
            };
            tx.commit().map_err(|e| err("cannot commit run", e))?;
            Ok(decision)
        })
    }

    fn claim_run<'a>(
        &'a self,
        run_id: &'a str,
        owner: &'a RunOwner,
        limits: &'a RunLimits,
        takeover: bool,
    ) -> BoxFuture<'a, Result<Result<(), ClaimRefusal>, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            let record = tx
                .query_row(
                    &format!("SELECT {RUN_COLUMNS} FROM rbk_runs WHERE id = ?1"),
                    [run_id],
                    run_from_row,
                )
                .optional()
                .map_err(|e| err("cannot read run", e))?
                .map(finish_run)
                .transpose()?;
            let allowed = claim_allowed(record.as_ref(), limits, takeover, || {
                let record = record
                    .as_ref()
                    .map_or(("", ""), |r| (r.runbook.as_str(), r.limit_key.as_str()));
                let owners = active_owners(&tx, record.0, record.1, run_id)?;
                Ok(slot_holders(owners.iter().map(Option::as_ref)))
            })?;
            if allowed.is_ok() {
                let (host, pid, started) = owner_columns(Some(owner));
                tx.execute(
                    "UPDATE rbk_runs SET owner_host = ?2, owner_pid = ?3, owner_started = ?4 \
                     WHERE id = ?1",
                    params![run_id, host, pid, started],
                )
                .map_err(|e| err("cannot record the run's new process", e))?;
                tx.commit().map_err(|e| err("cannot commit claim", e))?;
            }
            Ok(allowed)
        })
    }

    fn append_event<'a>(
        &'a self,
        run_id: &'a str,
        at: i64,
        kind: &'a EventKind,
    ) -> BoxFuture<'a, Result<Event, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            let event = append_in(&tx, run_id, at, kind)?;
            tx.commit().map_err(|e| err("cannot commit event", e))?;
            Ok(event)
        })
    }

    fn events<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Vec<Event>, StoreError>> {
        Box::pin(async move {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(
                    "SELECT seq, at, kind, prev_hash, hash FROM rbk_events \
                     WHERE run_id = ?1 ORDER BY seq",
                )
                .map_err(|e| err("cannot read journal", e))?;
            let rows = stmt
                .query_map([run_id], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                })
                .map_err(|e| err("cannot read journal", e))?;
            let mut events = Vec::new();
            for row in rows {
                let (seq, at, kind, prev_hash, hash) =
                    row.map_err(|e| err("cannot read journal", e))?;
                let kind: EventKind = serde_json::from_str(&kind).map_err(|e| {
                    err(
                        &format!("run {run_id}: event {seq} is not a valid event"),
                        e,
                    )
                })?;
                events.push(Event {
                    seq: seq as u64,
                    at,
                    kind,
                    prev_hash,
                    hash,
                });
            }
            Ok(events)
        })
    }

    fn set_state<'a>(
        &'a self,
        run_id: &'a str,
        state: RunState,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            set_state_in(&tx, run_id, state, summary)?;
            tx.commit().map_err(|e| err("cannot commit state", e))?;
            Ok(())
        })
    }

    fn run<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>, StoreError>> {
        Box::pin(async move {
            let conn = self.lock();
            let exact = conn
                .query_row(
                    &format!("SELECT {RUN_COLUMNS} FROM rbk_runs WHERE id = ?1"),
                    [id],
                    run_from_row,
                )
                .optional()
                .map_err(|e| err("cannot read run", e))?;
            if let Some(run) = exact {
                return finish_run(run).map(Some);
            }
            if id.is_empty() {
                return Ok(None);
            }
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {RUN_COLUMNS} FROM rbk_runs \
                     WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id LIMIT 2"
                ))
                .map_err(|e| err("cannot read runs", e))?;
            let found = stmt
                .query_map([id], run_from_row)
                .map_err(|e| err("cannot read runs", e))?
                .map(|row| finish_run(row.map_err(|e| err("cannot read runs", e))?))
                .collect();
            unique_prefix(id, found)
        })
    }

    fn list_runs<'a>(
        &'a self,
        query: &'a RunQuery,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>, StoreError>> {
        Box::pin(async move {
            let conn = self.lock();
            let states = query.state.map_or(String::new(), |state| {
                let names: Vec<String> = state
                    .stored_names()
                    .iter()
                    .map(|s| format!("'{}'", s.replace('\'', "''")))
                    .collect();
                format!(" AND status IN ({})", names.join(", "))
            });
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {RUN_COLUMNS} FROM rbk_runs WHERE (?2 IS NULL OR runbook = ?2){states} \
                     ORDER BY started_at DESC, id DESC LIMIT ?1"
                ))
                .map_err(|e| err("cannot list runs", e))?;
            let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
            let rows = stmt
                .query_map(params![limit, query.runbook], run_from_row)
                .map_err(|e| err("cannot list runs", e))?;
            rows.map(|row| finish_run(row.map_err(|e| err("cannot list runs", e))?))
                .collect()
        })
    }

    fn record_answer<'a>(
        &'a self,
        answer: &'a ApprovalAnswer,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            if let Some(external_id) = &answer.external_id {
                let seen: bool = tx
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM rbk_answers \
                         WHERE channel = ?1 AND external_id = ?2)",
                        params![answer.channel, external_id],
                        |row| row.get(0),
                    )
                    .map_err(|e| err("cannot read answers", e))?;
                if seen {
                    return Ok(false);
                }
            }
            tx.execute(
                r#"INSERT INTO rbk_answers (run_id, step, "user", approve, comment, channel, at, digest, external_id)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                   ON CONFLICT (run_id, step, "user") DO UPDATE SET
                     approve = excluded.approve, comment = excluded.comment,
                     channel = excluded.channel, at = excluded.at, digest = excluded.digest,
                     external_id = excluded.external_id"#,
                params![
                    answer.run_id,
                    answer.step,
                    answer.user,
                    answer.approve,
                    answer.comment,
                    answer.channel,
                    answer.at,
                    answer.digest,
                    answer.external_id
                ],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                {
                    StoreError::NoSuchRun { backend: Some(Backend::Sqlite), run_id: answer.run_id.clone() }
                }
                e => err("cannot record answer", e),
            })?;
            append_in(&tx, &answer.run_id, answer.at, &answered_event(answer))?;
            let requeued = requeue_parked_in(&tx, &answer.run_id)?;
            tx.commit().map_err(|e| err("cannot commit answer", e))?;
            drop(conn);
            if requeued {
                self.wake();
            }
            Ok(true)
        })
    }

    fn save_notice<'a>(
        &'a self,
        run_id: &'a str,
        key: &'a str,
        value: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let text = serde_json::to_string(value)
                .map_err(|e| StoreError::database(Backend::Sqlite, "cannot encode notice", e))?;
            self.lock()
                .execute(
                    "INSERT INTO rbk_notices (run_id, key, value) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                    params![run_id, key, text],
                )
                .map_err(|e| match e {
                    rusqlite::Error::SqliteFailure(f, _)
                        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                    {
                        StoreError::NoSuchRun {
                            backend: Some(Backend::Sqlite),
                            run_id: run_id.to_string(),
                        }
                    }
                    e => err("cannot save notice", e),
                })?;
            Ok(())
        })
    }

    fn notice<'a>(
        &'a self,
        run_id: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, StoreError>> {
        Box::pin(async move {
            let text: Option<String> = self
                .lock()
                .query_row(
                    "SELECT value FROM rbk_notices WHERE run_id = ?1 AND key = ?2",
                    [run_id, key],
                    |row| row.get(0),
                )
                .optional()
                .map_err(|e| err("cannot read notice", e))?;
            text.map(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| StoreError::database(Backend::Sqlite, &format!("notice {key}"), e))
            })
            .transpose()
        })
    }

    fn answers<'a>(
        &'a self,
        run_id: &'a str,
        step: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApprovalAnswer>, StoreError>> {
        Box::pin(async move {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(&format!(
                    r#"SELECT {ANSWER_COLUMNS} FROM rbk_answers
                       WHERE run_id = ?1 AND step = ?2 ORDER BY at, "user""#
                ))
                .map_err(|e| err("cannot read answers", e))?;
            let rows = stmt
                .query_map([run_id, step], answer_from_row)
                .map_err(|e| err("cannot read answers", e))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| err("cannot read answers", e))
        })
    }

    fn run_answers<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApprovalAnswer>, StoreError>> {
        Box::pin(async move {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(&format!(
                    r#"SELECT {ANSWER_COLUMNS} FROM rbk_answers
                       WHERE run_id = ?1 ORDER BY step, at, "user""#
                ))
                .map_err(|e| err("cannot read answers", e))?;
            let rows = stmt
                .query_map([run_id], answer_from_row)
                .map_err(|e| err("cannot read answers", e))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| err("cannot read answers", e))
        })
    }

    fn ingest<'a>(&'a self, intake: &'a Intake) -> BoxFuture<'a, Result<IntakeReport, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let report = {
                let mut conn = self.lock();
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| err("cannot begin", e))?;
                let report = ingest_in(&tx, intake)?;
                tx.commit()
                    .map_err(|e| err("cannot commit the intake", e))?;
                report
            };
            if report.queued_any() {
                self.wake();
            }
            Ok(report)
        })
    }

    fn claim<'a>(
        &'a self,
        worker: &'a str,
        max: usize,
        lease_ms: u64,
    ) -> BoxFuture<'a, Result<Vec<(RunRecord, Lease)>, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            let max = i64::try_from(max).unwrap_or(i64::MAX);
            let ids: Vec<String> = tx
                .prepare_cached(
                    "SELECT id FROM rbk_runs WHERE status = 'queued' \
                     ORDER BY started_at, id LIMIT ?1",
                )
                .and_then(|mut s| {
                    s.query_map([max], |row| row.get(0))
                        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
                })
                .map_err(|e| err("cannot read the queue", e))?;
            let owner = RunOwner::this_process();
            let (host, pid, started) = owner_columns(Some(&owner));
            let expires = expiry(lease_ms);
            let mut claimed = Vec::new();
            for id in ids {
                let token: i64 = tx
                    .prepare_cached(
                        "UPDATE rbk_runs SET status = 'running', lease_owner = ?2, \
                         lease_token = lease_token + 1, lease_expires_at = ?3, \
                         owner_host = ?4, owner_pid = ?5, owner_started = ?6 \
                         WHERE id = ?1 RETURNING lease_token",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![id, worker, expires, host, pid, started], |row| {
                            row.get(0)
                        })
                    })
                    .map_err(|e| err("cannot claim a run", e))?;
                let record = tx
                    .query_row(
                        &format!("SELECT {RUN_COLUMNS} FROM rbk_runs WHERE id = ?1"),
                        [&id],
                        run_from_row,
                    )
                    .map_err(|e| err("cannot read a claimed run", e))
                    .and_then(finish_run)?;
                claimed.push((
                    record,
                    Lease {
                        run_id: id,
                        token,
                        worker: worker.to_string(),
                    },
                ));
            }
            tx.commit().map_err(|e| err("cannot commit the claim", e))?;
            Ok(claimed)
        })
    }

    fn heartbeat<'a>(
        &'a self,
        lease: &'a Lease,
        lease_ms: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let conn = self.lock();
            let changed = conn
                .prepare_cached(
                    "UPDATE rbk_runs SET lease_expires_at = ?4 \
                     WHERE id = ?1 AND lease_token = ?2 AND lease_owner = ?3",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        lease.run_id,
                        lease.token,
                        lease.worker,
                        expiry(lease_ms)
                    ])
                })
                .map_err(|e| err("cannot renew the lease", e))?;
            Ok(changed == 1)
        })
    }

    fn append_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        at: i64,
        kind: &'a EventKind,
    ) -> BoxFuture<'a, Result<Option<Event>, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            if !holds(&tx, lease)? {
                return Ok(None);
            }
            let event = append_in(&tx, &lease.run_id, at, kind)?;
            tx.commit().map_err(|e| err("cannot commit event", e))?;
            Ok(Some(event))
        })
    }

    fn set_state_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        state: RunState,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            if !holds(&tx, lease)? {
                return Ok(false);
            }
            set_state_in(&tx, &lease.run_id, state, summary)?;
            tx.commit().map_err(|e| err("cannot commit state", e))?;
            Ok(true)
        })
    }

    fn requeue_parked<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let requeued = {
                let mut conn = self.lock();
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| err("cannot begin", e))?;
                let requeued = requeue_parked_in(&tx, run_id)?;
                tx.commit()
                    .map_err(|e| err("cannot commit the requeue", e))?;
                requeued
            };
            if requeued {
                self.wake();
            }
            Ok(requeued)
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let requeued = {
                let mut conn = self.lock();
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| err("cannot begin", e))?;
                if !holds(&tx, lease)? {
                    return Ok(());
                }
                let event = EventKind::RunReleased {
                    worker: lease.worker.clone(),
                };
                append_in(&tx, &lease.run_id, now_ms(), &event)?;
                let requeued: bool = tx
                    .query_row(
                        "UPDATE rbk_runs SET status = CASE WHEN status = 'running' THEN 'queued' \
                         ELSE status END, lease_owner = NULL, lease_expires_at = NULL, \
                         lease_token = lease_token + 1 WHERE id = ?1 RETURNING status = 'queued'",
                        [&lease.run_id],
                        |row| row.get(0),
                    )
                    .map_err(|e| err("cannot release the run", e))?;
                tx.commit()
                    .map_err(|e| err("cannot commit the release", e))?;
                requeued
            };
            if requeued {
                self.wake();
            }
            Ok(())
        })
    }

    fn park_until<'a>(
        &'a self,
        run_id: &'a str,
        wake_at: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let changed = self
                .lock()
                .execute(
                    &format!("UPDATE rbk_runs SET wake_at = ?2 WHERE id = ?1 AND {PARKED_SQL}"),
                    params![run_id, wake_at],
                )
                .map_err(|e| err("cannot park the run", e))?;
            Ok(changed > 0)
        })
    }

    fn wake_due<'a>(&'a self, now: i64) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let due = {
                let mut conn = self.lock();
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| err("cannot begin", e))?;
                let candidates: Vec<String> = tx
                    .prepare("SELECT id FROM rbk_runs WHERE wake_at <= ?1 ORDER BY id")
                    .and_then(|mut s| {
                        s.query_map([now], |row| row.get(0))
                            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                    })
                    .map_err(|e| err("cannot read parked runs", e))?;
                let mut due = Vec::new();
                for id in candidates {
                    if requeue_parked_in(&tx, &id)? {
                        due.push(id);
                    }
                }
                tx.commit()
                    .map_err(|e| err("cannot commit the wake-up", e))?;
                due
            };
            if !due.is_empty() {
                self.wake();
            }
            Ok(due)
        })
    }

    fn decide_hold<'a>(
        &'a self,
        run_id: &'a str,
        decision: &'a HoldDecision,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            {
                let mut conn = self.lock();
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| err("cannot begin", e))?;
                let held = tx
                    .execute(
                        "UPDATE rbk_runs SET held = 0 WHERE id = ?1 AND held = 1 \
                         AND status = 'waiting'",
                        [run_id],
                    )
                    .map_err(|e| err("cannot decide the held run", e))?;
                if held == 0 {
                    return Ok(false);
                }
                let (events, summary) = decision.events();
                for event in &events {
                    append_in(&tx, run_id, decision.at, event)?;
                }
                if decision.release {
                    tx.execute(
                        "UPDATE rbk_runs SET status = 'queued' WHERE id = ?1",
                        [run_id],
                    )
                    .map_err(|e| err("cannot queue the held run", e))?;
                } else {
                    set_state_in(&tx, run_id, RunState::Cancelled, &summary)?;
                }
                tx.commit()
                    .map_err(|e| err("cannot commit the storm decision", e))?;
            }
            if decision.release {
                self.wake();
            }
            Ok(true)
        })
    }

    fn reap<'a>(&'a self, now: i64) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let reaped = {
                let mut conn = self.lock();
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(|e| err("cannot begin", e))?;
                let expired: Vec<(String, String)> = tx
                    .prepare(&format!(
                        "SELECT id, lease_owner FROM rbk_runs WHERE lease_owner IS NOT NULL \
                         AND lease_expires_at < ?1 AND status IN ({}) ORDER BY id",
                        active_states_sql()
                    ))
                    .and_then(|mut s| {
                        s.query_map([now], |row| Ok((row.get(0)?, row.get(1)?)))
                            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                    })
                    .map_err(|e| err("cannot read expired leases", e))?;
                for (id, from_worker) in &expired {
                    let event = EventKind::RunTakenOver {
                        from_worker: from_worker.clone(),
                        to_worker: None,
                    };
                    append_in(&tx, id, now_ms(), &event)?;
                    tx.execute(
                        "UPDATE rbk_runs SET status = CASE WHEN status = 'running' THEN 'queued' \
                         ELSE status END, lease_owner = NULL, lease_expires_at = NULL, \
                         lease_token = lease_token + 1 WHERE id = ?1",
                        [id],
                    )
                    .map_err(|e| err("cannot requeue an expired run", e))?;
                }
                tx.commit().map_err(|e| err("cannot commit the reap", e))?;
                expired.into_iter().map(|(id, _)| id).collect::<Vec<_>>()
            };
            if !reaped.is_empty() {
                self.wake();
            }
            Ok(reaped)
        })
    }

    fn wait_for_work<'a>(&'a self, max: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.work.wait(max).await;
        })
    }
}

impl SqliteStore {
    /// Wakes this handle's `wait_for_work` (a permit is kept when none waits).
    fn wake(&self) {
        self.work.wake();
    }
}

/// A run that waits for a human with no worker: claimed before, no lease now.
const PARKED_SQL: &str =
    "status IN ('waiting', 'in_doubt') AND lease_owner IS NULL AND lease_token > 0";

/// Queues a parked run again (see [`Store::requeue_parked`]); `true` when it was one. Its
/// wake-up time goes: the worker that takes it parks it again with the deadline it finds.
fn requeue_parked_in(tx: &rusqlite::Transaction<'_>, run_id: &str) -> Result<bool, StoreError> {
    let changed = tx
        .execute(
            &format!(
                "UPDATE rbk_runs SET status = 'queued', wake_at = NULL WHERE id = ?1 AND {PARKED_SQL}"
            ),
            [run_id],
        )
        .map_err(|e| err("cannot queue the answered run", e))?;
    Ok(changed > 0)
}

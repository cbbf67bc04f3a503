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
    answered_event, check_transition, claim_allowed, head_from_columns, limit_exceeded,
    slot_holders, unique_prefix,
};
use super::{
    ApprovalAnswer, ClaimRefusal, RunLimits, RunOwner, RunRecord, StartDecision, Store, StoreError,
    FINAL_STATES,
};
use crate::action::BoxFuture;
use crate::journal::{event_hash, Event, EventKind};

/// How long a writer waits for another process's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// 2: runs anchor their journal's head (`head_events`, `head_hash`); an older rbk would append
/// events without moving it, so it must not open a version-2 file.
const SCHEMA_VERSION: i64 = 2;

/// Columns added after version 1, as (table, column, type): added to an existing file on open.
/// NULL in old rows means "not recorded".
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("rbk_runs", "head_events", "INTEGER"),
    ("rbk_runs", "head_hash", "TEXT"),
    ("rbk_runs", "owner_host", "TEXT NOT NULL DEFAULT ''"),
    ("rbk_runs", "owner_pid", "INTEGER NOT NULL DEFAULT 0"),
    ("rbk_runs", "owner_started", "TEXT NOT NULL DEFAULT ''"),
    ("rbk_runs", "dry_run", "INTEGER NOT NULL DEFAULT 0"),
];

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
     inputs, limit_key, head_events, head_hash, owner_host, owner_pid, owner_started, dry_run";

pub struct SqliteStore {
    conn: Mutex<Connection>,
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
        let gone = || {
            StoreError(format!(
                "sqlite store: {} was deleted or replaced while rbk was using it; what is written now would be lost",
                self.path.display()
            ))
        };
        let metadata = std::fs::metadata(&self.path).map_err(|_| gone())?;
        if file_identity(&metadata) != self.identity {
            return Err(gone());
        }
        if metadata.permissions().readonly() {
            return Err(StoreError(format!(
                "sqlite store: {} was made read-only; rbk does not write to it",
                self.path.display()
            )));
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
    StoreError(format!("sqlite store: {context}: {e}"))
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
            return Err(StoreError(format!(
                "sqlite store: schema version {version} is newer than this rbk understands ({SCHEMA_VERSION}); upgrade rbk"
            )));
        }
        tx.execute_batch(SCHEMA)
            .map_err(|e| err("cannot create schema", e))?;
        for (table, column, kind) in ADDED_COLUMNS {
            add_column_if_missing(&tx, table, column, kind)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
            .map_err(|e| err("user_version", e))?;
        tx.commit().map_err(|e| err("cannot commit schema", e))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
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

fn run_from_row(row: &Row<'_>) -> rusqlite::Result<(RunRecord, String)> {
    let inputs: String = row.get(8)?;
    Ok((
        RunRecord {
            id: row.get(0)?,
            file: row.get(1)?,
            runbook: row.get(2)?,
            started_by: row.get(3)?,
            started_at: row.get(4)?,
            status: row.get(5)?,
            summary: row.get(6)?,
            digest: row.get(7)?,
            inputs: serde_json::Value::Null,
            limit_key: row.get(9)?,
            head: head_from_columns(row.get(10)?, row.get(11)?),
            owner: owner_from(row.get(12)?, row.get(13)?, row.get(14)?),
            dry_run: row.get(15)?,
        },
        inputs,
    ))
}

fn finish_run((mut run, inputs): (RunRecord, String)) -> Result<RunRecord, StoreError> {
    run.inputs = serde_json::from_str(&inputs)
        .map_err(|e| err(&format!("run {}: bad inputs JSON", run.id), e))?;
    Ok(run)
}

fn final_states_sql() -> String {
    FINAL_STATES
        .iter()
        .map(|s| format!("'{}'", s.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn insert_run(
    tx: &rusqlite::Transaction<'_>,
    run: &RunRecord,
    status: &str,
    summary: &str,
) -> Result<(), StoreError> {
    let inputs = serde_json::to_string(&run.inputs).map_err(|e| err("inputs", e))?;
    let (host, pid, started) = owner_columns(run.owner.as_ref());
    tx.execute(
        &format!(
            "INSERT INTO rbk_runs ({RUN_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, '', ?11, ?12, ?13, ?14)"
        ),
        params![
            run.id,
            run.file,
            run.runbook,
            run.started_by,
            run.started_at,
            status,
            summary,
            run.digest,
            inputs,
            run.limit_key,
            host,
            pid,
            started,
            run.dry_run
        ],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError(format!("sqlite store: run {} already exists", run.id))
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
             AND status NOT IN ({})",
            final_states_sql()
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
    i64::try_from(seq).map_err(|_| StoreError(format!("sqlite store: seq {seq} out of range")))
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
        return Err(StoreError(format!("sqlite store: no run {run_id}")));
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
    Ok(Event {
        seq,
        at,
        kind: kind.clone(),
        prev_hash,
        hash,
    })
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
    })
}

const ANSWER_COLUMNS: &str = r#"run_id, step, "user", approve, comment, channel, at, digest"#;

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
                         AND status <> 'suppressed' AND dry_run = 0 AND started_at >= ?3",
                        params![run.runbook, run.limit_key, since],
                        |row| row.get(0),
                    )
                    .map_err(|e| err("cannot count recent runs", e))
                },
                &run.limit_key,
            )?;
            let decision = match reason {
                None => {
                    insert_run(&tx, run, &run.status, &run.summary)?;
                    StartDecision::Started
                }
                Some(reason) => {
                    insert_run(&tx, run, "suppressed", &reason)?;
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

    fn set_status<'a>(
        &'a self,
        run_id: &'a str,
        status: &'a str,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            let current: Option<(String, String)> = tx
                .query_row(
                    "SELECT status, summary FROM rbk_runs WHERE id = ?1",
                    [run_id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(|e| err("cannot read run", e))?;
            check_transition(run_id, current, status, summary)
                .map_err(|e| StoreError(format!("sqlite store: {}", e.0)))?;
            tx.execute(
                "UPDATE rbk_runs SET status = ?2, summary = ?3 WHERE id = ?1",
                params![run_id, status, summary],
            )
            .map_err(|e| err("cannot set status", e))?;
            tx.commit().map_err(|e| err("cannot commit status", e))?;
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

    fn runs<'a>(&'a self, limit: usize) -> BoxFuture<'a, Result<Vec<RunRecord>, StoreError>> {
        Box::pin(async move {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {RUN_COLUMNS} FROM rbk_runs ORDER BY started_at DESC, id DESC LIMIT ?1"
                ))
                .map_err(|e| err("cannot list runs", e))?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt
                .query_map([limit], run_from_row)
                .map_err(|e| err("cannot list runs", e))?;
            rows.map(|row| finish_run(row.map_err(|e| err("cannot list runs", e))?))
                .collect()
        })
    }

    fn record_answer<'a>(
        &'a self,
        answer: &'a ApprovalAnswer,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.writable()?;
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| err("cannot begin", e))?;
            tx.execute(
                r#"INSERT INTO rbk_answers (run_id, step, "user", approve, comment, channel, at, digest)
                   VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                   ON CONFLICT (run_id, step, "user") DO UPDATE SET
                     approve = excluded.approve, comment = excluded.comment,
                     channel = excluded.channel, at = excluded.at, digest = excluded.digest"#,
                params![
                    answer.run_id,
                    answer.step,
                    answer.user,
                    answer.approve,
                    answer.comment,
                    answer.channel,
                    answer.at,
                    answer.digest
                ],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                {
                    StoreError(format!("sqlite store: no run {}", answer.run_id))
                }
                e => err("cannot record answer", e),
            })?;
            append_in(&tx, &answer.run_id, answer.at, &answered_event(answer))?;
            tx.commit().map_err(|e| err("cannot commit answer", e))?;
            Ok(())
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
}

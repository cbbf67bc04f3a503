//! The shared store: PostgreSQL, used by several `rbk` processes on several machines at once.
//!
//! Tables are `rbk_runs`, `rbk_events` and `rbk_answers`, created if missing in the first schema
//! of the connection's `search_path` (choose another with
//! `postgres://…/db?options=-csearch_path%3Dmyschema`). Appends lock the run row
//! (`SELECT … FOR UPDATE`) so two writers never get the same `seq`; `start_run` takes a
//! transaction-level advisory lock on (runbook, limit key) so limits hold across machines.
//!
//! One connection per store, behind an async mutex: calls from one process are serialized.
//! A connection the server closed is reopened on the next call.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{AsyncMessage, Client, Config, GenericClient, NoTls, Row, Transaction};

use super::common::{
    answered_event, check_transition, claim_allowed, ended_at, finished_state, head_from_columns,
    limit_exceeded, slot_holders, unique_prefix,
};
use super::queue::{
    cancel_events, expiry, now_ms, plan, QueuedStart, StartFacts, RESOLVED_BEFORE_START,
};
use super::{
    ApprovalAnswer, Backend, ClaimRefusal, HoldDecision, Intake, IntakeReport, Lease, RunLimits,
    RunOwner, RunQuery, RunRecord, RunState, RunTrigger, StartDecision, Store, StoreError,
    TriggerKind,
};
use crate::action::BoxFuture;
use crate::journal::{event_hash, Event, EventKind};

/// The channel a queueing transaction notifies and idle workers listen on.
const WORK_CHANNEL: &str = "rbk_work";

/// The advisory lock key that serializes schema creation (`rbk` in ASCII, then `schema`).
const SCHEMA_LOCK: i64 = 0x7262_6b73_6368_656d;

/// Bumped whenever [`SCHEMA`] or [`ADDED_RUN_COLUMNS`] change. A store already at this version
/// runs no DDL when a process connects: `ALTER TABLE` takes an exclusive lock on `rbk_runs`
/// even when the column exists, and a CLI connecting beside a busy `rbk serve` deadlocked on it.
/// 4: answers' external ids (unique per channel), parked runs' `wake_at`, `rbk_notices`.
const SCHEMA_VERSION: i32 = 4;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS rbk_runs (
    id          TEXT PRIMARY KEY,
    file        TEXT NOT NULL,
    runbook     TEXT NOT NULL,
    started_by  TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
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
    seq         BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS rbk_answers (
    run_id      TEXT NOT NULL REFERENCES rbk_runs (id),
    step        TEXT NOT NULL,
    "user"      TEXT NOT NULL,
    approve     BOOLEAN NOT NULL,
    comment     TEXT,
    channel     TEXT NOT NULL,
    at          BIGINT NOT NULL,
    digest      TEXT NOT NULL,
    UNIQUE (run_id, step, "user")
);
-- The anchored journal head; NULL in runs recorded before it was.
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS head_events BIGINT;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS head_hash TEXT;
"#;

/// Columns added after the first schema: added to an existing database when missing.
const ADDED_RUN_COLUMNS: &str = r#"
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS owner_host TEXT NOT NULL DEFAULT '';
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS owner_pid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS owner_started TEXT NOT NULL DEFAULT '';
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS dry_run BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS trigger_kind TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS trigger_name TEXT;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS trigger_fingerprint TEXT;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS trigger_key TEXT;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS coalesce_key TEXT;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS alert TEXT;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS shadow BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS held BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS ended_at BIGINT;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS lease_owner TEXT;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS lease_token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS lease_expires_at BIGINT;
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
CREATE INDEX IF NOT EXISTS rbk_runs_held ON rbk_runs (runbook) WHERE held;
CREATE TABLE IF NOT EXISTS rbk_alert_events (
    source      TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    starts_at   BIGINT NOT NULL,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    UNIQUE (source, fingerprint, starts_at, status)
);
ALTER TABLE rbk_runs ADD COLUMN IF NOT EXISTS wake_at BIGINT;
CREATE INDEX IF NOT EXISTS rbk_runs_wake ON rbk_runs (wake_at) WHERE wake_at IS NOT NULL;
ALTER TABLE rbk_answers ADD COLUMN IF NOT EXISTS external_id TEXT;
-- A click or event delivered twice is one answer, whatever run it names.
CREATE UNIQUE INDEX IF NOT EXISTS rbk_answers_external ON rbk_answers (channel, external_id)
    WHERE external_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS rbk_notices (
    run_id      TEXT NOT NULL REFERENCES rbk_runs (id),
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
"#;

const RUN_COLUMNS: &str = "id, file, runbook, started_by, started_at, status, summary, digest, \
     inputs, limit_key, head_events, head_hash, owner_host, owner_pid, owner_started, dry_run, \
     trigger_kind, trigger_name, trigger_fingerprint, trigger_key, coalesce_key, alert, shadow, \
     held, ended_at";

pub struct PostgresStore {
    config: Config,
    client: Mutex<Client>,
    /// Woken by a NOTIFY on [`WORK_CHANNEL`] from any process.
    work: Arc<super::queue::WorkSignal>,
    /// The connection that LISTENs (its own, never the pooled one), and the task reading it.
    listener: Mutex<Option<(Client, tokio::task::JoinHandle<()>)>>,
}

fn err(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::database(Backend::Postgres, context, e)
}

/// A tokio-postgres error with the server's message, which `Display` alone leaves out.
fn pg_err(context: &str, e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => err(context, format!("{}: {}", db.severity(), db.message())),
        None => match std::error::Error::source(&e) {
            Some(source) => err(context, format!("{e}: {source}")),
            None => err(context, e),
        },
    }
}

async fn open_client(config: &Config) -> Result<Client, StoreError> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| pg_err("cannot connect", e))?;
    // The connection does the actual I/O; it ends when the client is dropped or the server
    // goes away (the client then reports "connection closed" and is reopened).
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The version recorded by the last migration; `None` for a database rbk has not set up (or
/// set up before it recorded versions).
async fn schema_version(client: &Client) -> Result<Option<i32>, StoreError> {
    let row = client
        .query_one("SELECT to_regclass('rbk_schema_version') IS NOT NULL", &[])
        .await
        .map_err(|e| pg_err("cannot read the schema version", e))?;
    if !row.get::<_, bool>(0) {
        return Ok(None);
    }
    let row = client
        .query_opt("SELECT version FROM rbk_schema_version", &[])
        .await
        .map_err(|e| pg_err("cannot read the schema version", e))?;
    Ok(row.map(|r| r.get(0)))
}

/// Creates or updates the tables, once, under an advisory lock: `CREATE TABLE IF NOT EXISTS`
/// races with itself when several workers start together on a new database.
async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client
        .transaction()
        .await
        .map_err(|e| pg_err("cannot begin", e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(|e| pg_err("cannot lock schema", e))?;
    tx.batch_execute(SCHEMA)
        .await
        .map_err(|e| pg_err("cannot create schema", e))?;
    tx.batch_execute(ADDED_RUN_COLUMNS)
        .await
        .map_err(|e| pg_err("cannot add columns", e))?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS rbk_schema_version (version INTEGER NOT NULL);
             DELETE FROM rbk_schema_version;
             INSERT INTO rbk_schema_version VALUES ({SCHEMA_VERSION});"
    ))
    .await
    .map_err(|e| pg_err("cannot record the schema version", e))?;
    tx.commit()
        .await
        .map_err(|e| pg_err("cannot commit schema", e))?;
    Ok(())
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db?…`) and creates the tables if missing.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let config: Config = url.parse().map_err(|e| err("invalid connection URL", e))?;
        let mut client = open_client(&config).await?;
        if schema_version(&client).await? != Some(SCHEMA_VERSION) {
            migrate(&mut client).await?;
        }
        Ok(PostgresStore {
            config,
            client: Mutex::new(client),
            work: Arc::default(),
            listener: Mutex::new(None),
        })
    }

    /// Starts listening for queued work when not already listening (or when that connection
    /// died). A failure leaves only the poll.
    async fn ensure_listener(&self) {
        let mut slot = self.listener.lock().await;
        if slot
            .as_ref()
            .is_some_and(|(client, task)| !client.is_closed() && !task.is_finished())
        {
            return;
        }
        *slot = None;
        let Ok((client, mut connection)) = self.config.connect(NoTls).await else {
            return;
        };
        let work = self.work.clone();
        let task = tokio::spawn(async move {
            loop {
                match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                    Some(Ok(AsyncMessage::Notification(_))) => {
                        work.wake();
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break,
                }
            }
        });
        if client
            .batch_execute(&format!("LISTEN {WORK_CHANNEL}"))
            .await
            .is_ok()
        {
            *slot = Some((client, task));
        }
    }

    /// The connection, reopened first if the server closed it.
    async fn client(&self) -> Result<MutexGuard<'_, Client>, StoreError> {
        let mut client = self.client.lock().await;
        if client.is_closed() {
            *client = open_client(&self.config).await?;
        }
        Ok(client)
    }

    /// Runs raw SQL against the store, bypassing every check: for tests (e.g. tampering with
    /// the journal to see it detected) and manual repairs. Returns the rows changed.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        self.client()
            .await?
            .execute(sql, &[])
            .await
            .map_err(|e| pg_err("raw sql", e))
    }
}

/// The advisory lock key for a runbook's limits under one key.
fn limit_lock(runbook: &str, limit_key: &str) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(b"rbk-limits\0");
    hasher.update(runbook.as_bytes());
    hasher.update(b"\0");
    hasher.update(limit_key.as_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

fn run_from_row(row: &Row) -> Result<RunRecord, StoreError> {
    let id: String = row.try_get(0).map_err(|e| pg_err("bad run row", e))?;
    let get = |i: usize| -> Result<String, StoreError> {
        row.try_get(i)
            .map_err(|e| pg_err(&format!("bad run row {id}"), e))
    };
    let inputs = get(8)?;
    Ok(RunRecord {
        file: get(1)?,
        runbook: get(2)?,
        started_by: get(3)?,
        started_at: row
            .try_get(4)
            .map_err(|e| pg_err(&format!("bad run row {id}"), e))?,
        state: get(5)?.parse().map_err(|e| err(&format!("run {id}"), e))?,
        summary: get(6)?,
        digest: get(7)?,
        inputs: serde_json::from_str(&inputs)
            .map_err(|e| err(&format!("run {id}: bad inputs JSON"), e))?,
        limit_key: get(9)?,
        head: head_from_columns(
            row.try_get(10)
                .map_err(|e| pg_err(&format!("bad run row {id}"), e))?,
            row.try_get(11)
                .map_err(|e| pg_err(&format!("bad run row {id}"), e))?,
        ),
        owner: owner_from(
            get(12)?,
            row.try_get(13)
                .map_err(|e| pg_err(&format!("bad run row {id}"), e))?,
            get(14)?,
        ),
        dry_run: row
            .try_get(15)
            .map_err(|e| pg_err(&format!("bad run row {id}"), e))?,
        trigger: RunTrigger {
            kind: TriggerKind::parse(&get(16)?).unwrap_or_default(),
            name: opt(row, 17, &id)?,
            fingerprint: opt(row, 18, &id)?,
            key: opt(row, 19, &id)?.unwrap_or_default(),
        },
        coalesce_key: opt(row, 20, &id)?,
        alert: opt(row, 21, &id)?
            .map(|alert| serde_json::from_str(&alert))
            .transpose()
            .map_err(|e| err(&format!("run {id}: bad alert JSON"), e))?,
        shadow: row
            .try_get(22)
            .map_err(|e| pg_err(&format!("bad run row {id}"), e))?,
        held: row
            .try_get(23)
            .map_err(|e| pg_err(&format!("bad run row {id}"), e))?,
        ended_at: row
            .try_get(24)
            .map_err(|e| pg_err(&format!("bad run row {id}"), e))?,
        id,
    })
}

fn opt(row: &Row, index: usize, id: &str) -> Result<Option<String>, StoreError> {
    row.try_get(index)
        .map_err(|e| pg_err(&format!("bad run row {id}"), e))
}

fn owner_from(host: String, pid: i64, started: String) -> Option<RunOwner> {
    (!host.is_empty()).then(|| RunOwner {
        host,
        pid: u32::try_from(pid).unwrap_or(0),
        started,
    })
}

fn owner_columns(owner: Option<&RunOwner>) -> (String, i64, String) {
    owner.map_or((String::new(), 0, String::new()), |o| {
        (o.host.clone(), i64::from(o.pid), o.started.clone())
    })
}

/// The owners of the other not-ended, real runs of a runbook and key.
async fn active_owners(
    tx: &Transaction<'_>,
    runbook: &str,
    limit_key: &str,
    except: &str,
) -> Result<Vec<Option<RunOwner>>, StoreError> {
    let active = RunState::active_names();
    let rows = tx
        .query(
            "SELECT owner_host, owner_pid, owner_started FROM rbk_runs \
             WHERE runbook = $1 AND limit_key = $2 AND id <> $3 AND NOT dry_run \
             AND status = ANY($4)",
            &[&runbook, &limit_key, &except, &active],
        )
        .await
        .map_err(|e| pg_err("cannot count active runs", e))?;
    rows.iter()
        .map(|row| {
            let bad = |e| pg_err("bad run row", e);
            Ok(owner_from(
                row.try_get(0).map_err(bad)?,
                row.try_get(1).map_err(bad)?,
                row.try_get(2).map_err(bad)?,
            ))
        })
        .collect()
}

/// Records `run` as it is (its state and summary included).
async fn insert_run(tx: &Transaction<'_>, run: &RunRecord) -> Result<(), StoreError> {
    let inputs = serde_json::to_string(&run.inputs).map_err(|e| err("inputs", e))?;
    let alert = run
        .alert
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| err("alert", e))?;
    let (host, pid, started) = owner_columns(run.owner.as_ref());
    let key = (!run.trigger.key.is_empty()).then_some(run.trigger.key.as_str());
    tx.execute(
        &format!(
            "INSERT INTO rbk_runs ({RUN_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, '', $11, $12, $13, $14, \
             $15, $16, $17, $18, $19, $20, $21, $22, $23)"
        ),
        &[
            &run.id,
            &run.file,
            &run.runbook,
            &run.started_by,
            &run.started_at,
            &run.state.as_str(),
            &run.summary,
            &run.digest,
            &inputs,
            &run.limit_key,
            &host,
            &pid,
            &started,
            &run.dry_run,
            &run.trigger.kind.as_str(),
            &run.trigger.name,
            &run.trigger.fingerprint,
            &key,
            &run.coalesce_key,
            &alert,
            &run.shadow,
            &run.held,
            &run.ended_at,
        ],
    )
    .await
    .map_err(|e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
            StoreError::RunOrTriggerExists {
                backend: Backend::Postgres,
                run_id: run.id.clone(),
                runbook: run.runbook.clone(),
                key: run.trigger.key.clone(),
            }
        } else {
            pg_err(&format!("cannot record run {}", run.id), e)
        }
    })?;
    Ok(())
}

async fn count(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    context: &str,
) -> Result<i64, StoreError> {
    client
        .query_one(sql, params)
        .await
        .map_err(|e| pg_err(context, e))?
        .try_get(0)
        .map_err(|e| pg_err(context, e))
}

/// Appends `kind` to the run's journal inside `tx` (the run row locked, so two writers never
/// get the same `seq`) and moves the run's anchored head with it.
async fn append_in(
    tx: &Transaction<'_>,
    run_id: &str,
    at: i64,
    kind: &EventKind,
) -> Result<Event, StoreError> {
    let json = serde_json::to_string(kind).map_err(|e| err("event", e))?;
    let locked = tx
        .query_opt(
            "SELECT id FROM rbk_runs WHERE id = $1 FOR UPDATE",
            &[&run_id],
        )
        .await
        .map_err(|e| pg_err("cannot lock run", e))?;
    if locked.is_none() {
        return Err(StoreError::NoSuchRun {
            backend: Some(Backend::Postgres),
            run_id: run_id.to_string(),
        });
    }
    let last = tx
        .query_opt(
            "SELECT seq, hash FROM rbk_events WHERE run_id = $1 ORDER BY seq DESC LIMIT 1",
            &[&run_id],
        )
        .await
        .map_err(|e| pg_err("cannot read journal", e))?;
    let (seq, prev_hash) = match last {
        None => (0u64, String::new()),
        Some(row) => {
            let seq: i64 = row.try_get(0).map_err(|e| pg_err("bad event row", e))?;
            let hash: String = row.try_get(1).map_err(|e| pg_err("bad event row", e))?;
            (seq as u64 + 1, hash)
        }
    };
    let hash = event_hash(&prev_hash, seq, at, kind);
    let seq_sql = i64::try_from(seq).map_err(|_| StoreError::SeqOutOfRange {
        backend: Backend::Postgres,
        seq,
    })?;
    tx.execute(
        "INSERT INTO rbk_events (run_id, seq, at, kind, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[&run_id, &seq_sql, &at, &json, &prev_hash, &hash],
    )
    .await
    .map_err(|e| pg_err("cannot append event", e))?;
    tx.execute(
        "UPDATE rbk_runs SET head_events = $2, head_hash = $3 WHERE id = $1",
        &[&run_id, &(seq_sql + 1), &hash],
    )
    .await
    .map_err(|e| pg_err("cannot anchor the journal head", e))?;
    if let Some((state, summary)) = finished_state(kind) {
        // The lease stays until the worker sets the state itself: it still holds the run.
        tx.execute(
            "UPDATE rbk_runs SET status = $2, summary = $3, ended_at = $4 \
             WHERE id = $1 AND status = ANY($5)",
            &[
                &run_id,
                &state.as_str(),
                &summary,
                &ended_at(state),
                &RunState::active_stored_names(),
            ],
        )
        .await
        .map_err(|e| pg_err("cannot record the run's end", e))?;
    }
    Ok(Event {
        seq,
        at,
        kind: kind.clone(),
        prev_hash,
        hash,
    })
}

async fn set_state_in(
    tx: &Transaction<'_>,
    run_id: &str,
    state: RunState,
    summary: &str,
) -> Result<(), StoreError> {
    let current = tx
        .query_opt(
            "SELECT status, summary, ended_at FROM rbk_runs WHERE id = $1 FOR UPDATE",
            &[&run_id],
        )
        .await
        .map_err(|e| pg_err("cannot read run", e))?
        .map(
            |row| -> Result<(RunState, String, Option<i64>), StoreError> {
                let bad = |e| pg_err("bad run row", e);
                let status: String = row.try_get(0).map_err(bad)?;
                Ok((
                    status
                        .parse()
                        .map_err(|e| err(&format!("run {run_id}"), e))?,
                    row.try_get(1).map_err(bad)?,
                    row.try_get(2).map_err(bad)?,
                ))
            },
        )
        .transpose()?;
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
        backend: Backend::Postgres,
        refusal: Box::new(refusal),
    })?;
    // A final state holds no lease.
    let keeps_lease = !state.is_final();
    tx.execute(
        "UPDATE rbk_runs SET status = $2, summary = $3, ended_at = $4, \
         lease_owner = CASE WHEN $5 THEN lease_owner END, \
         lease_expires_at = CASE WHEN $5 THEN lease_expires_at END WHERE id = $1",
        &[&run_id, &state.as_str(), &summary, &ended, &keeps_lease],
    )
    .await
    .map_err(|e| pg_err("cannot set state", e))?;
    Ok(())
}

/// Whether `lease` is still the run's lease; the run row stays locked until the transaction
/// ends, so it cannot be taken away before what the lease allows is written.
async fn holds(tx: &Transaction<'_>, lease: &Lease) -> Result<bool, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM rbk_runs WHERE id = $1 AND lease_token = $2 AND lease_owner = $3 \
             FOR UPDATE",
            &[&lease.run_id, &lease.token, &lease.worker],
        )
        .await
        .map_err(|e| pg_err("cannot check the lease", e))?
        .is_some())
}

/// What the rules need to know about one start, read inside the ingest transaction (which
/// holds the runbook's advisory lock, so no other start of it can come in between).
async fn facts_in(tx: &Transaction<'_>, start: &QueuedStart) -> Result<StartFacts, StoreError> {
    let record = &start.record;
    let bad = |e| pg_err("cannot read the runbook's runs", e);
    let mut facts = StartFacts::default();
    if !record.trigger.key.is_empty() {
        facts.existing = tx
            .query_opt(
                "SELECT id FROM rbk_runs WHERE runbook = $1 AND trigger_key = $2",
                &[&record.runbook, &record.trigger.key],
            )
            .await
            .map_err(bad)?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(bad)?;
        if facts.existing.is_some() {
            return Ok(facts);
        }
    }
    if start.limits.concurrency.is_some() {
        // The states written out, as the partial index `rbk_runs_active` names them.
        facts.active = tx
            .query(
                "SELECT id FROM rbk_runs WHERE runbook = $1 \
                 AND coalesce_key IS NOT DISTINCT FROM $2 \
                 AND status IN ('queued', 'running', 'waiting', 'in_doubt') \
                 AND NOT dry_run AND NOT held ORDER BY started_at, id",
                &[&record.runbook, &record.coalesce_key],
            )
            .await
            .map_err(bad)?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()
            .map_err(bad)?;
    }
    // Both limits only ask whether a count reaches a bound, so the scans stop at the bound:
    // in a storm the window holds thousands of runs, and every start would count them all.
    if let (Some(since), Some((max, _))) = (start.rate_since(), start.limits.rate) {
        facts.recent = count(
            tx,
            "SELECT count(*) FROM (SELECT 1 FROM rbk_runs WHERE runbook = $1 AND limit_key = $2 \
             AND status NOT IN ('suppressed', 'coalesced', 'cancelled') \
             AND NOT dry_run AND started_at >= $3 LIMIT $4) AS bounded",
            &[&record.runbook, &start.rate_key(), &since, &i64::from(max)],
            "cannot count recent runs",
        )
        .await?;
    }
    if let (Some(since), Some(storm)) = (start.storm_since(), start.storm) {
        facts.held = tx
            .query_opt(
                "SELECT id FROM rbk_runs WHERE runbook = $1 AND held AND status = 'waiting' \
                 ORDER BY started_at LIMIT 1",
                &[&record.runbook],
            )
            .await
            .map_err(bad)?
            .map(|row| row.try_get(0))
            .transpose()
            .map_err(bad)?;
        // With a hold in place every start coalesces onto it; the count decides nothing.
        if facts.held.is_none() {
            facts.distinct = count(
                tx,
                "SELECT count(*) FROM (SELECT 1 FROM rbk_runs WHERE runbook = $1 \
                 AND trigger_kind = 'alert' AND started_at >= $2 LIMIT $3) AS bounded",
                &[&record.runbook, &since, &i64::from(storm.max_distinct)],
                "cannot count the runbook's alerts",
            )
            .await?;
        }
    }
    Ok(facts)
}

/// Records a whole intake inside `tx`.
async fn ingest_in(tx: &Transaction<'_>, intake: &Intake) -> Result<IntakeReport, StoreError> {
    // Every start and cancellation of a runbook serializes on its advisory lock, taken in one
    // order so that two payloads naming the same runbooks never deadlock.
    let mut runbooks: Vec<&str> = intake
        .starts
        .iter()
        .map(|s| s.record.runbook.as_str())
        .chain(intake.resolved.iter().map(|(runbook, _)| runbook.as_str()))
        .collect();
    runbooks.sort_unstable();
    runbooks.dedup();
    let mut locks: Vec<i64> = runbooks.iter().map(|r| limit_lock(r, "\0queue")).collect();
    locks.sort_unstable();
    for key in locks {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
            .await
            .map_err(|e| pg_err("cannot lock the runbook's queue", e))?;
    }
    let mut report = IntakeReport::default();
    for alert in &intake.alerts {
        let body = serde_json::to_string(&alert.body).map_err(|e| err("alert body", e))?;
        let added = tx
            .execute(
                "INSERT INTO rbk_alert_events \
                 (source, fingerprint, starts_at, status, body, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &alert.source,
                    &alert.fingerprint,
                    &alert.starts_at,
                    &alert.status,
                    &body,
                    &alert.received_at,
                ],
            )
            .await
            .map_err(|e| pg_err("cannot record an alert", e))?;
        if added == 1 {
            report.new_alerts += 1;
        } else {
            report.duplicate_alerts += 1;
        }
    }
    let at = now_ms();
    for start in &intake.starts {
        let facts = facts_in(tx, start).await?;
        let planned = plan(start, &facts);
        if let Some(record) = &planned.record {
            insert_run(tx, record).await?;
            for event in &planned.events {
                append_in(tx, &record.id, at, event).await?;
            }
        }
        if let Some((onto, event)) = &planned.onto {
            append_in(tx, onto, at, event).await?;
        }
        report.starts.push(planned.outcome);
    }
    for (runbook, key) in &intake.resolved {
        let found = tx
            .query_opt(
                "SELECT id, status, alert FROM rbk_runs WHERE runbook = $1 AND trigger_key = $2 \
                 FOR UPDATE",
                &[runbook, key],
            )
            .await
            .map_err(|e| pg_err("cannot read the resolved alert's run", e))?;
        let Some(row) = found else { continue };
        let bad = |e| pg_err("bad run row", e);
        let id: String = row.try_get(0).map_err(bad)?;
        let status: String = row.try_get(1).map_err(bad)?;
        let alert: Option<String> = row.try_get(2).map_err(bad)?;
        let state: RunState = status.parse().map_err(|e| err(&format!("run {id}"), e))?;
        match state {
            RunState::Queued => {
                for event in cancel_events(RESOLVED_BEFORE_START) {
                    append_in(tx, &id, at, &event).await?;
                }
                set_state_in(tx, &id, RunState::Cancelled, RESOLVED_BEFORE_START).await?;
                report.cancelled.push(id);
            }
            state if state.is_active() => {
                let event = EventKind::AlertResolved {
                    trigger_key: key.clone(),
                };
                append_in(tx, &id, at, &event).await?;
                if let Some(resolved) = alert.as_deref().and_then(resolved_alert) {
                    tx.execute(
                        "UPDATE rbk_runs SET alert = $2 WHERE id = $1",
                        &[&id, &resolved],
                    )
                    .await
                    .map_err(|e| pg_err("cannot mark the run's alert resolved", e))?;
                }
            }
            _ => {}
        }
    }
    if report.queued_any() {
        // One NOTIFY per transaction at most: NOTIFY serializes commits.
        tx.execute("SELECT pg_notify($1, '')", &[&WORK_CHANNEL])
            .await
            .map_err(|e| pg_err("cannot notify workers", e))?;
    }
    Ok(report)
}

/// The alert JSON with `status` set to `resolved`, when it is an object.
fn resolved_alert(alert: &str) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(alert).ok()?;
    super::queue::mark_alert_resolved(&mut value);
    serde_json::to_string(&value).ok()
}

fn answer_from_row(row: &Row) -> Result<ApprovalAnswer, StoreError> {
    let bad = |e| pg_err("bad answer row", e);
    Ok(ApprovalAnswer {
        run_id: row.try_get(0).map_err(bad)?,
        step: row.try_get(1).map_err(bad)?,
        user: row.try_get(2).map_err(bad)?,
        approve: row.try_get(3).map_err(bad)?,
        comment: row.try_get(4).map_err(bad)?,
        channel: row.try_get(5).map_err(bad)?,
        at: row.try_get(6).map_err(bad)?,
        digest: row.try_get(7).map_err(bad)?,
        external_id: row.try_get(8).map_err(bad)?,
        from: None,
        values: Default::default(),
    })
}

const ANSWER_COLUMNS: &str =
    r#"run_id, step, "user", approve, comment, channel, at, digest, external_id"#;

impl Store for PostgresStore {
    fn start_run<'a>(
        &'a self,
        run: &'a RunRecord,
        limits: &'a RunLimits,
    ) -> BoxFuture<'a, Result<StartDecision, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            // Every process checking the same runbook and key queues here until the one before
            // it commits its run, so the counts below include it.
            let key = limit_lock(&run.runbook, &run.limit_key);
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
                .await
                .map_err(|e| pg_err("cannot lock limits", e))?;
            // A dry run acts on nothing: no limit applies to it.
            let no_limits = RunLimits::default();
            let limits = if run.dry_run { &no_limits } else { limits };
            let active = if limits.concurrency.is_some() {
                let owners = active_owners(&tx, &run.runbook, &run.limit_key, &run.id).await?;
                Some(slot_holders(owners.iter().map(Option::as_ref)))
            } else {
                None
            };
            let recent = if let Some((_, window_ms)) = limits.rate {
                let since = run
                    .started_at
                    .saturating_sub(i64::try_from(window_ms).unwrap_or(i64::MAX));
                Some(
                    count(
                        &tx,
                        "SELECT count(*) FROM rbk_runs WHERE runbook = $1 AND limit_key = $2 \
                         AND status NOT IN ('suppressed', 'coalesced', 'cancelled') \
                         AND NOT dry_run AND started_at >= $3",
                        &[&run.runbook, &run.limit_key, &since],
                        "cannot count recent runs",
                    )
                    .await?,
                )
            } else {
                None
            };
            let reason = limit_exceeded(
                limits,
                || Ok(active.unwrap_or(0)),
                |_| Ok(recent.unwrap_or(0)),
                &run.limit_key,
            )?;
            let decision = match reason {
                None => {
                    insert_run(&tx, run).await?;
                    StartDecision::Started
                }
                Some(reason) => {
                    let mut suppressed = run.clone();
                    suppressed.state = RunState::Suppressed;
                    suppressed.summary = reason.clone();
                    suppressed.ended_at = Some(run.started_at);
                    insert_run(&tx, &suppressed).await?;
                    StartDecision::Suppressed(reason)
                }
            };
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit run", e))?;
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
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            // Locked like a start, so a resume and a new run never both take the last slot;
            // the row lock makes two resumes of the same run queue.
            let record = tx
                .query_opt(
                    &format!("SELECT {RUN_COLUMNS} FROM rbk_runs WHERE id = $1 FOR UPDATE"),
                    &[&run_id],
                )
                .await
                .map_err(|e| pg_err("cannot read run", e))?
                .map(|row| run_from_row(&row))
                .transpose()?;
            let mut others_holding = None;
            if let Some(record) = &record {
                let key = limit_lock(&record.runbook, &record.limit_key);
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
                    .await
                    .map_err(|e| pg_err("cannot lock limits", e))?;
                if limits.concurrency.is_some() {
                    let owners =
                        active_owners(&tx, &record.runbook, &record.limit_key, run_id).await?;
                    others_holding = Some(slot_holders(owners.iter().map(Option::as_ref)));
                }
            }
            let allowed = claim_allowed(record.as_ref(), limits, takeover, || {
                Ok(others_holding.unwrap_or(0))
            })?;
            if allowed.is_ok() {
                let (host, pid, started) = owner_columns(Some(owner));
                tx.execute(
                    "UPDATE rbk_runs SET owner_host = $2, owner_pid = $3, owner_started = $4 \
                     WHERE id = $1",
                    &[&run_id, &host, &pid, &started],
                )
                .await
                .map_err(|e| pg_err("cannot record the run's new process", e))?;
                tx.commit()
                    .await
                    .map_err(|e| pg_err("cannot commit claim", e))?;
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
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            let event = append_in(&tx, run_id, at, kind).await?;
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit event", e))?;
            Ok(event)
        })
    }

    fn events<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Vec<Event>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT seq, at, kind, prev_hash, hash FROM rbk_events \
                     WHERE run_id = $1 ORDER BY seq",
                    &[&run_id],
                )
                .await
                .map_err(|e| pg_err("cannot read journal", e))?;
            rows.iter()
                .map(|row| {
                    let bad = |e| pg_err(&format!("run {run_id}: bad event row"), e);
                    let seq: i64 = row.try_get(0).map_err(bad)?;
                    let kind: String = row.try_get(2).map_err(bad)?;
                    let kind: EventKind = serde_json::from_str(&kind).map_err(|e| {
                        err(
                            &format!("run {run_id}: event {seq} is not a valid event"),
                            e,
                        )
                    })?;
                    Ok(Event {
                        seq: seq as u64,
                        at: row.try_get(1).map_err(bad)?,
                        kind,
                        prev_hash: row.try_get(3).map_err(bad)?,
                        hash: row.try_get(4).map_err(bad)?,
                    })
                })
                .collect()
        })
    }

    fn set_state<'a>(
        &'a self,
        run_id: &'a str,
        state: RunState,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            set_state_in(&tx, run_id, state, summary).await?;
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit state", e))?;
            Ok(())
        })
    }

    fn run<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let exact = client
                .query_opt(
                    &format!("SELECT {RUN_COLUMNS} FROM rbk_runs WHERE id = $1"),
                    &[&id],
                )
                .await
                .map_err(|e| pg_err("cannot read run", e))?;
            if let Some(row) = exact {
                return run_from_row(&row).map(Some);
            }
            if id.is_empty() {
                return Ok(None);
            }
            let rows = client
                .query(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM rbk_runs \
                         WHERE substr(id, 1, length($1)) = $1 ORDER BY id LIMIT 2"
                    ),
                    &[&id],
                )
                .await
                .map_err(|e| pg_err("cannot read runs", e))?;
            unique_prefix(id, rows.iter().map(run_from_row).collect())
        })
    }

    fn list_runs<'a>(
        &'a self,
        query: &'a RunQuery,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>, StoreError>> {
        Box::pin(async move {
            let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
            let states: Option<Vec<&str>> = query.state.map(|s| s.stored_names().to_vec());
            let rows = self
                .client()
                .await?
                .query(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM rbk_runs \
                         WHERE ($2::text IS NULL OR runbook = $2) \
                         AND ($3::text[] IS NULL OR status = ANY($3)) \
                         ORDER BY started_at DESC, id DESC LIMIT $1"
                    ),
                    &[&limit, &query.runbook, &states],
                )
                .await
                .map_err(|e| pg_err("cannot list runs", e))?;
            rows.iter().map(run_from_row).collect()
        })
    }

    fn record_answer<'a>(
        &'a self,
        answer: &'a ApprovalAnswer,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            if let Some(external_id) = &answer.external_id {
                let seen = tx
                    .query_opt(
                        "SELECT 1 FROM rbk_answers WHERE channel = $1 AND external_id = $2",
                        &[&answer.channel, external_id],
                    )
                    .await
                    .map_err(|e| pg_err("cannot read answers", e))?;
                if seen.is_some() {
                    return Ok(false);
                }
            }
            let inserted = tx
                .execute(
                    r#"INSERT INTO rbk_answers (run_id, step, "user", approve, comment, channel, at, digest, external_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                   ON CONFLICT (run_id, step, "user") DO UPDATE SET
                     approve = excluded.approve, comment = excluded.comment,
                     channel = excluded.channel, at = excluded.at, digest = excluded.digest,
                     external_id = excluded.external_id"#,
                    &[
                        &answer.run_id,
                        &answer.step,
                        &answer.user,
                        &answer.approve,
                        &answer.comment,
                        &answer.channel,
                        &answer.at,
                        &answer.digest,
                        &answer.external_id,
                    ],
                )
                .await;
            match inserted {
                Ok(_) => {}
                // The same click recorded by another process since the check above.
                Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                    return Ok(false)
                }
                Err(e)
                    if e.code()
                        == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) =>
                {
                    return Err(StoreError::NoSuchRun {
                        backend: Some(Backend::Postgres),
                        run_id: answer.run_id.clone(),
                    })
                }
                Err(e) => return Err(pg_err("cannot record answer", e)),
            }
            append_in(&tx, &answer.run_id, answer.at, &answered_event(answer)).await?;
            requeue_parked_in(&tx, &answer.run_id).await?;
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit answer", e))?;
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
            let text = serde_json::to_string(value)
                .map_err(|e| StoreError::database(Backend::Postgres, "cannot encode notice", e))?;
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO rbk_notices (run_id, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                    &[&run_id, &key, &text],
                )
                .await
                .map_err(|e| {
                    if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) {
                        StoreError::NoSuchRun {
                            backend: Some(Backend::Postgres),
                            run_id: run_id.to_string(),
                        }
                    } else {
                        pg_err("cannot save notice", e)
                    }
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
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT value FROM rbk_notices WHERE run_id = $1 AND key = $2",
                    &[&run_id, &key],
                )
                .await
                .map_err(|e| pg_err("cannot read notice", e))?;
            let Some(row) = row else { return Ok(None) };
            let text: String = row.try_get(0).map_err(|e| pg_err("bad notice row", e))?;
            serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| StoreError::database(Backend::Postgres, &format!("notice {key}"), e))
        })
    }

    fn answers<'a>(
        &'a self,
        run_id: &'a str,
        step: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApprovalAnswer>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .client()
                .await?
                .query(
                    &format!(
                        r#"SELECT {ANSWER_COLUMNS} FROM rbk_answers
                           WHERE run_id = $1 AND step = $2 ORDER BY at, "user""#
                    ),
                    &[&run_id, &step],
                )
                .await
                .map_err(|e| pg_err("cannot read answers", e))?;
            rows.iter().map(answer_from_row).collect()
        })
    }

    fn run_answers<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApprovalAnswer>, StoreError>> {
        Box::pin(async move {
            let rows = self
                .client()
                .await?
                .query(
                    &format!(
                        r#"SELECT {ANSWER_COLUMNS} FROM rbk_answers
                           WHERE run_id = $1 ORDER BY step, at, "user""#
                    ),
                    &[&run_id],
                )
                .await
                .map_err(|e| pg_err("cannot read answers", e))?;
            rows.iter().map(answer_from_row).collect()
        })
    }

    fn ingest<'a>(&'a self, intake: &'a Intake) -> BoxFuture<'a, Result<IntakeReport, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            let report = ingest_in(&tx, intake).await?;
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit the intake", e))?;
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
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            let max = i64::try_from(max).unwrap_or(i64::MAX);
            let owner = RunOwner::this_process();
            let (host, pid, started) = owner_columns(Some(&owner));
            let expires = expiry(lease_ms);
            // The CTE picks at most `max` rows, skipping those another claimer has locked;
            // the UPDATE takes exactly those (without it the planner may update more).
            let taken = tx
                .query(
                    "WITH next AS ( \
                       SELECT id FROM rbk_runs WHERE status = 'queued' \
                       ORDER BY started_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) \
                     UPDATE rbk_runs AS r SET status = 'running', lease_owner = $2, \
                       lease_token = r.lease_token + 1, lease_expires_at = $3, \
                       owner_host = $4, owner_pid = $5, owner_started = $6 \
                     FROM next WHERE r.id = next.id \
                     RETURNING r.id, r.lease_token",
                    &[&max, &worker, &expires, &host, &pid, &started],
                )
                .await
                .map_err(|e| pg_err("cannot claim runs", e))?;
            let mut claimed = Vec::new();
            for row in taken {
                let bad = |e| pg_err("bad claimed row", e);
                let id: String = row.try_get(0).map_err(bad)?;
                let token: i64 = row.try_get(1).map_err(bad)?;
                let record = tx
                    .query_one(
                        &format!("SELECT {RUN_COLUMNS} FROM rbk_runs WHERE id = $1"),
                        &[&id],
                    )
                    .await
                    .map_err(|e| pg_err("cannot read a claimed run", e))?;
                claimed.push((
                    run_from_row(&record)?,
                    Lease {
                        run_id: id,
                        token,
                        worker: worker.to_string(),
                    },
                ));
            }
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit the claim", e))?;
            claimed.sort_by(|a, b| (a.0.started_at, &a.0.id).cmp(&(b.0.started_at, &b.0.id)));
            Ok(claimed)
        })
    }

    fn heartbeat<'a>(
        &'a self,
        lease: &'a Lease,
        lease_ms: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let changed = self
                .client()
                .await?
                .execute(
                    "UPDATE rbk_runs SET lease_expires_at = $4 \
                     WHERE id = $1 AND lease_token = $2 AND lease_owner = $3",
                    &[
                        &lease.run_id,
                        &lease.token,
                        &lease.worker,
                        &expiry(lease_ms),
                    ],
                )
                .await
                .map_err(|e| pg_err("cannot renew the lease", e))?;
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
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            if !holds(&tx, lease).await? {
                return Ok(None);
            }
            let event = append_in(&tx, &lease.run_id, at, kind).await?;
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit event", e))?;
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
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            if !holds(&tx, lease).await? {
                return Ok(false);
            }
            set_state_in(&tx, &lease.run_id, state, summary).await?;
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit state", e))?;
            Ok(true)
        })
    }

    fn requeue_parked<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            let requeued = requeue_parked_in(&tx, run_id).await?;
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit the requeue", e))?;
            Ok(requeued)
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            if !holds(&tx, lease).await? {
                return Ok(());
            }
            let event = EventKind::RunReleased {
                worker: lease.worker.clone(),
            };
            append_in(&tx, &lease.run_id, now_ms(), &event).await?;
            let row = tx
                .query_one(
                    "UPDATE rbk_runs SET status = CASE WHEN status = 'running' THEN 'queued' \
                     ELSE status END, lease_owner = NULL, lease_expires_at = NULL, \
                     lease_token = lease_token + 1 WHERE id = $1 RETURNING status = 'queued'",
                    &[&lease.run_id],
                )
                .await
                .map_err(|e| pg_err("cannot release the run", e))?;
            let requeued: bool = row.try_get(0).map_err(|e| pg_err("bad run row", e))?;
            if requeued {
                tx.execute("SELECT pg_notify($1, '')", &[&WORK_CHANNEL])
                    .await
                    .map_err(|e| pg_err("cannot notify workers", e))?;
            }
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit the release", e))?;
            Ok(())
        })
    }

    fn park_until<'a>(
        &'a self,
        run_id: &'a str,
        wake_at: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let changed = client
                .execute(
                    &format!("UPDATE rbk_runs SET wake_at = $2 WHERE id = $1 AND {PARKED_SQL}"),
                    &[&run_id, &wake_at],
                )
                .await
                .map_err(|e| pg_err("cannot park the run", e))?;
            Ok(changed > 0)
        })
    }

    fn wake_due<'a>(&'a self, now: i64) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            let rows = tx
                .query(
                    "SELECT id FROM rbk_runs WHERE wake_at <= $1 ORDER BY id FOR UPDATE SKIP LOCKED",
                    &[&now],
                )
                .await
                .map_err(|e| pg_err("cannot read parked runs", e))?;
            let mut due = Vec::new();
            for row in rows {
                let id: String = row.try_get(0).map_err(|e| pg_err("bad run row", e))?;
                if requeue_parked_in(&tx, &id).await? {
                    due.push(id);
                }
            }
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit the wake-up", e))?;
            Ok(due)
        })
    }

    fn decide_hold<'a>(
        &'a self,
        run_id: &'a str,
        decision: &'a HoldDecision,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            let held = tx
                .execute(
                    "UPDATE rbk_runs SET held = false WHERE id = $1 AND held \
                     AND status = 'waiting'",
                    &[&run_id],
                )
                .await
                .map_err(|e| pg_err("cannot decide the held run", e))?;
            if held == 0 {
                return Ok(false);
            }
            let (events, summary) = decision.events();
            for event in &events {
                append_in(&tx, run_id, decision.at, event).await?;
            }
            if decision.release {
                tx.execute(
                    "UPDATE rbk_runs SET status = 'queued' WHERE id = $1",
                    &[&run_id],
                )
                .await
                .map_err(|e| pg_err("cannot queue the held run", e))?;
                tx.execute("SELECT pg_notify($1, '')", &[&WORK_CHANNEL])
                    .await
                    .map_err(|e| pg_err("cannot notify workers", e))?;
            } else {
                set_state_in(&tx, run_id, RunState::Cancelled, &summary).await?;
            }
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit the storm decision", e))?;
            Ok(true)
        })
    }

    fn reap<'a>(&'a self, now: i64) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            let active = RunState::active_names();
            // SKIP LOCKED: two reapers never take over the same run twice.
            let rows = tx
                .query(
                    "SELECT id, lease_owner FROM rbk_runs WHERE lease_owner IS NOT NULL \
                     AND lease_expires_at < $1 AND status = ANY($2) \
                     ORDER BY id FOR UPDATE SKIP LOCKED",
                    &[&now, &active],
                )
                .await
                .map_err(|e| pg_err("cannot read expired leases", e))?;
            let mut reaped = Vec::new();
            for row in rows {
                let bad = |e| pg_err("bad run row", e);
                let id: String = row.try_get(0).map_err(bad)?;
                let from_worker: String = row.try_get(1).map_err(bad)?;
                let event = EventKind::RunTakenOver {
                    from_worker,
                    to_worker: None,
                };
                append_in(&tx, &id, now_ms(), &event).await?;
                tx.execute(
                    "UPDATE rbk_runs SET status = CASE WHEN status = 'running' THEN 'queued' \
                     ELSE status END, lease_owner = NULL, lease_expires_at = NULL, \
                     lease_token = lease_token + 1 WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(|e| pg_err("cannot requeue an expired run", e))?;
                reaped.push(id);
            }
            if !reaped.is_empty() {
                tx.execute("SELECT pg_notify($1, '')", &[&WORK_CHANNEL])
                    .await
                    .map_err(|e| pg_err("cannot notify workers", e))?;
            }
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit the reap", e))?;
            Ok(reaped)
        })
    }

    fn wait_for_work<'a>(&'a self, max: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.ensure_listener().await;
            self.work.wait(max).await;
        })
    }
}

/// A run that waits for a human with no worker: claimed before, no lease now.
const PARKED_SQL: &str =
    "status IN ('waiting', 'in_doubt') AND lease_owner IS NULL AND lease_token > 0";

/// Queues a parked run again (see [`Store::requeue_parked`]) and wakes the workers; `true`
/// when it was one. Its wake-up time goes: the worker that takes it parks it again.
async fn requeue_parked_in(tx: &Transaction<'_>, run_id: &str) -> Result<bool, StoreError> {
    let changed = tx
        .execute(
            &format!(
                "UPDATE rbk_runs SET status = 'queued', wake_at = NULL WHERE id = $1 AND {PARKED_SQL}"
            ),
            &[&run_id],
        )
        .await
        .map_err(|e| pg_err("cannot queue the answered run", e))?;
    if changed > 0 {
        tx.execute("SELECT pg_notify($1, '')", &[&WORK_CHANNEL])
            .await
            .map_err(|e| pg_err("cannot notify workers", e))?;
    }
    Ok(changed > 0)
}

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

use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{Client, Config, GenericClient, NoTls, Row, Transaction};

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

/// The advisory lock key that serializes schema creation (`rbk` in ASCII, then `schema`).
const SCHEMA_LOCK: i64 = 0x7262_6b73_6368_656d;

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
"#;

const RUN_COLUMNS: &str = "id, file, runbook, started_by, started_at, status, summary, digest, \
     inputs, limit_key, head_events, head_hash, owner_host, owner_pid, owner_started, dry_run";

pub struct PostgresStore {
    config: Config,
    client: Mutex<Client>,
}

fn err(context: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("postgres store: {context}: {e}"))
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

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db?…`) and creates the tables if missing.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let config: Config = url.parse().map_err(|e| err("invalid connection URL", e))?;
        let mut client = open_client(&config).await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| pg_err("cannot begin", e))?;
        // `CREATE TABLE IF NOT EXISTS` races with itself: serialize the workers that start
        // together on a new database.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .await
            .map_err(|e| pg_err("cannot lock schema", e))?;
        tx.batch_execute(SCHEMA)
            .await
            .map_err(|e| pg_err("cannot create schema", e))?;
        tx.batch_execute(ADDED_RUN_COLUMNS)
            .await
            .map_err(|e| pg_err("cannot add columns", e))?;
        tx.commit()
            .await
            .map_err(|e| pg_err("cannot commit schema", e))?;
        Ok(PostgresStore {
            config,
            client: Mutex::new(client),
        })
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
        status: get(5)?,
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
        id,
    })
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
    let finals: Vec<&str> = FINAL_STATES.to_vec();
    let rows = tx
        .query(
            "SELECT owner_host, owner_pid, owner_started FROM rbk_runs \
             WHERE runbook = $1 AND limit_key = $2 AND id <> $3 AND NOT dry_run \
             AND NOT (status = ANY($4))",
            &[&runbook, &limit_key, &except, &finals],
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

async fn insert_run(
    tx: &Transaction<'_>,
    run: &RunRecord,
    status: &str,
    summary: &str,
) -> Result<(), StoreError> {
    let inputs = serde_json::to_string(&run.inputs).map_err(|e| err("inputs", e))?;
    let (host, pid, started) = owner_columns(run.owner.as_ref());
    tx.execute(
        &format!(
            "INSERT INTO rbk_runs ({RUN_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, '', $11, $12, $13, $14)"
        ),
        &[
            &run.id,
            &run.file,
            &run.runbook,
            &run.started_by,
            &run.started_at,
            &status,
            &summary,
            &run.digest,
            &inputs,
            &run.limit_key,
            &host,
            &pid,
            &started,
            &run.dry_run,
        ],
    )
    .await
    .map_err(|e| {
        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
            StoreError(format!("postgres store: run {} already exists", run.id))
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
        return Err(StoreError(format!("postgres store: no run {run_id}")));
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
    let seq_sql = i64::try_from(seq)
        .map_err(|_| StoreError(format!("postgres store: seq {seq} out of range")))?;
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
    Ok(Event {
        seq,
        at,
        kind: kind.clone(),
        prev_hash,
        hash,
    })
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
    })
}

const ANSWER_COLUMNS: &str = r#"run_id, step, "user", approve, comment, channel, at, digest"#;

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
                         AND status <> 'suppressed' AND NOT dry_run AND started_at >= $3",
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
                    insert_run(&tx, run, &run.status, &run.summary).await?;
                    StartDecision::Started
                }
                Some(reason) => {
                    insert_run(&tx, run, "suppressed", &reason).await?;
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

    fn set_status<'a>(
        &'a self,
        run_id: &'a str,
        status: &'a str,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            let current = tx
                .query_opt(
                    "SELECT status, summary FROM rbk_runs WHERE id = $1 FOR UPDATE",
                    &[&run_id],
                )
                .await
                .map_err(|e| pg_err("cannot read run", e))?
                .map(|row| -> Result<(String, String), StoreError> {
                    Ok((
                        row.try_get(0).map_err(|e| pg_err("bad run row", e))?,
                        row.try_get(1).map_err(|e| pg_err("bad run row", e))?,
                    ))
                })
                .transpose()?;
            check_transition(run_id, current, status, summary)
                .map_err(|e| StoreError(format!("postgres store: {}", e.0)))?;
            tx.execute(
                "UPDATE rbk_runs SET status = $2, summary = $3 WHERE id = $1",
                &[&run_id, &status, &summary],
            )
            .await
            .map_err(|e| pg_err("cannot set status", e))?;
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit status", e))?;
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

    fn runs<'a>(&'a self, limit: usize) -> BoxFuture<'a, Result<Vec<RunRecord>, StoreError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = self
                .client()
                .await?
                .query(
                    &format!(
                        "SELECT {RUN_COLUMNS} FROM rbk_runs \
                         ORDER BY started_at DESC, id DESC LIMIT $1"
                    ),
                    &[&limit],
                )
                .await
                .map_err(|e| pg_err("cannot list runs", e))?;
            rows.iter().map(run_from_row).collect()
        })
    }

    fn record_answer<'a>(
        &'a self,
        answer: &'a ApprovalAnswer,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg_err("cannot begin", e))?;
            tx.execute(
                r#"INSERT INTO rbk_answers (run_id, step, "user", approve, comment, channel, at, digest)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (run_id, step, "user") DO UPDATE SET
                     approve = excluded.approve, comment = excluded.comment,
                     channel = excluded.channel, at = excluded.at, digest = excluded.digest"#,
                &[
                    &answer.run_id,
                    &answer.step,
                    &answer.user,
                    &answer.approve,
                    &answer.comment,
                    &answer.channel,
                    &answer.at,
                    &answer.digest,
                ],
            )
            .await
            .map_err(|e| {
                if e.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION) {
                    StoreError(format!("postgres store: no run {}", answer.run_id))
                } else {
                    pg_err("cannot record answer", e)
                }
            })?;
            append_in(&tx, &answer.run_id, answer.at, &answered_event(answer)).await?;
            tx.commit()
                .await
                .map_err(|e| pg_err("cannot commit answer", e))?;
            Ok(())
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
}

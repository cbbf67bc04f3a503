//! A `.rbk/rbk.db` written by the rbk before journal heads were anchored (schema version 1)
//! opens, keeps its runs and their journals, verifies with a note that its heads were never
//! anchored, and anchors the head from the next event on.

use rbk_interpreter::audit::verify_run;
use rbk_interpreter::journal::{event_hash, EventKind};
use rbk_interpreter::store::{RunQuery, RunState, SqliteStore, Store};

const VERSION_1: &str = r#"
CREATE TABLE rbk_runs (
    id TEXT PRIMARY KEY NOT NULL, file TEXT NOT NULL, runbook TEXT NOT NULL,
    started_by TEXT NOT NULL, started_at INTEGER NOT NULL, status TEXT NOT NULL,
    summary TEXT NOT NULL, digest TEXT NOT NULL, inputs TEXT NOT NULL, limit_key TEXT NOT NULL
);
CREATE TABLE rbk_events (
    run_id TEXT NOT NULL REFERENCES rbk_runs (id), seq INTEGER NOT NULL, at INTEGER NOT NULL,
    kind TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE TABLE rbk_answers (
    run_id TEXT NOT NULL REFERENCES rbk_runs (id), step TEXT NOT NULL, "user" TEXT NOT NULL,
    approve INTEGER NOT NULL, comment TEXT, channel TEXT NOT NULL, at INTEGER NOT NULL,
    digest TEXT NOT NULL, UNIQUE (run_id, step, "user")
);
PRAGMA user_version = 1;
"#;

#[tokio::test]
async fn a_version_1_store_opens_keeps_its_runs_and_anchors_new_events() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sqlite-migration-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rbk.db");
    let started = EventKind::RunStarted {
        runbook: "failover".into(),
        started_by: "alice".into(),
        inputs: serde_json::json!({}),
        run_id: None,
        digest: None,
        dry_run: false,
        shadow: false,
    };
    let hash = event_hash("", 0, 5, &started);
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(VERSION_1).unwrap();
        old.execute(
            "INSERT INTO rbk_runs VALUES ('r-old', 'db.rbk', 'failover', 'alice', 1, 'running', '', 'd', '{}', '')",
            [],
        )
        .unwrap();
        old.execute(
            "INSERT INTO rbk_events VALUES ('r-old', 0, 5, ?1, '', ?2)",
            [serde_json::to_string(&started).unwrap(), hash.clone()],
        )
        .unwrap();
    }

    let store = SqliteStore::open(&path).unwrap();
    let record = store.run("r-old").await.unwrap().expect("the old run");
    assert_eq!(record.head, None);
    let events = store.events("r-old").await.unwrap();
    let audit = verify_run(&record, &events, &[]);
    assert!(audit.is_intact(), "{audit:?}");
    assert!(
        audit.notes.iter().any(|n| n.contains("did not anchor")),
        "{audit:?}"
    );

    let next = store
        .append_event("r-old", 6, &EventKind::StepSucceeded { step: "a".into() })
        .await
        .unwrap();
    let head = store
        .run("r-old")
        .await
        .unwrap()
        .unwrap()
        .head
        .expect("anchored now");
    assert_eq!((head.events, head.hash), (2, next.hash));
    // Opening again is a no-op.
    drop(store);
    SqliteStore::open(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file of schema version 2 (free-text statuses) opens as the current version: "denied" and "timed
/// out" runs are failed ones (their summaries still say why), "running" and "waiting" keep
/// their meaning, and a query for failed runs finds them all.
#[tokio::test]
async fn a_version_2_store_reads_its_statuses_as_typed_states() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sqlite-migration-v2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rbk.db");
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(VERSION_1).unwrap();
        for (column, kind) in [
            ("head_events", "INTEGER"),
            ("head_hash", "TEXT"),
            ("owner_host", "TEXT NOT NULL DEFAULT ''"),
            ("owner_pid", "INTEGER NOT NULL DEFAULT 0"),
            ("owner_started", "TEXT NOT NULL DEFAULT ''"),
            ("dry_run", "INTEGER NOT NULL DEFAULT 0"),
        ] {
            old.execute_batch(&format!("ALTER TABLE rbk_runs ADD COLUMN {column} {kind};"))
                .unwrap();
        }
        old.execute_batch("PRAGMA user_version = 2;").unwrap();
        for (id, status, summary, at) in [
            ("r-denied", "denied", "step `drop` was denied by bob", 1),
            ("r-timeout", "timed out", "approval of `drop` timed out", 2),
            ("r-running", "running", "", 3),
            ("r-waiting", "waiting", "approval for drop", 4),
            ("r-ok", "succeeded", "", 5),
        ] {
            old.execute(
                "INSERT INTO rbk_runs (id, file, runbook, started_by, started_at, status, summary, \
                 digest, inputs, limit_key) VALUES (?1, 'db.rbk', 'failover', 'alice', ?2, ?3, ?4, 'd', '{}', '')",
                rusqlite::params![id, at, status, summary],
            )
            .unwrap();
        }
    }
    let store = SqliteStore::open(&path).unwrap();
    let state = |id: &'static str| {
        let store = &store;
        async move { store.run(id).await.unwrap().unwrap() }
    };
    let denied = state("r-denied").await;
    assert_eq!(denied.state, RunState::Failed);
    assert!(denied.summary.contains("denied"), "{}", denied.summary);
    assert_eq!(state("r-timeout").await.state, RunState::Failed);
    assert_eq!(state("r-running").await.state, RunState::Running);
    assert_eq!(state("r-waiting").await.state, RunState::Waiting);
    assert_eq!(state("r-ok").await.state, RunState::Succeeded);
    let failed = store
        .list_runs(&RunQuery {
            limit: 10,
            state: Some(RunState::Failed),
            runbook: None,
        })
        .await
        .unwrap();
    let ids: Vec<&str> = failed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["r-timeout", "r-denied"]);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file of schema version 3 (the queue's columns, answers without external ids) opens as
/// version 4 in place: its answers read back with no external id, a new answer's external id
/// is recorded once, parked runs take a wake-up time and runs keep notices.
#[tokio::test]
async fn a_version_3_store_gains_external_ids_wake_times_and_notices() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sqlite-migration-v3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rbk.db");
    {
        let old = rusqlite::Connection::open(&path).unwrap();
        old.execute_batch(VERSION_1).unwrap();
        for (column, kind) in [
            ("head_events", "INTEGER"),
            ("head_hash", "TEXT"),
            ("owner_host", "TEXT NOT NULL DEFAULT ''"),
            ("owner_pid", "INTEGER NOT NULL DEFAULT 0"),
            ("owner_started", "TEXT NOT NULL DEFAULT ''"),
            ("dry_run", "INTEGER NOT NULL DEFAULT 0"),
            ("trigger_kind", "TEXT NOT NULL DEFAULT 'manual'"),
            ("trigger_name", "TEXT"),
            ("trigger_fingerprint", "TEXT"),
            ("trigger_key", "TEXT"),
            ("coalesce_key", "TEXT"),
            ("alert", "TEXT"),
            ("shadow", "INTEGER NOT NULL DEFAULT 0"),
            ("held", "INTEGER NOT NULL DEFAULT 0"),
            ("ended_at", "INTEGER"),
            ("lease_owner", "TEXT"),
            ("lease_token", "INTEGER NOT NULL DEFAULT 0"),
            ("lease_expires_at", "INTEGER"),
        ] {
            old.execute_batch(&format!("ALTER TABLE rbk_runs ADD COLUMN {column} {kind};"))
                .unwrap();
        }
        old.execute_batch("PRAGMA user_version = 3;").unwrap();
        old.execute(
            "INSERT INTO rbk_runs (id, file, runbook, started_by, started_at, status, summary, \
             digest, inputs, limit_key) VALUES ('r-old', 'db.rbk', 'failover', 'carol', 1, \
             'waiting', '', 'd', '{}', '')",
            [],
        )
        .unwrap();
        old.execute(
            "INSERT INTO rbk_answers (run_id, step, \"user\", approve, comment, channel, at, digest) \
             VALUES ('r-old', 'drop', 'alice', 1, NULL, 'cli', 5, 'plan')",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let old = store.answers("r-old", "drop").await.unwrap();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].external_id, None);
    let click = rbk_interpreter::store::ApprovalAnswer {
        run_id: "r-old".into(),
        step: "drop".into(),
        user: "bob".into(),
        approve: true,
        comment: None,
        channel: "slack".into(),
        at: 6,
        digest: "plan".into(),
        external_id: Some("ts-1".into()),
        from: Some("slack UBOB".into()),
        values: Default::default(),
    };
    assert!(store.record_answer(&click).await.unwrap());
    assert!(!store.record_answer(&click).await.unwrap());
    store
        .save_notice("r-old", "slack:drop", &serde_json::json!({"ts": "1.2"}))
        .await
        .unwrap();
    assert_eq!(
        store.notice("r-old", "slack:drop").await.unwrap(),
        Some(serde_json::json!({"ts": "1.2"}))
    );
    assert!(
        !store.park_until("r-old", 10).await.unwrap(),
        "never claimed: not parked"
    );
    assert!(store.wake_due(i64::MAX).await.unwrap().is_empty());
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let _ = std::fs::remove_dir_all(&dir);
}

//! One conformance suite for every `Store` backend: SQLite (a file, and in memory) and
//! PostgreSQL (the server at `postgres://postgres@127.0.0.1:5432/test`, or
//! `$RBK_TEST_POSTGRES_URL`). Each behaviour is a plain async fn over `&dyn Store`; the
//! `conformance!` macro runs each one against each backend.
//!
//! PostgreSQL must be running: when it is not, the Postgres tests fail (they do not skip).
//! Each test works in a schema of its own (`rbk_test_<pid>_<n>`), dropped at the end.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rbk_interpreter::action::BoxFuture;
use rbk_interpreter::approvals::journaled_answers;
use rbk_interpreter::audit::verify_run;
use rbk_interpreter::journal::{verify_chain, EventKind};
use rbk_interpreter::store::{
    ApprovalAnswer, ClaimRefusal, JournalHead, Liveness, PostgresStore, RunLimits, RunOwner,
    RunRecord, RunState, RunTrigger, SqliteStore, StartDecision, Store, StoreError,
};
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

/// Raw SQL against the backend, bypassing the store: how the tampering test edits the journal.
type Raw = Arc<dyn Fn(String) -> BoxFuture<'static, Result<(), StoreError>> + Send + Sync>;

struct Harness {
    store: Arc<dyn Store>,
    /// Another handle on the same data through its own connection (the same handle for the
    /// in-memory store, which has only one).
    other: Arc<dyn Store>,
    raw: Raw,
    /// Opens the same data again, as a new `rbk` process would (`None` for the in-memory
    /// store, which lives in one handle).
    reopen: Option<Reopen>,
    /// The connection URL, for the PostgreSQL backend.
    url: Option<String>,
    _cleanup: Cleanup,
}

type Reopen = Arc<dyn Fn() -> BoxFuture<'static, Arc<dyn Store>> + Send + Sync>;

enum Cleanup {
    None,
    Dir(PathBuf),
    Schema { admin_url: String, schema: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::None => {}
            Cleanup::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { admin_url, schema } => {
                // Drop may run inside the test's runtime: do the async cleanup on a thread of
                // its own.
                let (url, schema) = (admin_url.clone(), schema.clone());
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async move {
                        if let Ok((client, conn)) =
                            tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                        {
                            tokio::spawn(conn);
                            let _ = client
                                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

fn sqlite_raw(store: Arc<SqliteStore>) -> Raw {
    Arc::new(move |sql: String| {
        let store = store.clone();
        Box::pin(async move { store.execute_raw(&sql).map(|_| ()) })
    })
}

async fn sqlite_file() -> Harness {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique_name("store_conformance"));
    let _ = std::fs::remove_dir_all(&dir);
    // A nested path: `open` creates the parent directories.
    let path = dir.join(".rbk").join("rbk.db");
    let store = Arc::new(SqliteStore::open(&path).expect("open sqlite store"));
    let other = Arc::new(SqliteStore::open(&path).expect("open second sqlite handle"));
    let reopen: Reopen = Arc::new(move || {
        let path = path.clone();
        Box::pin(async move {
            Arc::new(SqliteStore::open(&path).expect("reopen sqlite store")) as Arc<dyn Store>
        })
    });
    Harness {
        raw: sqlite_raw(store.clone()),
        store,
        other,
        reopen: Some(reopen),
        url: None,
        _cleanup: Cleanup::Dir(dir),
    }
}

async fn sqlite_memory() -> Harness {
    let store = Arc::new(SqliteStore::in_memory().expect("open in-memory sqlite store"));
    Harness {
        raw: sqlite_raw(store.clone()),
        store: store.clone(),
        other: store,
        reopen: None,
        url: None,
        _cleanup: Cleanup::None,
    }
}

fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

async fn postgres() -> Harness {
    let base = std::env::var("RBK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin_url = with_param(&base, "connect_timeout=10");
    let (admin, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            let cause = std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            panic!(
                "PostgreSQL is not reachable at {base} ({e}{cause}). The PostgreSQL store tests need a \
                 running server: CI starts one (.ci/run); locally start it (e.g. \
                 `pg_ctlcluster 15 main start`) or point RBK_TEST_POSTGRES_URL at one."
            )
        });
    tokio::spawn(conn);
    let schema = unique_name("rbk_test");
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create schema {schema}: {e:?}"));
    let cleanup = Cleanup::Schema {
        admin_url: admin_url.clone(),
        schema: schema.clone(),
    };
    let url = with_param(&admin_url, &format!("options=-csearch_path%3D{schema}"));
    let store = Arc::new(
        PostgresStore::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connect the postgres store: {e}")),
    );
    let other = Arc::new(
        PostgresStore::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("connect a second postgres store: {e}")),
    );
    let raw_store = store.clone();
    let raw: Raw = Arc::new(move |sql: String| {
        let store = raw_store.clone();
        Box::pin(async move { store.execute_raw(&sql).await.map(|_| ()) })
    });
    let pg_url = url.clone();
    let reopen: Reopen = Arc::new(move || {
        let url = url.clone();
        Box::pin(async move {
            Arc::new(
                PostgresStore::connect(&url)
                    .await
                    .expect("reconnect the postgres store"),
            ) as Arc<dyn Store>
        })
    });
    Harness {
        store,
        other,
        raw,
        reopen: Some(reopen),
        url: Some(pg_url),
        _cleanup: cleanup,
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn run(id: &str, runbook: &str, key: &str, started_at: i64) -> RunRecord {
    RunRecord {
        id: id.into(),
        file: "ops/db.rbk".into(),
        runbook: runbook.into(),
        started_by: "alice".into(),
        started_at,
        state: RunState::Running,
        summary: String::new(),
        digest: "sha256:0123".into(),
        inputs: json!({"cluster": "db1", "max": 3, "ratio": 0.1, "tags": ["a", "b"]}),
        limit_key: key.into(),
        // What a store records for a run that has journaled nothing yet.
        head: Some(JournalHead {
            events: 0,
            hash: String::new(),
        }),
        owner: None,
        dry_run: false,
        trigger: RunTrigger::manual(id),
        alert: None,
        shadow: false,
        coalesce_key: None,
        held: false,
        ended_at: None,
    }
}

async fn start(store: &dyn Store, record: &RunRecord, limits: &RunLimits) -> StartDecision {
    store
        .start_run(record, limits)
        .await
        .unwrap_or_else(|e| panic!("start_run {}: {e}", record.id))
}

async fn started(store: &dyn Store, record: RunRecord) {
    assert_eq!(
        start(store, &record, &RunLimits::default()).await,
        StartDecision::Started
    );
}

fn approval_requested(mut fields: serde_json::Value) -> EventKind {
    fields["event"] = json!("approval_requested");
    serde_json::from_value(fields).expect("an approval_requested event")
}

fn sample_events() -> Vec<EventKind> {
    vec![
        EventKind::RunStarted {
            runbook: "failover".into(),
            started_by: "alice".into(),
            inputs: json!({
                "cluster": "db1",
                "nested": {"z": 1, "a": [1.5, -2, null, true], "é": "ünïcødé ✓"},
                "float": 0.1,
                "tiny": 1.0e-7,
                "big": 123_456_789.123_456_79,
                "sum": 0.300_000_000_000_000_04,
                "secret": "<redacted>",
            }),
            // As an older rbk wrote it: journals from before the start named its run still
            // read back and verify.
            run_id: None,
            digest: None,
            dry_run: false,
            shadow: false,
        },
        EventKind::StepStarted {
            step: "check".into(),
            attempt: 1,
        },
        EventKind::ActionCalled {
            step: "check".into(),
            call: "postgres.query(\"select 1\")".into(),
            effect: "read".into(),
        },
        EventKind::Log {
            step: "check".into(),
            message: "line one\nline 'two' \"quoted\" \\ back\tslash".into(),
        },
        EventKind::StepSucceeded {
            step: "check".into(),
        },
        // Built from JSON so that the test keeps compiling while this event gains fields.
        approval_requested(json!({
            "step": "promote",
            "group": "database-oncall",
            "quorum": 2,
            "actions": ["postgres.promote", "dns.switch"],
            "digest": "sha256:plan",
        })),
        approval_requested(json!({
            "step": "promote2",
            "group": null,
            "quorum": 1,
            "actions": [],
            "digest": "",
        })),
        EventKind::ApprovalGranted {
            step: "promote".into(),
            by: vec!["alice".into(), "bob".into()],
            channel: "slack".into(),
            values: [("new_size".to_string(), "5".to_string())].into(),
        },
        EventKind::StepFailed {
            step: "promote".into(),
            error: "timeout after 30s".into(),
        },
        EventKind::EscalationSent {
            reason: "step failed".into(),
        },
        EventKind::RunFinished {
            status: "failed".into(),
            summary: "promote failed".into(),
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Behaviours
// ---------------------------------------------------------------------------------------------

async fn create_get_and_list_runs(store: &dyn Store) {
    assert_eq!(store.runs(10).await.unwrap(), vec![]);
    assert_eq!(store.run("r-1").await.unwrap(), None);

    let a = run("r-1-aaaa", "failover", "", 1_000);
    let b = run("r-1-aaab", "failover", "", 2_000);
    let c = run("r-2-cccc", "vacuum", "", 3_000);
    let d = run("r-3", "vacuum", "", 4_000);
    let e = run("r-3x", "vacuum", "", 5_000);
    for r in [&a, &b, &c, &d, &e] {
        started(store, r.clone()).await;
    }

    // Exact ids, unique prefixes, unknown ids.
    assert_eq!(store.run("r-1-aaaa").await.unwrap(), Some(a.clone()));
    assert_eq!(store.run("r-1-aaab").await.unwrap(), Some(b.clone()));
    assert_eq!(store.run("r-2").await.unwrap(), Some(c.clone()));
    assert_eq!(store.run("r-2-cc").await.unwrap(), Some(c.clone()));
    assert_eq!(store.run("zzz").await.unwrap(), None);
    assert_eq!(store.run("r-2-cccc-more").await.unwrap(), None);
    // An exact id wins over the longer ids it prefixes.
    assert_eq!(store.run("r-3").await.unwrap(), Some(d.clone()));
    // Ambiguous prefixes are errors that say so.
    for prefix in ["r-1", "r-1-aaa", "r-"] {
        let err = store.run(prefix).await.expect_err(prefix);
        assert!(err.to_string().contains("ambiguous"), "{prefix}: {err}");
    }
    // LIKE wildcards are not wildcards.
    assert_eq!(store.run("r-_").await.unwrap(), None);
    assert_eq!(store.run("r-%").await.unwrap(), None);

    // Most recent first, limited.
    let ids: Vec<String> = store
        .runs(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["r-3x", "r-3", "r-2-cccc", "r-1-aaab", "r-1-aaaa"]);
    assert_eq!(store.runs(2).await.unwrap(), vec![e.clone(), d.clone()]);

    // The same id twice is refused.
    assert!(store.start_run(&a, &RunLimits::default()).await.is_err());

    // Status changes; a final status is final.
    store
        .set_state("r-1-aaaa", RunState::Waiting, "approval for promote")
        .await
        .unwrap();
    let got = store.run("r-1-aaaa").await.unwrap().unwrap();
    assert_eq!(
        (got.state.as_str(), got.summary.as_str()),
        ("waiting", "approval for promote")
    );
    store
        .set_state("r-1-aaaa", RunState::Succeeded, "all steps done")
        .await
        .unwrap();
    // Repeating the same final status is harmless; changing it is refused.
    store
        .set_state("r-1-aaaa", RunState::Succeeded, "all steps done")
        .await
        .unwrap();
    assert!(store
        .set_state("r-1-aaaa", RunState::Failed, "too late")
        .await
        .is_err());
    let got = store.run("r-1-aaaa").await.unwrap().unwrap();
    assert_eq!(
        (got.state.as_str(), got.summary.as_str()),
        ("succeeded", "all steps done")
    );
    assert!(store.set_state("nope", RunState::Failed, "").await.is_err());
}

/// The record ends in the same transaction as the journal's `run_finished`: a process killed
/// between the two writes can no longer leave a run that its journal says ended but its record
/// says still runs. The worker's own `set_state` afterwards keeps that summary.
async fn the_record_ends_with_the_journals_run_finished(store: &dyn Store) {
    started(store, run("r-end", "failover", "", 1)).await;
    let finished = EventKind::RunFinished {
        status: "succeeded".into(),
        summary: "failover succeeded (2 steps)".into(),
    };
    store.append_event("r-end", 5, &finished).await.unwrap();
    let got = store.run("r-end").await.unwrap().unwrap();
    assert_eq!(
        (got.state, got.summary.as_str()),
        (RunState::Succeeded, "failover succeeded (2 steps)")
    );
    assert!(got.ended_at.is_some());
    store
        .set_state("r-end", RunState::Succeeded, "another wording")
        .await
        .unwrap();
    let got = store.run("r-end").await.unwrap().unwrap();
    assert_eq!(got.summary, "failover succeeded (2 steps)");
    assert!(store
        .set_state("r-end", RunState::Failed, "too late")
        .await
        .is_err());
    // An older spelling of a failure in the event is a failed run.
    started(store, run("r-denied", "failover", "", 2)).await;
    let denied = EventKind::RunFinished {
        status: "denied".into(),
        summary: "approval was not given".into(),
    };
    store.append_event("r-denied", 6, &denied).await.unwrap();
    let got = store.run("r-denied").await.unwrap().unwrap();
    assert_eq!(got.state, RunState::Failed);
}

async fn journal_round_trips_with_a_valid_chain(store: &dyn Store) {
    started(store, run("r-j", "failover", "", 1)).await;
    started(store, run("r-k", "failover", "", 2)).await;
    let kinds = sample_events();
    let mut appended = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let event = store
            .append_event("r-j", 1_000 + i as i64, kind)
            .await
            .unwrap();
        assert_eq!(event.seq, i as u64);
        assert_eq!(&event.kind, kind);
        appended.push(event);
        // Interleave another run's journal: each run has its own chain.
        store
            .append_event(
                "r-k",
                5,
                &EventKind::StepSucceeded {
                    step: format!("s{i}"),
                },
            )
            .await
            .unwrap();
    }
    let read = store.events("r-j").await.unwrap();
    assert_eq!(read, appended, "events must round-trip exactly");
    assert_eq!(verify_chain(&read), Ok(()));
    assert_eq!(read[0].prev_hash, "");
    let other = store.events("r-k").await.unwrap();
    assert_eq!(other.len(), kinds.len());
    assert_eq!(other[0].seq, 0);
    assert_eq!(verify_chain(&other), Ok(()));
    assert_eq!(store.events("nope").await.unwrap(), vec![]);
    // No journal without a run.
    assert!(store
        .append_event("nope", 1, &EventKind::StepSucceeded { step: "x".into() })
        .await
        .is_err());
}

async fn tampering_is_detected(store: &dyn Store, raw: &Raw) {
    started(store, run("r-t", "failover", "", 1)).await;
    for (i, kind) in sample_events().iter().take(5).enumerate() {
        store.append_event("r-t", i as i64, kind).await.unwrap();
    }
    assert_eq!(verify_chain(&store.events("r-t").await.unwrap()), Ok(()));

    // Edit one event's JSON behind the store's back.
    let edited = r#"{"event":"step_started","step":"check","attempt":2}"#;
    raw(format!(
        "UPDATE rbk_events SET kind = '{edited}' WHERE run_id = 'r-t' AND seq = 1"
    ))
    .await
    .unwrap();
    let events = store.events("r-t").await.unwrap();
    assert_eq!(
        events[1].kind,
        EventKind::StepStarted {
            step: "check".into(),
            attempt: 2
        }
    );
    assert_eq!(verify_chain(&events), Err(1));

    // Deleting an event from the middle breaks the chain too.
    started(store, run("r-u", "failover", "", 2)).await;
    for (i, kind) in sample_events().iter().take(4).enumerate() {
        store.append_event("r-u", i as i64, kind).await.unwrap();
    }
    raw("DELETE FROM rbk_events WHERE run_id = 'r-u' AND seq = 2".into())
        .await
        .unwrap();
    assert_eq!(verify_chain(&store.events("r-u").await.unwrap()), Err(3));
}

async fn concurrent_appends_never_share_a_seq(stores: [Arc<dyn Store>; 2]) {
    const TASKS: usize = 4;
    const PER_TASK: usize = 25;
    started(&*stores[0], run("r-c", "failover", "", 1)).await;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let store = stores[task % 2].clone();
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..PER_TASK {
                let kind = EventKind::Log {
                    step: format!("task{task}"),
                    message: format!("{i}"),
                };
                let event = store
                    .append_event("r-c", (task * 1000 + i) as i64, &kind)
                    .await
                    .unwrap_or_else(|e| panic!("task {task} append {i}: {e}"));
                seqs.push(event.seq);
            }
            seqs
        }));
    }
    let mut seqs = Vec::new();
    for handle in handles {
        seqs.extend(handle.await.expect("append task"));
    }
    seqs.sort_unstable();
    let expected: Vec<u64> = (0..(TASKS * PER_TASK) as u64).collect();
    assert_eq!(
        seqs, expected,
        "every append gets its own seq, none skipped"
    );
    for store in &stores {
        let events = store.events("r-c").await.unwrap();
        assert_eq!(events.len(), TASKS * PER_TASK);
        assert_eq!(verify_chain(&events), Ok(()));
        // Each task's own events stay in its order.
        for task in 0..TASKS {
            let mine: Vec<String> = events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Log { step, message } if *step == format!("task{task}") => {
                        Some(message.clone())
                    }
                    _ => None,
                })
                .collect();
            let want: Vec<String> = (0..PER_TASK).map(|i| i.to_string()).collect();
            assert_eq!(mine, want);
        }
    }
}

async fn answers_replace_per_user(store: &dyn Store) {
    started(store, run("r-a", "failover", "", 1)).await;
    started(store, run("r-b", "failover", "", 2)).await;
    let answer = |user: &str, approve: bool, comment: Option<&str>, at: i64| ApprovalAnswer {
        run_id: "r-a".into(),
        step: "promote".into(),
        user: user.into(),
        approve,
        comment: comment.map(Into::into),
        channel: "cli".into(),
        at,
        digest: "sha256:plan".into(),
        external_id: None,
        from: None,
        values: Default::default(),
    };
    assert_eq!(store.answers("r-a", "promote").await.unwrap(), vec![]);
    let alice = answer("alice", true, Some("lgtm"), 10);
    store.record_answer(&alice).await.unwrap();
    let bob = answer("bob", false, None, 11);
    store.record_answer(&bob).await.unwrap();
    // Another step and another run are kept apart.
    let mut other_step = answer("alice", false, None, 12);
    other_step.step = "cleanup".into();
    store.record_answer(&other_step).await.unwrap();
    let mut other_run = answer("alice", false, None, 13);
    other_run.run_id = "r-b".into();
    store.record_answer(&other_run).await.unwrap();
    assert_eq!(
        store.answers("r-a", "promote").await.unwrap(),
        vec![alice.clone(), bob.clone()]
    );

    // Bob changes his mind: his new answer replaces the old one.
    let mut bob2 = answer("bob", true, Some("checked replication lag"), 20);
    bob2.channel = "slack".into();
    bob2.digest = "sha256:plan2".into();
    store.record_answer(&bob2).await.unwrap();
    assert_eq!(
        store.answers("r-a", "promote").await.unwrap(),
        vec![alice.clone(), bob2.clone()]
    );
    assert_eq!(
        store.answers("r-a", "cleanup").await.unwrap(),
        vec![other_step]
    );
    assert_eq!(
        store.answers("r-b", "promote").await.unwrap(),
        vec![other_run]
    );
}

async fn concurrency_limit_suppresses_per_key(store: &dyn Store) {
    let limits = RunLimits {
        concurrency: Some(1),
        rate: None,
    };
    let first = run("r-l1", "failover", "db1", 1_000);
    assert_eq!(start(store, &first, &limits).await, StartDecision::Started);

    // Same runbook and key while the first is running: suppressed, and recorded as such.
    let second = run("r-l2", "failover", "db1", 2_000);
    let StartDecision::Suppressed(reason) = start(store, &second, &limits).await else {
        panic!("a second run of the same key must be suppressed");
    };
    assert!(reason.contains("concurrency"), "{reason}");
    let recorded = store
        .run("r-l2")
        .await
        .unwrap()
        .expect("suppressed run recorded");
    assert_eq!(recorded.state, RunState::Suppressed);
    assert_eq!(recorded.summary, reason);

    // Another key, or another runbook with the same key: not limited by the first.
    let other_key = run("r-l3", "failover", "db2", 3_000);
    assert_eq!(
        start(store, &other_key, &limits).await,
        StartDecision::Started
    );
    let other_runbook = run("r-l4", "vacuum", "db1", 3_500);
    assert_eq!(
        start(store, &other_runbook, &limits).await,
        StartDecision::Started
    );

    // A waiting run still counts.
    store
        .set_state("r-l1", RunState::Waiting, "approval")
        .await
        .unwrap();
    let third = run("r-l5", "failover", "db1", 4_000);
    assert!(matches!(
        start(store, &third, &limits).await,
        StartDecision::Suppressed(_)
    ));

    // Once the first has finished, the key is free again.
    store
        .set_state("r-l1", RunState::Succeeded, "done")
        .await
        .unwrap();
    let fourth = run("r-l6", "failover", "db1", 5_000);
    assert_eq!(start(store, &fourth, &limits).await, StartDecision::Started);
    assert_eq!(
        store.run("r-l6").await.unwrap().unwrap().state,
        RunState::Running
    );
}

async fn rate_limit_suppresses_the_third(store: &dyn Store) {
    const WINDOW: u64 = 60_000;
    let limits = RunLimits {
        concurrency: None,
        rate: Some((2, WINDOW)),
    };
    let at = |id: &str, t: i64| run(id, "restart", "web", t);
    assert_eq!(
        start(store, &at("r-q1", 1_000), &limits).await,
        StartDecision::Started
    );
    // Finished runs count towards the rate.
    store
        .set_state("r-q1", RunState::Succeeded, "")
        .await
        .unwrap();
    assert_eq!(
        start(store, &at("r-q2", 2_000), &limits).await,
        StartDecision::Started
    );
    let StartDecision::Suppressed(reason) = start(store, &at("r-q3", 3_000), &limits).await else {
        panic!("the third run within the window must be suppressed");
    };
    assert!(reason.contains("rate"), "{reason}");
    assert_eq!(
        store.run("r-q3").await.unwrap().unwrap().state,
        RunState::Suppressed
    );
    // Another key has its own budget.
    assert_eq!(
        start(store, &run("r-q4", "restart", "api", 3_000), &limits).await,
        StartDecision::Started
    );
    // Once the first run has left the window (suppressed runs do not count), one more fits...
    assert_eq!(
        start(store, &at("r-q5", 1_000 + WINDOW as i64 + 1), &limits).await,
        StartDecision::Started
    );
    // ...and then the window is full again.
    assert!(matches!(
        start(store, &at("r-q6", 1_000 + WINDOW as i64 + 2), &limits).await,
        StartDecision::Suppressed(_)
    ));
}

async fn limits_hold_under_concurrent_starts(stores: [Arc<dyn Store>; 2]) {
    let limits = RunLimits {
        concurrency: Some(1),
        rate: None,
    };
    let mut handles = Vec::new();
    for i in 0..8 {
        let store = stores[i % 2].clone();
        let limits = limits.clone();
        handles.push(tokio::spawn(async move {
            let record = run(&format!("r-race-{i}"), "failover", "db1", 1_000 + i as i64);
            store.start_run(&record, &limits).await.unwrap()
        }));
    }
    let mut started = 0;
    for handle in handles {
        if handle.await.unwrap() == StartDecision::Started {
            started += 1;
        }
    }
    assert_eq!(started, 1, "exactly one of the racing runs may start");
}

async fn every_append_moves_the_anchored_head_so_a_removed_tail_shows(
    store: &dyn Store,
    raw: &Raw,
) {
    started(store, run("r-h", "failover", "", 1)).await;
    let mut last = None;
    for (i, kind) in sample_events().iter().take(4).enumerate() {
        last = Some(store.append_event("r-h", i as i64, kind).await.unwrap());
    }
    let record = store.run("r-h").await.unwrap().expect("the run");
    assert_eq!(
        record.head,
        Some(JournalHead {
            events: 4,
            hash: last.expect("an event").hash,
        })
    );
    raw("DELETE FROM rbk_events WHERE run_id = 'r-h' AND seq = 3".into())
        .await
        .unwrap();
    let events = store.events("r-h").await.unwrap();
    assert_eq!(
        verify_chain(&events),
        Ok(()),
        "a removed tail leaves a valid chain"
    );
    let audit = verify_run(&record, &events, &[]);
    assert!(
        audit
            .findings
            .iter()
            .any(|f| f.contains("anchors 4 events but the journal has 3")),
        "{audit:?}"
    );
}

async fn answers_are_journaled_with_their_row_and_a_row_written_around_the_store_is_caught(
    store: &dyn Store,
    raw: &Raw,
) {
    started(store, run("r-q", "failover", "", 1)).await;
    let answer = ApprovalAnswer {
        run_id: "r-q".into(),
        step: "promote".into(),
        user: "bob".into(),
        approve: true,
        comment: Some("lag is zero".into()),
        channel: "cli".into(),
        at: 10,
        digest: "sha256:plan".into(),
        external_id: None,
        from: None,
        // The asked values go into the journal with the answer, in every store.
        values: [("new_size".to_string(), "5".to_string())].into(),
    };
    store.record_answer(&answer).await.unwrap();
    let events = store.events("r-q").await.unwrap();
    assert!(
        matches!(&events[..], [event] if matches!(&event.kind,
            EventKind::ApprovalAnswered { by, approve: true, .. } if by == "bob")),
        "{events:?}"
    );
    assert_eq!(journaled_answers("r-q", "promote", &events), vec![answer]);

    raw(
        r#"INSERT INTO rbk_answers (run_id, step, "user", approve, comment, channel, at, digest)
           VALUES ('r-q', 'promote', 'mallory', true, NULL, 'cli', 11, 'sha256:plan')"#
            .into(),
    )
    .await
    .unwrap();
    let rows = store.run_answers("r-q").await.unwrap();
    assert_eq!(rows.len(), 2);
    // The run counts what the journal holds, not what the table holds.
    assert_eq!(journaled_answers("r-q", "promote", &events).len(), 1);
    let record = store.run("r-q").await.unwrap().expect("the run");
    let audit = verify_run(&record, &events, &rows);
    assert!(
        audit
            .findings
            .iter()
            .any(|f| f.contains("\"mallory\"") && f.contains("not in the journal")),
        "{audit:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Who runs a run: live, dead and unknown processes; dry runs
// ---------------------------------------------------------------------------------------------

/// This very process: alive.
fn alive() -> RunOwner {
    RunOwner::this_process()
}

/// A process on this host that is gone: this pid under another start time, as after a kill -9
/// and the pid's reuse.
fn dead() -> RunOwner {
    let mut owner = RunOwner::this_process();
    let boot = owner.started.split_once(':').map_or("", |(boot, _)| boot);
    owner.started = format!("{boot}:1");
    owner
}

/// A process on another machine: rbk cannot tell whether it runs.
fn elsewhere() -> RunOwner {
    let mut owner = RunOwner::this_process();
    owner.host = format!("{}-other-machine", owner.host);
    owner
}

fn owned(id: &str, runbook: &str, key: &str, owner: RunOwner) -> RunRecord {
    RunRecord {
        owner: Some(owner),
        ..run(id, runbook, key, 1_000)
    }
}

const ONE_AT_A_TIME: RunLimits = RunLimits {
    concurrency: Some(1),
    rate: None,
};

async fn a_dead_run_frees_its_concurrency_slot(store: &dyn Store) {
    assert_eq!(dead().liveness(), Liveness::Dead, "the test's dead owner");
    let crashed = owned("r-dead", "failover", "db1", dead());
    assert_eq!(
        start(store, &crashed, &ONE_AT_A_TIME).await,
        StartDecision::Started
    );
    let recorded = store.run("r-dead").await.unwrap().unwrap();
    assert_eq!(recorded.owner, Some(dead()), "the owner round-trips");
    assert_eq!(recorded.state, RunState::Running);
    assert_eq!(recorded.shown_status(), "interrupted");

    // Its process died without ending it: the slot is free for a new run...
    let next = owned("r-next", "failover", "db1", alive());
    assert_eq!(
        start(store, &next, &ONE_AT_A_TIME).await,
        StartDecision::Started,
        "a run whose process died must not hold its concurrency slot"
    );
    assert_eq!(
        store.run("r-next").await.unwrap().unwrap().shown_status(),
        "running"
    );
    // ...which a live run then holds.
    assert!(matches!(
        start(
            store,
            &owned("r-third", "failover", "db1", alive()),
            &ONE_AT_A_TIME
        )
        .await,
        StartDecision::Suppressed(_)
    ));

    // A run on another machine may be running: it keeps its slot.
    let remote = owned("r-remote", "failover", "db2", elsewhere());
    assert_eq!(
        start(store, &remote, &ONE_AT_A_TIME).await,
        StartDecision::Started
    );
    assert!(matches!(
        start(
            store,
            &owned("r-after-remote", "failover", "db2", alive()),
            &ONE_AT_A_TIME
        )
        .await,
        StartDecision::Suppressed(_)
    ));
}

async fn resume_claims_only_a_dead_run(store: &dyn Store) {
    let none = RunLimits::default();
    let me = alive();

    started(store, owned("r-live", "vacuum", "", alive())).await;
    assert_eq!(
        store.claim_run("r-live", &me, &none, false).await.unwrap(),
        Err(ClaimRefusal::Alive(alive())),
        "a run whose process is alive is not resumed"
    );
    assert_eq!(
        store.claim_run("r-live", &me, &none, true).await.unwrap(),
        Err(ClaimRefusal::Alive(alive())),
        "not even with --takeover"
    );

    started(store, owned("r-crashed", "vacuum", "", dead())).await;
    assert_eq!(
        store
            .claim_run("r-crashed", &me, &none, false)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        store.run("r-crashed").await.unwrap().unwrap().owner,
        Some(alive()),
        "the resuming process owns the run now"
    );
    // A second resume of the same run, at once: its owner (the first resume) is alive.
    assert_eq!(
        store
            .claim_run("r-crashed", &me, &none, false)
            .await
            .unwrap(),
        Err(ClaimRefusal::Alive(alive()))
    );

    started(store, owned("r-remote", "vacuum", "", elsewhere())).await;
    assert_eq!(
        store
            .claim_run("r-remote", &me, &none, false)
            .await
            .unwrap(),
        Err(ClaimRefusal::Unknown(Some(elsewhere())))
    );
    assert_eq!(
        store.claim_run("r-remote", &me, &none, true).await.unwrap(),
        Ok(()),
        "--takeover: the user states the remote process is gone"
    );

    let dry = RunRecord {
        dry_run: true,
        ..owned("r-dry", "vacuum", "", dead())
    };
    started(store, dry).await;
    assert!(store.run("r-dry").await.unwrap().unwrap().dry_run);
    assert_eq!(
        store.claim_run("r-dry", &me, &none, true).await.unwrap(),
        Err(ClaimRefusal::DryRun),
        "a dry run is never resumed into a real run"
    );

    started(store, owned("r-ended", "vacuum", "", dead())).await;
    store
        .set_state("r-ended", RunState::Failed, "boom")
        .await
        .unwrap();
    assert_eq!(
        store.claim_run("r-ended", &me, &none, false).await.unwrap(),
        Err(ClaimRefusal::Ended(RunState::Failed))
    );
    assert_eq!(
        store
            .claim_run("r-nowhere", &me, &none, false)
            .await
            .unwrap(),
        Err(ClaimRefusal::Missing)
    );

    // The dead run's slot went to a new run: it cannot take it back while that one runs.
    started(store, owned("r-slot-old", "failover", "db9", dead())).await;
    assert_eq!(
        start(
            store,
            &owned("r-slot-new", "failover", "db9", alive()),
            &ONE_AT_A_TIME
        )
        .await,
        StartDecision::Started
    );
    let Err(ClaimRefusal::SlotTaken(reason)) = store
        .claim_run("r-slot-old", &me, &ONE_AT_A_TIME, false)
        .await
        .unwrap()
    else {
        panic!("resuming must not exceed concurrency 1");
    };
    assert!(reason.contains("concurrency 1"), "{reason}");
    store
        .set_state("r-slot-new", RunState::Succeeded, "")
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_run("r-slot-old", &me, &ONE_AT_A_TIME, false)
            .await
            .unwrap(),
        Ok(())
    );
}

async fn dry_runs_take_no_slot(store: &dyn Store) {
    let limits = RunLimits {
        concurrency: Some(1),
        rate: Some((1, 60_000)),
    };
    let dry = |id: &str| RunRecord {
        dry_run: true,
        ..owned(id, "restart", "web", alive())
    };
    // Dry runs, however many, start and leave both limits untouched...
    assert_eq!(
        start(store, &dry("r-dry1"), &limits).await,
        StartDecision::Started
    );
    assert_eq!(
        start(store, &dry("r-dry2"), &limits).await,
        StartDecision::Started
    );
    // ...so a real run still starts...
    let real = owned("r-real", "restart", "web", alive());
    assert_eq!(start(store, &real, &limits).await, StartDecision::Started);
    // ...and a dry run alongside it is not held back by it either.
    assert_eq!(
        start(store, &dry("r-dry3"), &limits).await,
        StartDecision::Started
    );
    // The limits still hold for real runs.
    assert!(matches!(
        start(store, &owned("r-real2", "restart", "web", alive()), &limits).await,
        StartDecision::Suppressed(_)
    ));
}

async fn a_store_from_before_owners_gains_the_columns(raw: &Raw, reopen: &Reopen) {
    // The table as the first schema made it, with a run in it (and no record of a version:
    // PostgreSQL stores record theirs since version 3; dropping nothing on SQLite).
    raw("DROP TABLE IF EXISTS rbk_schema_version".into())
        .await
        .unwrap();
    for column in ["owner_host", "owner_pid", "owner_started", "dry_run"] {
        raw(format!("ALTER TABLE rbk_runs DROP COLUMN {column}"))
            .await
            .unwrap();
    }
    raw(
        "INSERT INTO rbk_runs (id, file, runbook, started_by, started_at, status, summary, \
         digest, inputs, limit_key) VALUES ('r-old', 'a.rbk', 'failover', 'alice', 1, \
         'running', '', 'd', '{}', '')"
            .into(),
    )
    .await
    .unwrap();
    // Free-text statuses of that time: a denied run is a failed one now.
    raw(
        "INSERT INTO rbk_runs (id, file, runbook, started_by, started_at, status, summary, \
         digest, inputs, limit_key) VALUES ('r-denied', 'a.rbk', 'failover', 'alice', 2, \
         'denied', 'step `drop` was denied by bob', 'd', '{}', '')"
            .into(),
    )
    .await
    .unwrap();
    let store = reopen().await;
    let denied = store
        .run("r-denied")
        .await
        .unwrap()
        .expect("the denied run");
    assert_eq!(denied.state, RunState::Failed);
    let failed = store
        .list_runs(&rbk_interpreter::store::RunQuery {
            limit: 10,
            state: Some(RunState::Failed),
            runbook: None,
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let old = store.run("r-old").await.unwrap().expect("the old run");
    assert_eq!(old.owner, None);
    assert!(!old.dry_run);
    assert_eq!(
        old.shown_status(),
        "running",
        "an unrecorded owner may be alive"
    );
    started(&*store, owned("r-new", "vacuum", "", alive())).await;
    assert_eq!(
        store.run("r-new").await.unwrap().unwrap().owner,
        Some(alive())
    );
}

#[path = "store_conformance/queue.rs"]
mod queue;

#[path = "store_conformance/decisions.rs"]
mod decisions;

/// Up to `n` handles on the same data, each with its own connection where the backend has
/// connections (as separate `rbk serve` processes would have).
async fn handles(h: &Harness, n: usize) -> Vec<Arc<dyn Store>> {
    let mut handles = vec![h.store.clone(), h.other.clone()];
    if let Some(reopen) = &h.reopen {
        while handles.len() < n {
            handles.push(reopen().await);
        }
    }
    handles
}

// ---------------------------------------------------------------------------------------------
// The matrix
// ---------------------------------------------------------------------------------------------

macro_rules! conformance {
    ($backend:ident, $make:path) => {
        mod $backend {

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn create_get_and_list_runs() {
                let h = $make().await;
                super::create_get_and_list_runs(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn the_record_ends_with_the_journals_run_finished() {
                let h = $make().await;
                super::the_record_ends_with_the_journals_run_finished(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn journal_round_trips_with_a_valid_chain() {
                let h = $make().await;
                super::journal_round_trips_with_a_valid_chain(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn tampering_is_detected() {
                let h = $make().await;
                super::tampering_is_detected(&*h.store, &h.raw).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn every_append_moves_the_anchored_head_so_a_removed_tail_shows() {
                let h = $make().await;
                super::every_append_moves_the_anchored_head_so_a_removed_tail_shows(
                    &*h.store, &h.raw,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn answers_are_journaled_with_their_row_and_a_row_written_around_the_store_is_caught(
            ) {
                let h = $make().await;
                super::answers_are_journaled_with_their_row_and_a_row_written_around_the_store_is_caught(
                    &*h.store, &h.raw,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_appends_never_share_a_seq() {
                let h = $make().await;
                super::concurrent_appends_never_share_a_seq([h.store.clone(), h.other.clone()])
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn answers_replace_per_user() {
                let h = $make().await;
                super::answers_replace_per_user(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrency_limit_suppresses_per_key() {
                let h = $make().await;
                super::concurrency_limit_suppresses_per_key(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn rate_limit_suppresses_the_third() {
                let h = $make().await;
                super::rate_limit_suppresses_the_third(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn a_dead_run_frees_its_concurrency_slot() {
                let h = $make().await;
                super::a_dead_run_frees_its_concurrency_slot(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn resume_claims_only_a_dead_run() {
                let h = $make().await;
                super::resume_claims_only_a_dead_run(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn dry_runs_take_no_slot() {
                let h = $make().await;
                super::dry_runs_take_no_slot(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn limits_hold_under_concurrent_starts() {
                let h = $make().await;
                super::limits_hold_under_concurrent_starts([h.store.clone(), h.other.clone()])
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_one_start_per_occurrence_under_concurrent_deliveries() {
                let h = $make().await;
                let handles = super::handles(&h, 20).await;
                super::queue::one_start_per_occurrence_under_concurrent_deliveries(handles).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_two_claimers_never_get_the_same_run() {
                let h = $make().await;
                let handles = super::handles(&h, 4).await;
                super::queue::two_claimers_never_get_the_same_run(handles).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_a_stale_lease_is_fenced_out_and_reap_hands_the_run_on() {
                let h = $make().await;
                super::queue::a_stale_lease_is_fenced_out_and_reap_hands_the_run_on(&*h.store)
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_release_requeues_a_running_run() {
                let h = $make().await;
                super::queue::release_requeues_a_running_run(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_an_answer_queues_a_parked_run_and_no_other() {
                let h = $make().await;
                super::queue::an_answer_queues_a_parked_run_and_no_other(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_coalesce_onto_the_active_run() {
                let h = $make().await;
                super::queue::coalesce_onto_the_active_run(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_rate_suppresses_past_the_limit() {
                let h = $make().await;
                super::queue::rate_suppresses_past_the_limit(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_a_storm_is_held_for_one_decision() {
                let h = $make().await;
                super::queue::a_storm_is_held_for_one_decision(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_resolved_cancels_the_queued_run() {
                let h = $make().await;
                super::queue::resolved_cancels_the_queued_run(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn queue_a_schedule_tick_starts_once() {
                let h = $make().await;
                let handles = super::handles(&h, 4).await;
                super::queue::a_schedule_tick_starts_once(handles).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn decisions_an_external_id_is_recorded_once_per_channel() {
                let h = $make().await;
                super::decisions::an_external_id_is_recorded_once_per_channel(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn decisions_concurrent_deliveries_of_one_click_record_one_answer() {
                let h = $make().await;
                let handles = super::handles(&h, 8).await;
                super::decisions::concurrent_deliveries_of_one_click_record_one_answer(handles)
                    .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn decisions_notices_are_kept_per_run_and_key() {
                let h = $make().await;
                super::decisions::notices_are_kept_per_run_and_key(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn decisions_a_parked_run_wakes_at_its_deadline() {
                let h = $make().await;
                super::decisions::a_parked_run_wakes_at_its_deadline(&*h.store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn decisions_a_storm_hold_is_released_or_cancelled_once() {
                let h = $make().await;
                super::decisions::a_storm_hold_is_released_or_cancelled_once(&*h.store).await;
            }
        }
    };
}

conformance!(sqlite_file, super::sqlite_file);
conformance!(sqlite_memory, super::sqlite_memory);
conformance!(postgres, super::postgres);

/// Workers on other machines learn of new work by LISTEN/NOTIFY: an ingest that queues runs
/// sends exactly one notification however many runs it queued (NOTIFY serializes commits), an
/// ingest that queues nothing sends none.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_ingest_notifies_once_per_transaction() {
    use rbk_interpreter::store::{Intake, QueuedStart};
    let h = postgres().await;
    let url = h.url.clone().expect("a postgres url");
    let (client, mut connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("a listening connection");
    let (sender, mut heard) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let Ok(tokio_postgres::AsyncMessage::Notification(n)) = message {
                let _ = sender.send(n.payload().to_string());
            }
        }
    });
    client.batch_execute("LISTEN rbk_work").await.unwrap();
    let starts = |prefix: &str| {
        (0..3)
            .map(|i| {
                let mut record = run(&format!("{prefix}-{i}"), "relieve", "", 1_000 + i);
                record.state = RunState::Queued;
                record.owner = None;
                record.trigger.key = format!("fp-{i}|1000");
                QueuedStart {
                    record,
                    limits: RunLimits::default(),
                    rate_key: None,
                    storm: None,
                }
            })
            .collect::<Vec<_>>()
    };
    for (prefix, expected) in [("r-n", 1), ("r-again", 0)] {
        let intake = Intake {
            starts: starts(prefix),
            ..Intake::default()
        };
        h.store.ingest(&intake).await.unwrap();
        client
            .batch_execute("NOTIFY rbk_work, 'sentinel'")
            .await
            .unwrap();
        // Everything heard up to the sentinel this connection sent itself.
        let mut got = Vec::new();
        loop {
            let payload = tokio::time::timeout(std::time::Duration::from_secs(60), heard.recv())
                .await
                .expect("the sentinel arrives")
                .expect("the listener goes on");
            if payload == "sentinel" {
                break;
            }
            got.push(payload);
        }
        assert_eq!(got.len(), expected, "{prefix}: {got:?}");
    }
}

/// Stores made by an rbk from before run owners were recorded: a SQLite file and a PostgreSQL
/// schema (the in-memory store has no "before").
mod migration {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_old_sqlite_file_gains_the_owner_columns() {
        let h = super::sqlite_file().await;
        let reopen = h.reopen.as_ref().expect("a file can be reopened");
        super::a_store_from_before_owners_gains_the_columns(&h.raw, reopen).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn an_old_postgres_schema_gains_the_owner_columns() {
        let h = super::postgres().await;
        let reopen = h.reopen.as_ref().expect("a database can be reconnected to");
        super::a_store_from_before_owners_gains_the_columns(&h.raw, reopen).await;
    }
}

/// The SQLite file is shared by separate handles (as by separate `rbk` processes): what one
/// writes, a handle opened later reads, and the schema is not recreated over it.
#[tokio::test]
async fn sqlite_file_persists_across_opens() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique_name("store_reopen"));
    let _cleanup = Cleanup::Dir(dir.clone());
    let path = dir.join("rbk.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        started(&store, run("r-p", "failover", "", 1)).await;
        store
            .append_event("r-p", 1, &EventKind::StepSucceeded { step: "a".into() })
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.run("r-p").await.unwrap().unwrap().id, "r-p");
    let events = store.events("r-p").await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(verify_chain(&events), Ok(()));
}

/// The in-memory store (`--store memory`) follows the same rules; only tampering has no
/// outside copy to tamper with.
mod memory {
    use std::sync::Arc;

    use rbk_interpreter::store::{MemoryStore, Store};

    fn store() -> Arc<dyn Store> {
        Arc::new(MemoryStore::new())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn behaves_like_the_persistent_stores() {
        super::create_get_and_list_runs(&*store()).await;
        super::journal_round_trips_with_a_valid_chain(&*store()).await;
        super::the_record_ends_with_the_journals_run_finished(&*store()).await;
        let shared = store();
        super::concurrent_appends_never_share_a_seq([shared.clone(), shared]).await;
        super::answers_replace_per_user(&*store()).await;
        super::concurrency_limit_suppresses_per_key(&*store()).await;
        super::rate_limit_suppresses_the_third(&*store()).await;
        super::a_dead_run_frees_its_concurrency_slot(&*store()).await;
        super::resume_claims_only_a_dead_run(&*store()).await;
        super::dry_runs_take_no_slot(&*store()).await;
        let shared = store();
        super::limits_hold_under_concurrent_starts([shared.clone(), shared]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn runs_the_queue_like_the_persistent_stores() {
        use super::queue;
        let shared = store();
        queue::one_start_per_occurrence_under_concurrent_deliveries(vec![shared]).await;
        let shared = store();
        queue::two_claimers_never_get_the_same_run(vec![shared.clone(), shared]).await;
        queue::a_stale_lease_is_fenced_out_and_reap_hands_the_run_on(&*store()).await;
        queue::release_requeues_a_running_run(&*store()).await;
        queue::coalesce_onto_the_active_run(&*store()).await;
        queue::rate_suppresses_past_the_limit(&*store()).await;
        queue::a_storm_is_held_for_one_decision(&*store()).await;
        queue::resolved_cancels_the_queued_run(&*store()).await;
        queue::a_schedule_tick_starts_once(vec![store()]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn keeps_what_decisions_need_like_the_persistent_stores() {
        use super::decisions;
        decisions::an_external_id_is_recorded_once_per_channel(&*store()).await;
        let shared = store();
        decisions::concurrent_deliveries_of_one_click_record_one_answer(vec![
            shared.clone(),
            shared.clone(),
            shared,
        ])
        .await;
        decisions::notices_are_kept_per_run_and_key(&*store()).await;
        decisions::a_parked_run_wakes_at_its_deadline(&*store()).await;
        decisions::a_storm_hold_is_released_or_cancelled_once(&*store()).await;
    }
}

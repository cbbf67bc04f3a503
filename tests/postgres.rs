//! `std.postgres` end to end: the seed runbook `examples/db_pool_exhaustion.rbk` run for real by
//! the built binary against the PostgreSQL server of `RBK_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Each test works in a database of its own, so the
//! runbook never sees (or ends) anyone else's sessions.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use support::pg::{connect, session, TestDatabase as Database};
use support::repo_root;
use tokio_postgres::Client;

async fn alive(observer: &Client, pid: i32) -> bool {
    observer
        .query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&pid])
        .await
        .unwrap()
        .is_some()
}

/// A project directory with the seed runbook and its approvers.
fn project(tag: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("postgres-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rbk.toml"),
        "[approvers]\ndatabase-oncall = [\"alice\", \"bob\"]\n",
    )
    .unwrap();
    std::fs::copy(
        repo_root().join("examples").join("db_pool_exhaustion.rbk"),
        dir.join("db_pool_exhaustion.rbk"),
    )
    .unwrap();
    dir
}

struct Outcome {
    status: i32,
    events: Vec<serde_json::Value>,
    output: String,
}

impl Outcome {
    fn has(&self, event: &str, step: &str) -> bool {
        self.events
            .iter()
            .any(|e| e["event"] == event && e["step"] == step)
    }

    fn calls_of(&self, action: &str) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["event"] == "action_called")
            .filter_map(|e| e["call"].as_str())
            .filter(|call| call.starts_with(&format!("{action}(")))
            .map(str::to_string)
            .collect()
    }
}

/// `rbk run db_pool_exhaustion.rbk --format json` with the database URL as its secret; Slack and
/// PagerDuty are left unconfigured, so notifying and paging fail (and are journaled) offline.
fn run_runbook(dir: &PathBuf, database_url: &str, inputs: &[&str]) -> Outcome {
    let mut args = vec![
        "run",
        "db_pool_exhaustion.rbk",
        "--format",
        "json",
        "--as",
        "carol",
    ];
    for input in inputs {
        args.extend(["--input", input]);
    }
    let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(&args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("ORDERS_DATABASE_URL", database_url)
        .env_remove("SLACK_WEBHOOK_URL")
        .env_remove("PAGERDUTY_ROUTING_KEY")
        .output()
        .expect("the rbk binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    Outcome {
        status: output.status.code().unwrap_or(-1),
        events: stdout
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect(),
        output: format!("{stdout}\n{stderr}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_runbook_ends_exactly_the_old_idle_sessions() {
    let db = Database::create("pool").await;
    let url = db.url();
    let tag = std::process::id();

    let mut old_idle = Vec::new();
    for i in 0..3 {
        old_idle.push(session(&url, &format!("rbk-test-idle-{tag}-{i}")).await);
    }
    let (busy, busy_pid) = session(&url, &format!("rbk-test-busy-{tag}")).await;
    let sleeping = tokio::spawn(async move {
        let result = busy.simple_query("SELECT pg_sleep(60)").await;
        (busy, result)
    });
    // Setup, not an assertion: age the idle sessions past the runbook's `idle_for`.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let (_young, young_pid) = session(&url, &format!("rbk-test-young-{tag}")).await;

    let dir = project("pool");
    let outcome = run_runbook(&dir, &url, &["idle_for=4s"]);
    let observer = connect(&url).await;

    assert_eq!(outcome.status, 0, "{}", outcome.output);
    for step in ["count", "find_idle", "kill", "pool_ok"] {
        assert!(
            outcome.has("step_succeeded", step),
            "{step}: {}",
            outcome.output
        );
    }
    assert!(outcome.has("step_skipped", "restart"), "{}", outcome.output);
    assert!(!outcome.has("step_failed", "kill"), "{}", outcome.output);
    assert!(
        outcome.calls_of("pagerduty.page").is_empty(),
        "no escalation: {}",
        outcome.output
    );

    // What the kill step was handed: the old idle sessions, not the busy or young ones.
    let terminate = outcome.calls_of("postgres.terminate");
    assert_eq!(terminate.len(), 1, "{}", outcome.output);
    for (_, pid) in &old_idle {
        assert!(
            terminate[0].contains(&format!("pid: {pid},")),
            "{}",
            terminate[0]
        );
    }
    for pid in [busy_pid, young_pid] {
        assert!(
            !terminate[0].contains(&format!("pid: {pid},")),
            "{}",
            terminate[0]
        );
    }

    // And what the server says afterwards.
    for (_, pid) in &old_idle {
        assert!(
            !alive(&observer, *pid).await,
            "idle session {pid} should be gone"
        );
    }
    assert!(
        alive(&observer, busy_pid).await,
        "the busy session survives"
    );
    assert!(
        alive(&observer, young_pid).await,
        "the young idle session survives"
    );
    let state: Option<String> = observer
        .query_one(
            "SELECT state FROM pg_stat_activity WHERE pid = $1",
            &[&busy_pid],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state.as_deref(), Some("active"), "still in its pg_sleep");
    // The terminated clients see their connection closed.
    for (client, pid) in &old_idle {
        assert!(client.simple_query("SELECT 1").await.is_err(), "pid {pid}");
    }

    observer
        .query_one("SELECT pg_cancel_backend($1)", &[&busy_pid])
        .await
        .unwrap();
    let (_busy, result) = sleeping.await.unwrap();
    assert!(
        result.is_err(),
        "the sleep was cancelled by us, not by the runbook"
    );
    drop(observer);
    db.drop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_database_that_is_down_fails_the_run_clearly_and_escalates() {
    let dir = project("down");
    let outcome = run_runbook(&dir, "postgres://postgres@127.0.0.1:1/test", &[]);

    assert_eq!(outcome.status, 1, "{}", outcome.output);
    let finished = outcome
        .events
        .iter()
        .find(|e| e["event"] == "run_finished")
        .unwrap_or_else(|| panic!("a run_finished event: {}", outcome.output));
    assert_eq!(finished["status"], "failed");
    let summary = finished["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("input `db` could not be computed")
            && summary.contains("cannot connect to PostgreSQL at postgres@127.0.0.1:1/test"),
        "{summary}"
    );
    // No step touched anything.
    assert!(!outcome.events.iter().any(|e| e["event"] == "step_started"));
    // The escalation ran (PagerDuty is not configured here, so the page itself fails and says so).
    let pages = outcome.calls_of("pagerduty.page");
    assert_eq!(pages.len(), 1, "{}", outcome.output);
    assert!(
        pages[0].contains("cannot connect to PostgreSQL"),
        "{}",
        pages[0]
    );
    assert!(
        outcome
            .events
            .iter()
            .any(|e| e["event"] == "escalated" || e["event"] == "escalation_failed"),
        "{}",
        outcome.output
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A runbook for a long transaction (GitLab's Patroni runbook, in short): cancel the queries of
/// transactions open too long (which aborts those transactions), then end the sessions still in
/// one (idle in their transaction: nothing to cancel), and note the run in a table
/// with a bind parameter. The waivers are the test's: every session it can reach is its own.
const LONG_TRANSACTIONS: &str = r#"use std.postgres as pg

/// Cancels, then ends, transactions open longer than `older`.
runbook long_transactions {
  title "Long-running transactions"
  owner "database-oncall"

  input {
    db: pg.Database = pg.connect(secret("ORDERS_DATABASE_URL"))
    older: duration = 2s
    note: string = "run"
  }

  step find "Find long transactions" {
    let stuck = pg.long_transactions(db, older_than: older)
    log "found {len(stuck)}"
  }

  step stop "Cancel their queries" {
    approval none reason "test database: every session in it is the test's own"
    let cancelled = pg.cancel(db, stuck, max: 5)
    log "cancelled {cancelled}"
  }

  step finish "End the sessions still in a long transaction" {
    approval none reason "test database: every session in it is the test's own"
    let ended = pg.terminate(db, pg.long_transactions(db, older_than: older), max: 5)
    log "ended {ended}"
  }

  step record "Record the run" {
    approval none reason "test table"
    pg.execute(db, "insert into x (note) values ($1)", params: [note])
    let notes = pg.query(db, "select count(*) as n from x where note = $1", params: [note])
    expect notes[0]["n"] == "1" else "the note was stored as one row"
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_cancels_then_ends_long_transactions_and_binds_hostile_text_as_data() {
    const HOSTILE: &str = "'; drop table x; --";
    let db = Database::create("xact").await;
    let url = db.url();
    let tag = std::process::id();
    let observer = connect(&url).await;
    observer
        .batch_execute("CREATE TABLE x (note text)")
        .await
        .unwrap();

    // A transaction running a long query, one idle inside a transaction, and a session in none.
    let (busy, busy_pid) = session(&url, &format!("rbk-test-xact-busy-{tag}")).await;
    busy.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let sleeping = tokio::spawn(async move {
        let outcome = busy.query("SELECT pg_sleep(60)", &[]).await;
        (busy, outcome)
    });
    let (idle_in_xact, idle_pid) = session(&url, &format!("rbk-test-xact-idle-{tag}")).await;
    idle_in_xact.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let (_outside, outside_pid) = session(&url, &format!("rbk-test-xact-none-{tag}")).await;
    // Setup, not an assertion: age the transactions past the runbook's `older`.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let dir = project("xact");
    std::fs::write(dir.join("long_transactions.rbk"), LONG_TRANSACTIONS).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args([
            "run",
            "long_transactions.rbk",
            "--format",
            "json",
            "--as",
            "carol",
            "--input",
            &format!("note={HOSTILE}"),
        ])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .env("ORDERS_DATABASE_URL", &url)
        .output()
        .expect("the rbk binary runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0), "{text}");
    let logged: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|e| e["event"] == "log")
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect();
    // Cancelling the running query aborted its transaction (releasing its locks), so only the
    // session idle in its transaction was left to end.
    assert_eq!(
        logged,
        ["found 2", "cancelled 1", "ended 1"],
        "two long transactions; one query to cancel; the other session ended: {text}"
    );

    // The busy query was cancelled and its session kept.
    let (_busy, outcome) = tokio::time::timeout(Duration::from_secs(10), sleeping)
        .await
        .expect("the 60s query was stopped")
        .unwrap();
    let error = outcome.expect_err("the query was cancelled");
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        "{error:?}"
    );
    assert_eq!(
        support::pg::state_of(&observer, busy_pid).await.as_deref(),
        Some("idle in transaction (aborted)")
    );
    assert!(!alive(&observer, idle_pid).await);
    assert!(
        alive(&observer, outside_pid).await,
        "a session in no transaction is left alone"
    );

    // The hostile note is a row, and the table it names is still there.
    let notes: Vec<String> = observer
        .query("SELECT note FROM x", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(notes, [HOSTILE]);

    drop(observer);
    drop(idle_in_xact);
    db.drop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

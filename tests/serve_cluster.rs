//! Several `rbk serve` processes on one PostgreSQL store (a fresh database per test): a process
//! killed in the middle of a step leaves its run to the other, which finishes it by `rbk
//! resume`'s rules; a store that cannot be reached is a 503 and the alert is processed once it
//! is back.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::alerting::{AlertingStack, Webhook};
use support::gate_server::GateServer;
use support::pg::{self, TestDatabase};
use support::rbk_serve::Serve;
use support::tcp_proxy::TcpProxy;
use support::waiting::until;
use support::{rbk_in, repo_root};

const TOKEN: &str = "cluster-intake-token-9c2e";
/// Longer than a lease (30 s) plus the reaper's period and a loaded machine's delays.
const TAKEOVER: Duration = Duration::from_secs(150);
const DEADLINE: Duration = Duration::from_secs(90);

/// Three steps; the middle one waits at the gate (a `read`, so a takeover runs it again).
const READS: &str = r#"use std.http

runbook look_three_times {
  title "Look three times"
  trigger alert "ClusterReads"
  concurrency 1

  step first "First look" {
    http.get(url: env("RBK_GATE") + "/first")
  }

  step slow "A slow look" {
    http.get(url: env("RBK_GATE") + "/hold/slow", timeout: 5m)
  }

  step last "Last look" {
    http.get(url: env("RBK_GATE") + "/last")
  }
}
"#;

/// Three steps; the middle one is destructive and slow (it sleeps in PostgreSQL).
const DRAIN: &str = r#"use std.http
use std.postgres as pg

runbook drain_and_report {
  title "Drain and report"
  trigger alert "ClusterDrain"
  concurrency 1
  escalate http.post(url: env("RBK_GATE") + "/escalated", body: "{run.summary}")

  input {
    db: pg.Database = pg.connect(secret("RBK_CLUSTER_DB_URL"))
  }

  step look "Look first" {
    http.get(url: env("RBK_GATE") + "/look")
  }

  step drain "Drain (slow, destructive)" {
    approval none reason "a test database"
    pg.execute(db, "SELECT pg_sleep(600) /* rbk-cluster-drain */")
  }

  step report "Report" {
    http.get(url: env("RBK_GATE") + "/report")
  }
}
"#;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn project(tag: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("serve-cluster-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rbk.toml"),
        "[approvers]\nsre = [\"alice\", \"bob\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("reads.rbk"), READS).unwrap();
    std::fs::write(dir.join("drain.rbk"), DRAIN).unwrap();
    dir
}

/// An Alertmanager webhook v4 body with one firing alert.
fn payload(name: &str, fingerprint: &str) -> String {
    serde_json::json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"),
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "rbk",
        "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": name, "cluster": "test"},
            "annotations": {"summary": "a cluster test"},
            "startsAt": "2026-12-02T01:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": fingerprint,
        }],
    })
    .to_string()
}

fn runs(dir: &Path, store: &str) -> Vec<serde_json::Value> {
    let out = rbk_in(
        dir,
        &[
            "runs", "--store", store, "--format", "json", "--limit", "1000",
        ],
    );
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    serde_json::from_str::<serde_json::Value>(out.stdout.trim())
        .unwrap_or_else(|e| panic!("rbk runs --format json: {e}\n{}", out.stdout))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The one run of `runbook` once `rbk runs` shows it in `state`.
fn wait_for_state(
    dir: &Path,
    store: &str,
    runbook: &str,
    state: &str,
    deadline: Duration,
    explain: impl FnOnce() -> String,
) -> serde_json::Value {
    until(
        &format!("the run of {runbook} to be {state}"),
        deadline,
        || {
            runs(dir, store)
                .into_iter()
                .find(|r| r["runbook"] == runbook && r["state"] == state)
        },
        || format!("{:#?}\n{}", runs(dir, store), explain()),
    )
}

fn events(dir: &Path, store: &str, run: &str) -> Vec<serde_json::Value> {
    let out = rbk_in(dir, &["log", run, "--store", store, "--format", "json"]);
    let log: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("rbk log --format json: {e}\n{}{}", out.stdout, out.stderr));
    log["events"].as_array().cloned().unwrap_or_default()
}

fn count(events: &[serde_json::Value], event: &str, step: &str) -> usize {
    events
        .iter()
        .filter(|e| e["event"] == event && e["step"] == step)
        .count()
}

fn verify(dir: &Path, store: &str, run: &str) {
    let out = rbk_in(dir, &["log", run, "--store", store, "--verify"]);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("journal intact"), "{}", out.stdout);
}

/// A read step caught in the middle when its process dies: the other process takes the run
/// over once the lease expires, runs that step again (it only reads), and finishes the run;
/// the step that had finished never runs again.
#[test]
fn a_killed_server_s_run_is_finished_by_the_other() {
    let runtime = runtime();
    let db = runtime.block_on(TestDatabase::create("cluster_reads"));
    let store = db.url();
    let gate = GateServer::start();
    let dir = project("reads");
    let env = [("RBK_INTAKE_TOKEN", TOKEN), ("RBK_GATE", gate.url.as_str())];
    let args = [".", "--store", store.as_str()];

    let mut first = Serve::start(&dir, &args, &env);
    let answer = first.post_alertmanager(TOKEN, &payload("ClusterReads", "c1a55e01"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    until(
        "the first process to be in the middle of the slow step",
        DEADLINE,
        || (gate.hits("/hold/slow") == 1).then_some(()),
        || format!("{}\n{}", gate.all_hits(), first.log()),
    );
    let second = Serve::start(&dir, &args, &env);
    first.kill();

    until(
        "the second process to take the run over and reach the slow step again",
        TAKEOVER,
        || (gate.hits("/hold/slow") == 2).then_some(()),
        || {
            format!(
                "{}\n{:#?}\n{}",
                gate.all_hits(),
                runs(&dir, &store),
                second.log()
            )
        },
    );
    gate.open();
    let run = wait_for_state(
        &dir,
        &store,
        "look_three_times",
        "succeeded",
        DEADLINE,
        || second.log(),
    );
    let run_id = run["id"].as_str().unwrap();

    assert_eq!(gate.hits("/first"), 1, "a finished step never runs again");
    assert_eq!(gate.hits("/last"), 1, "{}", gate.all_hits());
    let events = events(&dir, &store, run_id);
    assert_eq!(count(&events, "step_succeeded", "first"), 1, "{events:#?}");
    assert_eq!(count(&events, "step_started", "first"), 1, "{events:#?}");
    assert_eq!(count(&events, "step_started", "slow"), 2, "{events:#?}");
    assert_eq!(count(&events, "step_succeeded", "last"), 1, "{events:#?}");
    assert!(
        events.iter().any(|e| e["event"] == "run_taken_over"),
        "the takeover is journaled: {events:#?}"
    );
    verify(&dir, &store, run_id);
    assert_eq!(runs(&dir, &store).len(), 1);

    drop(second);
    runtime.block_on(db.drop());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A destructive step caught in the middle when its process dies: the other process takes the
/// run over, but does not run the step again (it may have done its work): the run is in doubt
/// until a human says. Told the step's effect is there, the other process finishes the run.
#[test]
fn a_destructive_step_in_flight_when_its_server_dies_is_in_doubt() {
    let runtime = runtime();
    let db = runtime.block_on(TestDatabase::create("cluster_drain"));
    let store = db.url();
    let gate = GateServer::start();
    gate.open();
    let dir = project("drain");
    let env = [
        ("RBK_INTAKE_TOKEN", TOKEN),
        ("RBK_GATE", gate.url.as_str()),
        ("RBK_CLUSTER_DB_URL", store.as_str()),
    ];
    let args = [".", "--store", store.as_str()];
    let observer = runtime.block_on(pg::connect(&pg::base_url()));
    let draining = |observer: &tokio_postgres::Client| {
        runtime.block_on(async {
            observer
                .query(
                    "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND datname = $1 \
                     AND query LIKE '%rbk-cluster-drain%' AND pid <> pg_backend_pid()",
                    &[&db.name],
                )
                .await
                .unwrap()
                .iter()
                .map(|row| row.get::<_, i32>(0))
                .collect::<Vec<i32>>()
        })
    };

    let mut first = Serve::start(&dir, &args, &env);
    let answer = first.post_alertmanager(TOKEN, &payload("ClusterDrain", "d4a1e002"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let sleeping = until(
        "the first process to be in the middle of the destructive step",
        DEADLINE,
        || {
            let pids = draining(&observer);
            (pids.len() == 1).then(|| pids[0])
        },
        || format!("{}\n{}", gate.all_hits(), first.log()),
    );
    let second = Serve::start(&dir, &args, &env);
    first.kill();

    let run = wait_for_state(
        &dir,
        &store,
        "drain_and_report",
        "in_doubt",
        TAKEOVER,
        || second.log(),
    );
    let run_id = run["id"].as_str().unwrap().to_string();
    let events_then = events(&dir, &store, &run_id);
    assert_eq!(
        count(&events_then, "step_started", "drain"),
        1,
        "the destructive step is not run again: {events_then:#?}"
    );
    assert_eq!(draining(&observer), vec![sleeping], "no second drain");
    assert!(
        events_then.iter().any(|e| e["event"] == "run_taken_over"),
        "{events_then:#?}"
    );

    // The human looks, sees the drain's work is there (here: ends the orphaned statement), and
    // says so.
    runtime.block_on(async {
        observer
            .query_one("SELECT pg_terminate_backend($1)", &[&sleeping])
            .await
            .unwrap();
    });
    let answer = rbk_in(
        &dir,
        &[
            "approve",
            &run_id,
            "drain#done",
            "--store",
            &store,
            "--as",
            "bob",
        ],
    );
    assert_eq!(answer.status, 0, "{}{}", answer.stdout, answer.stderr);
    wait_for_state(
        &dir,
        &store,
        "drain_and_report",
        "succeeded",
        DEADLINE,
        || second.log(),
    );

    assert_eq!(gate.hits("/look"), 1, "a finished step never runs again");
    assert_eq!(gate.hits("/report"), 1, "{}", gate.all_hits());
    let events = events(&dir, &store, &run_id);
    assert_eq!(count(&events, "step_started", "drain"), 1, "{events:#?}");
    assert_eq!(
        count(&events, "step_marked_done", "drain"),
        1,
        "{events:#?}"
    );
    verify(&dir, &store, &run_id);
    assert!(draining(&observer).is_empty());

    drop(second);
    runtime.block_on(db.drop());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The store goes away (the network to PostgreSQL is cut): the intake answers 503, so
/// Alertmanager keeps the alert and retries; once the store is back the alert is taken and
/// its run executes, once.
#[test]
fn an_unreachable_store_is_a_503_and_the_alert_is_processed_when_it_is_back() {
    let runtime = runtime();
    let db = runtime.block_on(TestDatabase::create("cluster_store"));
    let proxy = TcpProxy::start("127.0.0.1:5432");
    let store = pg::url_via_port(proxy.port, &db.name);
    let gate = GateServer::start();
    gate.open();
    let dir = project("store");
    let env = [("RBK_INTAKE_TOKEN", TOKEN), ("RBK_GATE", gate.url.as_str())];
    let serve = Serve::start(&dir, &[".", "--store", store.as_str()], &env);
    let alertmanager = AlertingStack::alertmanager_only(&Webhook {
        url: format!("{}/v1/alertmanager", serve.url),
        bearer_token: TOKEN.into(),
    });

    proxy.cut();
    let answer = serve.post_alertmanager(TOKEN, &payload("ClusterReads", "5e0ba5e1"));
    assert_eq!(answer.status, 503, "{}", answer.body);
    let ready = support::http::get(&format!("{}/readyz", serve.url)).unwrap();
    assert_eq!(ready.status, 503, "{}", ready.body);

    // Alertmanager gets the same 503s and keeps trying.
    alertmanager.post_alert(
        &serde_json::json!({"alertname": "ClusterReads", "cluster": "test"}),
        &serde_json::json!({"summary": "store outage test"}),
    );
    until(
        "Alertmanager to fail a delivery",
        DEADLINE,
        || (alertmanager.failed_notifications() >= 1.0).then_some(()),
        || format!("{}\n{}", alertmanager.logs(), serve.log()),
    );
    assert_eq!(
        gate.hits("/first"),
        0,
        "nothing ran while the store was away"
    );

    proxy.restore();
    let run = wait_for_state(
        &dir,
        &store,
        "look_three_times",
        "succeeded",
        DEADLINE,
        || format!("{}\n{}", alertmanager.logs(), serve.log()),
    );
    let ready = support::http::get(&format!("{}/readyz", serve.url)).unwrap();
    assert_eq!(ready.status, 200, "{}", ready.body);
    verify(&dir, &store, run["id"].as_str().unwrap());
    // The 503 answered to the test's own POST committed nothing; Alertmanager's retry started
    // the one run.
    assert_eq!(runs(&dir, &store).len(), 1, "{:#?}", runs(&dir, &store));
    assert_eq!(gate.hits("/first"), 1);

    drop(alertmanager);
    drop(serve);
    runtime.block_on(db.drop());
    let _ = std::fs::remove_dir_all(&dir);
}

//! The seed's incident for real: PostgreSQL, Debian's postgres_exporter, Prometheus and
//! Alertmanager (tests/support/alerting.rs), and `rbk serve` running
//! `examples/db_pool_exhaustion.rbk` when Alertmanager calls it.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use support::alerting::{AlertingStack, ConnectionsRule, Webhook, ALERT_NAME};
use support::echo_server::EchoServer;
use support::pg::{self, TestDatabase};
use support::rbk_serve::Serve;
use support::waiting::until;
use support::{rbk_in, repo_root};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The chain without rbk: a condition in PostgreSQL reaches a plain webhook receiver, firing
/// and then resolved, with the bearer token Alertmanager was configured with. When this fails,
/// the problem is in the environment (packages, ports), not in `rbk serve`.
#[test]
fn the_connections_alert_reaches_a_webhook_with_its_token_and_resolves() {
    let runtime = runtime();
    let db = runtime.block_on(TestDatabase::create("chain"));
    let receiver = EchoServer::start("ok");
    let stack = AlertingStack::start(
        &pg::base_url(),
        &ConnectionsRule {
            database: db.name.clone(),
            idle_above: 2,
            for_seconds: 1,
        },
        &Webhook {
            url: format!("{}/v1/alertmanager", receiver.url),
            bearer_token: "chain-token".into(),
        },
    );
    let idle = runtime.block_on(async {
        let mut idle = Vec::new();
        for i in 0..4 {
            idle.push(pg::session(&db.url(), &format!("rbk-chain-{i}")).await);
        }
        idle
    });

    let firing = until(
        "Alertmanager to deliver the firing alert",
        Duration::from_secs(90),
        || {
            receiver
                .requests()
                .into_iter()
                .find(|r| r.contains(r#""status":"firing""#))
        },
        || stack.logs(),
    );
    assert!(firing.starts_with("POST /v1/alertmanager "), "{firing}");
    assert!(
        firing
            .to_ascii_lowercase()
            .contains("authorization: bearer chain-token"),
        "{firing}"
    );
    let body: serde_json::Value =
        serde_json::from_str(firing.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["version"], "4");
    assert_eq!(body["alerts"][0]["labels"]["alertname"], ALERT_NAME);
    assert_eq!(body["alerts"][0]["labels"]["db"], "orders");
    assert_eq!(stack.active_alerts(ALERT_NAME).len(), 1);

    drop(idle);
    until(
        "Alertmanager to deliver the resolved alert",
        Duration::from_secs(90),
        || {
            receiver
                .requests()
                .into_iter()
                .find(|r| r.contains(r#""status":"resolved""#))
        },
        || stack.logs(),
    );
    until(
        "Alertmanager's API to show the alert resolved",
        Duration::from_secs(30),
        || stack.active_alerts(ALERT_NAME).is_empty().then_some(()),
        || stack.logs(),
    );
    drop(stack);
    runtime.block_on(db.drop());
}

/// How long idle sessions must be idle before the test's copy of the seed runbook ends them:
/// the example's `idle_for: duration = 1h`, shortened so that the test takes seconds. The copy
/// is otherwise the example, byte for byte.
const IDLE_FOR: &str = "3s";
/// The alert rule's `for:`: the idle sessions are older than IDLE_FOR by the time it fires.
const FOR_SECONDS: u32 = 5;
const IDLE_SESSIONS: usize = 5;
const IDLE_ABOVE: u32 = 3;
const TOKEN: &str = "e2e-intake-token-5b1f";

/// A project with the seed runbook (idle_for shortened), Slack and PagerDuty pointed at `chat`,
/// and the intake token read from RBK_E2E_INTAKE_TOKEN.
fn incident_project(chat: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("serve-incident-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rbk.toml"),
        format!(
            "[approvers]\ndatabase-oncall = [\"alice\", \"bob\"]\n\n\
             [integrations.slack]\nwebhook_url = \"{chat}/slack\"\n\n\
             [integrations.pagerduty]\nurl = \"{chat}/pagerduty\"\nrouting_key_secret = \"RBK_E2E_PAGERDUTY_KEY\"\n\n\
             [serve]\ntoken_env = \"RBK_E2E_INTAKE_TOKEN\"\n"
        ),
    )
    .unwrap();
    let example =
        std::fs::read_to_string(repo_root().join("examples").join("db_pool_exhaustion.rbk"))
            .unwrap();
    let default = "idle_for: duration = 1h";
    assert!(example.contains(default), "the example changed: {example}");
    std::fs::write(
        dir.join("db_pool_exhaustion.rbk"),
        example.replace(default, &format!("idle_for: duration = {IDLE_FOR}")),
    )
    .unwrap();
    dir
}

/// `rbk runs --format json` in `dir` (its rbk.toml's store): every run, newest first.
fn runs(dir: &Path) -> Vec<serde_json::Value> {
    let out = rbk_in(dir, &["runs", "--format", "json", "--limit", "1000"]);
    assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
    serde_json::from_str::<serde_json::Value>(out.stdout.trim())
        .unwrap_or_else(|e| panic!("rbk runs --format json: {e}\n{}", out.stdout))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `rbk log RUN --format json`: the run, its events, and whether the journal is intact.
fn journal(dir: &Path, run: &str) -> serde_json::Value {
    let out = rbk_in(dir, &["log", run, "--format", "json"]);
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("rbk log --format json: {e}\n{}{}", out.stdout, out.stderr))
}

/// `rbk_alerts_received_total` from rbk serve's /metrics.
fn alerts_received(serve: &Serve) -> f64 {
    let metrics = support::http::get(&format!("{}/metrics", serve.url)).unwrap();
    metrics
        .body
        .lines()
        .filter(|l| l.starts_with("rbk_alerts_received_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn epoch_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// States a run stays in until something else happens (a human, another alert).
const SETTLED: [&str; 7] = [
    "succeeded",
    "failed",
    "cancelled",
    "suppressed",
    "coalesced",
    "in_doubt",
    "waiting",
];

/// The seed's promise, for real: idle sessions pile up on the orders database, Prometheus sees
/// it, Alertmanager calls `rbk serve`, and the runbook ends the aged idle sessions (never the
/// busy one), verifies, and tells Slack; then the alert resolves.
#[test]
fn an_exhausted_pool_is_recovered_by_the_alert_alone() {
    let runtime = runtime();
    let db = runtime.block_on(TestDatabase::create("orders"));
    let chat = EchoServer::start("ok");
    let dir = incident_project(&chat.url);
    let database_url = db.url();
    let serve = Serve::start(
        &dir,
        &["."],
        &[
            ("RBK_E2E_INTAKE_TOKEN", TOKEN),
            ("ORDERS_DATABASE_URL", &database_url),
            ("RBK_E2E_PAGERDUTY_KEY", "e2e-routing-key"),
        ],
    );
    let stack = AlertingStack::start(
        &pg::base_url(),
        &ConnectionsRule {
            database: db.name.clone(),
            idle_above: IDLE_ABOVE,
            for_seconds: FOR_SECONDS,
        },
        &Webhook {
            url: format!("{}/v1/alertmanager", serve.url),
            bearer_token: TOKEN.into(),
        },
    );
    let explain = || format!("{}\n--- rbk serve ---\n{}", stack.logs(), serve.log());

    // The incident: idle sessions pile up beside one that is busy.
    let tag = std::process::id();
    let (observer, idle, busy_pid, sleeping) = runtime.block_on(async {
        let observer = pg::connect(&pg::base_url()).await;
        let mut idle = Vec::new();
        for i in 0..IDLE_SESSIONS {
            idle.push(pg::session(&database_url, &format!("rbk-e2e-idle-{tag}-{i}")).await);
        }
        let (busy, busy_pid) = pg::session(&database_url, &format!("rbk-e2e-busy-{tag}")).await;
        let sleeping = tokio::spawn(async move {
            let result = busy.simple_query("SELECT pg_sleep(600)").await;
            (busy, result)
        });
        (observer, idle, busy_pid, sleeping)
    });
    let exhausted_at = SystemTime::now();
    let exhausted = Instant::now();

    let run = until(
        "the alert to start a run that ends",
        Duration::from_secs(180),
        || {
            runs(&dir)
                .into_iter()
                .find(|r| SETTLED.contains(&r["state"].as_str().unwrap_or_default()))
        },
        explain,
    );
    let run_ended = exhausted.elapsed();
    let run_id = run["id"].as_str().unwrap().to_string();
    let log = journal(&dir, &run_id);
    assert_eq!(run["state"], "succeeded", "{log:#}\n{}", explain());
    assert_eq!(run["runbook"], "db_pool_exhaustion", "{run:#}");

    until(
        "Alertmanager's API to show the alert resolved",
        Duration::from_secs(120),
        || stack.active_alerts(ALERT_NAME).is_empty().then_some(()),
        explain,
    );
    let resolved = exhausted.elapsed();

    // What the run did, from its journal.
    let events = log["events"].as_array().cloned().unwrap_or_default();
    let has = |event: &str, step: &str| {
        events
            .iter()
            .any(|e| e["event"] == event && e["step"] == step)
    };
    for step in ["count", "find_idle", "kill", "pool_ok"] {
        assert!(has("step_succeeded", step), "{step}: {log:#}");
    }
    assert!(has("step_skipped", "restart"), "{log:#}");
    let terminate: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "action_called")
        .filter_map(|e| e["call"].as_str())
        .filter(|call| call.starts_with("postgres.terminate("))
        .collect();
    assert_eq!(terminate.len(), 1, "{log:#}");
    for (_, pid) in &idle {
        assert!(
            terminate[0].contains(&format!("pid: {pid},")),
            "{}",
            terminate[0]
        );
    }
    assert!(
        !terminate[0].contains(&format!("pid: {busy_pid},")),
        "{}",
        terminate[0]
    );
    let first = &events[0];
    assert!(
        first.to_string().contains(ALERT_NAME),
        "the journal says which alert started the run: {first:#}"
    );

    // The journal verifies, and the alert started exactly one run.
    let verify = rbk_in(&dir, &["log", &run_id, "--verify"]);
    assert_eq!(verify.status, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(
        verify.stdout.contains("journal intact"),
        "{}",
        verify.stdout
    );
    assert_eq!(runs(&dir).len(), 1, "{:#?}", runs(&dir));

    // What PostgreSQL says afterwards: the aged idle sessions are gone, the busy one works on.
    runtime.block_on(async {
        for (client, pid) in &idle {
            assert_eq!(pg::state_of(&observer, *pid).await, None, "idle {pid}");
            assert!(client.simple_query("SELECT 1").await.is_err(), "pid {pid}");
        }
        assert_eq!(
            pg::state_of(&observer, busy_pid).await.as_deref(),
            Some("active"),
            "the busy session is still in its pg_sleep"
        );
    });

    // Slack heard about it; nobody was paged.
    let requests = chat.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("POST /slack") && r.contains("#incidents")),
        "{requests:#?}"
    );
    assert!(
        !requests.iter().any(|r| r.starts_with("POST /pagerduty")),
        "{requests:#?}"
    );
    // Alertmanager tells rbk serve about the resolution too (its API shows it resolved a
    // moment before the webhook goes out).
    until(
        "rbk serve to receive the resolved alert",
        Duration::from_secs(60),
        || (alerts_received(&serve) >= 2.0).then_some(()),
        explain,
    );

    let started_at = run["started_at"].as_i64().unwrap_or_default();
    println!(
        "exhaustion -> run queued {:.1} s (the rule's for: is {FOR_SECONDS} s), -> run succeeded {:.1} s, -> alert resolved in Alertmanager {:.1} s",
        (started_at - epoch_ms(exhausted_at)) as f64 / 1000.0,
        run_ended.as_secs_f64(),
        resolved.as_secs_f64()
    );

    runtime.block_on(async {
        observer
            .query_one("SELECT pg_cancel_backend($1)", &[&busy_pid])
            .await
            .unwrap();
        let _ = sleeping.await;
    });
    drop(stack);
    drop(serve);
    runtime.block_on(db.drop());
    let _ = std::fs::remove_dir_all(&dir);
}

//! `rbk runs`: the state, the runbook and the trigger of every run, as a table, as JSON, and
//! filtered by state or runbook, whatever started the runs (`rbk run`, an alert or a schedule
//! tick queued by `rbk serve`).

mod support;

use std::path::{Path, PathBuf};

use rbk_interpreter::store::{
    Intake, QueuedStart, RunLimits, RunRecord, RunState, RunTrigger, SqliteStore, Store,
    TriggerKind,
};
use support::{rbk_in, repo_root, spawn_rbk};

const RUNBOOKS: &str = r#"use std.shell

runbook hello {
  title "Say hello"
  step say {
    log "hello"
  }
}

runbook broken {
  title "Fail on purpose"
  step boom {
    approval none reason "it only runs false"
    shell.run(argv: ["false"])
  }
}
"#;

fn project(name: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rbk.toml"), "[approvers]\nsre = [\"alice\"]\n").unwrap();
    std::fs::write(dir.join("ops.rbk"), RUNBOOKS).unwrap();
    dir
}

/// What `rbk serve` would have queued: an alert's run and a schedule tick's.
fn seed_queue(dir: &Path) {
    let queued = |id: &str, runbook: &str, trigger: RunTrigger, at: i64| RunRecord {
        id: id.into(),
        file: dir.join("ops.rbk").display().to_string(),
        runbook: runbook.into(),
        started_by: trigger.kind.as_str().into(),
        started_at: at,
        state: RunState::Queued,
        summary: String::new(),
        digest: String::new(),
        inputs: serde_json::json!({}),
        limit_key: String::new(),
        head: None,
        owner: None,
        dry_run: false,
        trigger,
        alert: None,
        shadow: false,
        coalesce_key: None,
        held: false,
        ended_at: None,
    };
    let alert = RunTrigger {
        kind: TriggerKind::Alert,
        name: Some("PoolExhausted".into()),
        fingerprint: Some("3f2a9c1b77aa01".into()),
        key: "3f2a9c1b77aa01|2026-12-02T01:00:00Z".into(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&dir.join(".rbk").join("rbk.db")).unwrap();
        let start = |record| QueuedStart {
            record,
            limits: RunLimits::default(),
            rate_key: None,
            storm: None,
        };
        let intake = Intake {
            starts: vec![
                start(queued("r-from-an-alert", "hello", alert, 1_000_000)),
                start(queued(
                    "r-from-a-schedule",
                    "hello",
                    RunTrigger::schedule("*/5 * * * *", 900_000),
                    900_000,
                )),
            ],
            ..Intake::default()
        };
        store.ingest(&intake).await.unwrap();
    });
}

/// Run ids and times differ from run to run; everything else is the snapshot.
fn normalized(text: &str) -> String {
    let id = regex::Regex::new(r"r-\d{8}-\d{6}-[0-9a-f]{8}").unwrap();
    let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    let text = id.replace_all(text, "r-<id>");
    time.replace_all(&text, "<time>").into_owned()
}

#[test]
fn runs_shows_state_runbook_and_trigger_and_filters() {
    let dir = project("runs-table");
    assert_eq!(rbk_in(&dir, &["runs"]).stdout, "no runs yet\n");
    seed_queue(&dir);
    let ok = rbk_in(&dir, &["run", "ops.rbk::hello", "--as", "alice"]);
    assert_eq!(ok.status, 0, "{}{}", ok.stdout, ok.stderr);
    let failed = rbk_in(&dir, &["run", "ops.rbk::broken", "--as", "bob"]);
    assert_eq!(failed.status, 1, "{}{}", failed.stdout, failed.stderr);
    let dry = rbk_in(
        &dir,
        &["run", "ops.rbk::broken", "--dry-run", "--as", "alice"],
    );
    assert_eq!(dry.status, 0, "{}{}", dry.stdout, dry.stderr);

    let table = rbk_in(&dir, &["runs"]);
    assert_eq!(table.status, 0, "{}", table.stderr);
    insta::assert_snapshot!(normalized(&table.stdout));

    let failed_only = rbk_in(&dir, &["runs", "--state", "failed"]);
    assert_eq!(failed_only.status, 0);
    let lines: Vec<&str> = failed_only.stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), 1, "{}", failed_only.stdout);
    assert!(
        lines[0].contains("broken") && lines[0].contains("bob"),
        "{}",
        lines[0]
    );

    let queued = rbk_in(&dir, &["runs", "--state", "queued", "--runbook", "hello"]);
    let ids: Vec<&str> = queued
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ids, ["r-from-an-alert", "r-from-a-schedule"]);

    let none = rbk_in(&dir, &["runs", "--runbook", "nothing-like-it"]);
    assert_eq!(none.stdout, "no runs match\n");

    let json = rbk_in(&dir, &["runs", "--format", "json", "--runbook", "hello"]);
    assert_eq!(json.status, 0, "{}", json.stderr);
    let runs: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let alert = runs.iter().find(|r| r["id"] == "r-from-an-alert").unwrap();
    assert_eq!(alert["state"], "queued");
    assert_eq!(alert["trigger"]["kind"], "alert");
    assert_eq!(alert["trigger"]["name"], "PoolExhausted");
    assert_eq!(alert["trigger_text"], "alert PoolExhausted 3f2a9c1b");
    let manual = runs.iter().find(|r| r["started_by"] == "alice").unwrap();
    assert_eq!(manual["state"], "succeeded");
    assert_eq!(manual["trigger"]["kind"], "manual");
    assert!(manual["ended_at"].as_i64().unwrap() >= manual["started_at"].as_i64().unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_state_is_a_usage_error_that_lists_the_states() {
    let dir = project("runs-bad-state");
    let run = rbk_in(&dir, &["runs", "--state", "finished"]);
    assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("`finished` is not a run state")
            && run.stderr.contains("queued, running, waiting, succeeded, failed, cancelled, suppressed, coalesced, in_doubt"),
        "{}",
        run.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run that waits for an approval shows `waiting` while it waits, and its final state after.
#[test]
fn a_run_waiting_for_an_approval_shows_waiting() {
    let dir = project("runs-waiting");
    std::fs::write(
        dir.join("gate.rbk"),
        r#"runbook gated {
  title "Waits for a human"
  step ask {
    approval required from "sre" timeout 10m on timeout deny
    log "approved"
  }
}
"#,
    )
    .unwrap();
    let run = spawn_rbk(&dir, &["run", "gate.rbk", "--as", "carol"]);
    let seen = run.read_until(|line| line.contains("answer with: rbk approve"));
    let run_id = seen
        .iter()
        .find_map(|line| line.strip_prefix("run "))
        .and_then(|rest| rest.split(':').next())
        .expect("a run id")
        .to_string();
    let waiting = rbk_in(&dir, &["runs", "--state", "waiting"]);
    assert!(waiting.stdout.contains(&run_id), "{}", waiting.stdout);
    let approve = rbk_in(&dir, &["approve", &run_id, "ask", "--as", "alice"]);
    assert_eq!(approve.status, 0, "{}{}", approve.stdout, approve.stderr);
    let (status, output) = run.finish();
    assert_eq!(status, 0, "{output}");
    let done = rbk_in(&dir, &["runs", "--state", "succeeded"]);
    assert!(done.stdout.contains(&run_id), "{}", done.stdout);
    assert_eq!(
        rbk_in(&dir, &["runs", "--state", "waiting"]).stdout,
        "no runs match\n"
    );
    let log = rbk_in(&dir, &["log", &run_id, "--verify"]);
    assert_eq!(log.status, 0, "{}", log.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

//! End-to-end tests of starting a run from an alert by hand (`rbk run FILE --alert
//! PAYLOAD.json`) with the built binary: the alert goes through the runbook's trigger as it
//! would in `rbk serve`; a payload no trigger takes starts nothing (exit 1); a body that is not
//! a payload is a usage error (exit 2) that says why; an alert runbook that needs its alert
//! and has none fails before any step and still pages.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use support::{rbk_in, repo_root};

const POOL: &str = r#"/// Reads everything an alert carries.
runbook pool {
  title "Pool alert"
  trigger alert "PostgresConnectionsHigh" where alert.labels["db"] == "orders"
  concurrency 1 per alert.labels["db"]
  input {
    db: string = alert.labels["db"] ?? "?"
  }

  step look "Read the alert" {
    log "db={db} status={alert.status} fp={alert.fingerprint} summary={alert.annotations["summary"] ?? ""} ends={alert.ends_at ?? alert.starts_at}"
  }
}
"#;

/// What Alertmanager 0.25 posts: the billing alert first (the trigger rejects it), then two
/// for orders.
const PAYLOAD: &str = r#"{"receiver":"rbk","status":"firing","alerts":[
 {"status":"firing","labels":{"alertname":"PostgresConnectionsHigh","db":"billing"},"annotations":{},"startsAt":"2026-12-01T10:00:01.5Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"1111111111111111"},
 {"status":"firing","labels":{"alertname":"PostgresConnectionsHigh","db":"orders"},"annotations":{"summary":"orders at 95%"},"startsAt":"2026-12-01T10:00:03.127659211Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom:9090/graph","fingerprint":"4f2a1cbb9a1e2c07"},
 {"status":"firing","labels":{"alertname":"PostgresConnectionsHigh","db":"orders","instance":"b"},"annotations":{},"startsAt":"2026-12-01T10:00:04Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"2222222222222222"}],
 "groupLabels":{"alertname":"PostgresConnectionsHigh"},"commonLabels":{"alertname":"PostgresConnectionsHigh"},"commonAnnotations":{},"externalURL":"http://am:9093","version":"4","groupKey":"{}:{alertname=\"PostgresConnectionsHigh\"}","truncatedAlerts":0}"#;

struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(name: &str) -> Project {
        let dir = repo_root()
            .join("target")
            .join("test-tmp")
            .join(format!("alerts-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rbk.toml"), "[approvers]\nsre = [\"alice\"]\n").unwrap();
        std::fs::write(dir.join("pool.rbk"), POOL).unwrap();
        Project { dir }
    }

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.dir.join(name), text).unwrap();
        name.to_string()
    }

    fn rbk(&self, args: &[&str]) -> support::Run {
        rbk_in(&self.dir, args)
    }
}

#[test]
fn the_first_alert_the_trigger_takes_starts_the_run() {
    let project = Project::new("match");
    let payload = project.write("payload.json", PAYLOAD);
    let run = project.rbk(&["run", "pool.rbk", "--alert", &payload, "--as", "carol"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "log: db=orders status=firing fp=4f2a1cbb9a1e2c07 summary=orders at 95% ends=2026-12-01T10:00:03Z"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr
            .contains("note: 1 more alert of the payload matches this runbook"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("run succeeded"), "{}", run.stdout);
}

#[test]
fn a_run_by_hand_from_an_alert_is_recorded_as_the_alerts_and_can_be_repeated() {
    let project = Project::new("recorded");
    let payload = project.write("payload.json", PAYLOAD);
    for _ in 0..2 {
        let run = project.rbk(&["run", "pool.rbk", "--alert", &payload, "--as", "carol"]);
        assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    }
    let runs = project.rbk(&["runs", "--format", "json"]);
    assert_eq!(runs.status, 0, "{}{}", runs.stdout, runs.stderr);
    let listed: serde_json::Value = serde_json::from_str(&runs.stdout).unwrap();
    let listed = listed.as_array().expect("a list of runs");
    assert_eq!(listed.len(), 2, "{listed:?}");
    for run in listed {
        assert_eq!(run["trigger"]["kind"], "alert", "{run}");
        assert_eq!(run["trigger"]["name"], "PostgresConnectionsHigh", "{run}");
        assert_eq!(run["trigger"]["fingerprint"], "4f2a1cbb9a1e2c07", "{run}");
        assert_eq!(run["trigger"]["key"], run["id"], "{run}");
        assert_eq!(run["started_by"], "carol", "{run}");
    }
}

#[test]
fn one_alert_object_from_standard_input_starts_the_run() {
    let project = Project::new("stdin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(["run", "pool.rbk", "--alert", "-", "--as", "carol"])
        .current_dir(&project.dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"labels": {"alertname": "PostgresConnectionsHigh", "db": "orders"}, "startsAt": "2026-12-01T10:00:00Z"}"#)
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // No fingerprint given: Alertmanager's, computed from the labels.
    assert!(
        stdout.contains("log: db=orders status=firing fp=") && !stdout.contains("fp= "),
        "{stdout}"
    );
}

#[test]
fn a_payload_the_trigger_rejects_starts_nothing_and_says_why() {
    let project = Project::new("reject");
    let payload = project.write(
        "billing.json",
        &PAYLOAD.replace("\"db\":\"orders\"", "\"db\":\"payroll\""),
    );
    let run = project.rbk(&["run", "pool.rbk", "--alert", &payload]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("not started: no alert of the payload starts this runbook"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("alert 1 (PostgresConnectionsHigh): the trigger's `where alert.labels[\"db\"] == \"orders\"` is false for this alert"),
        "{}",
        run.stdout
    );
    let other = project.write(
        "disk.json",
        r#"{"labels": {"alertname": "DiskFull"}, "startsAt": "2026-12-01T10:00:00Z"}"#,
    );
    let run = project.rbk(&["run", "pool.rbk", "--alert", &other]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            "runbook `pool` is triggered by alert \"PostgresConnectionsHigh\", not \"DiskFull\""
        ),
        "{}",
        run.stdout
    );
    let resolved = project.write(
        "resolved.json",
        r#"{"status": "resolved", "labels": {"alertname": "PostgresConnectionsHigh", "db": "orders"}, "startsAt": "2026-12-01T10:00:00Z", "endsAt": "2026-12-01T10:05:00Z"}"#,
    );
    let run = project.rbk(&["run", "pool.rbk", "--alert", &resolved]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("a resolved alert starts no run"),
        "{}",
        run.stdout
    );
    // Nothing reached the store.
    let runs = project.rbk(&["runs"]);
    assert!(!runs.stdout.contains("pool"), "{}", runs.stdout);
}

#[test]
fn a_body_that_is_not_a_payload_is_a_usage_error_with_the_reason() {
    let project = Project::new("bad");
    let cases = [
        ("not json {", "the body is not JSON"),
        (r#"{"version": "4"}"#, "no `alerts` array"),
        (
            r#"{"alerts": [{"labels": {"db": "orders"}, "startsAt": "2026-12-01T10:00:00Z"}]}"#,
            "alerts[0]: the alert has no `alertname` label",
        ),
        (
            r#"{"alerts": [{"labels": {"alertname": "PostgresConnectionsHigh"}}]}"#,
            "alerts[0]: the alert has no `startsAt`",
        ),
    ];
    for (body, reason) in cases {
        let payload = project.write("bad.json", body);
        let run = project.rbk(&["run", "pool.rbk", "--alert", &payload]);
        assert_eq!(run.status, 2, "{body}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("--alert bad.json: ") && run.stderr.contains(reason),
            "{body}: {}",
            run.stderr
        );
    }
    let run = project.rbk(&["run", "pool.rbk", "--alert", "missing.json"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--alert missing.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn alert_for_a_runbook_no_alert_triggers_is_a_usage_error() {
    let project = Project::new("manual");
    project.write(
        "manual.rbk",
        "runbook by_hand {\n  title \"t\"\n  trigger manual\n  step s { log \"x\" }\n}\n",
    );
    let payload = project.write("payload.json", PAYLOAD);
    let run = project.rbk(&["run", "manual.rbk", "--alert", &payload]);
    assert_eq!(run.status, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("runbook `by_hand` has no `trigger alert \"...\"`, so no alert starts it"),
        "{}",
        run.stderr
    );
}

/// Reads the alert in an input default, a step and its escalation.
const NEEDS_ITS_ALERT: &str = r#"use std.pagerduty

runbook disk {
  title "Disk almost full"
  trigger alert "DiskAlmostFull"
  concurrency 1
  input {
    mount: string = alert.labels["mount"] ?? "/"
  }
  escalate pagerduty.page(service: "sre", summary: "disk on {alert.labels["instance"] ?? "an unknown host"} ({mount}) needs a human: {run.summary}")

  step look "Look at the disk" {
    log "{alert.labels["mount"]}"
  }
}
"#;

#[test]
fn an_alert_runbook_run_without_its_alert_fails_before_any_step_and_still_pages() {
    let pagerduty = support::echo_server::EchoServer::start("");
    let project = Project::new("no-alert");
    project.write("disk.rbk", NEEDS_ITS_ALERT);
    project.write(
        "rbk.toml",
        &format!(
            "[approvers]\nsre = [\"alice\"]\n\n[integrations.pagerduty]\nurl = \"{}/v2/enqueue\"\nrouting_key_secret = \"RBK_TEST_PD_KEY\"\n",
            pagerduty.url
        ),
    );
    let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(["run", "disk.rbk", "--as", "carol"])
        .current_dir(&project.dir)
        .env("NO_COLOR", "1")
        .env("RBK_TEST_PD_KEY", "pd-routing-key")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(
            "runbook `disk` is started by alert \"DiskAlmostFull\" and reads `alert.labels` (line 8), \
             but this run has no alert: give it one with `rbk run FILE --alert PAYLOAD.json`"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("▸"), "a step started: {stdout}");
    assert!(stdout.contains("↑ escalated"), "{stdout}");
    let pages: Vec<String> = pagerduty
        .requests()
        .into_iter()
        .filter(|r| r.contains("/v2/enqueue"))
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(
        pages[0].contains(
            "disk on an unknown host (none) needs a human: runbook `disk` is started by alert"
        ),
        "{}",
        pages[0]
    );
    // The journal says the same, and verifies.
    let run_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .and_then(|rest| rest.split(':').next())
        .unwrap()
        .to_string();
    let log = project.rbk(&["log", &run_id, "--verify"]);
    assert_eq!(log.status, 0, "{}{}", log.stdout, log.stderr);
    let json = project.rbk(&["log", &run_id, "--format", "json"]);
    assert!(json.stdout.contains("escalation_sent"), "{}", json.stdout);
    assert!(!json.stdout.contains("step_started"), "{}", json.stdout);
}

#[test]
fn an_alert_runbook_that_does_not_read_its_alert_runs_by_hand() {
    let project = Project::new("by-hand");
    project.write(
        "quiet.rbk",
        "runbook quiet {\n  title \"t\"\n  trigger alert \"A\" where alert.labels[\"x\"] == \"y\"\n  concurrency 1 per alert.labels[\"x\"]\n  step s { log \"ran by hand\" }\n}\n",
    );
    let run = project.rbk(&["run", "quiet.rbk", "--as", "carol"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("log: ran by hand"), "{}", run.stdout);
}

#[test]
fn plan_shows_the_mode_and_a_second_mode_does_not_check() {
    let project = Project::new("mode");
    project.write(
        "shadow.rbk",
        "runbook canary {\n  title \"t\"\n  trigger alert \"A\"\n  concurrency 1\n  mode shadow\n  step s { log \"x\" }\n}\n",
    );
    let human = project.rbk(&["plan", "shadow.rbk"]);
    assert_eq!(human.status, 0, "{}{}", human.stdout, human.stderr);
    assert!(
        human.stdout.contains("  mode:     shadow (runs started by an alert or a schedule only report their write and destructive actions)"),
        "{}",
        human.stdout
    );
    let json = project.rbk(&["plan", "shadow.rbk", "--format", "json"]);
    assert_eq!(json.status, 0, "{}{}", json.stdout, json.stderr);
    let plans: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(plans[0]["mode"], "shadow");
    project.write(
        "twice.rbk",
        "runbook canary {\n  title \"t\"\n  mode shadow\n  mode live\n  step s { log \"x\" }\n}\n",
    );
    let check = project.rbk(&["check", "twice.rbk"]);
    assert_eq!(check.status, 1, "{}{}", check.stdout, check.stderr);
    assert!(
        check.stdout.contains("E0104") && check.stdout.contains("`mode` is given twice"),
        "{}",
        check.stdout
    );
}

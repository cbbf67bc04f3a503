//! End-to-end tests of `rbk run`, `rbk approve`/`deny`, `rbk runs`, `rbk log` and `rbk test`,
//! each through the built binary as an operator would use it: approvals come from a second
//! process through the store.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::{rbk, rbk_in, repo_root, spawn_rbk, Spawned};

const GATED: &str = r#"use std.pagerduty
use std.shell

/// Cleans a scratch directory after a human says yes.
runbook clean_scratch {
  title "Clean the scratch directory"
  concurrency 1
  input {
    dir: string
  }
  escalate pagerduty.page(service: "sre", summary: "clean_scratch needs a human: {run.summary}")

  step look "List what is there" {
    approval none reason "ls only lists the directory"
    let listing = shell.run(argv: ["ls", "-1", dir])
    log "found: {listing}"
  }

  step clean "Remove the files" {
    approval required from "sre" timeout 10m on timeout deny
    shell.run(argv: ["find", dir, "-type", "f", "-delete"])
  }
}
"#;

struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(name: &str) -> Project {
        let dir = repo_root()
            .join("target")
            .join("test-tmp")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("scratch")).unwrap();
        std::fs::write(
            dir.join("rbk.toml"),
            "[approvers]\nsre = [\"alice\", \"bob\"]\n",
        )
        .unwrap();
        std::fs::write(dir.join("clean.rbk"), GATED).unwrap();
        for file in ["a.log", "b.log"] {
            std::fs::write(dir.join("scratch").join(file), "x").unwrap();
        }
        Project { dir }
    }

    fn scratch(&self) -> String {
        self.dir.join("scratch").display().to_string()
    }

    fn files_left(&self) -> usize {
        std::fs::read_dir(self.dir.join("scratch")).unwrap().count()
    }

    /// Starts `rbk run` in the background; returns it and its run id once it waits.
    fn start_run(&self, user: &str) -> (Spawned, String) {
        let input = format!("dir={}", self.scratch());
        let run = spawn_rbk(
            &self.dir,
            &["run", "clean.rbk", "--input", &input, "--as", user],
        );
        let seen = run.read_until(|line| line.contains("answer with: rbk approve"));
        // The prompt shows what the step will do with the values it will act on.
        let resolved = format!(
            "shell.run(argv: [find, {}, -type, f, -delete], timeout: 1m)",
            self.scratch()
        );
        assert!(
            seen.iter().any(|l| l.contains(&resolved)),
            "no resolved call in {seen:?}"
        );
        let run_id = seen
            .iter()
            .find_map(|line| line.strip_prefix("run "))
            .and_then(|rest| rest.split(':').next())
            .unwrap_or_default()
            .to_string();
        assert!(run_id.starts_with("r-"), "no run id in {seen:?}");
        (run, run_id)
    }

    fn rbk(&self, args: &[&str]) -> support::Run {
        rbk_in(&self.dir, args)
    }
}

#[test]
fn a_gated_step_waits_for_an_approver_from_another_process() {
    let project = Project::new("approve");
    let (child, run_id) = project.start_run("carol");
    assert_eq!(
        project.files_left(),
        2,
        "nothing is deleted before approval"
    );

    let own = project.rbk(&["approve", &run_id, "clean", "--as", "carol"]);
    assert_eq!(own.status, 1);
    assert!(own.stdout.contains("two-person rule"), "{}", own.stdout);
    let outsider = project.rbk(&["approve", &run_id, "clean", "--as", "mallory"]);
    assert_eq!(outsider.status, 1);
    assert!(
        outsider.stdout.contains("not in approver group \"sre\""),
        "{}",
        outsider.stdout
    );

    let alice = project.rbk(&[
        "approve",
        &run_id,
        "clean",
        "--as",
        "alice",
        "--comment",
        "disk at 97%",
    ]);
    assert_eq!(alice.status, 0, "{}{}", alice.stdout, alice.stderr);
    let (status, output) = child.finish();
    assert_eq!(status, 0, "{output}");
    assert!(output.contains("clean approved by alice (cli)"), "{output}");
    assert_eq!(project.files_left(), 0);

    let runs = project.rbk(&["runs"]);
    assert!(
        runs.stdout.contains(&run_id) && runs.stdout.contains("succeeded"),
        "{}",
        runs.stdout
    );
    let log = project.rbk(&["log", &run_id, "--verify"]);
    assert_eq!(log.status, 0, "{}", log.stdout);
    for event in [
        "run started",
        "approval waived",
        "approval requested",
        "approval granted",
        "action called",
        "run finished",
    ] {
        assert!(
            log.stdout.contains(event),
            "missing {event} in\n{}",
            log.stdout
        );
    }
    assert!(log.stdout.contains("hash chain verified"));

    let json = project.rbk(&["log", &run_id, "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(document["chain_intact"], true);
    assert_eq!(document["run"]["started_by"], "carol");
}

#[test]
fn a_denied_step_stops_the_run_and_escalates() {
    let project = Project::new("deny");
    let (child, run_id) = project.start_run("carol");
    let bob = project.rbk(&["deny", &run_id, "clean", "--as", "bob"]);
    assert_eq!(bob.status, 0, "{}", bob.stdout);
    let (status, output) = child.finish();
    assert_eq!(status, 1);
    assert!(output.contains("clean denied by bob"), "{output}");
    assert_eq!(project.files_left(), 2, "a denied step deletes nothing");
    // The escalation ran; with no PagerDuty routing key here, the page itself fails (and is
    // journaled). A destructive escalation is refused by the checker (E0306).
    assert!(
        output.contains("↑ escalated") || output.contains("! escalation failed"),
        "{output}"
    );
}

#[test]
fn concurrency_is_enforced_across_processes() {
    let project = Project::new("concurrency");
    let (child, run_id) = project.start_run("carol");
    let input = format!("dir={}", project.scratch());
    let second = project.rbk(&["run", "clean.rbk", "--input", &input, "--as", "dave"]);
    assert_eq!(second.status, 1, "{}", second.stdout);
    assert!(second.stdout.contains("not started"), "{}", second.stdout);
    project.rbk(&["deny", &run_id, "clean", "--as", "alice"]);
    child.finish();
}

#[test]
fn tampering_with_the_journal_is_detected() {
    let project = Project::new("tamper");
    let (child, run_id) = project.start_run("carol");
    project.rbk(&["approve", &run_id, "clean", "--as", "bob"]);
    child.finish();
    let db = project.dir.join(".rbk").join("rbk.db");
    let edit = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"update rbk_events set kind=replace(kind,'bob','alice') where run_id=? and kind like '%approval_granted%'\", (sys.argv[2],)); c.commit()",
            &db.display().to_string(),
            &run_id,
        ])
        .status()
        .unwrap();
    assert!(edit.success());
    let log = project.rbk(&["log", &run_id, "--verify"]);
    assert_eq!(log.status, 1, "{}", log.stdout);
    assert!(log.stdout.contains("TAMPERED"), "{}", log.stdout);
}

#[test]
fn dry_run_reports_destructive_actions_without_running_them() {
    let project = Project::new("dry-run");
    std::fs::write(
        project.dir.join("dry.rbk"),
        GATED.replace(
            "approval required from \"sre\" timeout 10m on timeout deny",
            "approval none reason \"test\"",
        ),
    )
    .unwrap();
    let input = format!("dir={}", project.scratch());
    let run = project.rbk(&["run", "dry.rbk", "--dry-run", "--input", &input]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(project.files_left(), 2, "nothing was deleted");
    assert!(run.stdout.contains("not executed"), "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "[destructive] shell.run(argv: [find, {}, -type, f, -delete]",
            project.scratch()
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_inputs_are_usage_errors() {
    let project = Project::new("inputs");
    let missing = project.rbk(&["run", "clean.rbk"]);
    assert_eq!(missing.status, 2);
    assert!(
        missing.stderr.contains("input `dir` (string) is required"),
        "{}",
        missing.stderr
    );
    let unknown = project.rbk(&["run", "clean.rbk", "--input", "directory=/tmp"]);
    assert_eq!(unknown.status, 2);
    assert!(
        unknown.stderr.contains("has no input `directory`"),
        "{}",
        unknown.stderr
    );
    std::fs::write(project.dir.join("typed.rbk"), "runbook typed {\n  title \"T\"\n  input {\n    limit: percent\n  }\n  step show {\n    log \"{limit}\"\n  }\n}\n").unwrap();
    let wrong = project.rbk(&["run", "typed.rbk", "--input", "limit=70"]);
    assert_eq!(wrong.status, 2);
    assert!(wrong.stderr.contains("not a percent"), "{}", wrong.stderr);
    let ok = project.rbk(&["run", "typed.rbk", "--input", "limit=70%"]);
    assert_eq!(ok.status, 0, "{}", ok.stdout);
    assert!(ok.stdout.contains("log: 70%"), "{}", ok.stdout);
}

#[test]
fn a_secret_never_reaches_the_output_or_the_store() {
    let project = Project::new("secret");
    std::fs::write(
        project.dir.join("secret.rbk"),
        r#"use std.shell

runbook uses_token {
  title "Uses a token"
  input {
    token: secret = secret("RBK_TEST_TOKEN")
  }
  step call "Call with the token" {
    approval none reason "the test program only checks its argument"
    shell.run(argv: ["test", "-n", token])
    log "called with the token"
  }
}
"#,
    )
    .unwrap();
    let secret_value = "s3cr3t-value-that-must-not-leak";
    let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(["run", "secret.rbk", "--format", "json"])
        .current_dir(&project.dir)
        .env("RBK_TEST_TOKEN", secret_value)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("<secret RBK_TEST_TOKEN>"), "{stdout}");
    assert!(
        !stdout.contains(secret_value)
            && !String::from_utf8_lossy(&output.stderr).contains(secret_value)
    );
    for entry in std::fs::read_dir(project.dir.join(".rbk")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(secret_value.len())
                .any(|w| w == secret_value.as_bytes()),
            "the secret is in the store"
        );
    }
    let run_id = stdout
        .lines()
        .find_map(|l| l.split("\"run\":\"").nth(1))
        .map(|r| r.split('"').next().unwrap().to_string())
        .unwrap();
    let log = project.rbk(&["log", &run_id, "--format", "json"]);
    assert!(!log.stdout.contains(secret_value));
}

#[test]
fn rbk_test_runs_every_example() {
    let run = rbk(&["test", "examples"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    assert!(
        run.stdout.lines().any(|l| l.ends_with(" passed, 0 failed")),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn rbk_test_reports_failures_and_exits_1() {
    let dir = Project::new("failing-test").dir;
    std::fs::write(
        dir.join("failing.rbk"),
        r##"use std.slack

runbook announce {
  title "Announce"
  concurrency 1
  step post {
    slack.post(channel: "#ops", text: "hello")
  }
}

test "passes" {
  mock slack.post returns none
  run announce
  expect step post succeeded
}

test "expects the wrong outcome" {
  mock slack.post fails "slack is down"
  run announce
  expect step post succeeded
}

test "forgets a mock" {
  run announce
}
"##,
    )
    .unwrap();
    let run = rbk_in(&dir, &["test", "failing.rbk"]);
    assert_eq!(run.status, 1);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn coverage_lists_what_no_test_reaches() {
    let dir = Project::new("coverage").dir;
    std::fs::write(
        dir.join("covered.rbk"),
        r##"use std.slack

runbook announce {
  title "Announce"
  input {
    loud: bool = true
  }

  step post {
    if loud {
      slack.post(channel: "#ops", text: "HELLO")
    } else {
      slack.post(channel: "#ops", text: "hello")
    }
  }

  step confirm when loud {
    slack.post(channel: "#ops", text: "done")
  }
}

test "loud" {
  mock slack.post returns none
  run announce
  expect called slack.post times 2
}
"##,
    )
    .unwrap();
    let run = rbk_in(&dir, &["test", "--coverage", "covered.rbk"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn the_store_named_in_rbk_toml_is_used() {
    let dir = Project::new("store-config").dir;
    std::fs::write(
        dir.join("rbk.toml"),
        "[approvers]\nsre = [\"alice\", \"bob\"]\n\n[store]\nurl = \"state/runs.db\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("hello.rbk"),
        "runbook hello {\n  title \"Hello\"\n  step say {\n    log \"hello\"\n  }\n}\n",
    )
    .unwrap();
    let run = rbk_in(&dir, &["run", "hello.rbk"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        dir.join("state").join("runs.db").is_file(),
        "the configured SQLite file holds the run"
    );
    assert!(
        !dir.join(".rbk").exists(),
        "the default location is not used"
    );
    let runs = rbk_in(&dir, &["runs"]);
    assert!(
        runs.stdout.contains("hello") && runs.stdout.contains("succeeded"),
        "{}",
        runs.stdout
    );
}

//! Identity on the command line: names are compared in normal form, so one person cannot
//! approve twice, or approve their own run, by spelling their name another way; and an answer
//! with no rbk.toml to say who may approve is an error, never a silent "approved". The CLI
//! trusts the local user's word for who they are (docs/trust.md): these tests attack what it
//! does with that word.

mod support;

use std::path::PathBuf;

use support::{rbk_in, repo_root, spawn_rbk, Spawned};

const TWO_PERSON: &str = r#"use std.shell
use std.pagerduty

/// Writes a note once two people agree.
runbook note {
  title "Write a note"
  input {
    dir: string
  }
  escalate pagerduty.page(service: "sre", summary: "the note needs a human: {run.summary}")

  step write "Write the note" {
    approval required 2 from "sre" timeout 10m on timeout deny
    shell.run(argv: ["touch", "{dir}/note"])
  }
}
"#;

fn project(name: &str, rbk_toml: Option<&str>) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("identity-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(text) = rbk_toml {
        std::fs::write(dir.join("rbk.toml"), text).unwrap();
    }
    std::fs::write(dir.join("note.rbk"), TWO_PERSON).unwrap();
    dir
}

/// `rbk run note.rbk` started by `user`, once it waits for approval; and its run id.
fn start(dir: &std::path::Path, user: &str) -> (Spawned, String) {
    let input = format!("dir={}", dir.display());
    let run = spawn_rbk(dir, &["run", "note.rbk", "--input", &input, "--as", user]);
    let seen = run.read_until(|line| line.contains("answer with: rbk approve"));
    let run_id = seen
        .iter()
        .find_map(|line| line.strip_prefix("run "))
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_default()
        .to_string();
    assert!(run_id.starts_with("r-"), "no run id in {seen:?}");
    (run, run_id)
}

const SRE: &str = "[approvers]\nsre = [\"alice\", \"bob\", \"carol\"]\n";

#[test]
fn a_padded_or_recased_name_is_not_a_second_approver() {
    let dir = project("second-spelling", Some(SRE));
    let (run, run_id) = start(&dir, "dave");
    let alice = rbk_in(&dir, &["approve", &run_id, "write", "--as", "alice"]);
    assert_eq!(alice.status, 0, "{}{}", alice.stdout, alice.stderr);
    // The same person again, however spelled: refused, her first vote stands.
    let again = rbk_in(&dir, &["approve", &run_id, "write", "--as", " Alice "]);
    assert_eq!(again.status, 1, "{}{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains("alice already voted"),
        "{}",
        again.stdout
    );
    assert!(
        !dir.join("note").exists(),
        "one person is not a quorum of two"
    );
    let bob = rbk_in(&dir, &["approve", &run_id, "write", "--as", "bob"]);
    assert_eq!(bob.status, 0, "{}{}", bob.stdout, bob.stderr);
    let (status, output) = run.finish();
    assert_eq!(status, 0, "{output}");
    assert!(
        output.contains("write approved by alice, bob (cli)"),
        "{output}"
    );
}

#[test]
fn the_starter_cannot_approve_under_a_padded_name() {
    let dir = project("padded-starter", Some(SRE));
    let (run, run_id) = start(&dir, "alice");
    for spelling in ["alice ", "ALICE", "\u{200b}alice"] {
        let own = rbk_in(&dir, &["approve", &run_id, "write", "--as", spelling]);
        assert_eq!(own.status, 1, "{spelling:?}: {}{}", own.stdout, own.stderr);
        assert!(own.stdout.contains("two-person rule"), "{}", own.stdout);
    }
    let runs = rbk_in(&dir, &["runs"]);
    assert!(
        runs.stdout.contains(" alice "),
        "recorded in normal form: {}",
        runs.stdout
    );
    let deny = rbk_in(&dir, &["deny", &run_id, "write", "--as", "bob"]);
    assert_eq!(deny.status, 0, "{}{}", deny.stdout, deny.stderr);
    let (status, _) = run.finish();
    assert_eq!(status, 1);
}

#[test]
fn approving_with_no_rbk_toml_is_an_error_not_an_approval() {
    let dir = project("no-rbk-toml", None);
    let (mut run, run_id) = start(&dir, "dave");
    for verb in ["approve", "deny"] {
        let answer = rbk_in(&dir, &[verb, &run_id, "write", "--as", "bob"]);
        assert_eq!(answer.status, 2, "{}{}", answer.stdout, answer.stderr);
        assert!(
            answer.stderr.contains("no rbk.toml governs run") && answer.stderr.contains("help:"),
            "{}",
            answer.stderr
        );
        assert!(!answer.stdout.contains("approved"), "{}", answer.stdout);
    }
    let log = rbk_in(&dir, &["log", &run_id, "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&log.stdout).unwrap();
    let answered = document["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "approval_answered")
        .count();
    assert_eq!(answered, 0, "nothing was recorded");
    run.child.kill().unwrap();
    let _ = run.child.wait();
}

#[test]
fn approving_for_a_group_rbk_toml_does_not_define_is_refused() {
    let dir = project("no-such-group", Some("[approvers]\ndba = [\"bob\"]\n"));
    let (mut run, run_id) = start(&dir, "dave");
    let answer = rbk_in(&dir, &["approve", &run_id, "write", "--as", "bob"]);
    assert_eq!(answer.status, 1, "{}{}", answer.stdout, answer.stderr);
    assert!(
        answer
            .stdout
            .contains("approver group \"sre\" is not defined in rbk.toml"),
        "{}",
        answer.stdout
    );
    run.child.kill().unwrap();
    let _ = run.child.wait();
}

#[test]
fn a_blank_name_is_a_usage_error() {
    let dir = project("blank", Some(SRE));
    let answer = rbk_in(&dir, &["approve", "r-none", "write", "--as", " \u{200b} "]);
    assert_eq!(answer.status, 2, "{}{}", answer.stdout, answer.stderr);
    assert!(
        answer.stderr.contains("--as needs a name"),
        "{}",
        answer.stderr
    );
}

#[test]
fn a_row_written_into_the_store_by_hand_approves_nothing() {
    let dir = project("forged-row", Some(SRE));
    // One approver, and a gate that gives up quickly: a forged row that counted would let
    // the step run long before the timeout.
    std::fs::write(
        dir.join("note.rbk"),
        TWO_PERSON.replace(
            "approval required 2 from \"sre\" timeout 10m",
            "approval required from \"sre\" timeout 3s",
        ),
    )
    .unwrap();
    let (run, run_id) = start(&dir, "dave");
    let log = rbk_in(&dir, &["log", &run_id, "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&log.stdout).unwrap();
    let digest = document["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "approval_requested")
        .and_then(|e| e["digest"].as_str())
        .expect("the run asked for approval")
        .to_string();
    let forged = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('INSERT INTO rbk_answers (run_id, step, \"user\", approve, comment, channel, at, digest) VALUES (?, \\'write\\', \\'bob\\', 1, NULL, \\'cli\\', 0, ?)', (sys.argv[2], sys.argv[3])); c.commit()",
            &dir.join(".rbk").join("rbk.db").display().to_string(),
            &run_id,
            &digest,
        ])
        .status()
        .unwrap();
    assert!(forged.success());
    let (status, output) = run.finish();
    assert_eq!(status, 1, "{output}");
    assert!(output.contains("approval of write timed out"), "{output}");
    assert!(
        !dir.join("note").exists(),
        "the step ran on a forged answer"
    );
    let verify = rbk_in(&dir, &["log", &run_id, "--verify"]);
    assert_eq!(verify.status, 1, "{}", verify.stdout);
    assert!(
        verify
            .stdout
            .contains("is in the store but not in the journal"),
        "{}",
        verify.stdout
    );
}

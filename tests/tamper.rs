//! The tamper suite: what `rbk log --verify` must catch. Two real runs are made once (one gated
//! run approved from another process, one ungated); each case copies the project, edits its
//! SQLite file directly the way someone with write access to `.rbk/rbk.db` could, and expects
//! `rbk log RUN --verify` to exit 1 naming what is wrong. Untampered runs verify with exit 0.
//! A consistent rewrite of journal and record is not caught by the store alone (docs/trust.md
//! says so); the last cases show that a head exported earlier catches it.
//!
//! The PostgreSQL store is tampered with in the store conformance suite
//! (interpreter/tests/store_conformance.rs).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::{rbk_in, repo_root, spawn_rbk};

const RUNBOOKS: &str = r#"use std.shell
use std.pagerduty

/// Writes a note once a second person agrees.
runbook note {
  title "Write a note"
  input {
    dir: string
  }
  escalate pagerduty.page(service: "sre", summary: "the note needs a human: {run.summary}")

  step write "Write the note" {
    approval required from "sre" timeout 10m on timeout deny
    shell.run(argv: ["touch", "{dir}/note"])
  }
}

/// Says hello; asks nobody.
runbook tidy {
  title "Say hello"

  step hello "Say hello" {
    log "hello"
  }
}
"#;

/// The two runs every case starts from.
struct Pristine {
    dir: PathBuf,
    /// Started by carol, approved by bob.
    gated: String,
    /// Started by dave.
    tidy: String,
}

fn pristine() -> &'static Pristine {
    static PRISTINE: OnceLock<Pristine> = OnceLock::new();
    PRISTINE.get_or_init(|| {
        let dir = test_dir("pristine");
        std::fs::write(
            dir.join("rbk.toml"),
            "[approvers]\nsre = [\"alice\", \"bob\"]\n\n[audit]\nhead_key_env = \"RBK_TEST_HEAD_KEY\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("notes.rbk"), RUNBOOKS).unwrap();
        let input = format!("dir={}", dir.display());
        let run = spawn_rbk(
            &dir,
            &["run", "notes.rbk::note", "--input", &input, "--as", "carol"],
        );
        let seen = run.read_until(|line| line.contains("answer with: rbk approve"));
        let gated = run_id(&seen.join("\n"));
        let approve = rbk_in(
            &dir,
            &["approve", &gated, "write", "--as", "bob", "--comment", "ok"],
        );
        assert_eq!(approve.status, 0, "{}{}", approve.stdout, approve.stderr);
        let (status, output) = run.finish();
        assert_eq!(status, 0, "{output}");
        let tidy = rbk_in(&dir, &["run", "notes.rbk::tidy", "--as", "dave"]);
        assert_eq!(tidy.status, 0, "{}{}", tidy.stdout, tidy.stderr);
        Pristine {
            gated,
            tidy: run_id(&tidy.stdout),
            dir,
        }
    })
}

fn test_dir(name: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("tamper-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_id(output: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix("run "))
        .and_then(|rest| rest.split(':').next())
        .filter(|id| id.starts_with("r-"))
        .unwrap_or_else(|| panic!("no run id in {output}"))
        .to_string()
}

/// A copy of the pristine project for one case to tamper with.
struct Case {
    dir: PathBuf,
}

impl Case {
    fn new(name: &str) -> Case {
        let pristine = pristine();
        let dir = test_dir(name);
        copy_dir(&pristine.dir, &dir);
        Case { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.join(".rbk").join("rbk.db")
    }

    /// Runs SQL against the store file directly, as anyone who can write it could.
    fn sql(&self, statements: &str) {
        let status = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
                &self.db().display().to_string(),
                statements,
            ])
            .status()
            .expect("python3 runs");
        assert!(status.success(), "the edit failed: {statements}");
    }

    /// `rbk log RUN --verify [EXTRA...]`, with the head key set.
    fn rbk(&self, args: &[&str]) -> support::Run {
        let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
            .args(args)
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .env("RBK_TEST_HEAD_KEY", "correct horse battery staple")
            .output()
            .expect("the rbk binary runs");
        support::Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn verify(&self, run: &str) -> support::Run {
        self.rbk(&["log", run, "--verify"])
    }

    /// Expects `--verify` to fail naming `finding`.
    fn assert_caught(&self, run: &str, finding: &str) {
        let log = self.verify(run);
        assert_eq!(log.status, 1, "{}{}", log.stdout, log.stderr);
        let tampered: Vec<&str> = log
            .stdout
            .lines()
            .filter(|l| l.starts_with("TAMPERED: "))
            .collect();
        assert!(
            tampered.iter().any(|l| l.contains(finding)),
            "expected a finding with {finding:?}, got {tampered:#?}"
        );
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn untampered_runs_verify() {
    let case = Case::new("untampered");
    for run in [&pristine().gated, &pristine().tidy] {
        let log = case.verify(run);
        assert_eq!(log.status, 0, "{}{}", log.stdout, log.stderr);
        assert!(log.stdout.contains("journal intact"), "{}", log.stdout);
        assert!(!log.stdout.contains("TAMPERED"), "{}", log.stdout);
    }
}

#[test]
fn a_removed_tail_is_caught() {
    let case = Case::new("tail");
    let run = &pristine().gated;
    case.sql(&format!(
        "DELETE FROM rbk_events WHERE run_id = '{run}' AND seq = (SELECT max(seq) FROM rbk_events WHERE run_id = '{run}');"
    ));
    case.assert_caught(run, "events were removed");
}

#[test]
fn a_removed_tail_is_caught_even_with_the_anchored_head_moved_to_match() {
    let case = Case::new("tail-and-head");
    let run = &pristine().gated;
    case.sql(&format!(
        "DELETE FROM rbk_events WHERE run_id = '{run}' AND seq = (SELECT max(seq) FROM rbk_events WHERE run_id = '{run}');
         UPDATE rbk_runs SET head_events = (SELECT count(*) FROM rbk_events WHERE run_id = '{run}'),
           head_hash = (SELECT hash FROM rbk_events WHERE run_id = '{run}' ORDER BY seq DESC LIMIT 1)
           WHERE id = '{run}';"
    ));
    case.assert_caught(run, "does not end with the run finishing");
}

#[test]
fn a_run_whose_every_event_was_removed_is_caught() {
    let case = Case::new("empty");
    let run = &pristine().tidy;
    case.sql(&format!("DELETE FROM rbk_events WHERE run_id = '{run}';"));
    case.assert_caught(run, "the journal is empty");
    case.assert_caught(run, "events were removed");
}

#[test]
fn an_edited_status_is_caught() {
    let case = Case::new("status");
    let run = &pristine().gated;
    case.sql(&format!(
        "UPDATE rbk_runs SET status = 'failed' WHERE id = '{run}';"
    ));
    case.assert_caught(
        run,
        "state is \"failed\" but the journal ends with the run succeeded",
    );
}

#[test]
fn an_edited_starter_is_caught() {
    let case = Case::new("starter");
    let run = &pristine().gated;
    case.sql(&format!(
        "UPDATE rbk_runs SET started_by = 'alice' WHERE id = '{run}';"
    ));
    case.assert_caught(
        run,
        "starter is \"alice\" but the journal recorded \"carol\"",
    );
}

#[test]
fn edited_inputs_are_caught() {
    let case = Case::new("inputs");
    let run = &pristine().gated;
    case.sql(&format!(
        "UPDATE rbk_runs SET inputs = '{{\"dir\":\"/\"}}' WHERE id = '{run}';"
    ));
    case.assert_caught(run, "inputs is");
}

#[test]
fn an_edited_digest_or_runbook_is_caught() {
    let case = Case::new("digest");
    let run = &pristine().gated;
    case.sql(&format!(
        "UPDATE rbk_runs SET digest = 'feedface', runbook = 'tidy' WHERE id = '{run}';"
    ));
    case.assert_caught(run, "program digest");
    case.assert_caught(run, "runbook is \"tidy\"");
}

#[test]
fn a_journal_moved_from_another_run_is_caught() {
    let case = Case::new("moved");
    let Pristine { gated, tidy, .. } = pristine();
    // The gated run's journal replaced by the ungated run's, anchored head and all: a run
    // that needed an approval now looks like one that asked nobody.
    case.sql(&format!(
        "DELETE FROM rbk_answers WHERE run_id = '{gated}';
         DELETE FROM rbk_events WHERE run_id = '{gated}';
         INSERT INTO rbk_events (run_id, seq, at, kind, prev_hash, hash)
           SELECT '{gated}', seq, at, kind, prev_hash, hash FROM rbk_events WHERE run_id = '{tidy}';
         UPDATE rbk_runs SET
           head_events = (SELECT head_events FROM rbk_runs WHERE id = '{tidy}'),
           head_hash = (SELECT head_hash FROM rbk_runs WHERE id = '{tidy}')
           WHERE id = '{gated}';"
    ));
    case.assert_caught(
        gated,
        &format!("the journal belongs to run {tidy}, not {gated}"),
    );
}

#[test]
fn an_approval_row_no_journal_event_backs_is_caught() {
    let case = Case::new("forged-answer");
    let run = &pristine().gated;
    case.sql(&format!(
        "INSERT INTO rbk_answers (run_id, step, \"user\", approve, comment, channel, at, digest)
           SELECT run_id, step, 'alice', 1, NULL, 'cli', at + 1, digest FROM rbk_answers
           WHERE run_id = '{run}' AND \"user\" = 'bob';"
    ));
    case.assert_caught(
        run,
        "from \"alice\" for step `write` (approve) is in the store but not in the journal",
    );
}

#[test]
fn an_approval_row_whose_values_differ_from_the_journal_is_caught() {
    let case = Case::new("edited-answer");
    let run = &pristine().gated;
    case.sql(&format!(
        "UPDATE rbk_answers SET approve = 0 WHERE run_id = '{run}' AND \"user\" = 'bob';"
    ));
    case.assert_caught(run, "says deny but the journal recorded approve");

    let case = Case::new("renamed-answer");
    case.sql(&format!(
        "UPDATE rbk_answers SET \"user\" = 'alice' WHERE run_id = '{run}';"
    ));
    case.assert_caught(
        run,
        "from \"alice\" for step `write` (approve) is in the store but not in the journal",
    );
    case.assert_caught(run, "no longer in the store");
}

#[test]
fn an_event_edited_in_place_is_caught() {
    let case = Case::new("edited-event");
    let run = &pristine().gated;
    case.sql(&format!(
        "UPDATE rbk_events SET kind = replace(kind, '\"bob\"', '\"alice\"')
           WHERE run_id = '{run}' AND kind LIKE '%approval_granted%';"
    ));
    case.assert_caught(run, "the hash chain breaks at event");
}

/// Rewrites the gated run as if mallory had started it: every event re-hashed, the record and
/// its anchored head changed to match. Nothing inside the store contradicts it any more.
const CONSISTENT_REWRITE: &str = r#"
import hashlib, json, sqlite3, struct, sys
db, run = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
prev = ""
rows = c.execute("SELECT seq, at, kind FROM rbk_events WHERE run_id = ? ORDER BY seq", (run,)).fetchall()
for seq, at, kind in rows:
    event = json.loads(kind)
    if event["event"] == "run_started":
        event["started_by"] = "mallory"
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(prev.encode() + struct.pack("<Q", seq) + struct.pack("<q", at) + text.encode()).hexdigest()
    c.execute("UPDATE rbk_events SET kind = ?, prev_hash = ?, hash = ? WHERE run_id = ? AND seq = ?", (text, prev, digest, run, seq))
    prev = digest
c.execute("UPDATE rbk_runs SET started_by = 'mallory', head_hash = ? WHERE id = ?", (prev, run))
c.commit()
"#;

#[test]
fn a_consistent_rewrite_passes_the_store_alone_but_not_an_exported_head() {
    let case = Case::new("rewrite");
    let run = &pristine().gated;
    let export = case.rbk(&["log", run, "--export"]);
    assert_eq!(export.status, 0, "{}{}", export.stdout, export.stderr);
    let anchor = case.dir.join("head.json");
    std::fs::write(&anchor, &export.stdout).unwrap();

    let status = Command::new("python3")
        .args([
            "-c",
            CONSISTENT_REWRITE,
            &case.db().display().to_string(),
            run,
        ])
        .status()
        .unwrap();
    assert!(status.success());
    // What docs/trust.md says a hash chain cannot catch on its own.
    let alone = case.verify(run);
    assert_eq!(alone.status, 0, "{}{}", alone.stdout, alone.stderr);
    assert!(
        alone.stdout.contains("started by mallory"),
        "{}",
        alone.stdout
    );

    let anchored = case.rbk(&["log", run, "--verify", "--anchor", "head.json"]);
    assert_eq!(anchored.status, 1, "{}{}", anchored.stdout, anchored.stderr);
    assert!(
        anchored
            .stdout
            .contains("the journal was rewritten after the anchor was exported"),
        "{}",
        anchored.stdout
    );
}

#[test]
fn an_exported_head_is_signed_and_an_edited_one_is_caught() {
    let case = Case::new("signed-head");
    let run = &pristine().gated;
    let export = case.rbk(&["log", run, "--export"]);
    assert_eq!(export.status, 0, "{}{}", export.stdout, export.stderr);
    let mut head: serde_json::Value = serde_json::from_str(&export.stdout).unwrap();
    assert_eq!(head["run"], run.as_str());
    assert!(
        head["hmac"].as_str().is_some_and(|h| h.len() == 64),
        "{head}"
    );
    let intact = case.dir.join("intact.json");
    std::fs::write(&intact, &export.stdout).unwrap();
    let verified = case.rbk(&["log", run, "--verify", "--anchor", "intact.json"]);
    assert_eq!(verified.status, 0, "{}{}", verified.stdout, verified.stderr);

    // An anchor shortened to fit a journal whose tail is then removed.
    let log = case.rbk(&["log", run, "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&log.stdout).unwrap();
    head["events"] = 1.into();
    head["head"] = document["events"][0]["hash"].clone();
    std::fs::write(case.dir.join("edited.json"), head.to_string()).unwrap();
    let caught = case.rbk(&["log", run, "--verify", "--anchor", "edited.json"]);
    assert_eq!(caught.status, 1, "{}{}", caught.stdout, caught.stderr);
    assert!(
        caught.stdout.contains("the anchor's HMAC does not match"),
        "{}",
        caught.stdout
    );
}

#[test]
fn a_head_named_for_signing_is_never_exported_unsigned() {
    let case = Case::new("unsigned-head");
    let export = rbk_in(&case.dir, &["log", &pristine().gated, "--export"]);
    assert_eq!(export.status, 2, "{}{}", export.stdout, export.stderr);
    assert!(
        export.stderr.contains("RBK_TEST_HEAD_KEY"),
        "{}",
        export.stderr
    );
    assert!(export.stdout.is_empty(), "{}", export.stdout);
}

#[test]
fn a_tampered_journal_has_no_head_to_export() {
    let case = Case::new("export-tampered");
    let run = &pristine().gated;
    case.sql(&format!(
        "UPDATE rbk_runs SET status = 'denied' WHERE id = '{run}';"
    ));
    let export = case.rbk(&["log", run, "--export"]);
    assert_eq!(export.status, 1, "{}{}", export.stdout, export.stderr);
    assert!(export.stdout.is_empty(), "{}", export.stdout);
    assert!(export.stderr.contains("TAMPERED"), "{}", export.stderr);
}

#[test]
fn the_final_output_of_a_run_shows_the_head_that_export_prints() {
    let case = Case::new("final-head");
    let human = case.rbk(&["run", "notes.rbk::tidy", "--as", "dave"]);
    assert_eq!(human.status, 0, "{}{}", human.stdout, human.stderr);
    let run = run_id(&human.stdout);
    let export = case.rbk(&["log", &run, "--export"]);
    let head: serde_json::Value = serde_json::from_str(&export.stdout).unwrap();
    let shown = format!(
        "journal: {} events, head {}",
        head["events"],
        head["head"].as_str().unwrap()
    );
    assert!(
        human.stdout.contains(&shown),
        "{shown:?} not in\n{}",
        human.stdout
    );

    let json = case.rbk(&["run", "notes.rbk::tidy", "--as", "dave", "--format", "json"]);
    assert_eq!(json.status, 0, "{}{}", json.stdout, json.stderr);
    let last: serde_json::Value =
        serde_json::from_str(json.stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(last["event"], "journal_head", "{}", json.stdout);
    let run = last["run"].as_str().unwrap();
    let export = case.rbk(&["log", run, "--export"]);
    let head: serde_json::Value = serde_json::from_str(&export.stdout).unwrap();
    assert_eq!(last["events"], head["events"]);
    assert_eq!(last["head"], head["head"]);
}

#[test]
fn a_run_whose_journal_does_not_verify_is_not_resumed() {
    let dir = test_dir("resume");
    std::fs::write(
        dir.join("rbk.toml"),
        "[approvers]\nsre = [\"alice\", \"bob\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("notes.rbk"), RUNBOOKS).unwrap();
    let input = format!("dir={}", dir.display());
    let mut run = spawn_rbk(
        &dir,
        &["run", "notes.rbk::note", "--input", &input, "--as", "carol"],
    );
    let seen = run.read_until(|line| line.contains("answer with: rbk approve"));
    let id = run_id(&seen.join("\n"));
    // The process dies while it waits; then its journal loses its tail.
    run.child.kill().unwrap();
    let _ = run.child.wait();
    let case = Case { dir };
    case.sql(&format!(
        "DELETE FROM rbk_events WHERE run_id = '{id}' AND seq = (SELECT max(seq) FROM rbk_events WHERE run_id = '{id}');"
    ));
    let resumed = case.rbk(&["resume", &id, "--as", "carol"]);
    assert_eq!(resumed.status, 1, "{}{}", resumed.stdout, resumed.stderr);
    assert!(resumed.stdout.contains("TAMPERED"), "{}", resumed.stdout);
    assert!(
        resumed.stdout.contains("is not resumed"),
        "{}",
        resumed.stdout
    );
    assert!(!case.dir.join("note").exists());
}

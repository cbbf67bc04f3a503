//! Crash and resume: `rbk run` is killed with SIGKILL at every step boundary of a runbook and
//! continued with `rbk resume`. Finished steps never run again; the step that was running runs
//! again only with a human's approval when it can change things.

mod support;

use std::path::PathBuf;

use support::{rbk_in, repo_root, spawn_rbk};

const STEPS: &[&str] = &["s1", "s2", "s3", "s4"];

/// Four steps: three append their name to a log file (destructive: a command), one only logs.
const RUNBOOK: &str = r#"use std.shell

runbook four_steps {
  title "Four steps"
  input {
    dir: string
  }

  step s1 {
    approval none reason "appends to a test file"
    let written = shell.run(argv: ["sh", "-c", "echo s1 >> {dir}/effects"])
    log "s1 wrote {written}"
  }

  step s2 {
    log "s2 only reads"
  }

  step s3 {
    approval none reason "appends to a test file"
    shell.run(argv: ["sh", "-c", "echo s3 >> {dir}/effects"])
  }

  step s4 {
    approval none reason "appends to a test file"
    shell.run(argv: ["sh", "-c", "echo s4 >> {dir}/effects"])
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
    std::fs::write(
        dir.join("rbk.toml"),
        "[approvers]\nsre = [\"alice\", \"bob\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("steps.rbk"), RUNBOOK).unwrap();
    dir
}

fn effects(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("effects"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The steps the journal shows as ended, and the one started but not ended.
fn journal_state(dir: &std::path::Path, run_id: &str) -> (Vec<String>, Option<String>) {
    let log = rbk_in(dir, &["log", run_id, "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&log.stdout).unwrap();
    assert_eq!(
        document["chain_intact"], true,
        "the journal of a killed run is still intact"
    );
    let mut ended = Vec::new();
    let mut started = Vec::new();
    for event in document["events"].as_array().unwrap() {
        let step = event["step"].as_str().unwrap_or_default().to_string();
        match event["event"].as_str().unwrap() {
            "step_started" => started.push(step),
            "step_succeeded" | "step_skipped" | "step_failed" | "step_denied" => ended.push(step),
            _ => {}
        }
    }
    let in_flight = started.into_iter().rev().find(|s| !ended.contains(s));
    (ended, in_flight)
}

#[test]
fn killed_at_every_step_boundary_and_resumed() {
    for (boundary, after) in STEPS.iter().enumerate() {
        let dir = project(&format!("resume-{after}"));
        let input = format!("dir={}", dir.display());
        let mut run = spawn_rbk(
            &dir,
            &["run", "steps.rbk", "--input", &input, "--as", "carol"],
        );
        let seen = run.read_until(|line| line.trim_start().starts_with(&format!("✓ {after} ")));
        let run_id = seen[0]
            .strip_prefix("run ")
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .to_string();
        // SIGKILL: no chance to clean up, as when a machine dies.
        run.child.kill().unwrap();
        run.child.wait().unwrap();

        let (ended, in_flight) = journal_state(&dir, &run_id);
        assert!(
            ended.len() > boundary,
            "step {after} had ended before the kill: {ended:?}"
        );
        let before = effects(&dir);
        // After the last step the run may finish before the kill lands: then there is nothing
        // to resume, and that is what `rbk resume` must say.
        if rbk_in(&dir, &["runs"]).stdout.contains("succeeded") {
            let again = rbk_in(&dir, &["resume", &run_id]);
            assert_eq!(again.status, 1, "{}", again.stdout);
            assert!(again.stdout.contains("already ended"), "{}", again.stdout);
            assert_eq!(before, ["s1", "s3", "s4"]);
            continue;
        }

        let resumed = spawn_rbk(&dir, &["resume", &run_id, "--as", "carol"]);
        let in_doubt = in_flight.as_deref().filter(|s| *s != "s2");
        if let Some(step) = in_doubt {
            // A destructive step was running: it waits for someone other than carol.
            resumed.read_until(|line| line.contains(&format!("rbk approve {run_id} {step}#retry")));
            let answer = rbk_in(
                &dir,
                &["approve", &run_id, &format!("{step}#retry"), "--as", "bob"],
            );
            assert_eq!(answer.status, 0, "{}", answer.stdout);
        }
        let (status, output) = resumed.finish();
        assert_eq!(status, 0, "resume after {after}:\n{output}");

        let after_resume = effects(&dir);
        for step in ["s1", "s3", "s4"] {
            let times = after_resume.iter().filter(|l| l.as_str() == step).count();
            let done_before = ended.iter().any(|e| e == step);
            if done_before {
                assert_eq!(
                    times, 1,
                    "{step} finished before the crash and must not run again ({after_resume:?})"
                );
            } else if Some(step) == in_doubt {
                // Its effect may have happened before the kill; the approved retry runs it again.
                assert!((1..=2).contains(&times), "{step}: {after_resume:?}");
            } else {
                assert_eq!(times, 1, "{step} runs exactly once ({after_resume:?})");
            }
        }
        assert!(after_resume.len() >= before.len());

        let (ended, in_flight) = journal_state(&dir, &run_id);
        assert_eq!(in_flight, None);
        for step in STEPS {
            assert!(ended.iter().any(|e| e == step), "{step} ended: {ended:?}");
        }
        let runs = rbk_in(&dir, &["runs"]);
        assert!(runs.stdout.contains("succeeded"), "{}", runs.stdout);
        let again = rbk_in(&dir, &["resume", &run_id]);
        assert_eq!(again.status, 1, "a finished run cannot be resumed");
    }
}

#[test]
fn a_denied_retry_stops_the_run() {
    let dir = project("resume-denied");
    // s3 kills its own rbk process while it runs: it is in flight, and destructive.
    std::fs::write(
        dir.join("steps.rbk"),
        RUNBOOK.replace(
            "echo s3 >> {dir}/effects",
            "echo s3 >> {dir}/effects; test -e {dir}/resumed || kill -9 $PPID",
        ),
    )
    .unwrap();
    let input = format!("dir={}", dir.display());
    let (status, _) = spawn_rbk(
        &dir,
        &["run", "steps.rbk", "--input", &input, "--as", "carol"],
    )
    .finish();
    assert_ne!(status, 0);
    let runs = rbk_in(&dir, &["runs"]);
    let run_id = runs
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(dir.join("resumed"), "").unwrap();

    let resumed = spawn_rbk(&dir, &["resume", &run_id, "--as", "carol"]);
    resumed.read_until(|line| line.contains("s3#retry"));
    let own = rbk_in(&dir, &["approve", &run_id, "s3#retry", "--as", "carol"]);
    assert_eq!(own.status, 1, "the starter cannot approve the retry either");
    assert_eq!(
        rbk_in(&dir, &["deny", &run_id, "s3#retry", "--as", "alice"]).status,
        0
    );
    let (status, output) = resumed.finish();
    assert_eq!(status, 1, "{output}");
    assert!(output.contains("s3#retry denied by alice"), "{output}");
    assert_eq!(
        effects(&dir),
        ["s1", "s3"],
        "s4 never ran and s3 was not repeated"
    );
}

/// A step that only reads, then a destructive one. `look` waits on an HTTP server the test
/// holds, so the run is alive with a read in flight for as long as the test wants.
const READ_THEN_ACT: &str = r#"use std.http
use std.shell

runbook read_then_act {
  input {
    url: string
    dir: string
  }

  step look {
    let answer = http.get(url: url)
    log "look got {answer.status}"
  }

  step act {
    approval none reason "appends to a test file"
    shell.run(argv: ["sh", "-c", "echo act >> {dir}/effects"])
  }
}
"#;

/// An HTTP server whose first request waits until `release` is sent; later ones are answered
/// at once. `connected` says when the first request has arrived.
struct HeldServer {
    url: String,
    connected: std::sync::mpsc::Receiver<()>,
    release: std::sync::mpsc::Sender<()>,
}

fn held_server() -> HeldServer {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}/",
        listener.local_addr().unwrap().port()
    );
    let (connected_tx, connected) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                line.clear();
            }
            if n == 0 {
                let _ = connected_tx.send(());
                let _ = release_rx.recv();
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    HeldServer {
        url,
        connected,
        release,
    }
}

fn run_id_in(line: &str) -> String {
    line.strip_prefix("run ")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn resuming_a_live_run_is_refused_and_nothing_runs_twice() {
    let dir = project("resume-alive");
    std::fs::write(dir.join("steps.rbk"), READ_THEN_ACT).unwrap();
    let server = held_server();
    let run = spawn_rbk(
        &dir,
        &[
            "run",
            "steps.rbk",
            "--input",
            &format!("url={}", server.url),
            "--input",
            &format!("dir={}", dir.display()),
            "--as",
            "carol",
        ],
    );
    let first = run.read_until(|line| line.starts_with("run "));
    let run_id = run_id_in(&first[0]);
    // `look` is in flight: its request has reached the server, which holds it.
    server.connected.recv().unwrap();
    let runs = rbk_in(&dir, &["runs"]);
    assert!(
        runs.stdout.contains("running") && !runs.stdout.contains("interrupted"),
        "{}",
        runs.stdout
    );

    // Someone thinks the run is stuck and resumes it while its process is alive.
    let resumed = rbk_in(&dir, &["resume", &run_id, "--as", "dave"]);
    assert_eq!(resumed.status, 1, "{}{}", resumed.stdout, resumed.stderr);
    assert!(
        resumed.stdout.contains("is still running") && resumed.stdout.contains("is alive"),
        "{}",
        resumed.stdout
    );
    assert!(resumed.stdout.contains("help:"), "{}", resumed.stdout);
    assert!(effects(&dir).is_empty(), "the refused resume ran nothing");

    server.release.send(()).unwrap();
    let (status, output) = run.finish();
    assert_eq!(status, 0, "{output}");
    assert_eq!(
        effects(&dir),
        ["act"],
        "the destructive step ran exactly once"
    );
}

#[test]
fn an_in_doubt_step_answered_done_is_not_run_again() {
    let dir = project("resume-done");
    // s3 kills its own rbk process after its effect: it is in flight, and destructive.
    std::fs::write(
        dir.join("steps.rbk"),
        RUNBOOK.replace(
            "echo s3 >> {dir}/effects",
            "echo s3 >> {dir}/effects; test -e {dir}/resumed || kill -9 $PPID",
        ),
    )
    .unwrap();
    let input = format!("dir={}", dir.display());
    let (status, _) = spawn_rbk(
        &dir,
        &["run", "steps.rbk", "--input", &input, "--as", "carol"],
    )
    .finish();
    assert_ne!(status, 0);
    let runs = rbk_in(&dir, &["runs"]);
    assert!(runs.stdout.contains("interrupted"), "{}", runs.stdout);
    let run_id = runs
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(dir.join("resumed"), "").unwrap();

    let mut resumed = spawn_rbk(&dir, &["resume", &run_id, "--as", "carol"]);
    resumed
        .read_until(|line| line.contains(&format!("answer with: rbk approve {run_id} s3#retry")));
    // Both questions are in the journal before either is shown.
    let log = rbk_in(&dir, &["log", &run_id, "--format", "json"]);
    if !log.stdout.contains("s3#done") {
        let _ = resumed.child.kill();
        panic!("the in-doubt step offers no `done` answer:\n{}", log.stdout);
    }
    let own = rbk_in(&dir, &["approve", &run_id, "s3#done", "--as", "carol"]);
    assert_eq!(own.status, 1, "the starter cannot answer either");
    let bob = rbk_in(&dir, &["approve", &run_id, "s3#done", "--as", "bob"]);
    assert_eq!(bob.status, 0, "{}{}", bob.stdout, bob.stderr);
    let (status, output) = resumed.finish();
    assert_eq!(status, 0, "{output}");
    assert!(output.contains("s3 marked done by bob"), "{output}");
    assert_eq!(
        effects(&dir),
        ["s1", "s3", "s4"],
        "s3's effect was there: it did not run again, and the run went on"
    );
    // The answer and who gave it are in the journal.
    let log = rbk_in(&dir, &["log", &run_id, "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&log.stdout).unwrap();
    let marked = document["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "step_marked_done")
        .expect("a step_marked_done event");
    assert_eq!(marked["step"], "s3");
    assert_eq!(marked["by"], serde_json::json!(["bob"]));
}

#[test]
fn a_killed_dry_run_is_never_resumed_into_a_real_run() {
    let dir = project("resume-dry");
    // s1 waits for an approval, so the dry run can be killed part-way.
    std::fs::write(
        dir.join("steps.rbk"),
        RUNBOOK.replacen(
            "approval none reason \"appends to a test file\"",
            "approval required from \"sre\"",
            1,
        ),
    )
    .unwrap();
    let input = format!("dir={}", dir.display());
    let mut run = spawn_rbk(
        &dir,
        &[
            "run",
            "steps.rbk",
            "--dry-run",
            "--input",
            &input,
            "--as",
            "carol",
        ],
    );
    let seen = run.read_until(|line| line.contains("answer with: rbk approve"));
    assert!(seen[0].contains("(dry run"), "{seen:?}");
    let run_id = run_id_in(&seen[0]);
    run.child.kill().unwrap();
    run.child.wait().unwrap();

    let mut resumed = spawn_rbk(&dir, &["resume", &run_id, "--as", "carol"]);
    let said = resumed.read_until(|line| line.contains("dry run") || line.contains("answer with"));
    if !said.iter().any(|l| l.contains("was a dry run")) {
        // It went on as a real run and now waits for approval: stop it, and fail.
        let _ = resumed.child.kill();
        panic!("a dry run must not resume as a real run: {said:?}");
    }
    let (status, output) = resumed.finish();
    assert_eq!(status, 1, "{said:?}{output}");
    assert!(
        output.contains("help: a dry run is never resumed"),
        "{output}"
    );
    assert!(effects(&dir).is_empty(), "nothing was performed");
}

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
        let resolved = [
            "      shell.run  [destructive]".to_string(),
            format!(
                "        argv:    [find, {}, -type, f, -delete]",
                self.scratch()
            ),
            "        timeout: 1m".to_string(),
        ];
        assert!(
            seen.windows(3).any(|w| w == resolved),
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
            "  shell.run  [destructive]\n    argv:    [find, {}, -type, f, -delete]\n    timeout: 1m\n",
            project.scratch()
        )),
        "{}",
        run.stdout
    );
}

/// A withheld call that returns a named record (`http.post` → `http.Response`) gives a record
/// the dry run can read on, as the real run would, rather than stopping at its first field.
#[test]
fn a_dry_run_reads_on_past_a_withheld_call_that_returns_a_record() {
    let project = Project::new("dry-record");
    std::fs::write(
        project.dir.join("hook.rbk"),
        r#"use std.http

/// Tells a webhook, then reads its answer.
runbook hook {
  title "Tell the webhook"

  step tell "Tell the webhook" {
    let response = http.post("http://127.0.0.1:9/hook", "ping")
    log "webhook answered {response.status}: {response.body}"
  }
}
"#,
    )
    .unwrap();
    let run = project.rbk(&["run", "hook.rbk", "--dry-run"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("webhook answered 0: "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  http.post  [write]\n"),
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

/// Hands its secrets to programs, an HTTP endpoint, Slack, PagerDuty, a database and an
/// approval prompt, each of which may show them again.
const LEAKY: &str = r##"use std.shell
use std.http
use std.slack
use std.pagerduty
use std.postgres as pg

runbook leak_hunt {
  title "Every way a secret could come back"
  input {
    token: secret = secret("RBK_LEAK_TOKEN")
    db_url: secret = secret("RBK_LEAK_DB_URL")
    echo_url: string = env("RBK_LEAK_ECHO_URL")
    copy: string = env("RBK_LEAK_TOKEN")
  }
  escalate pagerduty.page(service: "db", summary: "leak_hunt needs a human: {run.summary} {copy}")

  step echo "Programs echo the secrets" {
    approval none reason "echo and printf only print"
    let echoed = shell.run(argv: ["echo", token])
    let printed = shell.run(argv: ["printf", "%s|%s|%s", token, db_url, copy])
    log "echo said {echoed}; printf said {printed}"
  }

  step server "An endpoint echoes what it was sent" {
    let response = http.post(url: echo_url, body: "{echoed} {copy}")
    log "the endpoint said {response.body}"
  }

  notify slack.post(channel: "#ops", text: "programs said {echoed}; the copy is {copy}")

  step database "The database names the URL's parts" {
    on failure continue
    let db = pg.connect(url: db_url)
    log "connected to {db}"
  }

  step gated "A prompt shows resolved arguments" {
    approval required from "sre" timeout 1s on timeout deny
    shell.run(argv: ["echo", copy, token])
  }
}
"##;

/// The secret search: runs [`LEAKY`] with distinctive secrets (human, `--format json` and
/// `--dry-run`) and looks for them, and their encodings, in everything a user or an attacker
/// can read afterwards.
#[test]
fn secrets_echoed_back_by_programs_servers_and_databases_never_come_back() {
    let token = "tok/3n+L3ak=Q9z!x-7c1d";
    let token_url_encoded = "tok%2F3n%2BL3ak%3DQ9z%21x-7c1d";
    // base64("tok/3n+L3ak=Q9z!x-7c1d:"), as in a basic-auth header, up to its last whole group.
    let token_base64 = "dG9rLzNuK0wzYWs9UTl6IXgtN2Mx";
    let db_password = "pgpw-5e2a9f1c";
    // The database is named like the password, so the server's error repeats it.
    let db_url = format!("postgres://postgres:{db_password}@127.0.0.1:5432/{db_password}");
    let routing_key = "pdkey-0d6e4b2a77";
    let server = support::echo_server::EchoServer::start(&format!(
        "you sent Authorization: Bearer {token}; as a query: ?t={token_url_encoded}; \
         basic {token_base64}Og==; body: "
    ));
    let slack_hook = format!("{}/services/T0/B0/slackhook-91ab7c", server.url);
    let project = Project::new("secret-search");
    std::fs::write(project.dir.join("leaky.rbk"), LEAKY).unwrap();
    std::fs::write(
        project.dir.join("rbk.toml"),
        format!(
            "[approvers]\nsre = [\"alice\", \"bob\"]\n\n\
             [integrations.slack]\nwebhook_url_secret = \"RBK_LEAK_SLACK\"\n\n\
             [integrations.pagerduty]\nurl = \"{}/v2/enqueue\"\nrouting_key_secret = \"RBK_LEAK_PD\"\n",
            server.url
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
            .args(["run", "leaky.rbk", "--as", "carol"])
            .args(extra)
            .current_dir(&project.dir)
            .env("NO_COLOR", "1")
            .env("RBK_LEAK_TOKEN", token)
            .env("RBK_LEAK_DB_URL", &db_url)
            .env("RBK_LEAK_ECHO_URL", format!("{}/echo", server.url))
            .env("RBK_LEAK_SLACK", &slack_hook)
            .env("RBK_LEAK_PD", routing_key)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let human = run(&[]);
    let json = run(&["--format", "json"]);
    let dry = run(&["--dry-run"]);

    // The runs did what the search needs: every echo happened and was masked.
    assert!(
        human.0.contains("log: echo said <secret RBK_LEAK_TOKEN>"),
        "{}{}",
        human.0,
        human.1
    );
    assert!(
        human
            .0
            .contains("the endpoint said you sent Authorization: Bearer <secret RBK_LEAK_TOKEN>"),
        "{}",
        human.0
    );
    assert!(human.0.contains("<secret RBK_LEAK_DB_URL>"), "{}", human.0);
    assert!(human.0.contains("needs approval"), "{}", human.0);
    assert!(dry.0.contains("not executed"), "{}", dry.0);
    let requests = server.requests();
    assert!(
        requests.iter().any(|r| r.contains("/services/T0/B0/"))
            && requests.iter().any(|r| r.contains("/v2/enqueue")),
        "Slack and PagerDuty were not both called: {requests:?}"
    );

    let mut outputs: Vec<(String, String)> = vec![
        ("run stdout".into(), human.0.clone()),
        ("run stderr".into(), human.1),
        ("run --format json stdout".into(), json.0.clone()),
        ("run --format json stderr".into(), json.1),
        ("run --dry-run stdout".into(), dry.0.clone()),
        ("run --dry-run stderr".into(), dry.1),
    ];
    let mut run_ids: Vec<String> = [&human.0, &dry.0]
        .iter()
        .filter_map(|out| out.lines().find_map(|l| l.strip_prefix("run ")))
        .chain(json.0.lines().filter_map(|l| l.split("\"run\":\"").nth(1)))
        .filter_map(|rest| rest.split([':', '"']).next())
        .map(str::to_string)
        .collect();
    run_ids.sort();
    run_ids.dedup();
    assert!(run_ids.len() == 3, "run ids: {run_ids:?}");
    for id in &run_ids {
        for args in [vec!["log", id], vec!["log", id, "--format", "json"]] {
            let log = project.rbk(&args);
            assert_eq!(log.status, 0, "{}", log.stderr);
            outputs.push((args.join(" "), log.stdout + &log.stderr));
        }
    }
    let runs = project.rbk(&["runs"]);
    outputs.push(("rbk runs".into(), runs.stdout + &runs.stderr));
    // The SQLite store, its write-ahead log and anything else rbk keeps there, as bytes.
    for entry in std::fs::read_dir(project.dir.join(".rbk")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        outputs.push((
            path.display().to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }

    let runbook_secrets = [token, token_url_encoded, token_base64, db_password];
    let everything = [&runbook_secrets[..], &["slackhook-91ab7c", routing_key]].concat();
    for (place, text) in &outputs {
        for secret in &everything {
            assert!(!text.contains(secret), "{secret} is in {place}:\n{text}");
        }
    }
    // What went to Slack, PagerDuty and the endpoint carries their own keys, never the
    // runbook's secrets.
    for request in &requests {
        for secret in &runbook_secrets {
            assert!(
                !request.contains(secret),
                "{secret} was sent out:\n{request}"
            );
        }
    }
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

/// `clean_scratch` without its approval gate (same runbook, same `concurrency 1`): a dry run
/// of it runs straight through.
fn ungated(project: &Project) -> &'static str {
    std::fs::write(
        project.dir.join("dry.rbk"),
        GATED.replace(
            "approval required from \"sre\" timeout 10m on timeout deny",
            "approval none reason \"test\"",
        ),
    )
    .unwrap();
    "dry.rbk"
}

#[test]
fn a_killed_run_frees_its_concurrency_slot() {
    let project = Project::new("killed-slot");
    let (mut first, first_id) = project.start_run("carol");
    // kill -9 while it waits: it never gets to record an end.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let runs = project.rbk(&["runs"]);
    let line = runs
        .stdout
        .lines()
        .find(|l| l.starts_with(&first_id))
        .unwrap_or_default()
        .to_string();
    assert!(line.contains("interrupted"), "{}", runs.stdout);

    // `concurrency 1`: the dead run does not hold the slot, so a new run starts.
    let (second, second_id) = project.start_run("dave");
    // The interrupted run cannot take the slot back while the new one holds it.
    let resume = project.rbk(&["resume", &first_id, "--as", "carol"]);
    assert_eq!(resume.status, 1, "{}{}", resume.stdout, resume.stderr);
    assert!(resume.stdout.contains("took its slot"), "{}", resume.stdout);
    project.rbk(&["deny", &second_id, "clean", "--as", "alice"]);
    second.finish();
}

#[test]
fn a_dry_run_takes_no_slot_and_is_journaled_as_a_dry_run() {
    let project = Project::new("dry-slot");
    // A real run of clean_scratch waits for approval, holding its `concurrency 1` slot.
    let (real, real_id) = project.start_run("carol");
    let file = ungated(&project);
    let input = format!("dir={}", project.scratch());
    let dry = project.rbk(&["run", file, "--dry-run", "--input", &input, "--as", "dave"]);
    assert_eq!(dry.status, 0, "{}{}", dry.stdout, dry.stderr);
    assert!(!dry.stdout.contains("not started"), "{}", dry.stdout);
    assert_eq!(project.files_left(), 2, "nothing was deleted");
    let dry_id = dry
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .and_then(|rest| rest.split(':').next())
        .unwrap()
        .to_string();

    let log = project.rbk(&["log", &dry_id, "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&log.stdout).unwrap();
    assert_eq!(document["run"]["dry_run"], true, "{}", log.stdout);
    assert_eq!(document["events"][0]["event"], "run_started");
    assert_eq!(document["events"][0]["dry_run"], true);
    let runs = project.rbk(&["runs"]);
    assert!(runs.stdout.contains("(dry run)"), "{}", runs.stdout);

    // The real run ends; a dry run in the meantime did not count towards anything.
    project.rbk(&["deny", &real_id, "clean", "--as", "alice"]);
    real.finish();
    let resume = project.rbk(&["resume", &dry_id]);
    assert_eq!(resume.status, 1, "{}", resume.stdout);
}

#[test]
fn an_unknown_store_scheme_is_a_usage_error() {
    let project = Project::new("store-scheme");
    for url in ["postgress://localhost/rbk", "mysql://localhost/rbk"] {
        let runs = project.rbk(&["runs", "--store", url]);
        assert_eq!(runs.status, 2, "{url}: {}{}", runs.stdout, runs.stderr);
        assert!(runs.stderr.contains("unknown scheme"), "{}", runs.stderr);
        let input = format!("dir={}", project.scratch());
        let run = project.rbk(&["run", "clean.rbk", "--input", &input, "--store", url]);
        assert_eq!(run.status, 2, "{url}: {}{}", run.stdout, run.stderr);
    }
    let made: Vec<_> = std::fs::read_dir(&project.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !made.iter().any(|name| name.ends_with(':')),
        "no SQLite file named after the URL: {made:?}"
    );
}

/// A runbook that does `COMMAND` to its own store file, then has one more step to journal.
fn harm_the_store(project: &Project, command: &str) -> support::Run {
    let runbook = format!(
        r#"use std.shell

runbook harm_store {{
  input {{
    db: string
  }}

  step harm {{
    approval none reason "the test harms its own store"
    shell.run(argv: ["sh", "-c", "{command} {{db}}"])
  }}

  step after {{
    log "still journaling"
  }}
}}
"#
    );
    std::fs::write(project.dir.join("harm.rbk"), runbook).unwrap();
    let db = project.dir.join(".rbk").join("rbk.db");
    project.rbk(&[
        "run",
        "harm.rbk",
        "--input",
        &format!("db={}", db.display()),
    ])
}

#[test]
fn a_store_deleted_during_the_run_fails_it() {
    let project = Project::new("store-deleted");
    let run = harm_the_store(&project, "rm -f");
    assert_ne!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("was deleted"), "{}", run.stderr);
    assert!(!run.stdout.contains("run succeeded"), "{}", run.stdout);
}

#[test]
fn a_store_made_read_only_during_the_run_fails_it() {
    let project = Project::new("store-read-only");
    let run = harm_the_store(&project, "chmod 0444");
    assert_ne!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("read-only"), "{}", run.stderr);
    assert!(!run.stdout.contains("run succeeded"), "{}", run.stdout);
}

/// What a command or an API returns, read with the text builtins: JSON fields and indexes,
/// numbers in text, lines, splits and regular expressions; under `rbk test` with a mocked
/// command, and under `rbk run`, where a value that cannot be read fails the step naming it.
const READS_OUTPUT: &str = r#"use std.shell

runbook reads_output {
  title "Read what kubectl and df print"
  input {
    df_text: string = "Filesystem Use%\n/dev/sda1 83%\n"
  }

  step pods "Count crash-looping pods" {
    let doc = json(shell.run(["kubectl", "get", "pods", "-o", "json"]))
    let looping = filter(doc.items, p => int(p.status.restarts) > 5)
    let names = join(map(looping, p => string(p.metadata.name)), ", ")
    log "looping: {names}"
    expect len(looping) == 1 else "expected one crash-looping pod, found {len(looping)}"
    expect starts_with(trim("  api-1 "), "api") and ends_with(lower("X.LOG"), ".log")
    expect string(split("api-1 web-1", " ")) == "api-1, web-1" and string(filter(split("a", " "), x => x == "z")) == "(none)"
  }

  step disk "Read the disk's use" {
    let last = lines(df_text)[1]
    let used = capture(last, "([0-9]+)%")
    let percent = int((used ?? ["", "0"])[1])
    let device = split(last, "")[0]
    let link = url_encode("a b/c")
    log "disk at {percent} of {device}, {link}"
    expect percent == 83 and matches(last, "^/dev/") and device == "/dev/sda1"
  }
}

test "reads kubectl's JSON and df's text" {
  mock shell.run(["kubectl", "get", "pods", ..]) returns "\{\"items\": [\{\"metadata\": \{\"name\": \"api-1\"}, \"status\": \{\"restarts\": \"7\"}}, \{\"metadata\": \{\"name\": \"web-1\"}, \"status\": \{\"restarts\": 0}}]}"
  run reads_output
  expect step pods succeeded
  expect step disk succeeded
}

test "a restart count that is not a number fails the step" {
  mock shell.run(["kubectl", "get", "pods", ..]) returns "\{\"items\": [\{\"metadata\": \{\"name\": \"api-1\"}, \"status\": \{\"restarts\": \"lots\"}}]}"
  run reads_output
  expect step pods failed
}
"#;

#[test]
fn text_builtins_read_command_output_and_name_the_value_that_fails() {
    let project = Project::new("text-builtins");
    std::fs::write(project.dir.join("reads.rbk"), READS_OUTPUT).unwrap();
    let tested = project.rbk(&["test", "reads.rbk"]);
    assert_eq!(tested.status, 0, "{}{}", tested.stdout, tested.stderr);
    assert!(tested.stdout.contains("2 passed"), "{}", tested.stdout);

    std::fs::write(
        project.dir.join("bad_pattern.rbk"),
        "runbook p {\n  title \"t\"\n  step s \"s\" {\n    expect matches(\"x\", \"[a-\")\n  }\n}\n",
    )
    .unwrap();
    let checked = project.rbk(&["check", "bad_pattern.rbk"]);
    assert_eq!(checked.status, 1, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked.stdout.contains("E0212") && checked.stdout.contains("invalid regular expression"),
        "{}",
        checked.stdout
    );
}

/// `shell.run` of a written-out read-only command needs no gate and no waiver; the project's
/// rbk.toml adds its own; anything else stays destructive; `--dry-run` performs the reads.
const SHELL_EFFECTS: &str = r#"use std.shell

runbook disk_report {
  title "Report the disk"
  input {
    path: string = "."
  }

  step look "Look at the disk" {
    let usage = shell.run(["df", "-P", path])
    let files = shell.run(["ls", path])
    let status = shell.run(["rbk-fake-tool", "status"])
    log "df says {len(lines(usage))} lines; ls {len(lines(files))}; tool {status}"
  }
}
"#;

#[test]
fn written_out_read_commands_need_no_gate_and_others_still_do() {
    let project = Project::new("shell-effects");
    std::fs::write(project.dir.join("report.rbk"), SHELL_EFFECTS).unwrap();
    // Without the project's entry, `rbk-fake-tool status` is an unknown command: destructive.
    let checked = project.rbk(&["check", "report.rbk"]);
    assert_eq!(checked.status, 1, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked.stdout.contains("E0301") && checked.stdout.contains("`shell.run` is destructive"),
        "{}",
        checked.stdout
    );
    std::fs::write(
        project.dir.join("rbk.toml"),
        "[approvers]\nsre = [\"alice\", \"bob\"]\n\n[shell]\nread_only = [\"rbk-fake-tool status\"]\n",
    )
    .unwrap();
    let checked = project.rbk(&["check", "--deny", "warnings", "report.rbk"]);
    assert_eq!(checked.status, 0, "{}{}", checked.stdout, checked.stderr);

    let plan = project.rbk(&["plan", "report.rbk"]);
    assert_eq!(plan.status, 0, "{}{}", plan.stdout, plan.stderr);
    for why in [
        "`df` is read-only by the std table",
        "`ls` is read-only by the std table",
        "`rbk-fake-tool status` is read-only by rbk.toml's [shell] read_only",
    ] {
        assert!(plan.stdout.contains(why), "{why} not in {}", plan.stdout);
    }
    assert!(plan.stdout.contains("effect:    read"), "{}", plan.stdout);

    // A dry run performs reads: `df` and `ls` run (the fake tool does not exist, so the step
    // fails there, after the two reads, with the command's own error).
    let dry = project.rbk(&["run", "report.rbk", "--dry-run", "--as", "carol"]);
    assert!(
        dry.stdout.contains("shell.run(argv: [df, -P, .]") && dry.stdout.contains("rbk-fake-tool"),
        "{}{}",
        dry.stdout,
        dry.stderr
    );
    assert!(
        !dry.stdout.contains("not executed:\n  [read]"),
        "{}",
        dry.stdout
    );

    // A command the table does not name still needs a gate, even next to a read.
    let write = SHELL_EFFECTS.replace("[\"ls\", path]", "[\"rm\", \"-rf\", path]");
    std::fs::write(project.dir.join("report.rbk"), write).unwrap();
    let checked = project.rbk(&["check", "report.rbk"]);
    assert_eq!(checked.status, 1, "{}{}", checked.stdout, checked.stderr);
    assert!(checked.stdout.contains("E0301"), "{}", checked.stdout);
}

/// Sizes and the std.k8s builders under `rbk test`: a filling claim is grown by a merge patch
/// built from a record, a crash-looping pod's last termination is read, a node with disk
/// pressure is drained; sizes compare, scale by a percent, divide and print readably.
const K8S_SIZES: &str = r#"use std.k8s

/// Grows a claim that is smaller than the floor.
runbook pvc_filling {
  title "PVC filling up"
  owner "storage-oncall"
  input {
    claim: string = "data-orders-db-0"
    floor: size = size("15Gi")
  }
  escalate k8s.events("Pvc", claim, "prod")

  step look "Read the claim" {
    let pvc = k8s.get_pvc(claim, "prod")
    let class = k8s.get_storage_class(pvc.storage_class)
    log "{pvc.name}: {pvc.capacity} of {pvc.request} ({pvc.capacity / size("1Gi")} GiB), 80% is {pvc.capacity * 80%}"
    expect class.allow_expansion else "{pvc.storage_class} cannot grow"
    expect pvc.capacity + size("512Mi") > size("10Gi") and pvc.capacity - size("1Gi") < pvc.capacity
  }

  step grow "Grow the claim to the floor" when k8s.get_pvc(claim, "prod").capacity < floor {
    approval required from "sre" timeout 5m on timeout deny
    k8s.patch("Pvc", claim, "prod", {spec: {resources: {requests: {storage: "{floor}"}}}})
  }
}

/// Looks at a crash-looping pod and drains its node when the node's disk is full.
runbook crash_loop {
  title "Crash-looping pod"
  owner "platform-oncall"
  escalate k8s.events("Pod", "api-1", "prod")

  step look "Why does it crash" {
    let victim = k8s.get_pod("api-1", "prod")
    let crashed = filter(victim.containers, c => c.reason == "CrashLoopBackOff")
    log "{victim.name} on {victim.node}: {len(crashed)} crashing, last {first(crashed).last_reason} ({first(crashed).last_exit_code ?? 0}), owned by {victim.owner_kind} {victim.owner}"
    expect first(crashed).last_exit_code == 137
  }

  step drain "Drain a node under disk pressure" when k8s.get_node(k8s.get_pod("api-1", "prod").node).disk_pressure {
    approval required from "sre" timeout 5m on timeout deny
    let drained = k8s.drain(k8s.get_pod("api-1", "prod").node, max: 20, timeout: 2m)
    log "evicted {len(drained.evicted)}"
  }
}

test "a small claim grows" {
  mock k8s.get_pvc returns k8s.pvc("data-orders-db-0", capacity: size("10Gi"), request: size("20Gi"))
  mock k8s.get_storage_class returns k8s.storage_class("gp3")
  mock k8s.patch returns none
  approve grow
  run pvc_filling
  expect step look succeeded
  expect step grow succeeded
  expect called k8s.patch times 1
}

test "a claim above the floor is left alone" {
  mock k8s.get_pvc returns k8s.pvc("data-orders-db-0", capacity: size("20Gi"))
  mock k8s.get_storage_class returns k8s.storage_class("gp3")
  run pvc_filling
  expect step grow skipped
  expect size("1.5Gi") == size("1536Mi") and size("1G") < size("1Gi")
}

test "an OOM-killed pod on a full node is drained" {
  mock k8s.get_pod returns k8s.pod("api-1", restarts: 12, ready: false, state: "waiting", state_reason: "CrashLoopBackOff", last_reason: "OOMKilled", exit_code: 137, node: "node-7")
  mock k8s.get_node returns k8s.node("node-7", disk_pressure: true)
  mock k8s.drain returns {evicted: ["prod/api-1"], skipped: []}
  approve drain
  run crash_loop
  expect step look succeeded
  expect step drain succeeded
  expect k8s.has_condition(k8s.node("n", disk_pressure: true).conditions, "DiskPressure")
  expect not k8s.has_condition(k8s.node("n").conditions, "DiskPressure")
  expect len(k8s.pod("bare", owner_kind: "").owners) == 0
  expect k8s.job("backup-1", successes: 0, failures: 6, conditions: [k8s.condition("Failed", why: "BackoffLimitExceeded")]).failed == 6
}
"#;

#[test]
fn sizes_and_k8s_builders_check_and_test() {
    let project = Project::new("k8s-sizes");
    std::fs::write(project.dir.join("k8s_sizes.rbk"), K8S_SIZES).unwrap();
    let checked = project.rbk(&["check", "--deny", "warnings", "k8s_sizes.rbk"]);
    assert_eq!(checked.status, 0, "{}{}", checked.stdout, checked.stderr);
    let tested = project.rbk(&["test", "k8s_sizes.rbk"]);
    assert_eq!(tested.status, 0, "{}{}", tested.stdout, tested.stderr);
    assert!(tested.stdout.contains("3 passed"), "{}", tested.stdout);

    // An input of type size reads a quantity, and names the text it cannot read.
    let wrong = project.rbk(&["run", "k8s_sizes.rbk::pvc_filling", "--input", "floor=15GB"]);
    assert_eq!(wrong.status, 2, "{}{}", wrong.stdout, wrong.stderr);
    assert!(
        wrong
            .stderr
            .contains("`15GB` is not a size: `GB` is not a unit"),
        "{}",
        wrong.stderr
    );

    std::fs::write(
        project.dir.join("bad_size.rbk"),
        "runbook p {\n  title \"t\"\n  step s \"s\" {\n    expect size(\"10gi\") > size(\"1Gi\")\n  }\n}\n",
    )
    .unwrap();
    let checked = project.rbk(&["check", "bad_size.rbk"]);
    assert_eq!(checked.status, 1, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked.stdout.contains("E0213") && checked.stdout.contains("`10gi` is not a size"),
        "{}",
        checked.stdout
    );
}

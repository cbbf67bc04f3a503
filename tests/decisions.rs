//! End-to-end: decisions that carry values and branch (issue 12 item 9), through the built
//! binary. An approval asks for typed values, given with `rbk approve --value` from another
//! process; bad values are refused without a vote being recorded; later steps branch on an
//! earlier step's outcome; `rbk test` and `rbk plan` see both.

mod support;

use std::path::PathBuf;

use support::{rbk_in, repo_root, spawn_rbk, Spawned};

const RUNBOOK: &str = r#"/// Makes copies after a human says how many.
runbook make_copies {
  title "Make copies"

  step probe "Probe the target" {
    on failure continue
    fail "the target did not answer"
  }

  step copy "Make the copies" {
    approval required from "sre" timeout 10m on timeout deny ask { copies: int, wait: duration, note: string }
    expect approval.copies <= 10 else "{approval.copies} copies is too many"
    log "making {approval.copies} copies within {approval.wait}: {approval.note}"
    let made = approval.copies
  }

  step recover "Recover from the failed probe" when step.probe.failed {
    log "the probe failed, {made} copies made anyway"
  }

  step celebrate "Celebrate a good probe" when step.probe.succeeded {
    log "all good"
  }
}

test "copies what the approver asked for" {
  approve copy as "frank" with { copies: 3, wait: 2m, note: "disk full" }
  run make_copies
  expect step copy succeeded
  expect step recover succeeded
  expect step celebrate skipped
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
            .join(format!("decisions-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("rbk.toml"),
            "[approvers]\nsre = [\"alice\", \"bob\"]\n",
        )
        .unwrap();
        std::fs::write(dir.join("copies.rbk"), RUNBOOK).unwrap();
        Project { dir }
    }

    fn rbk(&self, args: &[&str]) -> support::Run {
        rbk_in(&self.dir, args)
    }

    fn start_run(&self, user: &str) -> (Spawned, String) {
        let run = spawn_rbk(&self.dir, &["run", "copies.rbk", "--as", user]);
        let seen = run.read_until(|line| line.contains("answer with: rbk approve"));
        assert!(
            seen.iter()
                .any(|l| l
                    .contains("the approval gives: copies (int), wait (duration), note (string)")),
            "{seen:?}"
        );
        assert!(
            seen.iter().any(|l| l.contains("--value copies=...")),
            "{seen:?}"
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

    /// How many answers the run's journal holds.
    fn answers(&self, run_id: &str) -> usize {
        let json = self.rbk(&["log", run_id, "--format", "json"]);
        let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        document["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "approval_answered")
            .count()
    }
}

#[test]
fn values_are_given_with_approve_and_bad_ones_are_refused_without_a_vote() {
    let project = Project::new("cli");
    let (child, run_id) = project.start_run("carol");
    let good = [
        "--value",
        "copies=3",
        "--value",
        "wait=2m",
        "--value",
        "note=disk full",
    ];
    let attempt = |user: &str, verb: &str, values: &[&str]| {
        let mut args = vec![verb, run_id.as_str(), "copy", "--as", user];
        args.extend_from_slice(values);
        project.rbk(&args)
    };

    for (what, values, expected) in [
        (
            "ill-typed",
            vec![
                "--value",
                "copies=three",
                "--value",
                "wait=2m",
                "--value",
                "note=x",
            ],
            "`copies` must be of type `int`: `three` is not a whole number",
        ),
        (
            "missing",
            vec!["--value", "copies=3", "--value", "note=x"],
            "needs a value for `wait` (duration)",
        ),
        (
            "unknown",
            [good.as_slice(), &["--value", "force=true"]].concat(),
            "does not ask for `force`",
        ),
        ("none", vec![], "needs a value for `copies` (int)"),
    ] {
        let refused = attempt("alice", "approve", &values);
        assert_eq!(
            refused.status, 1,
            "{what}: {}{}",
            refused.stdout, refused.stderr
        );
        assert!(
            refused.stdout.contains("refused:"),
            "{what}: {}",
            refused.stdout
        );
        assert!(
            refused.stdout.contains(expected),
            "{what}: {}",
            refused.stdout
        );
    }
    let deny_with_values = attempt("alice", "deny", &["--value", "copies=3"]);
    assert_eq!(deny_with_values.status, 1, "{}", deny_with_values.stdout);
    assert!(deny_with_values.stdout.contains("a denial gives no values"));
    let outsider = attempt("mallory", "approve", &good);
    assert_eq!(outsider.status, 1);
    assert!(
        outsider.stdout.contains("not in approver group \"sre\""),
        "{}",
        outsider.stdout
    );
    let starter = attempt("carol", "approve", &good);
    assert_eq!(starter.status, 1);
    assert!(
        starter.stdout.contains("two-person rule"),
        "{}",
        starter.stdout
    );
    let malformed = attempt("alice", "approve", &["--value", "copies"]);
    assert_eq!(malformed.status, 2, "{}", malformed.stderr);
    let twice = attempt(
        "alice",
        "approve",
        &["--value", "copies=1", "--value", "copies=2"],
    );
    assert_eq!(twice.status, 2, "{}", twice.stderr);
    assert_eq!(project.answers(&run_id), 0, "no refused answer is recorded");

    let alice = attempt("alice", "approve", &good);
    assert_eq!(alice.status, 0, "{}{}", alice.stdout, alice.stderr);
    let (status, output) = child.finish();
    assert_eq!(status, 0, "{output}");
    assert!(
        output.contains("copy approved by alice (cli) with copies=3, note=disk full, wait=2m"),
        "{output}"
    );
    assert!(
        output.contains("log: making 3 copies within 2m: disk full"),
        "{output}"
    );
    assert!(
        output.contains("log: the probe failed, 3 copies made anyway"),
        "{output}"
    );
    assert!(output.contains("celebrate skipped"), "{output}");

    let json = project.rbk(&["log", &run_id, "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let granted = document["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "approval_granted")
        .expect("an approval_granted event");
    assert_eq!(granted["values"]["copies"], "3");
    assert_eq!(granted["values"]["wait"], "2m");
    assert_eq!(granted["values"]["note"], "disk full");
    assert_eq!(document["chain_intact"], true);
}

#[test]
fn rbk_test_approves_with_values_and_fails_without_them() {
    let project = Project::new("test");
    let passing = project.rbk(&["test", "copies.rbk"]);
    assert_eq!(passing.status, 0, "{}{}", passing.stdout, passing.stderr);

    let without = RUNBOOK.replace(
        "approve copy as \"frank\" with { copies: 3, wait: 2m, note: \"disk full\" }",
        "approve copy as \"frank\" with { copies: 3 }",
    );
    std::fs::write(project.dir.join("copies.rbk"), without).unwrap();
    let failing = project.rbk(&["test", "copies.rbk"]);
    assert_eq!(failing.status, 1, "{}{}", failing.stdout, failing.stderr);
    assert!(
        failing
            .stdout
            .contains("needs a value for `wait` (duration)"),
        "{}",
        failing.stdout
    );

    let ill_typed = RUNBOOK.replace("copies: 3, wait: 2m", "copies: \"3\", wait: 2m");
    std::fs::write(project.dir.join("copies.rbk"), ill_typed).unwrap();
    let refused = project.rbk(&["check", "copies.rbk"]);
    assert_eq!(refused.status, 1, "{}", refused.stdout);
    assert!(refused.stdout.contains("E0219"), "{}", refused.stdout);
}

#[test]
fn plan_shows_what_a_gate_asks_and_what_a_step_depends_on() {
    let project = Project::new("plan");
    let plan = project.rbk(&["plan", "copies.rbk"]);
    assert_eq!(plan.status, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout
            .contains("gate:      required from \"sre\" timeout 10m on timeout deny\n"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("asks:      copies (int), wait (duration), note (string)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("condition: step.probe.failed"),
        "{}",
        plan.stdout
    );
    let json = project.rbk(&["plan", "copies.rbk", "--format", "json"]);
    assert!(json.stdout.contains("\"asks\""), "{}", json.stdout);
}

/// The web project's runbook with a gate that asks `keep: int` and `why: string`; the gated
/// step creates `cache-cleared-KEEP`.
fn asking_web_project(tag: &str) -> support::web::WebProject {
    let project = support::web::WebProject::new(tag, "");
    let runbook = format!(
        r#"use std.shell

runbook clear_cache {{
  title "Clear a full cache"
  trigger alert "CacheFull"

  step look "Look at the cache" {{
    log "cache on {{alert.labels["host"]}} is full"
  }}

  step clear "Clear the cache" {{
    approval required from "oncall" ask {{ keep: int, why: string }}
    shell.run(["touch", "{dir}/cache-cleared-{{approval.keep}}"])
  }}
}}
"#,
        dir = project.dir.display()
    );
    std::fs::write(project.dir.join("cache.rbk"), runbook).unwrap();
    project
}

#[test]
fn the_web_form_asks_for_each_value_and_the_decision_path_checks_them() {
    use support::web;
    let project = asking_web_project("asks");
    let alice = project.token("alice");
    let carol = project.token("carol");
    let serve = project.serve();
    let run = project.start_waiting_run(&serve, "asks-1");
    let cookie = web::sign_in(&serve.url, &alice);
    let page = web::get(&format!("{}/runs/{run}", serve.url), &[("cookie", &cookie)]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(r#"name="value.keep""#) && page.body.contains(r#"type="number""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"name="value.why""#), "{}", page.body);
    let digest = page
        .body
        .split("name=\"digest\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries the plan digest")
        .to_string();
    let csrf = web::csrf_of(&page.body);
    let decisions = format!("{}/runs/{run}/decisions", serve.url);
    let form =
        |values: &str| format!("step=clear&decision=approve&digest={digest}&csrf={csrf}{values}");
    for (what, values, expected) in [
        (
            "ill-typed",
            "&value.keep=lots&value.why=full",
            "`keep` must be of type `int`",
        ),
        (
            "missing",
            "&value.keep=3",
            "needs a value for `why` (string)",
        ),
        (
            "blank",
            "&value.keep=3&value.why=",
            "needs a value for `why`",
        ),
        (
            "unknown",
            "&value.keep=3&value.why=full&value.force=1",
            "does not ask for `force`",
        ),
    ] {
        let refused = web::post_form(&decisions, &[("cookie", &cookie)], &form(values));
        assert_eq!(refused.status, 422, "{what}: {}", refused.body);
        assert!(refused.body.contains(expected), "{what}: {}", refused.body);
    }
    // The API is the same path: a person outside the group, and bad values.
    let api = format!("{}/v1/runs/{run}/decisions", serve.url);
    let outsider = support::http::post_json(
        &api,
        &[("authorization", &format!("Bearer {carol}"))],
        r#"{"step":"clear","decision":"approve","values":{"keep":3,"why":"full"}}"#,
    )
    .unwrap();
    assert_eq!(outsider.status, 403, "{}", outsider.body);
    let typed_wrong = support::http::post_json(
        &api,
        &[("authorization", &format!("Bearer {alice}"))],
        r#"{"step":"clear","decision":"approve","values":{"keep":"3.5","why":"full"}}"#,
    )
    .unwrap();
    assert_eq!(typed_wrong.status, 422, "{}", typed_wrong.body);
    assert_eq!(typed_wrong.json()["refused"], "bad_values");
    assert_eq!(project.state(&run), "waiting");
    assert!(!project.verified_log(&run).contains("approval_answered"));

    let accepted = web::post_form(
        &decisions,
        &[("cookie", &cookie)],
        &form("&value.keep=3&value.why=disk+full"),
    );
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    project.wait_for_state(&serve, &run, "succeeded");
    assert!(project.dir.join("cache-cleared-3").exists());
    let after = web::get(&format!("{}/runs/{run}", serve.url), &[("cookie", &cookie)]);
    assert!(
        after.body.contains("by alice with keep=3, why=disk full"),
        "{}",
        after.body
    );
}

#[test]
fn rbk_approve_with_server_sends_the_values() {
    let project = asking_web_project("asks-remote");
    let bob = project.token("bob");
    let serve = project.serve();
    let run = project.start_waiting_run(&serve, "asks-2");
    let approve = |values: &[&str]| {
        let mut args = vec![
            "approve",
            run.as_str(),
            "clear",
            "--server",
            serve.url.as_str(),
        ];
        args.extend_from_slice(values);
        std::process::Command::new(env!("CARGO_BIN_EXE_rbk"))
            .args(&args)
            .current_dir(&project.dir)
            .env("RBK_TOKEN", &bob)
            .output()
            .unwrap()
    };
    let refused = approve(&["--value", "keep=x", "--value", "why=full"]);
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("refused: `keep` must be of type `int`"),
        "{stdout}"
    );
    assert_eq!(project.state(&run), "waiting");
    let approved = approve(&["--value", "keep=7", "--value", "why=full"]);
    let stdout = String::from_utf8_lossy(&approved.stdout);
    assert_eq!(approved.status.code(), Some(0), "{stdout}");
    project.wait_for_state(&serve, &run, "succeeded");
    assert!(project.dir.join("cache-cleared-7").exists());
}

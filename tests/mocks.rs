//! Issue 12: mocks that see arguments, through `rbk test` as a user runs it. The patterns pick
//! the mock a call takes (first match wins), `expect called` counts matching calls, and the
//! attacks: a mock for other arguments really does not match, `expect not called` really
//! fails when the call was made. And `rbk check`/`rbk test` refuse a user `extern action`
//! that nothing implements.

mod support;

use std::path::PathBuf;

use support::{rbk_in, repo_root, Run};

const RUNBOOK: &str = r##"use std.k8s
use std.shell
use std.slack
use std.pagerduty

/// Deletes the crash-looping pods of an app.
runbook restart_crashing {
  title "Restart crash-looping pods"
  concurrency 1
  input {
    app: string = "api"
  }
  escalate pagerduty.page(service: "sre", summary: "restart_crashing needs a human: {run.summary}")

  step look "Look at the pods" {
    let listing = shell.run(["kubectl", "get", "pods", "-n", "prod"])
    log "{listing}"
  }

  step restart "Delete the crash-looping pods" {
    approval required from "sre" timeout 5m on timeout deny
    let pods = k8s.pods(namespace: "prod", selector: "app={app}")
    let crashing = filter(pods, p => p.restarts > 5)
    expect len(crashing) <= 3 else "too many crash-looping pods: {len(crashing)}"
    for pod in crashing {
      k8s.delete_pod(pod)
    }
  }

  notify slack.post(channel: "#incidents", text: "restarted the crash-looping pods of {app}")
}
"##;

const PASSING: &str = r##"
test "patterns pick the mock and expect called counts matching calls" {
  mock shell.run(["kubectl", "get", ..]) returns "NAME READY"
  mock k8s.pods(_, selector) where selector == "app=api" returns [k8s.pod("api-1", restarts: 9, app: "api"), k8s.pod("api-2", app: "api")]
  mock k8s.delete_pod(p) where p.name == "api-1" returns none
  mock slack.post("#incidents", text) where text == "restarted the crash-looping pods of api" returns none
  approve restart as "alice"
  run restart_crashing
  expect step look succeeded
  expect step restart succeeded
  expect called k8s.delete_pod(p) where p.name == "api-1" times 1
  expect called k8s.delete_pod times 1
  expect not called k8s.delete_pod(p) where p.name == "api-2"
  expect called shell.run(["kubectl", "get", "pods", "-n", "prod"], _)
  expect called shell.run(["kubectl", "get", "pods", ..]) times 1
  expect not called shell.run(["kubectl", "delete", ..])
  expect not called shell.run(["kubectl", "get"])
  expect called slack.post(channel, _) where channel == "#incidents"
  expect not escalated
}

test "the first matching mock wins and a catch-all is the fallback" {
  mock shell.run(["kubectl", "get", ..]) returns "NAME READY"
  mock k8s.pods returns [k8s.pod("api-1", restarts: 9, app: "api"), k8s.pod("api-2", restarts: 7, app: "api"), k8s.pod("api-3", restarts: 8, app: "api")]
  mock k8s.delete_pod(p) where p.name == "api-2" fails "forbidden: api-2 is protected"
  mock k8s.delete_pod returns none
  mock slack.post returns none
  mock pagerduty.page returns none
  approve restart
  run restart_crashing
  expect step restart failed
  expect called k8s.delete_pod times 2
  expect called k8s.delete_pod(p) where p.name == "api-1"
  expect called k8s.delete_pod(p) where p.name == "api-2"
  expect not called k8s.delete_pod(p) where p.name == "api-3"
  expect escalated
}

test "successive values count the calls each mock took" {
  let wanted = "api-2"
  mock shell.run(["kubectl", "get", ..]) returns "NAME READY"
  mock k8s.pods returns [k8s.pod("api-1", restarts: 9, app: "api"), k8s.pod("api-2", restarts: 7, app: "api")]
  mock k8s.delete_pod(p) where p.name == wanted returns [none]
  mock k8s.delete_pod(p) where p.name != wanted returns [none]
  mock slack.post returns none
  approve restart
  run restart_crashing
  expect step restart succeeded
  expect called k8s.delete_pod(p) where p.name == wanted times 1
}
"##;

const FAILING: &str = r##"
test "a mock for another pod does not match" {
  mock shell.run(["kubectl", "get", ..]) returns "NAME READY"
  mock k8s.pods returns [k8s.pod("api-1", restarts: 9, app: "api")]
  mock k8s.delete_pod(p) where p.name == "api-9" returns none
  mock k8s.delete_pod(_) where false returns none
  mock slack.post returns none
  approve restart
  run restart_crashing
  expect step restart succeeded
}

test "a list pattern with other words does not match" {
  mock shell.run(["kubectl", "describe", ..]) returns "NAME READY"
  mock k8s.pods returns []
  approve restart
  run restart_crashing
}

test "a list pattern without a rest matches only that length" {
  mock shell.run(["kubectl", "get", "pods"]) returns "NAME READY"
  mock k8s.pods returns []
  approve restart
  run restart_crashing
}

test "expect not called fails when the call was made" {
  mock shell.run(["kubectl", "get", ..]) returns "NAME READY"
  mock k8s.pods returns [k8s.pod("api-1", restarts: 9, app: "api")]
  mock k8s.delete_pod returns none
  mock slack.post returns none
  approve restart
  run restart_crashing
  expect not called k8s.delete_pod(p) where p.name == "api-1"
}

test "plain expect not called fails when the call was made" {
  mock shell.run(["kubectl", "get", ..]) returns "NAME READY"
  mock k8s.pods returns [k8s.pod("api-1", restarts: 9, app: "api")]
  mock k8s.delete_pod returns none
  mock slack.post returns none
  approve restart
  run restart_crashing
  expect not called k8s.delete_pod
}

test "expect called with a count fails on another count" {
  mock shell.run(["kubectl", "get", ..]) returns "NAME READY"
  mock k8s.pods returns [k8s.pod("api-1", restarts: 9, app: "api")]
  mock k8s.delete_pod returns none
  mock slack.post returns none
  approve restart
  run restart_crashing
  expect called k8s.delete_pod(p) where p.name == "api-1" times 2
}

test "expect called with patterns fails when only other calls were made" {
  mock shell.run(["kubectl", "get", ..]) returns "NAME READY"
  mock k8s.pods returns [k8s.pod("api-1", restarts: 9, app: "api")]
  mock k8s.delete_pod returns none
  mock slack.post returns none
  approve restart
  run restart_crashing
  expect called k8s.delete_pod(p) where p.name == "api-2"
}
"##;

struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(name: &str) -> Project {
        let dir = repo_root()
            .join("target")
            .join("test-tmp")
            .join(format!("mocks-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("rbk.toml"),
            "[approvers]\nsre = [\"alice\", \"bob\"]\n",
        )
        .unwrap();
        Project { dir }
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.join(file), text).unwrap();
    }

    fn rbk(&self, args: &[&str]) -> Run {
        rbk_in(&self.dir, args)
    }
}

/// The failure lines `rbk test` printed for the test called `name`.
fn failures_of(stdout: &str, name: &str) -> String {
    let header = format!(": \"{name}\" ----");
    let start = stdout
        .find(&header)
        .unwrap_or_else(|| panic!("no failures of {name:?} in\n{stdout}"));
    let rest = &stdout[start + header.len()..];
    let end = rest
        .find("\n---- ")
        .or_else(|| rest.find("\n\n"))
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

#[test]
fn patterns_pick_the_mock_and_expect_called_counts_matching_calls() {
    let project = Project::new("passing");
    project.write("restart.rbk", &format!("{RUNBOOK}{PASSING}"));
    let checked = project.rbk(&["check", "--deny", "warnings", "restart.rbk"]);
    assert_eq!(checked.status, 0, "{}{}", checked.stdout, checked.stderr);
    let tested = project.rbk(&["test", "restart.rbk"]);
    assert_eq!(tested.status, 0, "{}{}", tested.stdout, tested.stderr);
    assert!(
        tested.stdout.contains("3 passed, 0 failed"),
        "{}",
        tested.stdout
    );
}

#[test]
fn a_mock_for_other_arguments_does_not_match_and_expect_not_called_fails_when_called() {
    let project = Project::new("failing");
    project.write("restart.rbk", &format!("{RUNBOOK}{FAILING}"));
    let tested = project.rbk(&["test", "restart.rbk"]);
    assert_eq!(tested.status, 1, "{}{}", tested.stdout, tested.stderr);
    let out = &tested.stdout;
    assert!(out.contains("0 passed, 7 failed"), "{out}");

    // The call matched neither mock: the message shows its arguments and both patterns.
    let unmatched = failures_of(out, "a mock for another pod does not match");
    assert!(unmatched.contains("k8s.delete_pod(pod: "), "{unmatched}");
    assert!(unmatched.contains("api-1"), "{unmatched}");
    assert!(
        unmatched.contains("`mock k8s.delete_pod(p) where p.name == \"api-9\"`")
            && unmatched.contains("`mock k8s.delete_pod(_) where false`"),
        "{unmatched}"
    );

    let words = failures_of(out, "a list pattern with other words does not match");
    assert!(
        words.contains("shell.run(argv: [kubectl, get, pods, -n, prod]")
            || words.contains("shell.run(argv: [\"kubectl\", \"get\", \"pods\", \"-n\", \"prod\"]"),
        "{words}"
    );
    assert!(words.contains("matches no mock of `shell.run`"), "{words}");

    let length = failures_of(
        out,
        "a list pattern without a rest matches only that length",
    );
    assert!(
        length.contains("matches no mock of `shell.run`"),
        "{length}"
    );
    assert!(
        length.contains("[\"kubectl\", \"get\", \"pods\"]"),
        "{length}"
    );

    let not_called = failures_of(out, "expect not called fails when the call was made");
    assert!(
        not_called.contains(
            "expected `k8s.delete_pod(p) where p.name == \"api-1\"` not to be called, but it was called 1 time"
        ),
        "{not_called}"
    );
    assert!(
        not_called.contains("the calls made: k8s.delete_pod(pod: "),
        "{not_called}"
    );

    let plain = failures_of(out, "plain expect not called fails when the call was made");
    assert!(
        plain.contains("expected `k8s.delete_pod` not to be called, but it was called 1 time"),
        "{plain}"
    );

    let count = failures_of(out, "expect called with a count fails on another count");
    assert!(
        count.contains("to be called 2 times, but it was called 1 time"),
        "{count}"
    );

    let other = failures_of(
        out,
        "expect called with patterns fails when only other calls were made",
    );
    assert!(
        other.contains("where p.name == \"api-2\"` to be called, but it was called 0 times"),
        "{other}"
    );
}

#[test]
fn pattern_mistakes_are_check_errors_and_an_unreachable_mock_a_warning() {
    let project = Project::new("mistakes");
    let broken = format!(
        "{RUNBOOK}\ntest \"mistakes\" {{\n  mock shell.run([\"kubectl\", 5, ..]) returns \"x\"\n  mock k8s.pods(a, b, c) returns []\n  mock k8s.delete_pod(p) where p.name returns none\n  run restart_crashing\n}}\n"
    );
    project.write("broken.rbk", &broken);
    let checked = project.rbk(&["check", "broken.rbk"]);
    assert_eq!(checked.status, 1, "{}{}", checked.stdout, checked.stderr);
    for code in ["E0221", "E0220", "E0205"] {
        assert!(checked.stdout.contains(code), "{code}: {}", checked.stdout);
    }
    let tested = project.rbk(&["test", "broken.rbk"]);
    assert_eq!(tested.status, 1, "{}", tested.stdout);
    assert!(tested.stdout.contains("do not check"), "{}", tested.stdout);

    let shadowed = format!(
        "{RUNBOOK}\ntest \"shadowed\" {{\n  mock shell.run returns \"x\"\n  mock shell.run([\"kubectl\", \"get\", ..]) returns \"y\"\n  mock k8s.pods returns []\n  approve restart\n  run restart_crashing\n}}\n"
    );
    project.write("shadowed.rbk", &shadowed);
    let checked = project.rbk(&["check", "shadowed.rbk"]);
    assert_eq!(checked.status, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(checked.stdout.contains("W0109"), "{}", checked.stdout);
    let denied = project.rbk(&["check", "--deny", "warnings", "shadowed.rbk"]);
    assert_eq!(denied.status, 1, "{}", denied.stdout);
}

#[test]
fn a_user_extern_nothing_implements_is_refused_by_check_and_test() {
    let project = Project::new("externs");
    project.write(
        "pods.rbk",
        "extern action kubectl_pods(namespace: string) -> string effect read\n\n\
         runbook list_pods {\n  title \"List the pods\"\n  step list \"list\" {\n    let listing = kubectl_pods(\"prod\")\n    log \"pods: {listing}\"\n  }\n}\n\n\
         test \"lists\" {\n  mock kubectl_pods returns \"api-1\"\n  run list_pods\n  expect step list succeeded\n}\n",
    );
    let checked = project.rbk(&["check", "pods.rbk"]);
    assert_eq!(checked.status, 1, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked.stdout.contains("E0309") && checked.stdout.contains("pods.kubectl_pods"),
        "{}",
        checked.stdout
    );
    // The mocked test cannot hide it: the file does not check, so no test runs.
    let tested = project.rbk(&["test", "pods.rbk"]);
    assert_eq!(tested.status, 1, "{}", tested.stdout);
    assert!(tested.stdout.contains("E0309"), "{}", tested.stdout);
    let plan = project.rbk(&["plan", "pods.rbk"]);
    assert_ne!(plan.status, 0, "{}", plan.stdout);

    // A module named like a std module cannot re-declare its native as a read, which would
    // take a destructive command past the approval gate.
    project.write(
        "shell.rbk",
        "/// Runs a command.\nextern action run(argv: list<secret>, timeout: duration = 60s) -> string effect read\n",
    );
    project.write(
        "wipe.rbk",
        "use \"./shell.rbk\" as sh\n\nrunbook wipe {\n  title \"Wipe\"\n  step wipe \"wipe\" {\n    sh.run([\"rm\", \"-rf\", \"/srv/data\"])\n  }\n}\n",
    );
    let checked = project.rbk(&["check", "wipe.rbk"]);
    assert_eq!(checked.status, 1, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked.stdout.contains("E0309")
            && checked.stdout.contains(
                "`shell.run` is declared `read`, but its native implementation is `destructive`"
            ),
        "{}",
        checked.stdout
    );

    // Declared as std declares it, the module is accepted, and the step needs its gate.
    project.write(
        "shell.rbk",
        "/// Runs a command.\nextern action run(argv: list<secret>, timeout: duration = 60s) -> string effect destructive\n",
    );
    let checked = project.rbk(&["check", "wipe.rbk"]);
    assert!(!checked.stdout.contains("E0309"), "{}", checked.stdout);
    assert!(checked.stdout.contains("E0301"), "{}", checked.stdout);
}

//! `test` blocks deliver alerts the way `rbk serve` would decide them: through the trigger's
//! name and `where`, then `concurrency … per` (coalesced) and `rate … by` (suppressed), in
//! memory. Each test here is a `.rbk` test block run by `run_tests`, and asserts on what it
//! reported, failures included: an assertion about alerts must be able to fail.

mod support;

use std::collections::HashMap;

use rbk_interpreter::test_runner::{run_tests, TestOutcome};
use support::compile;

/// Runs the tests of `runbook` + `tests`; the outcomes by test name.
fn outcomes(tests: &str) -> HashMap<String, TestOutcome> {
    let program = compile(&format!("{RUNBOOK}\n{tests}"));
    run_tests(&program, program.roots[0])
        .into_iter()
        .map(|o| (o.name.clone(), o))
        .collect()
}

const RUNBOOK: &str = r#"
runbook pool {
  title "Pool"
  trigger alert "PostgresConnectionsHigh" where alert.labels["db"] != "scratch"
  concurrency 1 per alert.labels["db"]
  rate 2 per 1h by alert.labels["db"]
  step look { log "db {alert.labels["db"]} since {alert.starts_at}" }
}

runbook by_hand {
  title "By hand"
  step look { log "x" }
}
"#;

fn passes(outcomes: &HashMap<String, TestOutcome>, name: &str) {
    let outcome = &outcomes[name];
    assert!(outcome.passed(), "{name}: {:?}", outcome.failures);
}

fn fails_with(outcomes: &HashMap<String, TestOutcome>, name: &str, wanted: &str) {
    let failures = &outcomes[name].failures;
    assert!(
        failures.iter().any(|f| f.contains(wanted)),
        "{name}: wanted a failure containing {wanted:?}, got {failures:?}"
    );
}

#[test]
fn an_alert_the_where_rejects_starts_no_run() {
    let found = outcomes(
        r#"
test "rejected" {
  run pool alert { labels: {"db": "scratch"} }
  expect not triggered
}
test "a resolved alert starts nothing" {
  run pool alert { labels: {"db": "orders"}, status: "resolved" }
  expect not triggered
}
test "a wrong name is rejected too" {
  run pool alert { name: "DiskFull", labels: {"db": "orders"} }
  expect not triggered
}
test "expects a step of a rejected alert" {
  run pool alert { labels: {"db": "scratch"} }
  expect step look succeeded
}
test "expects an escalation of a rejected alert" {
  run pool alert { labels: {"db": "scratch"} }
  expect escalated
}
test "expects a rejected alert to trigger" {
  run pool alert { labels: {"db": "scratch"} }
  expect triggered
}
test "accepted" {
  run pool alert { labels: {"db": "orders"} }
  expect triggered times 1
  expect step look succeeded
}
test "expects an accepted alert to be rejected" {
  run pool alert { labels: {"db": "orders"} }
  expect not triggered
}
"#,
    );
    passes(&found, "rejected");
    passes(&found, "a wrong name is rejected too");
    passes(&found, "a resolved alert starts nothing");
    passes(&found, "accepted");
    fails_with(
        &found,
        "expects a step of a rejected alert",
        "expected step `look` to be succeeded, but it never ran (no run started: alert 1 (PostgresConnectionsHigh db=scratch, starts_at 2025-11-25T12:00:00Z): not triggered: the trigger's `where alert.labels[\"db\"] != \"scratch\"` is false for this alert)",
    );
    fails_with(
        &found,
        "expects an escalation of a rejected alert",
        "expected an escalation, but none happened (no run started",
    );
    fails_with(
        &found,
        "expects a rejected alert to trigger",
        "expected an alert to be triggered, but 0 were (alert 1",
    );
    fails_with(
        &found,
        "expects an accepted alert to be rejected",
        "expected no alert to be triggered, but 1 was (alert 1 (PostgresConnectionsHigh db=orders, starts_at 2025-11-25T12:00:00Z): started a run)",
    );
    assert!(found["rejected"].report.is_none(), "a rejected alert ran");
}

#[test]
fn alerts_delivered_together_are_coalesced_per_key() {
    let found = outcomes(
        r#"
test "one run per db" {
  run pool alerts [{labels: {"db": "orders"}}, {labels: {"db": "orders", "instance": "b"}}, {labels: {"db": "billing"}}]
  expect triggered times 2
  expect coalesced times 1
  expect not suppressed
}
test "miscounts the coalesced" {
  run pool alerts [{labels: {"db": "orders"}}, {labels: {"db": "orders", "instance": "b"}}]
  expect not coalesced
}
test "a later run line finds the earlier run finished" {
  run pool alert { labels: {"db": "orders"} }
  run pool alert { labels: {"db": "orders", "instance": "b"} }
  expect triggered times 2
  expect not coalesced
}
"#,
    );
    passes(&found, "one run per db");
    passes(&found, "a later run line finds the earlier run finished");
    fails_with(
        &found,
        "miscounts the coalesced",
        "expected no alert to be coalesced, but 1 was (alert 1 (PostgresConnectionsHigh db=orders, starts_at 2025-11-25T12:00:00Z): started a run; alert 2 (PostgresConnectionsHigh db=orders instance=b, starts_at 2025-11-25T12:00:01Z): coalesced onto the active run (`concurrency` is full))",
    );
}

#[test]
fn a_rate_over_its_limit_is_suppressed() {
    let found = outcomes(
        r#"
test "two an hour for orders" {
  run pool alert { labels: {"db": "orders"} }
  run pool alert { labels: {"db": "orders", "i": "2"} }
  run pool alert { labels: {"db": "orders", "i": "3"} }
  run pool alert { labels: {"db": "billing"} }
  expect triggered times 3
  expect suppressed times 1
}
test "a suppressed alert runs nothing" {
  run pool alert { labels: {"db": "orders"} }
  run pool alert { labels: {"db": "orders", "i": "2"} }
  run pool alert { labels: {"db": "orders", "i": "3"} }
  expect step look succeeded
}
"#,
    );
    passes(&found, "two an hour for orders");
    fails_with(
        &found,
        "a suppressed alert runs nothing",
        "suppressed by `rate`: 2 runs already started for `orders` within 1h",
    );
}

#[test]
fn a_redelivered_occurrence_starts_nothing() {
    let found = outcomes(
        r#"
test "the same occurrence twice" {
  run pool alerts [{labels: {"db": "orders"}, fingerprint: "f1", starts_at: now()}, {labels: {"db": "orders"}, fingerprint: "f1", starts_at: now()}]
  expect triggered times 1
  expect not coalesced
}
"#,
    );
    passes(&found, "the same occurrence twice");
}

#[test]
fn a_runbook_without_an_alert_trigger_takes_no_alert() {
    let found = outcomes(
        r#"
test "gives an alert to a manual runbook" {
  run by_hand alert { labels: {"db": "orders"} }
}
test "runs a manual runbook" {
  run by_hand
  expect step look succeeded
}
test "a bare run of an alert runbook skips the trigger" {
  run pool
  expect triggered
  expect step look succeeded
}
"#,
    );
    fails_with(
        &found,
        "gives an alert to a manual runbook",
        "runbook `by_hand` has no `trigger alert \"...\"`, so no alert can start it",
    );
    passes(&found, "runs a manual runbook");
    passes(&found, "a bare run of an alert runbook skips the trigger");
}

/// Escalation pages even when what it reads could not be computed: an input whose default
/// failed reads as `none` in `escalate` (it used to fail the escalation, and nobody was paged).
#[test]
fn escalation_pages_when_an_input_could_not_be_computed() {
    let program = compile(
        r#"
extern action lookup() -> string effect read
extern action page(text: string) effect write

runbook broken {
  title "Broken"
  input {
    owner_name: string = lookup()
  }
  escalate page(text: "{owner_name} must look: {run.summary}")
  step s { log "x" }
}

test "a failing input still pages" {
  mock lookup fails "the directory is down"
  mock page returns none
  run broken
  expect escalated
  expect called page times 1
  expect called lookup times 1
}
"#,
    );
    let outcomes = run_tests(&program, program.roots[0]);
    assert!(outcomes[0].passed(), "{:?}", outcomes[0].failures);
    let report = outcomes[0].report.as_ref().unwrap();
    assert!(
        report
            .summary
            .contains("input `owner_name` could not be computed"),
        "{}",
        report.summary
    );
}

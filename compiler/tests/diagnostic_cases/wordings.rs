//! The callers of the type checker's reporting helpers (`expect_type`, `mismatch`,
//! `expect_condition`, `check_message`, `expect_call`): one site each in sites.rs, but every
//! caller names what it checks ("`rate`", "the separator", ...), and every such wording is
//! reached by a case here or elsewhere (sites.rs, every_helper_wording_has_a_case).

use crate::harness::Case;

fn step_with(statements: &str) -> String {
    format!("runbook r {{\n  title \"t\"\n  step s {{\n{statements}\n  }}\n}}\n")
}

fn runbook_with(clauses: &str) -> String {
    format!("runbook r {{\n  title \"t\"\n{clauses}\n  step s {{\n    log \"x\"\n  }}\n}}\n")
}

assert_diagnostics!(
    where_filter_that_is_not_a_bool,
    runbook_with("  trigger alert \"PoolHigh\" where 5\n  concurrency 1")
);

assert_diagnostics!(
    rate_that_is_not_an_int,
    runbook_with("  rate \"three\" per 1h")
);

assert_diagnostics!(
    rate_window_must_be_a_duration_literal,
    runbook_with("  rate 3 per 60")
);

assert_diagnostics!(
    runbook_timeout_that_is_not_a_duration,
    runbook_with("  timeout 60")
);

assert_diagnostics!(notify_without_a_call, runbook_with("  notify \"someone\""));

assert_diagnostics!(
    when_condition_that_is_not_a_bool,
    "runbook r {\n  title \"t\"\n  step s when 5 {\n    log \"x\"\n  }\n}\n"
);

assert_diagnostics!(
    step_option_that_is_not_a_duration,
    step_with("    timeout 60\n    log \"x\"")
);

assert_diagnostics!(
    annotated_binding_of_another_type,
    step_with("    let n: int = \"five\"\n    log \"{n}\"")
);

assert_diagnostics!(expect_that_is_not_a_bool, step_with("    expect 5"));

assert_diagnostics!(
    expect_limit_that_is_not_a_duration,
    step_with("    expect 1 < 2 within 60 every 5s")
);

assert_diagnostics!(
    expect_message_that_is_not_a_string,
    step_with("    expect 1 < 2 else 5")
);

assert_diagnostics!(
    fail_with_something_that_is_not_a_string,
    step_with("    fail 5")
);

assert_diagnostics!(
    map_key_of_another_type,
    step_with("    let m = {\"a\": 1}\n    log \"{m[5]}\"")
);

assert_diagnostics!(
    json_index_that_is_neither_int_nor_string,
    step_with("    let doc = json(\"[1]\")\n    log \"{doc[true]}\"")
);

assert_diagnostics!(
    env_variable_name_that_is_not_a_string,
    step_with("    log env(5)")
);

assert_diagnostics!(
    max_of_values_of_different_types,
    step_with("    log \"{max(1, \"two\")}\"")
);

assert_diagnostics!(
    contains_looking_for_another_type,
    step_with("    expect contains([1, 2], \"two\")")
);

assert_diagnostics!(json_of_an_int, step_with("    log \"{json(5)}\""));

assert_diagnostics!(
    split_by_an_int,
    step_with("    log \"{len(split(\"a,b\", 5))}\"")
);

assert_diagnostics!(
    replace_given_an_int_to_replace,
    step_with("    log replace(\"abc\", 5, \"x\")")
);

assert_diagnostics!(
    replace_given_an_int_replacement,
    step_with("    log replace(\"abc\", \"b\", 5)")
);

assert_diagnostics!(
    starts_with_an_int,
    step_with("    expect starts_with(\"abc\", 5)")
);

assert_diagnostics!(
    matches_against_an_int_pattern,
    step_with("    expect matches(\"abc\", 5)")
);

const POSTING: &str = r##"use std.slack

runbook announce {
  title "t"
  trigger alert "Deploy"
  concurrency 1
  input {
    channel: string = "#ops"
  }
  step post {
    slack.post(channel: channel, text: "deployed")
  }
}
"##;

fn posting_test(statements: &str) -> String {
    format!("{POSTING}\ntest \"posts\" {{\n{statements}\n}}\n")
}

assert_diagnostics!(
    mock_where_that_is_not_a_bool,
    posting_test("  mock slack.post(c, t) where 5 returns none\n  run announce")
);

assert_diagnostics!(
    mock_failure_message_that_is_not_a_string,
    posting_test("  mock slack.post fails 5\n  run announce")
);

assert_diagnostics!(
    set_env_to_something_that_is_not_a_string,
    posting_test("  set env REGION = 5\n  mock slack.post returns none\n  run announce")
);

assert_diagnostics!(
    run_with_an_input_of_another_type,
    posting_test("  mock slack.post returns none\n  run announce with { channel: 5 }")
);

assert_diagnostics!(
    run_with_an_alert_field_of_another_type,
    posting_test("  mock slack.post returns none\n  run announce alert { name: 5 }")
);

assert_diagnostics!(
    test_expect_that_is_not_a_bool,
    posting_test("  mock slack.post returns none\n  run announce\n  expect 5")
);

assert_clean!(
    test_with_every_statement_written_well,
    Case::new(&posting_test(
        "  set env REGION = \"eu\"\n  mock slack.post(c, _) where c == \"#db\" returns none\n  run announce with { channel: \"#db\" } alert { name: \"Deploy\", labels: {\"env\": \"prod\"} }\n  expect step post succeeded"
    ))
);

//! `test` blocks (types/test_blocks.rs, types/call_patterns.rs, the approval values of
//! types/decisions.rs): what a test runs, mocks, the patterns of a mocked call, and the values
//! it gives approvers.

/// The runbook the test cases run: one step that posts, with an input and an asking gate.
const RUNBOOK: &str = r##"use std.slack

fn channel_of(team: string) -> string {
  return "#{team}"
}

runbook announce {
  title "t"
  input {
    channel: string = "#ops"
  }
  step post {
    approval required from "database-oncall" ask { reason: string }
    slack.post(channel: channel, text: "{approval.reason}")
  }
}
"##;

fn with_test(test: &str) -> String {
    format!("{RUNBOOK}\n{test}")
}

assert_diagnostics!(
    test_that_never_runs_a_runbook,
    with_test("test \"nothing runs\" {\n  mock slack.post returns none\n}\n")
);

assert_diagnostics!(
    test_runs_an_unknown_runbook,
    with_test("test \"wrong name\" {\n  run anounce\n}\n")
);

assert_diagnostics!(
    test_expects_an_unknown_step,
    with_test(
        "test \"wrong step\" {\n  mock slack.post returns none\n  approve post with { reason: \"x\" }\n  run announce\n  expect step psot succeeded\n}\n"
    )

);

assert_diagnostics!(
    mock_after_a_mock_that_takes_every_call,
    with_test(
        "test \"twice\" {\n  mock slack.post returns none\n  mock slack.post returns none\n  approve post with { reason: \"x\" }\n  run announce\n}\n"
    )

);

assert_diagnostics!(
    mock_of_a_path_that_is_not_an_action,
    with_test(
        "test \"too long\" {\n  mock std.slack.post returns none\n  approve post with { reason: \"x\" }\n  run announce\n}\n"
    )

);

assert_diagnostics!(
    mock_of_a_fn,
    with_test(
        "test \"a fn\" {\n  mock channel_of returns \"#x\"\n  approve post with { reason: \"x\" }\n  run announce\n}\n"
    )

);

assert_diagnostics!(
    mock_of_an_undefined_action,
    with_test(
        "test \"typo\" {\n  mock slack.psot returns none\n  approve post with { reason: \"x\" }\n  run announce\n}\n"
    )

);

assert_diagnostics!(
    run_with_an_input_the_runbook_does_not_have,
    with_test(
        "test \"input\" {\n  mock slack.post returns none\n  approve post with { reason: \"x\" }\n  run announce with { chanel: \"#db\" }\n}\n"
    )

);

assert_diagnostics!(
    run_with_an_alert_field_alerts_do_not_have,
    with_test(
        "test \"alert\" {\n  mock slack.post returns none\n  approve post with { reason: \"x\" }\n  run announce alert { name: \"A\", severity: \"high\" }\n}\n"
    )

);

assert_diagnostics!(
    mock_with_more_patterns_than_parameters,
    with_test(
        "test \"arity\" {\n  mock slack.post(a, b, c, d, e) returns none\n  approve post with { reason: \"x\" }\n  run announce\n}\n"
    )

);

assert_diagnostics!(
    mock_pattern_binds_one_name_twice,
    with_test(
        "test \"twice bound\" {\n  mock slack.post(x, x) returns none\n  approve post with { reason: \"x\" }\n  run announce\n}\n"
    )

);

assert_diagnostics!(
    mock_pattern_that_never_matches,
    with_test(
        "test \"never\" {\n  mock slack.post(5, _) returns none\n  approve post with { reason: \"x\" }\n  run announce\n}\n"
    )

);

assert_diagnostics!(
    approval_value_of_the_wrong_type,
    with_test(
        "test \"wrong type\" {\n  mock slack.post returns none\n  approve post with { reason: 5 }\n  run announce\n}\n"
    )

);

assert_diagnostics!(
    approval_value_the_gate_does_not_ask_for,
    with_test(
        "test \"not asked\" {\n  mock slack.post returns none\n  approve post with { reason: \"x\", size: 5 }\n  run announce\n}\n"
    )

);

assert_diagnostics!(
    mock_returns_a_value_of_the_wrong_type,
    with_test(
        "test \"mock type\" {\n  mock slack.post returns 5\n  approve post with { reason: \"x\" }\n  run announce\n}\n"
    )

);

assert_clean!(
    test_that_mocks_approves_and_runs,
    with_test(
        "test \"posts\" {\n  mock slack.post returns none\n  approve post with { reason: \"x\" }\n  run announce with { channel: \"#db\" }\n  expect step post succeeded\n}\n"
    )

);

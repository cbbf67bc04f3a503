//! The parser and its recovery (syntax/parser.rs, syntax/recovery.rs): syntax errors with what
//! was expected, unclosed brackets and interpolations, limits on nesting and length, and
//! literals too large to hold.

fn step_with(statements: &str) -> String {
    format!("runbook r {{\n  title \"t\"\n  step s {{\n{statements}\n  }}\n}}\n")
}

assert_diagnostics!(
    statement_that_does_not_parse,
    step_with("    let = \"maintenance is over\"")
);

assert_diagnostics!(
    call_never_closed,
    r##"use std.slack

runbook r {
  title "t"
  step s {
    slack.post(channel: "#ops", text: "maintenance starts now"
  }
}
"##
);

assert_diagnostics!(
    brace_in_a_string_that_starts_no_interpolation,
    step_with("    log \"up{job=\\\"api\\\"}\"")
);

assert_diagnostics!(
    brackets_nested_too_deeply,
    step_with(&format!(
        "    expect {}1 < 2{}",
        "(".repeat(130),
        ")".repeat(130)
    ))
);

assert_diagnostics!(
    expression_too_long,
    step_with(&format!(
        "    let total = 1{}\n    log \"{{total}}\"",
        " + 1".repeat(300)
    ))
);

assert_diagnostics!(
    too_many_prefix_operators,
    step_with(&format!("    expect {}true", "not ".repeat(300)))
);

// The parser's own depth guard ("this expression is nested too deeply") has no case: see
// sites.rs, NO_CASE. The deepest brackets allowed, each with a prefix operator, stay under it.
assert_clean!(
    deepest_brackets_with_prefix_operators_are_clean,
    format!("const X: int = {}1{}\n", "-(".repeat(127), ")".repeat(127))
);

assert_diagnostics!(
    more_else_if_branches_than_allowed,
    step_with(&format!(
        "    if 1 < 0 {{\n      log \"a\"\n    }}{}",
        " else if 1 < 0 {\n      log \"b\"\n    }".repeat(257)
    ))
);

assert_diagnostics!(
    quorum_too_large_to_hold,
    step_with("    approval required 4294967296 from \"database-oncall\"\n    log \"x\"")
);

assert_diagnostics!(
    integer_too_large,
    step_with("    let n = 99999999999999999999\n    log \"{n}\"")
);

assert_diagnostics!(
    duration_longer_than_the_longest,
    r##"runbook r {
  title "t"
  timeout 99999999999999999d
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    interpolation_in_a_plain_string,
    r##"runbook r {
  title "t"
  owner "team {1 + 1}"
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    step_option_after_a_statement,
    step_with("    log \"x\"\n    retry 3 every 5s")
);

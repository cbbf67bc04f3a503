//! The type checker (types/checker.rs): declarations, statements, expressions, names, fields and
//! calls. One case per place that raises a diagnostic; sites.rs says which case reaches which.

assert_diagnostics!(
    unknown_type_in_an_input,
    r##"runbook r {
  title "t"
  input {
    wait: duraton = 5m
  }
  step s {
    log "{wait}"
  }
}
"##
);

assert_diagnostics!(
    unknown_type_without_a_near_name,
    r##"const X: zzzzzz = 1
"##
);

assert_diagnostics!(
    type_from_a_module_that_is_not_imported,
    r##"runbook r {
  title "t"
  input {
    db: pg.Database = 1
  }
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    module_has_no_such_type,
    r##"use std.postgres as pg

runbook r {
  title "t"
  input {
    db: pg.Databse = pg.connect(secret("URL"))
  }
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    module_has_no_such_action,
    r##"use std.slack

runbook r {
  title "t"
  step s {
    slack.send(channel: "#ops", text: "hi")
  }
}
"##
);

assert_diagnostics!(
    input_declared_twice,
    r##"runbook r {
  title "t"
  input {
    limit: int = 5
    limit: int = 6
  }
  step s {
    log "{limit}"
  }
}
"##
);

assert_diagnostics!(
    step_defined_twice,
    r##"runbook r {
  title "t"
  step s "first" {
    log "a"
  }
  step s "second" {
    log "b"
  }
}
"##
);

assert_diagnostics!(
    let_bound_to_an_action_without_a_value,
    r##"use std.slack

runbook r {
  title "t"
  step s {
    let posted = slack.post(channel: "#ops", text: "hi")
    log "{posted}"
  }
}
"##
);

assert_diagnostics!(
    for_over_something_that_is_not_a_list,
    r##"runbook r {
  title "t"
  step s {
    for x in 5 {
      log "{x}"
    }
  }
}
"##
);

assert_diagnostics!(
    return_outside_a_fn,
    r##"runbook r {
  title "t"
  step s {
    return 5
  }
}
"##
);

assert_diagnostics!(
    secret_passed_to_log,
    r##"runbook r {
  title "t"
  step s {
    log secret("TOKEN")
  }
}
"##
);

assert_diagnostics!(
    log_of_something_that_is_not_a_string,
    r##"runbook r {
  title "t"
  step s {
    log 5
  }
}
"##
);

assert_diagnostics!(
    if_condition_that_is_not_a_bool,
    r##"runbook r {
  title "t"
  step s {
    if 5 {
      log "five"
    }
  }
}
"##
);

assert_diagnostics!(
    escalate_without_a_call,
    r##"runbook r {
  title "t"
  escalate "someone"
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    constant_of_the_wrong_type,
    r##"const LIMIT: int = "five"
"##
);

assert_diagnostics!(
    input_default_of_the_wrong_type,
    r##"runbook r {
  title "t"
  input {
    wait: duration = 60
  }
  step s {
    log "{wait}"
  }
}
"##
);

assert_diagnostics!(
    concurrency_that_is_not_an_int,
    r##"runbook r {
  title "t"
  concurrency "one"
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    return_value_of_the_wrong_type,
    r##"fn double(x: int) -> int {
  return "twice"
}
"##
);

assert_diagnostics!(
    list_element_of_another_type,
    r##"runbook r {
  title "t"
  step s {
    let xs = [1, "two"]
    log "{len(xs)}"
  }
}
"##
);

assert_diagnostics!(
    unused_let,
    r##"runbook r {
  title "t"
  step s {
    let unused = 5
    log "x"
  }
}
"##
);

assert_diagnostics!(
    secret_interpolated_into_a_string,
    r##"runbook r {
  title "t"
  input {
    token: secret = secret("TOKEN")
  }
  step s {
    log "token is {token}"
  }
}
"##
);

assert_diagnostics!(
    interpolation_of_an_action_without_a_value,
    r##"use std.slack

runbook r {
  title "t"
  step s {
    log "posted {slack.post(channel: "#ops", text: "hi")}"
  }
}
"##
);

assert_diagnostics!(
    indexing_something_that_is_neither_list_nor_map,
    r##"runbook r {
  title "t"
  step s {
    let n = 5
    log "{n[0]}"
  }
}
"##
);

assert_diagnostics!(
    list_index_that_is_not_an_int,
    r##"runbook r {
  title "t"
  step s {
    let xs = [1, 2]
    log "{xs["first"]}"
  }
}
"##
);

assert_diagnostics!(
    not_applied_to_an_int,
    r##"runbook r {
  title "t"
  step s {
    expect not 5
  }
}
"##
);

assert_diagnostics!(
    minus_applied_to_a_string,
    r##"runbook r {
  title "t"
  step s {
    let x = -"five"
    log "{x}"
  }
}
"##
);

assert_diagnostics!(
    binary_operator_on_unrelated_types,
    r##"runbook r {
  title "t"
  step s {
    expect 90% < 90
  }
}
"##
);

assert_diagnostics!(
    lambda_outside_a_builtin,
    r##"runbook r {
  title "t"
  step s {
    let f = x => x
    log "x"
  }
}
"##
);

assert_diagnostics!(
    map_literal_mixing_quoted_and_bare_keys,
    r##"runbook r {
  title "t"
  step s {
    let m = {"a": 1, b: 2}
    log "{len(m)}"
  }
}
"##
);

assert_diagnostics!(
    map_value_of_another_type,
    r##"runbook r {
  title "t"
  step s {
    let m = {"a": 1, "b": "two"}
    log "{len(m)}"
  }
}
"##
);

assert_diagnostics!(
    record_field_given_twice,
    r##"runbook r {
  title "t"
  step s {
    let p = {name: "a", name: "b"}
    log "{p.name}"
  }
}
"##
);

assert_diagnostics!(
    binding_of_a_skippable_step_read_later,
    r##"runbook r {
  title "t"
  input {
    used: percent = 95%
  }
  step measure when used > 90% {
    let free = 100% - used
    log "free: {free}"
  }
  step report {
    log "was {free} free"
  }
}
"##
);

assert_diagnostics!(
    function_used_as_a_value,
    r##"fn double(x: int) -> int {
  return x * 2
}

runbook r {
  title "t"
  step s {
    let f = double
    log "{f}"
  }
}
"##
);

assert_diagnostics!(
    module_used_as_a_value,
    r##"use std.slack

runbook r {
  title "t"
  step s {
    let m = slack
    log "{m}"
  }
}
"##
);

assert_diagnostics!(
    unknown_name_with_a_suggestion,
    r##"runbook r {
  title "t"
  input {
    channel: string = "#ops"
  }
  step s {
    log chanel
  }
}
"##
);

assert_diagnostics!(
    alert_outside_an_alert_triggered_runbook,
    r##"runbook r {
  title "t"
  step s {
    log "{alert.name}"
  }
}
"##
);

assert_diagnostics!(
    module_action_used_as_a_value,
    r##"use std.slack

runbook r {
  title "t"
  step s {
    let f = slack.post
    log "{f}"
  }
}
"##
);

assert_diagnostics!(
    record_has_no_such_field,
    r##"runbook r {
  title "t"
  step s {
    let p = {name: "a", size: 2}
    log "{p.colour}"
  }
}
"##
);

assert_diagnostics!(
    value_without_fields,
    r##"runbook r {
  title "t"
  step s {
    let n = 5
    log "{n.value}"
  }
}
"##
);

assert_diagnostics!(
    value_called_like_a_function,
    r##"runbook r {
  title "t"
  step s {
    let xs = [1, 2]
    log "{xs(0)}"
  }
}
"##
);

assert_diagnostics!(
    unknown_function,
    r##"runbook r {
  title "t"
  step s {
    log "{lenght("abc")}"
  }
}
"##
);

assert_diagnostics!(
    module_type_called_like_a_function,
    r##"use std.postgres as pg

runbook r {
  title "t"
  step s {
    let d = pg.Database("x")
    log "x"
  }
}
"##
);

assert_diagnostics!(
    more_arguments_than_parameters,
    r##"use std.postgres as pg

runbook r {
  title "t"
  input {
    db: pg.Database = pg.connect(secret("URL"))
  }
  step s {
    expect pg.pool_usage(db, 5m) < 90%
  }
}
"##
);

assert_diagnostics!(
    argument_name_the_action_does_not_have,
    r##"use std.pagerduty

runbook r {
  title "t"
  step s {
    pagerduty.page(service: "db", summary: "pool exhausted", urgency: "high")
  }
}
"##
);

assert_diagnostics!(
    argument_given_twice,
    r##"use std.slack

runbook r {
  title "t"
  step s {
    slack.post(channel: "#ops", channel: "#db", text: "hi")
  }
}
"##
);

assert_diagnostics!(
    argument_missing,
    r##"use std.slack

runbook r {
  title "t"
  step s {
    slack.post(channel: "#ops")
  }
}
"##
);

assert_diagnostics!(
    argument_of_the_wrong_type,
    r##"use std.postgres as pg

runbook r {
  title "t"
  input {
    db: pg.Database = pg.connect(secret("URL"))
  }
  step s {
    let idle = pg.idle_connections(db, older_than: 60)
    log "{len(idle)}"
  }
}
"##
);

assert_diagnostics!(
    builtin_given_a_named_argument,
    r##"runbook r {
  title "t"
  step s {
    log "{len(xs: [1])}"
  }
}
"##
);

assert_diagnostics!(
    builtin_given_too_many_arguments,
    r##"runbook r {
  title "t"
  step s {
    log "{len([1], [2])}"
  }
}
"##
);

assert_diagnostics!(
    secret_turned_into_a_string,
    r##"runbook r {
  title "t"
  step s {
    let text = string(secret("TOKEN"))
    log "{len(text)}"
  }
}
"##
);

assert_diagnostics!(
    sum_of_strings,
    r##"runbook r {
  title "t"
  step s {
    log "{sum(["a", "b"])}"
  }
}
"##
);

assert_diagnostics!(
    max_of_bools,
    r##"runbook r {
  title "t"
  step s {
    log "{max([true, false])}"
  }
}
"##
);

assert_diagnostics!(
    first_of_something_that_is_not_a_list,
    r##"runbook r {
  title "t"
  step s {
    log "{first(5)}"
  }
}
"##
);

assert_diagnostics!(
    filter_without_a_lambda,
    r##"runbook r {
  title "t"
  step s {
    let xs = filter([1, 2], 5)
    log "{len(xs)}"
  }
}
"##
);

assert_diagnostics!(
    lambda_with_two_parameters,
    r##"runbook r {
  title "t"
  step s {
    let xs = filter([1, 2], (a, b) => a > b)
    log "{len(xs)}"
  }
}
"##
);

assert_diagnostics!(
    filter_test_that_is_not_a_bool,
    r##"runbook r {
  title "t"
  step s {
    let xs = filter([1, 2], x => x + 1)
    log "{len(xs)}"
  }
}
"##
);

assert_diagnostics!(
    sort_by_keys_that_cannot_be_ordered,
    r##"runbook r {
  title "t"
  step s {
    let xs = sort_by([1, 2], x => x > 1)
    log "{len(xs)}"
  }
}
"##
);

assert_diagnostics!(
    len_of_an_int,
    r##"runbook r {
  title "t"
  step s {
    log "{len(5)}"
  }
}
"##
);

//! Decisions and their values (types/decisions.rs, types/durations.rs, types/clauses.rs):
//! approvals that ask for values, step outcomes read before they are known, durations that
//! must pass time, and clauses a runbook has once.

assert_diagnostics!(
    approval_asks_for_one_value_twice,
    r##"runbook r {
  title "t"
  step s {
    approval required from "database-oncall" ask { size: int, size: int }
    log "{approval.size}"
  }
}
"##
);

assert_diagnostics!(
    approval_asks_for_a_list,
    r##"runbook r {
  title "t"
  step s {
    approval required from "database-oncall" ask { nodes: list<string> }
    log "draining"
  }
}
"##
);

assert_diagnostics!(
    asked_value_read_after_its_step,
    r##"runbook r {
  title "t"
  step resize {
    approval required from "database-oncall" ask { new_size: int }
    log "resizing to {approval.new_size}"
  }
  step report {
    log "resized to {approval.new_size}"
  }
}
"##
);

assert_diagnostics!(
    asked_value_the_approval_does_not_ask_for,
    r##"runbook r {
  title "t"
  step resize {
    approval required from "database-oncall" ask { new_size: int }
    log "resizing to {approval.new_sise}"
  }
}
"##
);

assert_diagnostics!(
    step_outcome_read_in_a_fn,
    r##"fn purge_failed() -> bool {
  return step.purge.failed
}
"##
);

assert_diagnostics!(
    step_outcome_that_is_always_false,
    r##"runbook r {
  title "t"
  step purge {
    log "purging"
  }
  step tell when step.purge.failed {
    log "the purge failed"
  }
}
"##
);

assert_diagnostics!(
    step_outcome_read_before_the_step_runs,
    r##"runbook r {
  title "t"
  step tell when step.purge.failed {
    log "the purge failed"
  }
  step purge {
    on failure continue
    log "purging"
  }
}
"##
);

assert_diagnostics!(
    step_outcome_of_a_step_that_does_not_exist,
    r##"runbook r {
  title "t"
  step purge {
    on failure continue
    log "purging"
  }
  step tell when step.prge.failed {
    log "the purge failed"
  }
}
"##
);

assert_diagnostics!(
    poll_every_zero_seconds,
    r##"runbook r {
  title "t"
  verify settled {
    expect 1 < 2 within 2m every 0s
  }
}
"##
);

assert_diagnostics!(
    negative_duration_arithmetic,
    r##"runbook r {
  title "t"
  verify settled {
    expect 1 < 2 within 2m - 5m every 5s
  }
}
"##
);

assert_diagnostics!(
    duration_arithmetic_beyond_the_longest_duration,
    r##"runbook r {
  title "t"
  timeout 100000000d * 100000
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    timeout_given_twice,
    r##"runbook r {
  title "t"
  timeout 5m
  timeout 10m
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    mode_given_twice,
    r##"runbook r {
  title "t"
  mode shadow
  mode live
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    trigger_given_twice,
    r##"runbook r {
  title "t"
  trigger alert "DiskFull"
  trigger alert "DiskAlmostFull"
  concurrency 1
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    asked_value_read_outside_a_step,
    r##"fn size() -> int {
  return approval.size
}
"##
);

assert_diagnostics!(
    step_outcome_read_in_its_own_step,
    r##"runbook r {
  title "t"
  step purge {
    on failure continue
    log "purging"
    if step.purge.failed {
      log "the purge failed"
    }
  }
}
"##
);

assert_diagnostics!(
    skipped_outcome_of_a_step_without_when,
    r##"runbook r {
  title "t"
  step purge {
    log "purging"
  }
  step tell when step.purge.skipped {
    log "the purge was skipped"
  }
}
"##
);

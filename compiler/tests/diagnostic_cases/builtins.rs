//! Text, JSON and size builtins (types/text_builtins.rs): conversions, joins, sizes and
//! patterns that are checked when the runbook is, not when it runs.

assert_diagnostics!(
    int_of_a_list,
    r##"runbook r {
  title "t"
  step s {
    log "{int([1])}"
  }
}
"##
);

assert_diagnostics!(
    size_of_an_int,
    r##"runbook r {
  title "t"
  step s {
    log "{size(10)}"
  }
}
"##
);

assert_diagnostics!(
    secrets_joined_into_a_string,
    r##"runbook r {
  title "t"
  step s {
    log "{join([secret("A"), secret("B")], ",")}"
  }
}
"##
);

assert_diagnostics!(
    join_of_something_that_is_not_a_list,
    r##"runbook r {
  title "t"
  step s {
    log "{join(5, ",")}"
  }
}
"##
);

assert_diagnostics!(
    size_literal_with_a_unit_kubernetes_does_not_know,
    r##"runbook r {
  title "t"
  step s {
    log "{size("10GB")}"
  }
}
"##
);

assert_diagnostics!(
    pattern_that_does_not_compile,
    r##"runbook r {
  title "t"
  step s {
    expect matches("abc", "(a")
  }
}
"##
);

assert_diagnostics!(
    split_of_an_int,
    r##"runbook r {
  title "t"
  step s {
    log "{len(split(5, ","))}"
  }
}
"##
);

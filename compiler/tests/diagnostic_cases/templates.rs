//! Templates and their instances (templates/mod.rs, and the parser's rule on interpolation
//! inside a template): names, arguments, literal values and parameters bound again.

assert_diagnostics!(
    placeholder_that_names_no_parameter,
    r##"template restart_app(app: string) {
  title "Restart {ap}"
}

runbook orders = restart_app(app: "orders")
"##
);

assert_diagnostics!(
    instance_of_an_unknown_template,
    r##"template restart_app(app: string) {
  title "Restart {app}"
}

runbook orders = restart_ap(app: "orders")
"##
);

assert_diagnostics!(
    instance_of_a_template_in_a_file_without_templates,
    r##"runbook orders = restart_app(app: "orders")
"##
);

assert_diagnostics!(
    argument_name_the_template_does_not_have,
    r##"template restart_app(app: string, group: string) {
  title "Restart {app}"
}

runbook orders = restart_app(app: "orders", gruop: "orders-oncall")
"##
);

assert_diagnostics!(
    positional_argument_after_a_named_one,
    r##"template restart_app(app: string, group: string) {
  title "Restart {app}"
}

runbook orders = restart_app(app: "orders", "orders-oncall")
"##
);

assert_diagnostics!(
    more_arguments_than_the_template_takes,
    r##"template restart_app(app: string) {
  title "Restart {app}"
}

runbook orders = restart_app("orders", "again")
"##
);

assert_diagnostics!(
    template_argument_given_twice,
    r##"template restart_app(app: string) {
  title "Restart {app}"
}

runbook orders = restart_app("orders", app: "again")
"##
);

assert_diagnostics!(
    template_argument_that_is_not_a_literal_of_its_type,
    r##"template restart_app(app: string, max: int) {
  title "Restart {app}"
}

runbook orders = restart_app(app: "orders", max: "two")
"##
);

assert_diagnostics!(
    template_default_that_is_not_a_literal_of_its_type,
    r##"template restart_app(app: string, max: int = "two") {
  title "Restart {app}"
}

runbook orders = restart_app(app: "orders")
"##
);

assert_diagnostics!(
    template_argument_missing,
    r##"template restart_app(app: string, group: string) {
  title "Restart {app}"
}

runbook orders = restart_app(app: "orders")
"##
);

assert_diagnostics!(
    template_parameter_bound_again,
    r##"template restart_app(app: string) {
  title "Restart {app}"

  step inspect "Inspect" {
    let app = "other"
    log "{app}"
  }
}

runbook orders = restart_app(app: "orders")
"##
);

assert_diagnostics!(
    template_string_interpolating_an_expression,
    r##"template restart_app(app: string) {
  title "Restart {app + 1}"
}

runbook orders = restart_app(app: "orders")
"##
);

assert_clean!(
    template_with_every_argument_kind,
    r##"template restart_app(app: string, max: int = 2, wait: duration = 5m) {
  title "Restart {app}"

  step inspect "Inspect {app}" {
    log "at most {max} pods, waiting {wait}"
  }
}

runbook orders = restart_app("orders", max: 3)
"##
);

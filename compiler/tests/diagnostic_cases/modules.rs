//! Modules and names at the top of a file (analysis.rs, resolve/mod.rs): `use` of standard and
//! local modules, files that cannot be read, and names defined twice.

use crate::harness::Case;

const HELLO: &str = r##"runbook hello {
  title "Say hello"
  step greet {
    log "hello"
  }
}
"##;

fn using(header: &str) -> String {
    format!("{header}\n\n{HELLO}")
}

assert_diagnostics!(use_of_a_module_outside_std, using("use kube.pods as pods"));

assert_diagnostics!(
    use_of_a_standard_module_that_does_not_exist,
    using("use std.kubernetes")
);

assert_diagnostics!(
    standard_module_using_a_local_file,
    Case::new(&using("use std.tools")).std_module("tools", "use \"./helpers.rbk\" as helpers\n")
);

assert_diagnostics!(
    use_of_a_path_that_is_not_a_regular_file,
    Case::new(&using("use \"./pipe.rbk\" as pipe")).special("pipe.rbk", "a FIFO")
);

assert_diagnostics!(
    use_of_a_local_module_that_does_not_exist,
    using("use \"./does_not_exist.rbk\" as missing")
);

assert_diagnostics!(
    local_module_without_a_name,
    Case::new(&using("use \"./lib.rbk\"")).file("lib.rbk", "const LIMIT: int = 5\n")
);

assert_diagnostics!(
    item_defined_twice,
    r##"fn twice(x: int) -> int {
  return x * 2
}

fn twice(x: int) -> int {
  return x + x
}
"##
);

assert_diagnostics!(
    module_alias_used_twice,
    using("use std.slack as chat\nuse std.pagerduty as chat")
);

assert_clean!(
    local_module_used_by_name,
    Case::new(
        "use \"./lib.rbk\" as lib\n\nrunbook hello {\n  title \"t\"\n  step greet {\n    log \"at most {lib.LIMIT}\"\n  }\n}\n"
    )
    .file("lib.rbk", "const LIMIT: int = 5\n")
);

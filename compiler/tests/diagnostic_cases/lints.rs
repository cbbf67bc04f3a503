//! The lints (lints/*.rs): approval gates, auto-approval, quorums and groups, escalation,
//! alert limits, blast radius, SQL interpolation, constants, clauses without gates, externs
//! without a native, titles and unreachable code.

use rbk_compiler::syntax::Effect;

use crate::harness::Case;

/// A runbook that deletes a pod in step `restart`, behind `gate` (a step option line).
fn restart(gate: &str) -> String {
    format!(
        r##"use std.k8s
use std.pagerduty

runbook restart_orders_api {{
  title "Restart the oldest orders-api pod"
  escalate pagerduty.page(service: "database-oncall", summary: "needs a human: {{run.summary}}")

  step restart {{
    {gate}
    let pods = k8s.pods(namespace: "prod", selector: "app=orders-api")
    k8s.delete_pod(k8s.oldest(pods))
  }}
}}
"##
    )
}

assert_diagnostics!(
    destructive_step_without_an_approval,
    restart("log \"no gate\"")
);

assert_diagnostics!(
    auto_approve_of_a_gate_that_asks_for_values,
    r##"runbook resize_pool {
  title "Resize the worker pool"
  step resize {
    approval required from "database-oncall" timeout 10m on timeout approve ask { new_size: int }
    log "resizing to {approval.new_size}"
  }
}
"##
);

assert_diagnostics!(
    auto_approve_of_an_action_not_safe_to_auto_approve,
    restart("approval required from \"database-oncall\" timeout 5m on timeout approve")
);

assert_diagnostics!(
    quorum_of_zero,
    restart("approval required 0 from \"database-oncall\" timeout 5m on timeout deny")
);

assert_diagnostics!(
    approver_group_not_in_rbk_toml,
    Case::new(&restart(
        "approval required from \"db-oncall\" timeout 5m on timeout deny"
    ))
    .with_approvers()
);

assert_diagnostics!(
    quorum_larger_than_the_group,
    Case::new(&restart(
        "approval required 3 from \"database-oncall\" timeout 5m on timeout deny"
    ))
    .with_approvers()
);

assert_clean!(
    gated_destructive_step_with_a_known_group,
    Case::new(&restart(
        "approval required 2 from \"database-oncall\" timeout 5m on timeout deny"
    ))
    .with_approvers()
);

assert_diagnostics!(
    every_pod_deleted_without_a_bound,
    r##"use std.k8s
use std.pagerduty

runbook restart_all {
  title "Restart all orders-api pods"
  escalate pagerduty.page(service: "database-oncall", summary: "needs a human: {run.summary}")

  step restart {
    approval required from "database-oncall" timeout 5m on timeout deny
    let pods = k8s.pods(namespace: "prod", selector: "app=orders-api")
    for pod in pods {
      k8s.delete_pod(pod)
    }
  }
}
"##
);

assert_diagnostics!(
    destructive_runbook_without_escalation,
    r##"use std.k8s

runbook restart_orders_api {
  title "Restart the oldest orders-api pod"

  step restart {
    approval required from "database-oncall" timeout 5m on timeout deny
    let pods = k8s.pods(namespace: "prod", selector: "app=orders-api")
    k8s.delete_pod(k8s.oldest(pods))
  }
}
"##
);

assert_diagnostics!(
    alert_triggered_runbook_without_limits,
    r##"use std.slack

runbook pool_alert_report {
  title "Report when the alert fires"
  trigger alert "PostgresConnectionsHigh"

  step tell {
    slack.post(channel: "#incidents", text: "the pool is busy")
  }
}
"##
);

assert_diagnostics!(
    value_interpolated_into_sql,
    r##"use std.postgres as pg

runbook customer_orders {
  title "Show a customer's recent orders"
  input {
    db: pg.Database = pg.connect(secret("URL"))
    customer: string = "c-1"
  }

  step orders {
    let rows = pg.query(db, "select id from orders where customer = '{customer}'")
    log "{len(rows)} orders"
  }
}
"##
);

assert_diagnostics!(
    constant_calling_an_action,
    r##"use std.k8s

const PODS: list<k8s.Pod> = k8s.pods(namespace: "prod", selector: "app=orders-api")
"##
);

assert_diagnostics!(
    condition_that_changes_something,
    r##"use std.postgres as pg
use std.pagerduty

runbook kill_idle {
  title "Kill idle connections"
  input {
    db: pg.Database = pg.connect(secret("URL"))
  }
  escalate pagerduty.page(service: "database-oncall", summary: "needs a human: {run.summary}")

  step kill when pg.terminate(db, pg.idle_connections(db, older_than: 1h), max: 50) > 0 {
    approval required from "database-oncall" timeout 5m on timeout deny
    log "terminated"
  }
}
"##
);

assert_diagnostics!(
    destructive_escalation,
    r##"use std.k8s

runbook check_orders_api {
  title "Check the orders-api pods"
  escalate k8s.rollout_restart(deployment: "orders-api", namespace: "prod")

  step report {
    log "checking"
  }
}
"##
);

const EXTERN: &str = r##"extern action kubectl_pods(namespace: string) -> string effect read

runbook list_pods {
  title "List the pods"

  step list {
    let listing = kubectl_pods("prod")
    log "pods: {listing}"
  }
}
"##;

assert_diagnostics!(
    extern_without_a_native,
    Case::new(EXTERN).with_native("other", 1, Effect::Read)
);

assert_diagnostics!(
    extern_with_another_arity_than_its_native,
    Case::new(EXTERN).with_native("kubectl_pods", 2, Effect::Read)
);

assert_diagnostics!(
    extern_weaker_than_its_native,
    Case::new(EXTERN).with_native("kubectl_pods", 1, Effect::Destructive)
);

assert_diagnostics!(
    extern_safe_to_auto_approve_where_its_native_is_not,
    Case::new(
        r##"extern action kubectl_pods(namespace: string) -> string effect read safe_to_auto_approve

runbook list_pods {
  title "List the pods"

  step list {
    let listing = kubectl_pods("prod")
    log "pods: {listing}"
  }
}
"##
    )
    .with_native("kubectl_pods", 1, Effect::Read)
);

assert_clean!(
    extern_matching_its_native,
    Case::new(EXTERN).with_native("kubectl_pods", 1, Effect::Read)
);

assert_diagnostics!(
    runbook_without_a_title,
    r##"runbook r {
  step s {
    log "x"
  }
}
"##
);

assert_diagnostics!(
    code_after_fail,
    r##"runbook r {
  title "t"
  step s {
    if 1 < 2 {
      fail "stop"
      log "never"
    }
  }
}
"##
);

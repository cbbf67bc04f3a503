//! Issue 9, item 1: a destructive (or write) action can only run behind the gate the checker
//! proved. Every clause evaluated before or outside a step's approval gate is refused when it
//! can act (E0305, E0306, E0307), whether the action is written there, reached through a `fn`,
//! or hidden in a parameter default.

mod support;

use rbk_compiler::diagnostics::Code;
use support::{codes, runbook};

const GATE: &str = "approval required from \"oncall\" timeout 5m on timeout deny";

#[test]
fn a_when_condition_cannot_destroy_before_the_gate() {
    let source = runbook(&format!(
        "  step kill when pg.terminate(db, pg.idle_connections(db, older_than: 1h), max: 5) > 0 {{\n    {GATE}\n    log \"done\"\n  }}"
    ));
    assert_eq!(codes(&source), vec![Code::ActingCondition]);
}

#[test]
fn a_when_condition_cannot_write_before_the_gate() {
    let source = runbook(&format!(
        "  step tell when slack.post(channel: \"#x\", text: \"y\") == none {{\n    {GATE}\n    log \"done\"\n  }}"
    ));
    assert_eq!(codes(&source), vec![Code::ActingCondition]);
}

#[test]
fn a_when_condition_cannot_reach_an_action_through_a_fn() {
    let source = format!(
        "{}\nfn sneaky(db: pg.Database) -> bool {{\n  pg.execute(db, \"DROP TABLE orders\")\n  return true\n}}\n",
        runbook(&format!(
            "  step s when sneaky(db) {{\n    {GATE}\n    log \"done\"\n  }}"
        ))
    );
    assert_eq!(codes(&source), vec![Code::ActingCondition]);
}

#[test]
fn a_when_condition_may_read() {
    let source = runbook(&format!(
        "  step restart when pg.pool_usage(db) > 70% {{\n    {GATE}\n    k8s.delete_pod(k8s.oldest(k8s.pods(namespace: \"p\", selector: \"a\")))\n  }}"
    ));
    assert_eq!(codes(&source), vec![]);
}

#[test]
fn a_step_title_and_approval_timeout_cannot_act() {
    let title = format!(
        "{}\nfn wipe(db: pg.Database) -> int {{\n  return pg.execute(db, \"DELETE FROM jobs\")\n}}\n",
        runbook(&format!(
            "  step s \"{{wipe(db)}} rows deleted\" {{\n    {GATE}\n    log \"x\"\n  }}"
        ))
    );
    assert_eq!(codes(&title), vec![Code::ActingCondition]);
    let timeout = runbook(
        "  step s {\n    approval required from \"oncall\" timeout 1m * pg.execute(db, \"DELETE FROM jobs\") on timeout deny\n    log \"x\"\n  }",
    );
    assert_eq!(codes(&timeout), vec![Code::ActingCondition]);
}

#[test]
fn runbook_limits_and_trigger_filters_cannot_act() {
    let filter = "use std.postgres as pg\n\nrunbook r {\n  title \"t\"\n  trigger alert \"A\" where pg.execute(pg.connect(secret(\"U\")), \"DELETE FROM jobs\") > 0\n  concurrency 1\n  step s {\n    log \"x\"\n  }\n}\n";
    assert_eq!(codes(filter), vec![Code::ActingCondition]);
    let per = runbook(
        "  concurrency 1 per slack.post(channel: \"#x\", text: \"y\")\n  step s {\n    log \"x\"\n  }",
    );
    assert_eq!(codes(&per), vec![Code::ActingCondition]);
    let by =
        runbook("  rate 1 per 1h by shell.run([secret(\"CMD\")])\n  step s {\n    log \"x\"\n  }");
    assert_eq!(codes(&by), vec![Code::ActingCondition]);
}

#[test]
fn an_input_default_cannot_destroy() {
    let source = runbook("  step s {\n    log \"x\"\n  }").replace(
        "    db: pg.Database = pg.connect(secret(\"URL\"))\n",
        "    db: pg.Database = pg.connect(secret(\"URL\"))\n    killed: int = pg.terminate(db, pg.idle_connections(db, older_than: 1h), max: 5)\n",
    );
    assert_eq!(codes(&source), vec![Code::UngatedDestructiveClause]);
}

#[test]
fn notify_and_escalate_may_write_but_not_destroy() {
    let writes = runbook(
        "  escalate pagerduty.page(service: \"s\", summary: \"{run.summary}\")\n  step s {\n    log \"x\"\n  }\n  notify slack.post(channel: \"#x\", text: \"done\")",
    );
    assert_eq!(codes(&writes), vec![]);
    let notify = runbook(
        "  step s {\n    log \"x\"\n  }\n  notify k8s.rollout_restart(deployment: \"d\", namespace: \"n\")",
    );
    assert_eq!(codes(&notify), vec![Code::UngatedDestructiveClause]);
    let escalate = runbook(
        "  escalate k8s.scale(deployment: \"d\", namespace: \"n\", replicas: 0)\n  step s {\n    log \"x\"\n  }",
    );
    assert_eq!(codes(&escalate), vec![Code::UngatedDestructiveClause]);
}

#[test]
fn a_constant_cannot_call_an_action() {
    let source = format!(
        "{}\nconst PODS: list<k8s.Pod> = k8s.pods(namespace: \"p\", selector: \"a\")\n",
        runbook("  step s {\n    log \"{len(PODS)}\"\n  }")
    );
    assert_eq!(codes(&source), vec![Code::ConstCallsAction]);
    let hidden_in_a_lambda = format!(
        "{}\nconst N: list<int> = map([1], x => pg.execute(pg.connect(secret(\"U\")), \"DELETE FROM jobs\"))\n",
        runbook("  step s {\n    log \"{len(N)}\"\n  }")
    );
    assert_eq!(codes(&hidden_in_a_lambda), vec![Code::ConstCallsAction]);
    let plain = format!(
        "{}\nconst LIMIT: int = 2 * 3\n",
        runbook("  step s {\n    log \"{LIMIT}\"\n  }")
    );
    assert_eq!(codes(&plain), vec![]);
}

#[test]
fn a_fn_parameter_default_counts_as_what_the_call_reaches() {
    // Calling `cleanup(db)` evaluates the default, which terminates sessions: the step is
    // destructive and needs its gate, exactly as if it called `pg.terminate` itself.
    let source = format!(
        "{}\nfn cleanup(db: pg.Database, killed: int = pg.execute(pg.connect(secret(\"U\")), \"DELETE FROM jobs\")) -> int {{\n  return killed\n}}\n",
        runbook("  step s {\n    log \"{cleanup(db)}\"\n  }")
    );
    assert_eq!(codes(&source), vec![Code::UngatedDestructiveStep]);
    let gated = source.replace("  step s {\n", &format!("  step s {{\n    {GATE}\n"));
    assert_eq!(codes(&gated), vec![]);
}

#[test]
fn an_extern_parameter_default_counts_as_what_the_call_reaches() {
    let source = format!(
        "{}\nextern action tidy(rows: int = pg.execute(pg.connect(secret(\"U\")), \"DELETE FROM jobs\")) effect read\n",
        runbook("  step s {\n    tidy()\n  }")
    );
    assert_eq!(codes(&source), vec![Code::UngatedDestructiveStep]);
}

//! Issue 12 item 9: decisions that carry values (`approval required ... ask { ... }`, read as
//! `approval.NAME`) and branch (`step.NAME.failed`): what the checker accepts and refuses.

mod support;

use rbk_compiler::diagnostics::Code;
use support::{analyse, codes};

/// Every code reported for `source`, warnings included, in order.
fn all_codes(source: &str) -> Vec<Code> {
    analyse(source).diagnostics.iter().map(|d| d.code).collect()
}

fn runbook(steps: &str) -> String {
    format!("runbook r {{\n  title \"t\"\n{steps}\n}}\n")
}

#[test]
fn asked_values_are_typed_in_their_step() {
    let source = runbook(
        "  step resize \"s\" {\n    approval required from \"sre\" ask { new_size: int, wait: duration, why: string, ratio: percent, f: float, ok: bool }\n    expect approval.new_size > 2\n    expect approval.wait < 10m\n    expect approval.ratio < 50%\n    expect approval.ok\n    expect approval.f > 1.5\n    log \"{approval.why}\"\n  }",
    );
    assert_eq!(all_codes(&source), vec![]);
}

#[test]
fn an_asked_value_of_the_wrong_type_is_a_type_mismatch() {
    let source = runbook(
        "  step resize \"s\" {\n    approval required ask { new_size: int }\n    expect approval.new_size > 10m\n  }",
    );
    assert_eq!(codes(&source), vec![Code::BadOperands]);
}

#[test]
fn an_asked_value_read_outside_its_step_is_e0109() {
    let asking = "  step resize \"s\" {\n    approval required ask { new_size: int }\n    log \"{approval.new_size}\"\n  }\n";
    for (where_, extra) in [
        (
            "a later step",
            "  step later \"l\" {\n    log \"{approval.new_size}\"\n  }",
        ),
        ("a notify", "  notify log_it(approval.new_size)"),
    ] {
        let source = format!(
            "fn log_it(n: int) -> int {{\n  return n\n}}\n\n{}",
            runbook(&format!("{asking}{extra}"))
        );
        assert_eq!(codes(&source), vec![Code::AskedValueOutOfScope], "{where_}");
    }
    // The `when` is evaluated before anyone is asked.
    let source = runbook(
        "  step resize \"s\" when approval.new_size > 1 {\n    approval required ask { new_size: int }\n    log \"x\"\n  }",
    );
    assert_eq!(codes(&source), vec![Code::AskedValueOutOfScope]);
    // A step whose approval asks nothing, and a name the approval does not ask for.
    let source = runbook(
        "  step a \"a\" {\n    approval required from \"sre\"\n    log \"{approval.new_size}\"\n  }\n  step b \"b\" {\n    approval required ask { new_size: int }\n    log \"{approval.new_sise}\"\n  }",
    );
    let found = analyse(&source);
    let messages: Vec<String> = found
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::AskedValueOutOfScope)
        .map(|d| format!("{} / {}", d.message, d.help))
        .collect();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(
        messages[0].contains("asks its approver for no values"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].contains("did you mean `approval.new_size`"),
        "{}",
        messages[1]
    );
    // In a fn.
    let source = "fn f() -> int {\n  return approval.new_size\n}\n";
    assert_eq!(codes(source), vec![Code::AskedValueOutOfScope]);
}

#[test]
fn a_value_kept_with_let_reaches_later_steps() {
    let source = runbook(
        "  step resize \"s\" {\n    approval required ask { new_size: int }\n    let size = approval.new_size\n  }\n  step later \"l\" {\n    log \"{size}\"\n  }",
    );
    assert_eq!(all_codes(&source), vec![]);
}

#[test]
fn unaskable_types_and_duplicate_fields_are_refused() {
    for ty in [
        "list<string>",
        "secret",
        "time",
        "json",
        "{a: int}",
        "int?",
        "map<string, int>",
    ] {
        let source = runbook(&format!(
            "  step s \"s\" {{\n    approval required ask {{ x: {ty} }}\n    log \"x\"\n  }}"
        ));
        assert_eq!(codes(&source), vec![Code::UnaskableType], "{ty}");
    }
    let source = runbook(
        "  step s \"s\" {\n    approval required ask { x: int, x: string }\n    log \"{approval.x}\"\n  }",
    );
    assert_eq!(codes(&source), vec![Code::DuplicateDefinition]);
    // An unknown type name is reported once, as an unknown name, not also as unaskable.
    let source =
        runbook("  step s \"s\" {\n    approval required ask { x: sise }\n    log \"x\"\n  }");
    assert!(!codes(&source).contains(&Code::UnaskableType));
}

#[test]
fn on_timeout_approve_on_a_gate_that_asks_is_e0308() {
    let source = runbook(
        "  step s \"s\" {\n    approval required timeout 5m on timeout approve ask { n: int }\n    log \"{approval.n}\"\n  }",
    );
    assert_eq!(codes(&source), vec![Code::AskedWithAutoApprove]);
    let source = runbook(
        "  step s \"s\" {\n    approval required timeout 5m on timeout deny ask { n: int }\n    log \"{approval.n}\"\n  }",
    );
    assert_eq!(codes(&source), vec![]);
}

#[test]
fn test_approval_values_must_fit_the_gate() {
    let runbook_text = runbook(
        "  step resize \"s\" {\n    approval required ask { new_size: int }\n    log \"{approval.new_size}\"\n  }\n  step plain \"p\" {\n    approval required\n    log \"x\"\n  }",
    );
    let with = |approvals: &str| {
        codes(&format!(
            "{runbook_text}\ntest \"t\" {{\n{approvals}\n  run r\n}}\n"
        ))
    };
    assert_eq!(
        with("  approve resize as \"frank\" with { new_size: 5 }\n  approve plain"),
        vec![]
    );
    assert_eq!(
        with("  approve resize with { new_size: \"five\" }\n  approve plain"),
        vec![Code::ApprovalValuesMismatch]
    );
    assert_eq!(
        with("  approve resize with { new_size: 5, force: true }\n  approve plain"),
        vec![Code::ApprovalValuesMismatch]
    );
    assert_eq!(
        with("  approve resize with { new_size: 5 }\n  approve plain with { new_size: 5 }"),
        vec![Code::ApprovalValuesMismatch]
    );
}

#[test]
fn a_later_step_branches_on_an_earlier_outcome() {
    let source = runbook(
        "  step check \"c\" {\n    on failure continue\n    fail \"x\"\n  }\n  step maybe \"m\" when len(\"ab\") > 1 {\n    log \"m\"\n  }\n  step fix \"f\" when step.check.failed {\n    if step.maybe.skipped or step.maybe.succeeded {\n      log \"a\"\n    }\n    expect not step.check.succeeded\n  }\n  notify log_it(step.fix.succeeded)",
    );
    let source = format!("fn log_it(b: bool) -> bool {{\n  return b\n}}\n\n{source}");
    assert_eq!(all_codes(&source), vec![]);
}

#[test]
fn reading_a_later_unknown_or_own_step_is_refused() {
    let later = runbook(
        "  step a \"a\" when step.b.failed {\n    log \"a\"\n  }\n  step b \"b\" {\n    on failure continue\n    log \"b\"\n  }",
    );
    assert_eq!(codes(&later), vec![Code::StepOutcomeNotYetKnown]);
    let own = runbook("  step a \"a\" {\n    expect not step.a.failed\n  }");
    assert_eq!(codes(&own), vec![Code::StepOutcomeNotYetKnown]);
    let unknown = runbook(
        "  step check \"c\" {\n    on failure continue\n    log \"c\"\n  }\n  step b \"b\" when step.chek.failed {\n    log \"b\"\n  }",
    );
    let found = analyse(&unknown);
    let unknown_step: Vec<_> = found
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownStep)
        .collect();
    assert_eq!(unknown_step.len(), 1, "{:#?}", found.diagnostics);
    assert!(unknown_step[0].help.contains("did you mean `check`"));
    let in_fn = "fn f() -> bool {\n  return step.a.failed\n}\n";
    assert_eq!(codes(in_fn), vec![Code::StepOutcomeNotYetKnown]);
    let in_escalate = runbook(
        "  escalate log_it(step.a.failed)\n  step a \"a\" {\n    on failure continue\n    log \"a\"\n  }",
    );
    let in_escalate = format!("fn log_it(b: bool) -> bool {{\n  return b\n}}\n\n{in_escalate}");
    assert_eq!(codes(&in_escalate), vec![Code::StepOutcomeNotYetKnown]);
}

#[test]
fn an_outcome_that_cannot_be_seen_is_w0108() {
    for (earlier, read) in [
        ("", "failed"),
        ("", "skipped"),
        ("", "denied"),
        ("    on failure continue\n", "denied"),
    ] {
        let source = runbook(&format!(
            "  step a \"a\" {{\n{earlier}    log \"a\"\n  }}\n  step b \"b\" when step.a.{read} {{\n    log \"b\"\n  }}"
        ));
        assert_eq!(
            all_codes(&source),
            vec![Code::StepOutcomeNeverSeen],
            "{read}"
        );
    }
    let fine = runbook(
        "  step a \"a\" when len(\"x\") > 0 {\n    on failure continue\n    log \"a\"\n  }\n  step b \"b\" when step.a.failed or step.a.skipped or step.a.succeeded {\n    log \"b\"\n  }",
    );
    assert_eq!(all_codes(&fine), vec![]);
}

#[test]
fn a_proven_success_makes_the_steps_lets_readable() {
    let base =
        "  step a \"a\" {\n    on failure continue\n    let lag = 3\n    expect lag < 2\n  }\n";
    let when_ok = runbook(&format!(
        "{base}  step b \"b\" when step.a.succeeded and len(\"x\") > 0 {{\n    log \"{{lag}}\"\n  }}"
    ));
    assert_eq!(all_codes(&when_ok), vec![]);
    let if_ok = runbook(&format!(
        "{base}  step b \"b\" {{\n    if step.a.succeeded {{\n      log \"{{lag}}\"\n    }}\n  }}"
    ));
    assert_eq!(all_codes(&if_ok), vec![]);
    // `failed`, `or` and `else` prove nothing.
    for body in [
        "    if step.a.failed {\n      log \"{lag}\"\n    }",
        "    if step.a.succeeded or len(\"x\") > 0 {\n      log \"{lag}\"\n    }",
        "    if step.a.succeeded {\n      log \"ok\"\n    } else {\n      log \"{lag}\"\n    }",
        "    log \"{lag}\"",
    ] {
        let source = runbook(&format!("{base}  step b \"b\" {{\n{body}\n  }}"));
        assert_eq!(codes(&source), vec![Code::MaybeUnset], "{body}");
    }
}

#[test]
fn ask_is_still_a_name_elsewhere() {
    let source = runbook("  step s \"s\" {\n    let ask = 3\n    log \"{ask}\"\n  }");
    assert_eq!(all_codes(&source), vec![]);
}

//! Issue 12: what the checker catches that bit real runbooks, and what it accepts for reading
//! command output: repeated clauses, regular expressions, the `json` type, shell effects.

mod support;

use rbk_compiler::diagnostics::Code;
use support::{analyse, codes};

#[test]
fn a_clause_given_twice_is_an_error_naming_both() {
    for (clause, again) in [
        ("title \"a\"", "title \"b\""),
        ("owner \"dba\"", "owner \"sre\""),
        ("trigger alert \"A\"", "trigger schedule \"0 * * * *\""),
        ("timeout 5m", "timeout 10m"),
        ("escalate none_at_all()", "escalate none_at_all()"),
        ("concurrency 1", "concurrency 2"),
        ("rate 1 per 1h", "rate 2 per 1h"),
        ("mode shadow", "mode live"),
    ] {
        let source = format!(
            "fn none_at_all() -> int {{\n  return 1\n}}\n\nrunbook r {{\n  {clause}\n  {again}\n  step s \"s\" {{\n    log \"x\"\n  }}\n}}\n"
        );
        let analysis = analyse(&source);
        let repeated: Vec<_> = analysis
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::DuplicateDefinition)
            .collect();
        assert_eq!(repeated.len(), 1, "{clause}: {:#?}", analysis.diagnostics);
        let diagnostic = repeated[0];
        assert_eq!(
            &source[diagnostic.primary.span.start..diagnostic.primary.span.end],
            again
        );
        assert_eq!(
            &source[diagnostic.secondary[0].span.start..diagnostic.secondary[0].span.end],
            clause
        );
    }
}

#[test]
fn literal_patterns_are_compiled_and_built_ones_are_left_to_the_run() {
    let with = |pattern: &str| {
        codes(&format!(
            "runbook r {{\n  title \"t\"\n  input {{\n    p: string = \"x\"\n  }}\n  step s \"s\" {{\n    expect matches(\"abc\", {pattern})\n  }}\n}}\n"
        ))
    };
    assert_eq!(with("\"(a\""), vec![Code::BadPattern]);
    assert_eq!(with("\"a+\\\\d\""), vec![]);
    assert_eq!(with("\"({p}\""), vec![]);
    assert_eq!(with("p"), vec![]);
}

#[test]
fn json_is_read_by_field_and_index_and_converted_before_use() {
    let body = |stmts: &str| {
        codes(&format!(
            "runbook r {{\n  title \"t\"\n  input {{\n    text: string = \"\\{{}}\"\n  }}\n  step s \"s\" {{\n{stmts}\n  }}\n}}\n"
        ))
    };
    assert_eq!(
        body("    let doc = json(text)\n    let n = int(doc.items[0].count) + 1\n    expect doc.ok == true and len(doc.items) > n and doc[\"k\"] != none\n    for item in doc.items {\n      log \"{string(item.name)}\"\n    }"),
        vec![]
    );
    // A part of a document is `json`, not an int: it must be converted first.
    assert_eq!(
        body("    let doc = json(text)\n    let n = doc.count + 1\n    log \"{n}\""),
        vec![Code::BadOperands]
    );
    // A secret is never text: not to trim, not to parse.
    assert_eq!(
        body("    let doc = json(secret(\"TOKEN\"))\n    log \"{string(doc)}\""),
        vec![Code::TypeMismatch]
    );
}

#[test]
fn shell_run_of_a_written_out_read_command_needs_no_gate() {
    let step = |argv: &str| {
        codes(&format!(
            "use std.shell\n\nrunbook r {{\n  title \"t\"\n  input {{\n    ns: string = \"prod\"\n  }}\n  step s \"s\" {{\n    let out = shell.run({argv})\n    log \"{{out}}\"\n  }}\n}}\n"
        ))
    };
    assert_eq!(step("[\"kubectl\", \"get\", \"pods\", \"-n\", ns]"), vec![]);
    assert_eq!(
        step("[\"kubectl\", \"delete\", \"pod\", \"x\", \"-n\", ns]").first(),
        Some(&Code::UngatedDestructiveStep)
    );
    assert_eq!(
        step("[\"kubectl\", ns, \"pods\"]").first(),
        Some(&Code::UngatedDestructiveStep)
    );
}

#[test]
fn a_let_of_a_step_that_may_be_skipped_or_fail_is_not_read_after_it() {
    let with = |first_step: &str, reader: &str| {
        codes(&format!(
            "runbook r {{\n  title \"t\"\n  input {{\n    n: int = 3\n  }}\n  {first_step} {{\n    let x = n + 1\n    log \"{{x}}\"\n  }}\n  {reader}\n}}\n"
        ))
    };
    let later_step = "step b \"b\" {\n    log \"{x}\"\n  }";
    assert_eq!(with("step a \"a\"", later_step), vec![]);
    assert_eq!(
        with("step a \"a\" when n > 2", later_step),
        vec![Code::MaybeUnset]
    );
    assert_eq!(
        with(
            "step a \"a\" when n > 2",
            "step b \"b {x}\" when x > 1 {\n    log \"b\"\n  }"
        ),
        vec![Code::MaybeUnset, Code::MaybeUnset]
    );
    // A step that may fail while the run goes on.
    assert_eq!(
        codes("runbook r {\n  title \"t\"\n  step a \"a\" {\n    on failure continue\n    let x = 1\n    log \"{x}\"\n  }\n  step b \"b\" {\n    log \"{x}\"\n  }\n}\n"),
        vec![Code::MaybeUnset]
    );
}

#[test]
fn a_destructive_call_per_element_of_a_list_is_bounded_only_by_a_real_bound() {
    let blast = |body: &str| {
        analyse(&format!(
            "use std.k8s\n\nrunbook r {{\n  title \"t\"\n  escalate none_at_all()\n  step s \"s\" {{\n    approval required from \"sre\"\n    let pods = k8s.pods(namespace: \"prod\", selector: \"app=api\")\n    let all = k8s.pods(namespace: \"prod\", selector: \"\")\n{body}\n  }}\n}}\n\nfn none_at_all() -> int {{\n  return 1\n}}\n"
        ))
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnboundedBlastRadius)
        .count()
    };
    let in_map = "    let gone = map(pods, p => k8s.delete_pod(p))\n    log \"{len(gone)}\"";
    assert_eq!(blast(in_map), 1);
    assert_eq!(blast(&format!("    expect len(pods) <= 2\n{in_map}")), 0);
    // Bounded by another list's length only when that list is bounded.
    assert_eq!(
        blast(&format!("    expect len(pods) <= len(all)\n{in_map}")),
        1
    );
    assert_eq!(
        blast(&format!(
            "    expect len(all) <= 5\n    expect len(pods) <= len(all)\n{in_map}"
        )),
        0
    );
    let in_filter =
        "    let kept = filter(pods, p => k8s.delete_pod(p) == none)\n    log \"{len(kept)}\"";
    assert_eq!(blast(in_filter), 1);
}

#[test]
fn the_plan_shows_polling_notify_arguments_and_what_an_escalate_fn_can_do() {
    let source = "use std.pagerduty\nuse std.slack\n\nfn page_and_tell(text: string) {\n  slack.post(channel: \"#ops\", text: text)\n  pagerduty.page(service: \"ops\", summary: text)\n}\n\nrunbook r {\n  title \"t\"\n  input {\n    n: int = 3\n  }\n  escalate page_and_tell(\"needs a human: {run.summary}\")\n  verify settles \"Settles\" {\n    expect n < 5 within 2m every 10s\n  }\n  notify slack.post(channel: \"#ops\", text: \"n is {n}\")\n}\n";
    let analysis = analyse(source);
    assert!(!analysis.has_errors(), "{:#?}", analysis.diagnostics);
    let module = analysis.module(analysis.roots[0]);
    let plans = rbk_compiler::plan::build(&analysis, module);
    let shown = plans[0].to_string();
    assert!(
        shown.contains("polls:     n < 5 within 2m every 10s"),
        "{shown}"
    );
    assert!(
        shown.contains("slack.post(channel: \"#ops\", text: \"n is {n}\")  (failure is logged"),
        "{shown}"
    );
    let escalate = plans[0].escalate.as_ref().expect("an escalate clause");
    let reached: Vec<&str> = escalate.actions.iter().map(|a| a.action.as_str()).collect();
    assert!(
        reached.contains(&"slack.post") && reached.contains(&"pagerduty.page"),
        "{reached:?}"
    );
}

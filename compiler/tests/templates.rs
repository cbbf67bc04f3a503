//! Runbook templates: every instance is a runbook of its own (its own values, gates, plan and
//! expression ids), and an instance that does not fit its template never becomes a runbook.

mod support;

use rbk_compiler::diagnostics::Code;
use rbk_compiler::plan;
use rbk_compiler::syntax::{ClauseKind, ExprKind, ItemKind, StepOptionKind, Trigger};
use support::{analyse, codes, errors};

const FLEET: &str = r#"use std.k8s
use std.pagerduty

template restart_app(app: string, group: string, pager: string, max: int = 2, wait: duration = 5m) {
  title "Restart {app}"
  trigger alert "AppDown" where alert.labels["app"] == app
  concurrency 1
  rate max per 1h
  escalate pagerduty.page(service: pager, summary: "{app}: {run.summary}")

  step restart "Restart {app}" {
    approval required from "{group}" timeout wait on timeout deny
    k8s.rollout_restart(deployment: app, namespace: "prod")
  }
}

runbook orders = restart_app(app: "orders", group: "orders-oncall", pager: "orders")
runbook billing = restart_app("billing", "billing-oncall", "billing", max: 5, wait: 10m)
"#;

fn runbook<'a>(
    analysis: &'a rbk_compiler::Analysis,
    name: &str,
) -> &'a rbk_compiler::syntax::Runbook {
    analysis.modules[0]
        .ast
        .items
        .iter()
        .find_map(|item| match &item.kind {
            ItemKind::Runbook(r) if r.name.name == name => Some(r),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no runbook {name}"))
}

#[test]
fn each_instance_is_a_runbook_with_its_own_values() {
    let analysis = analyse(FLEET);
    assert_eq!(errors(FLEET), vec![], "{:#?}", analysis.diagnostics);
    for (name, app, group, limit) in [
        ("orders", "orders", "orders-oncall", 2),
        ("billing", "billing", "billing-oncall", 5),
    ] {
        let runbook = runbook(&analysis, name);
        let origin = runbook.template.as_ref().expect("made from a template");
        assert_eq!(origin.name.name, "restart_app");
        for clause in &runbook.clauses {
            match &clause.kind {
                ClauseKind::Title(title) => assert_eq!(title.value, format!("Restart {app}")),
                ClauseKind::Trigger(Trigger::Alert { name, .. }) => {
                    assert_eq!(name.value, "AppDown")
                }
                ClauseKind::Rate { limit: e, .. } => {
                    assert!(matches!(e.kind, ExprKind::Int(n) if n == limit), "{e:?}")
                }
                ClauseKind::Step(step) => {
                    let StepOptionKind::ApprovalRequired { group: Some(g), .. } =
                        &step.options[0].kind
                    else {
                        panic!("the gate is kept")
                    };
                    assert_eq!(g.value, group);
                }
                _ => {}
            }
        }
    }
    // The template's instances do not share expression ids: the checker's tables are per id.
    let ids = |name: &str| {
        let mut ids = Vec::new();
        for clause in &runbook(&analysis, name).clauses {
            if let ClauseKind::Escalate(e) = &clause.kind {
                rbk_compiler::syntax::visit::walk_expr(e, &mut |e| ids.push(e.id));
            }
        }
        ids
    };
    let (orders, billing) = (ids("orders"), ids("billing"));
    assert!(!orders.is_empty());
    assert!(orders.iter().all(|id| !billing.contains(id)));
}

#[test]
fn each_instance_has_its_own_plan_and_gate() {
    let analysis = analyse(FLEET);
    let plans = plan::build(&analysis, &analysis.modules[0]);
    let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["orders", "billing"]);
    assert_eq!(
        plans[0].template.as_deref(),
        Some(
            r#"restart_app(app: "orders", group: "orders-oncall", pager: "orders", max: 2, wait: 5m)"#
        )
    );
    assert_eq!(
        plans[1].template.as_deref(),
        Some(
            r#"restart_app(app: "billing", group: "billing-oncall", pager: "billing", max: 5, wait: 10m)"#
        )
    );
    assert_eq!(
        plans[0].steps[0].gate,
        r#"required from "orders-oncall" timeout wait on timeout deny"#
    );
    assert_eq!(
        plans[1].steps[0].gate,
        r#"required from "billing-oncall" timeout wait on timeout deny"#
    );
    assert_eq!(plans[1].steps[0].effect, "destructive");
}

#[test]
fn a_destructive_step_in_a_template_still_needs_its_gate() {
    let source = FLEET.replace(
        "    approval required from \"{group}\" timeout wait on timeout deny\n",
        "",
    );
    // Reported once for the template's step, not once per instance.
    assert_eq!(codes(&source), vec![Code::UngatedDestructiveStep]);
}

#[test]
fn an_unknown_template_is_reported_and_makes_no_runbook() {
    let source = format!(
        "{FLEET}runbook search = restart_ap(app: \"search\", group: \"g\", pager: \"p\")\n"
    );
    let analysis = analyse(&source);
    assert_eq!(codes(&source), vec![Code::UnknownTemplate]);
    let error = &errors(&source)[0];
    assert!(error.help.contains("`restart_app`"), "{}", error.help);
    assert!(analysis.modules[0].ast.items.iter().all(|item| !matches!(
        &item.kind,
        ItemKind::Runbook(r) if r.name.name == "search"
    )));
}

#[test]
fn arguments_that_do_not_fit_are_refused() {
    for (args, wanted, message) in [
        (
            r#"app: "a", group: "g""#,
            Code::TemplateArguments,
            "`pager` is missing",
        ),
        (
            r#"app: "a", group: "g", pager: "p", size: 3"#,
            Code::TemplateArguments,
            "has no parameter `size`",
        ),
        (
            r#"app: "a", group: "g", pager: "p", app: "b""#,
            Code::TemplateArguments,
            "`app` is given twice",
        ),
        (
            r#""a", "g", "p", 1, 5m, 7"#,
            Code::TemplateArguments,
            "takes 5 arguments",
        ),
        (
            r#"app: "a", "g", pager: "p""#,
            Code::TemplateArguments,
            "positional argument after a named one",
        ),
        (
            r#"app: "a", group: "g", pager: "p", max: "two""#,
            Code::TemplateArgumentNotLiteral,
            "`max` must be a literal int, not a string",
        ),
        (
            r#"app: "a", group: "g", pager: env("PAGER")"#,
            Code::TemplateArgumentNotLiteral,
            "not a call",
        ),
        (
            r#"app: "a-{1}", group: "g", pager: "p""#,
            Code::TemplateArgumentNotLiteral,
            "not an interpolated string",
        ),
    ] {
        let source = format!("{FLEET}runbook extra = restart_app({args})\n");
        let found = errors(&source);
        // A positional argument after a named one also leaves its parameter missing.
        assert!(
            !found.is_empty() && found.iter().all(|d| d.code == wanted),
            "{args}: {found:#?}"
        );
        assert!(
            found.iter().any(|d| d.message.contains(message)),
            "{args}: {found:#?}"
        );
        let analysis = analyse(&source);
        assert!(
            analysis.modules[0].ast.items.iter().all(|item| !matches!(
                &item.kind,
                ItemKind::Runbook(r) if r.name.name == "extra"
            )),
            "{args}: an instance that does not fit makes no runbook"
        );
    }
}

#[test]
fn a_parameter_cannot_be_bound_again_inside_its_template() {
    let source = FLEET.replace(
        "    k8s.rollout_restart(deployment: app, namespace: \"prod\")\n",
        "    let app = \"other\"\n    k8s.rollout_restart(deployment: app, namespace: \"prod\")\n",
    );
    assert_eq!(codes(&source), vec![Code::TemplateParamRebound]);
    let lambda = FLEET.replace(
        "    k8s.rollout_restart(deployment: app, namespace: \"prod\")\n",
        "    let pods = k8s.pods(namespace: \"prod\", selector: \"app={app}\")\n    expect all(pods, max => max.restarts < 3)\n    k8s.rollout_restart(deployment: app, namespace: \"prod\")\n",
    );
    assert_eq!(codes(&lambda), vec![Code::TemplateParamRebound]);
}

#[test]
fn a_placeholder_that_names_no_parameter_is_unknown() {
    let source = FLEET.replace("title \"Restart {app}\"", "title \"Restart {service}\"");
    let found = errors(&source);
    assert_eq!(
        found.iter().map(|d| d.code).collect::<Vec<_>>(),
        vec![Code::UnknownName]
    );
    assert!(
        found[0].message.contains("`{service}`"),
        "{}",
        found[0].message
    );
    // An escaped brace is text, not a placeholder.
    let escaped = FLEET.replace("title \"Restart {app}\"", "title \"Restart \\{app}\"");
    assert_eq!(errors(&escaped), vec![]);
    let analysis = analyse(&escaped);
    let title = runbook(&analysis, "orders")
        .clauses
        .iter()
        .find_map(|c| match &c.kind {
            ClauseKind::Title(t) => Some(t.value.clone()),
            _ => None,
        });
    assert_eq!(title.as_deref(), Some("Restart {app}"));
}

#[test]
fn plain_text_outside_a_template_still_refuses_interpolation() {
    let source = "runbook r {\n  title \"Restart {app}\"\n}\n";
    assert_eq!(codes(source), vec![Code::InterpolationNotAllowed]);
}

#[test]
fn two_instances_with_one_name_are_a_duplicate() {
    let source =
        format!("{FLEET}runbook orders = restart_app(app: \"x\", group: \"g\", pager: \"p\")\n");
    assert_eq!(codes(&source), vec![Code::DuplicateDefinition]);
}

//! Issue 10: the `mode` clause, several alerts in a test, and what a test's alerts did, as the
//! checker sees them: what it accepts, and the diagnostic for what it refuses (snapshotted).

mod support;

use rbk_compiler::diagnostics::{Code, Diagnostic};
use rbk_compiler::plan;
use support::{analyse, codes, errors, runbook};

/// A diagnostic as a reviewer reads it: code, message, the text each label points at, help.
fn describe(source: &str, diagnostic: &Diagnostic) -> String {
    let text = |span: rbk_compiler::syntax::Span| &source[span.start..span.end];
    let mut out = format!(
        "{}: {}\n  here: `{}` ({})\n",
        diagnostic.code.as_str(),
        diagnostic.message,
        text(diagnostic.primary.span),
        diagnostic.primary.message
    );
    for label in &diagnostic.secondary {
        out.push_str(&format!(
            "  also: `{}` ({})\n",
            text(label.span),
            label.message
        ));
    }
    out.push_str(&format!("  help: {}\n", diagnostic.help));
    out
}

#[test]
fn mode_shadow_checks_and_shows_in_the_plan() {
    let source =
        runbook("  trigger alert \"A\"\n  concurrency 1\n  mode shadow\n  step s { log \"x\" }");
    assert_eq!(codes(&source), vec![]);
    let analysis = analyse(&source);
    let plans = plan::build(&analysis, analysis.module(analysis.roots[0]));
    assert_eq!(plans[0].mode, "shadow");
    assert!(plans[0].to_string().contains("  mode:     shadow"));
    let live = analyse(&runbook("  step s { log \"x\" }"));
    let plans = plan::build(&live, live.module(live.roots[0]));
    assert_eq!(plans[0].mode, "live", "live when no mode is written");
}

#[test]
fn a_second_mode_clause_is_a_duplicate() {
    let source = runbook("  mode shadow\n  step s { log \"x\" }\n  mode live");
    let found = errors(&source);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].code, Code::DuplicateDefinition);
    insta::assert_snapshot!(describe(&source, &found[0]));
}

#[test]
fn test_alerts_are_typed_like_alerts() {
    let ok = format!(
        "{}\ntest \"t\" {{\n  run r alerts [{{labels: {{\"db\": \"a\"}}, ends_at: none}}, {{name: \"A\", starts_at: now()}}]\n  expect triggered times 1\n  expect not coalesced\n  expect not suppressed\n}}\n",
        runbook("  trigger alert \"A\"\n  concurrency 1\n  step s { log \"{alert.ends_at ?? alert.starts_at}\" }")
    );
    assert_eq!(codes(&ok), vec![]);
    let bad = format!(
        "{}\ntest \"t\" {{\n  run r alerts [{{labels: {{\"db\": \"a\"}}}}, {{severity: \"page\"}}]\n}}\n",
        runbook("  trigger alert \"A\"\n  concurrency 1\n  step s { log \"x\" }")
    );
    let found = errors(&bad);
    assert_eq!(found.len(), 1, "{found:#?}");
    insta::assert_snapshot!(describe(&bad, &found[0]));
}

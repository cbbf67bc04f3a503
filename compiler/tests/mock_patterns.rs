//! Issue 12: mocks that see arguments (`mock X(p) where ... returns ...`, `expect called
//! X(p) where ...`) are checked against the extern's parameters; and a user `extern action`
//! must describe a native implementation the embedder says it has (E0309).

mod support;

use std::path::PathBuf;

use rbk_compiler::diagnostics::{Code, Diagnostic};
use rbk_compiler::lints::natives::{NativeCatalog, NativeSignature};
use rbk_compiler::project::StdOnly;
use rbk_compiler::syntax::Effect;
use rbk_compiler::{check, CheckOptions};
use support::analyse;

/// A runbook reading logs and deleting a pod, and a test with the given lines before `run`.
fn test_with(lines: &str) -> String {
    format!(
        "use std.k8s\nuse std.shell\n\n\
         fn first_pod(pods: list<k8s.Pod>) -> k8s.Pod {{\n  return pods[0]\n}}\n\n\
         runbook r {{\n  title \"t\"\n  step look \"look\" {{\n    let text = k8s.logs(k8s.pod(\"api-1\"), tail: 50)\n    log \"{{text}}\"\n  }}\n}}\n\n\
         test \"t\" {{\n{lines}\n  run r\n}}\n"
    )
}

fn all_codes(source: &str) -> Vec<Code> {
    analyse(source).diagnostics.iter().map(|d| d.code).collect()
}

fn only(source: &str, code: Code) -> Diagnostic {
    let analysis = analyse(source);
    let found: Vec<&Diagnostic> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .collect();
    assert_eq!(found.len(), 1, "{:#?}", analysis.diagnostics);
    found[0].clone()
}

fn text_at(source: &str, diagnostic: &Diagnostic) -> String {
    source[diagnostic.primary.span.start..diagnostic.primary.span.end].to_string()
}

#[test]
fn well_formed_patterns_check_clean() {
    for line in [
        "  mock k8s.logs(p, 50) where p.name == \"api-1\" and p.restarts >= 0 returns \"x\"",
        "  mock k8s.logs(p) where p.labels[\"app\"] == \"api\" returns \"x\"",
        "  mock k8s.logs(_, _) returns \"x\"",
        "  mock k8s.logs(p, n) where n > 10 returns [\"a\", \"b\"]",
        "  mock shell.run([\"kubectl\", \"get\", ..]) returns \"x\"",
        "  mock shell.run([], 30s) returns \"x\"",
        "  mock shell.run([cmd, ..], t) where t > 1s returns \"x\"",
        "  mock k8s.delete_pod(p) where p.name == \"api-1\" fails \"forbidden\"",
        "  let wanted = \"api-1\"\n  mock k8s.delete_pod(p) where p.name == wanted returns none",
        "  expect called k8s.logs(p, 50) where p.name == \"api-1\" times 1",
        "  expect not called k8s.delete_pod(p) where p.name != \"api-1\"",
    ] {
        let source = test_with(line);
        assert_eq!(all_codes(&source), Vec::<Code>::new(), "{line}");
    }
}

#[test]
fn more_patterns_than_parameters_or_fewer_than_required_is_e0220() {
    let source = test_with("  mock k8s.logs(p, 50, \"app\", false, \"stderr\") returns \"x\"");
    let diagnostic = only(&source, Code::PatternArity);
    assert_eq!(
        text_at(&source, &diagnostic),
        "(p, 50, \"app\", false, \"stderr\")"
    );
    assert!(
        diagnostic.message.contains("1 to 4"),
        "{}",
        diagnostic.message
    );
    assert!(diagnostic.primary.message.contains("pod, tail"));

    let source = test_with("  mock k8s.logs() returns \"x\"");
    only(&source, Code::PatternArity);
    let source = test_with("  expect called k8s.delete_pod(p, q)");
    only(&source, Code::PatternArity);
}

#[test]
fn a_pattern_of_another_type_can_never_match_e0221() {
    let source = test_with("  mock k8s.logs(p, \"50\") returns \"x\"");
    let diagnostic = only(&source, Code::PatternNeverMatches);
    assert_eq!(text_at(&source, &diagnostic), "\"50\"");
    assert!(
        diagnostic.message.contains("`tail`"),
        "{}",
        diagnostic.message
    );

    // A list pattern for a record parameter.
    let source = test_with("  mock k8s.delete_pod([p, ..]) returns none");
    let diagnostic = only(&source, Code::PatternNeverMatches);
    assert_eq!(text_at(&source, &diagnostic), "[p, ..]");

    // Inside a list: the element type counts.
    let source = test_with("  mock shell.run([\"kubectl\", 5, ..]) returns \"x\"");
    let diagnostic = only(&source, Code::PatternNeverMatches);
    assert_eq!(text_at(&source, &diagnostic), "5");
}

#[test]
fn a_where_that_is_not_a_bool_is_e0205_and_sees_the_bound_types() {
    let source = test_with("  mock k8s.delete_pod(p) where p.name returns none");
    let diagnostic = only(&source, Code::ConditionNotBool);
    assert_eq!(text_at(&source, &diagnostic), "p.name");

    let source = test_with("  expect called k8s.logs(p, n) where n");
    only(&source, Code::ConditionNotBool);

    // The bound name has the parameter's type: a Pod has no field `nme`.
    let source = test_with("  mock k8s.delete_pod(p) where p.nme == \"x\" returns none");
    assert!(
        all_codes(&source).contains(&Code::UnknownMember),
        "{:?}",
        all_codes(&source)
    );

    // The names are the where's alone: not visible after the mock.
    let source = test_with("  mock k8s.delete_pod(p) returns none\n  expect p.name == \"x\"");
    assert!(
        all_codes(&source).contains(&Code::UnknownName),
        "{:?}",
        all_codes(&source)
    );
}

#[test]
fn a_name_bound_twice_is_e0104() {
    let source = test_with("  mock k8s.logs(p, p) returns \"x\"");
    let diagnostic = only(&source, Code::DuplicateDefinition);
    assert_eq!(diagnostic.secondary.len(), 1);
}

#[test]
fn patterns_on_a_fn_are_refused_like_any_mock_of_a_fn() {
    let source = test_with("  mock first_pod(pods) where len(pods) > 0 returns k8s.pod(\"x\")");
    only(&source, Code::NotMockable);
    let source = test_with("  expect not called first_pod(pods)");
    only(&source, Code::NotMockable);
}

#[test]
fn a_mock_after_one_that_takes_every_call_is_unreachable_w0109() {
    for (lines, unreachable) in [
        (
            "  mock k8s.logs returns \"a\"\n  mock k8s.logs(p, _) where p.name == \"x\" returns \"b\"",
            Some("mock k8s.logs(p, _) where p.name == \"x\" returns \"b\""),
        ),
        (
            "  mock k8s.logs(_, n) returns \"a\"\n  mock k8s.logs returns \"b\"",
            Some("mock k8s.logs returns \"b\""),
        ),
        // The narrower mock first, the fallback last: both reachable.
        (
            "  mock k8s.logs(p, _) where p.name == \"x\" returns \"b\"\n  mock k8s.logs returns \"a\"",
            None,
        ),
        // A literal or a `where` narrows a mock.
        (
            "  mock k8s.logs(_, 50) returns \"b\"\n  mock k8s.logs(_, 60) returns \"a\"\n  mock k8s.logs(p) where true returns \"c\"\n  mock k8s.logs returns \"d\"",
            None,
        ),
        // Mocks of other actions do not count.
        (
            "  mock k8s.delete_pod returns none\n  mock k8s.logs returns \"a\"",
            None,
        ),
    ] {
        let source = test_with(lines);
        let analysis = analyse(&source);
        let warnings: Vec<&Diagnostic> = analysis
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::UnreachableMock)
            .collect();
        match unreachable {
            Some(text) => {
                assert_eq!(warnings.len(), 1, "{lines}: {:#?}", analysis.diagnostics);
                assert_eq!(text_at(&source, warnings[0]), text);
                assert_eq!(warnings[0].secondary.len(), 1);
            }
            None => assert!(warnings.is_empty(), "{lines}: {warnings:#?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// E0309: user externs and the natives
// ---------------------------------------------------------------------------------------------

fn natives() -> NativeCatalog {
    let mut catalog = NativeCatalog::new();
    catalog.insert(
        "shell.run".into(),
        NativeSignature {
            arity: 2,
            effect: Effect::Destructive,
            safe_to_auto_approve: false,
        },
    );
    catalog.insert(
        "k8s.logs".into(),
        NativeSignature {
            arity: 2,
            effect: Effect::Read,
            safe_to_auto_approve: false,
        },
    );
    catalog
}

fn extern_codes(file: &str, source: &str, options: &CheckOptions) -> Vec<Diagnostic> {
    check(
        vec![(PathBuf::from(file), source.to_string())],
        &StdOnly(rbk_std::MODULES),
        options,
    )
    .diagnostics
    .into_iter()
    .filter(|d| d.code == Code::ExternWithoutNative)
    .collect()
}

#[test]
fn a_user_extern_nothing_implements_is_e0309() {
    let source = "extern action kubectl_pods(namespace: string) -> string effect read\n";
    let options = CheckOptions::default().with_natives(natives());
    let found = extern_codes("tools.rbk", source, &options);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(text_at(source, &found[0]), "kubectl_pods");
    assert!(
        found[0].message.contains("tools.kubectl_pods"),
        "{}",
        found[0].message
    );
    // An embedder that runs its own externs (library tests) passes no catalogue.
    assert!(extern_codes("tools.rbk", source, &CheckOptions::default()).is_empty());
}

#[test]
fn a_user_extern_over_a_native_must_promise_as_much_as_it_does() {
    let options = CheckOptions::default().with_natives(natives());
    // `shell.rbk` re-declaring `run` as a read would take commands past the approval gate.
    let weaker =
        "extern action run(argv: list<secret>, timeout: duration = 60s) -> string effect read\n";
    let found = extern_codes("shell.rbk", weaker, &options);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].message.contains("`read`") && found[0].message.contains("`destructive`"));

    let fewer = "extern action run(argv: list<secret>) -> string effect destructive\n";
    let found = extern_codes("shell.rbk", fewer, &options);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].message.contains("1 parameters"),
        "{}",
        found[0].message
    );

    let auto = "extern action run(argv: list<secret>, timeout: duration = 60s) -> string effect destructive safe_to_auto_approve\n";
    assert_eq!(extern_codes("shell.rbk", auto, &options).len(), 1);

    // As std declares it, or stronger: accepted.
    let same = "extern action run(argv: list<secret>, timeout: duration = 60s) -> string effect destructive\n";
    assert!(extern_codes("shell.rbk", same, &options).is_empty());
    let stronger = "extern action logs(pod: string, tail: int = 100) -> string effect write\n";
    assert!(extern_codes("k8s.rbk", stronger, &options).is_empty());
}

#[test]
fn std_externs_are_not_checked_against_the_catalogue() {
    // The catalogue here lacks most of std; std's externs are held to the natives by stdlib's
    // own test, not by every check.
    let source = "use std.postgres as pg\nuse std.slack\n\nrunbook r {\n  title \"t\"\n  step s \"s\" {\n    slack.post(channel: \"#x\", text: \"y\")\n  }\n}\n";
    let options = CheckOptions::default().with_natives(natives());
    assert!(extern_codes("r.rbk", source, &options).is_empty());
}

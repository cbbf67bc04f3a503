//! The fixes the lints attach to their diagnostics: applied to the fixture of each code that has
//! one, a fix removes that diagnostic and adds no error, and it is marked safe exactly when the
//! rule in `diagnostics/fixes.rs` says (only adding a title is).

mod support;

use std::path::Path;

use rbk_compiler::diagnostics::fixes::apply_edits;
use rbk_compiler::diagnostics::{Code, Diagnostic, Fix};
use rbk_compiler::types::ApproverGroups;
use rbk_compiler::CheckOptions;

/// The fixture of `code`; for W0101, with a group misspelled closely enough to suggest one
/// (the fixture's `db-oncall` is too far from `database-oncall`).
fn fixture(code: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/diagnostics")
        .join(format!("{code}.rbk"));
    let text = std::fs::read_to_string(path).unwrap();
    match code {
        "W0101" => text.replace("from \"db-oncall\"", "from \"databse-oncall\""),
        _ => text,
    }
}

/// As the diagnostics fixtures are checked: with the groups of their rbk.toml.
fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let groups = ApproverGroups::from([(
        "database-oncall".to_string(),
        vec!["alice".to_string(), "bob".to_string()],
    )]);
    let options = CheckOptions {
        approver_groups: Some(groups),
        ..CheckOptions::default()
    };
    support::analyse_with(text, &options)
        .diagnostics
        .into_iter()
        .filter(|d| d.file == rbk_compiler::FileId(0))
        .collect()
}

fn applied(text: &str, fix: &Fix) -> String {
    apply_edits(text, &fix.edits.iter().collect::<Vec<_>>()).unwrap()
}

/// The fixes of the first `code` diagnostic of the fixture `code`.rbk.
fn fixes_of(code: Code) -> (String, Vec<Fix>) {
    let text = fixture(code.as_str());
    let diagnostic = diagnostics(&text)
        .into_iter()
        .find(|d| d.code == code)
        .unwrap_or_else(|| panic!("{code:?} in its fixture"));
    (text, diagnostic.fixes)
}

#[test]
fn each_fix_removes_its_diagnostic_and_adds_no_error() {
    let cases = [
        (Code::MissingTitle, true),
        (Code::NoEscalation, false),
        (Code::UngatedDestructiveStep, false),
        (Code::UnknownApproverGroup, false),
        (Code::UnreachableAfterFail, false),
    ];
    for (code, safe) in cases {
        let (text, fixes) = fixes_of(code);
        assert!(!fixes.is_empty(), "{code:?} has a fix");
        let fix = &fixes[0];
        assert_eq!(fix.safe, safe, "{code:?}: {}", fix.title);
        let fixed = applied(&text, fix);
        let after = diagnostics(&fixed);
        assert!(
            after.iter().all(|d| d.code != code),
            "{code:?} is still reported after `{}`:\n{fixed}",
            fix.title
        );
        let before_errors = diagnostics(&text).iter().filter(|d| d.is_error()).count();
        let new_errors = after.iter().filter(|d| d.is_error()).count();
        assert!(
            new_errors < before_errors || new_errors == 0,
            "{code:?}: `{}` adds an error:\n{fixed}\n{after:?}",
            fix.title
        );
        // Formatted as `rbk fmt` writes it.
        assert_eq!(
            rbk_compiler::format::format(&fixed).ok().as_deref(),
            Some(fixed.as_str()),
            "{code:?}: `{}` is not formatted",
            fix.title
        );
    }
}

#[test]
fn the_fixes_write_what_their_titles_say() {
    let (text, fixes) = fixes_of(Code::UngatedDestructiveStep);
    let titles: Vec<_> = fixes.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Require approval from \"database-oncall\"",
            "Waive approval with a reason"
        ]
    );
    assert!(applied(&text, &fixes[0]).contains(
        "{\n    approval required from \"database-oncall\" timeout 5m on timeout deny\n"
    ));

    let (text, fixes) = fixes_of(Code::UnknownApproverGroup);
    assert_eq!(fixes[0].title, "Change to \"database-oncall\"");
    assert!(
        applied(&text, &fixes[0]).contains("approval required from \"database-oncall\" timeout")
    );

    let (text, fixes) = fixes_of(Code::MissingTitle);
    let fixed = applied(&text, &fixes[0]);
    assert!(
        fixed.contains("runbook pool_report {\n  title \"Pool report\"\n  input {"),
        "{fixed}"
    );
}

/// `pagerduty` is used under another name: the fix calls it by that name and adds no `use`.
#[test]
fn the_escalation_fix_uses_the_modules_own_alias() {
    let text = "use std.k8s\nuse std.pagerduty as pd\n\nrunbook restart {\n  title \"Restart\"\n  owner \"database-oncall\"\n\n  step restart {\n    approval required from \"database-oncall\" timeout 5m on timeout deny\n    k8s.delete_pod(k8s.oldest(k8s.pods(namespace: \"prod\", selector: \"app=x\")))\n  }\n}\n";
    let diagnostic = diagnostics(text)
        .into_iter()
        .find(|d| d.code == Code::NoEscalation)
        .expect("W0103");
    let fix = &diagnostic.fixes[0];
    assert_eq!(fix.edits.len(), 1, "no `use` added: {fix:?}");
    let fixed = applied(text, fix);
    assert!(
        fixed.contains("  escalate pd.page(service: \"database-oncall\","),
        "{fixed}"
    );
    assert!(diagnostics(&fixed)
        .iter()
        .all(|d| d.code != Code::NoEscalation));
}

/// A runbook made from a template has its clauses in the template: no fix is offered on the
/// instance's line, where it could only land in the wrong place.
#[test]
fn a_template_instance_gets_no_fix_for_its_clauses() {
    let text = "template quiet(db: string) {\n  step look {\n    log \"looking at {db}\"\n  }\n}\n\nrunbook orders = quiet(db: \"orders\")\n";
    let missing_title: Vec<_> = diagnostics(text)
        .into_iter()
        .filter(|d| d.code == Code::MissingTitle)
        .collect();
    assert!(!missing_title.is_empty(), "W0001 for the instance");
    assert!(
        missing_title.iter().all(|d| d.fixes.is_empty()),
        "{missing_title:?}"
    );
}

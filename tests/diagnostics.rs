//! Every diagnostic code has a fixture under tests/fixtures/diagnostics/CODE.rbk, a page in
//! docs/diagnostics/, and snapshots of what `rbk check` prints for it (human and JSON).

mod support;

use rbk_compiler::diagnostics::{Code, Severity};
use support::{rbk, repo_root};

#[test]
fn every_code_has_a_fixture_and_a_page() {
    for code in Code::ALL {
        let fixture = repo_root().join(format!("tests/fixtures/diagnostics/{}.rbk", code.as_str()));
        assert!(fixture.is_file(), "missing fixture {}", fixture.display());
        let page = code.explanation();
        assert!(
            page.starts_with(&format!("# {}", code.as_str())),
            "docs/diagnostics/{}.md must start with its code",
            code.as_str()
        );
    }
}

/// docs/diagnostics/README.md lists every code with its severity and title, and nothing else:
/// the table is where `rbk explain` sends a reader who does not know the code.
#[test]
fn the_diagnostics_readme_lists_every_code() {
    let readme = std::fs::read_to_string(repo_root().join("docs/diagnostics/README.md")).unwrap();
    let rows: Vec<&str> = readme
        .lines()
        .filter(|line| line.starts_with("| E") || line.starts_with("| W"))
        .collect();
    let expected: Vec<String> = Code::ALL
        .iter()
        .map(|code| {
            let severity = match code.severity() {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            format!("| {} | {severity} | {} |", code.as_str(), code.title())
        })
        .collect();
    let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(rows, expected);
}

#[test]
fn each_fixture_reports_its_code() {
    insta::glob!("fixtures/diagnostics/*.rbk", |path| {
        let code = path.file_stem().unwrap().to_string_lossy().into_owned();
        let relative = path
            .strip_prefix(repo_root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let human = rbk(&["check", &relative]);
        let json = rbk(&["check", "--format", "json", &relative]);
        let records: Vec<serde_json::Value> =
            serde_json::from_str(&json.stdout).expect("valid JSON");
        assert!(
            records.iter().any(|r| r["code"] == code.as_str()),
            "{relative} should report {code}, got {}",
            json.stdout
        );
        let expected_status = if code.starts_with('E') { 1 } else { 0 };
        assert_eq!(
            human.status, expected_status,
            "exit status of rbk check {relative}"
        );
        insta::assert_snapshot!(format!("{code}_human"), human.stdout);
        insta::assert_snapshot!(format!("{code}_json"), json.stdout);
    });
}

#[test]
fn explain_prints_the_page_for_every_code() {
    for code in Code::ALL {
        let run = rbk(&["explain", &code.as_str().to_lowercase()]);
        assert_eq!(run.status, 0);
        assert_eq!(run.stdout, code.explanation());
    }
}

//! End-to-end tests of `rbk check`, `rbk plan` and `rbk explain` as a user runs them.

mod support;

use support::{rbk, rbk_in, repo_root};

#[test]
fn examples_and_stdlib_check_clean() {
    let run = rbk(&["check", "--deny", "warnings", "examples", "std"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn missing_file_is_a_usage_error() {
    let run = rbk(&["check", "no/such/file.rbk"]);
    assert_eq!(run.status, 2);
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn unknown_format_is_a_usage_error() {
    let run = rbk(&["check", "--format", "xml", "examples"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("invalid value 'xml'"), "{}", run.stderr);
}

#[test]
fn warnings_fail_only_under_deny_warnings() {
    let fixture = "tests/fixtures/diagnostics/W0001.rbk";
    assert_eq!(rbk(&["check", fixture]).status, 0);
    assert_eq!(rbk(&["check", "--deny", "warnings", fixture]).status, 1);
}

#[test]
fn broken_project_file_is_a_usage_error() {
    let dir = tempdir("broken-toml");
    std::fs::write(dir.join("rbk.toml"), "[approvers\n").unwrap();
    std::fs::write(dir.join("a.rbk"), "runbook a {\n  title \"A\"\n}\n").unwrap();
    let run = rbk_in(&dir, &["check", "a.rbk"]);
    assert_eq!(run.status, 2, "{}", run.stderr);
    assert!(run.stderr.contains("rbk.toml"), "{}", run.stderr);
}

#[test]
fn unreadable_local_module_is_reported_not_fatal() {
    let dir = tempdir("local-module");
    std::fs::write(
        dir.join("lib.rbk"),
        "fn double(x: int) -> int {\n  return x * 2\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("main.rbk"),
        "use \"./lib.rbk\" as lib\n\nrunbook twice {\n  title \"Twice\"\n  step compute {\n    log \"{lib.double(21)}\"\n  }\n}\n",
    )
    .unwrap();
    let run = rbk_in(&dir, &["check", "main.rbk"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    std::fs::remove_file(dir.join("lib.rbk")).unwrap();
    let run = rbk_in(&dir, &["check", "--format", "json", "main.rbk"]);
    assert_eq!(run.status, 1);
    assert!(run.stdout.contains("E0105"), "{}", run.stdout);
}

#[test]
fn json_positions_are_one_based_and_cover_the_span() {
    let run = rbk(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/diagnostics/E0301.rbk",
    ]);
    let records: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let record = records.iter().find(|r| r["code"] == "E0301").unwrap();
    for key in [
        "code",
        "severity",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "help",
    ] {
        assert!(record.get(key).is_some(), "missing {key}");
    }
    assert_eq!(record["severity"], "error");
    assert!(record["line"].as_u64().unwrap() >= 1);
    assert!(record["end_column"].as_u64().unwrap() > record["column"].as_u64().unwrap());
}

#[test]
fn sarif_output_is_sarif_2_1_0() {
    let run = rbk(&[
        "check",
        "--format",
        "sarif",
        "tests/fixtures/diagnostics/E0301.rbk",
        "tests/fixtures/diagnostics/W0103.rbk",
    ]);
    assert_eq!(run.status, 1);
    let log: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let sarif_run = &log["runs"][0];
    assert_eq!(sarif_run["tool"]["driver"]["name"], "rbk");
    let rules = sarif_run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = sarif_run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(["error", "warning"].contains(&result["level"].as_str().unwrap()));
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("tests/fixtures/"), "{uri}");
    }
}

#[test]
fn github_format_prints_workflow_commands() {
    let run = rbk(&[
        "check",
        "--format",
        "github",
        "tests/fixtures/diagnostics/E0301.rbk",
    ]);
    assert_eq!(run.status, 1);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn plan_of_the_seed_runbook() {
    let run = rbk(&["plan", "examples/db_pool_exhaustion.rbk"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn plan_as_json() {
    let run = rbk(&[
        "plan",
        "--format",
        "json",
        "examples/db_pool_exhaustion.rbk",
    ]);
    assert_eq!(run.status, 0);
    let plans: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let steps = plans[0]["steps"].as_array().unwrap();
    let restart = steps.iter().find(|s| s["name"] == "restart").unwrap();
    assert_eq!(restart["effect"], "destructive");
    assert_eq!(restart["condition"], "pg.pool_usage(db) > target");
    let kill = steps.iter().find(|s| s["name"] == "kill").unwrap();
    assert!(kill["gate"].as_str().unwrap().starts_with("waived"));
}

#[test]
fn plan_shows_the_effect_of_every_clause() {
    let run = rbk(&["plan", "tests/fixtures/plan/acts_outside_its_steps.rbk"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn plan_never_calls_a_runbook_pure_when_a_clause_can_act() {
    let run = rbk(&[
        "plan",
        "--format",
        "json",
        "tests/fixtures/plan/acts_outside_its_steps.rbk",
    ]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    let plans: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let plan = &plans[0];
    // The first step calls nothing; the input default connects (a `read` action).
    assert_eq!(plan["steps"][0]["effect"], "pure");
    assert_eq!(plan["effect"], "read");
    assert_eq!(plan["inputs"][0]["effect"], "read");
    assert_eq!(
        plan["inputs"][0]["actions"][0]["action"],
        "postgres.connect"
    );
    assert_eq!(plan["inputs"][1]["effect"], "pure");
    assert_eq!(plan["trigger"]["effect"], "pure");
    assert_eq!(
        plan["limits"][0]["written"],
        "concurrency 1 per alert.labels[\"db\"]"
    );
    assert_eq!(plan["steps"][1]["condition_effect"], "read");
}

#[test]
fn plan_refuses_a_file_with_errors() {
    let run = rbk(&["plan", "tests/fixtures/diagnostics/E0301.rbk"]);
    assert_eq!(run.status, 1);
    assert!(run.stdout.contains("E0301"));
}

#[test]
fn explain_unknown_code_is_a_usage_error() {
    let run = rbk(&["explain", "E9999"]);
    assert_eq!(run.status, 2);
    insta::assert_snapshot!(run.stderr);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

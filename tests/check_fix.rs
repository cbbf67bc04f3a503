//! End-to-end tests of `rbk check --fix`: the safe fixes are written and the files check clean
//! after, a fix that needs a person is left alone, a file with syntax errors is not touched,
//! and a second run changes nothing.

mod support;

use std::path::{Path, PathBuf};

use support::{rbk_in, repo_root};

fn tempdir(name: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("check-fix-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Only a missing title, after a comment with characters of several bytes.
const UNTITLED: &str = "// café ☕: the pool, in numbers\nuse std.postgres as pg\n\nrunbook pool_report {\n  input {\n    db: pg.Database = pg.connect(secret(\"ORDERS_DATABASE_URL\"))\n  }\n\n  step check {\n    expect pg.pool_usage(db) < 90%\n  }\n}\n";

/// No title, and a destructive step with neither an approval gate nor an escalation.
const UNGATED: &str = "use std.k8s\n\nrunbook restart_orders_api {\n  step restart {\n    let pods = k8s.pods(namespace: \"prod\", selector: \"app=orders-api\")\n    k8s.delete_pod(k8s.oldest(pods))\n  }\n}\n";

#[test]
fn safe_fixes_are_written_and_the_file_then_checks_clean() {
    let dir = tempdir("clean");
    let file = dir.join("pool_report.rbk");
    std::fs::write(&file, UNTITLED).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    }

    let run = rbk_in(&dir, &["check", "--fix", "pool_report.rbk"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!(run.stdout, @r#"
    fixed pool_report.rbk:4:9: W0001 Add the title "Pool report"

    fixed 1 problem in 1 file
    ok: 1 file checked, no problems
    "#);
    let fixed = read(&file);
    assert_eq!(
        fixed,
        UNTITLED.replace(
            "runbook pool_report {\n",
            "runbook pool_report {\n  title \"Pool report\"\n"
        )
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "the file keeps its permissions");
    }
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["pool_report.rbk"]);

    // Checked clean even under `--deny warnings`; a second `--fix` changes nothing.
    let run = rbk_in(&dir, &["check", "--deny", "warnings", "pool_report.rbk"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    let again = rbk_in(&dir, &["check", "--fix", "pool_report.rbk"]);
    assert_eq!(again.status, 0);
    assert_eq!(
        again.stdout,
        "fixed 0 problems in 0 files\nok: 1 file checked, no problems\n"
    );
    assert_eq!(read(&file), fixed);
}

#[test]
fn fixes_that_need_a_person_are_not_applied() {
    let dir = tempdir("unsafe");
    let file = dir.join("restart.rbk");
    std::fs::write(&file, UNGATED).unwrap();
    let run = rbk_in(&dir, &["check", "--fix", "restart.rbk"]);
    // E0301 remains: its fixes guess the approver group or waive the gate.
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("fixed restart.rbk:3:9: W0001 Add the title \"Restart orders api\"\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("E0301"), "{}", run.stdout);
    assert!(run.stdout.contains("W0103"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "fixed 1 problem in 1 file; 2 more problems have a fix to review in an editor"
        ),
        "{}",
        run.stdout
    );
    let fixed = read(&file);
    assert!(
        fixed.contains("  title \"Restart orders api\"\n"),
        "{fixed}"
    );
    assert!(!fixed.contains("approval"), "{fixed}");
    assert!(!fixed.contains("escalate"), "{fixed}");
}

#[test]
fn a_file_with_syntax_errors_is_not_touched() {
    let dir = tempdir("syntax");
    let file = dir.join("broken.rbk");
    // The second runbook lacks a title (a safe fix), but the first one does not parse.
    let text = "runbook broken {\n  title\n}\n\nrunbook untitled {\n  step look {\n    log \"looking\"\n  }\n}\n";
    std::fs::write(&file, text).unwrap();
    let run = rbk_in(&dir, &["check", "--fix", "broken.rbk"]);
    assert_eq!(run.status, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .starts_with("not fixed broken.rbk: it has syntax errors; fix those first\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("fixed 0 problems in 0 files"),
        "{}",
        run.stdout
    );
    assert_eq!(read(&file), text);
}

#[test]
fn json_reports_what_was_fixed_and_what_remains_with_its_fixes() {
    let dir = tempdir("json");
    std::fs::write(dir.join("restart.rbk"), UNGATED).unwrap();

    // Without --fix: the array of diagnostics, each with the fixes it carries.
    let run = rbk_in(&dir, &["check", "--format", "json", "restart.rbk"]);
    let records: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    let title = records.iter().find(|r| r["code"] == "W0001").unwrap();
    assert_eq!(title["fixes"][0]["safe"], true);
    assert_eq!(
        title["fixes"][0]["edits"][0],
        serde_json::json!({
            "line": 3, "column": 29, "end_line": 3, "end_column": 29,
            "start_byte": 41, "end_byte": 41,
            "replacement": "\n  title \"Restart orders api\"",
        })
    );
    let gate = records.iter().find(|r| r["code"] == "E0301").unwrap();
    let gate_fixes = gate["fixes"].as_array().unwrap();
    assert_eq!(gate_fixes.len(), 2);
    assert!(gate_fixes.iter().all(|f| f["safe"] == false));

    let run = rbk_in(&dir, &["check", "--fix", "--format", "json", "restart.rbk"]);
    assert_eq!(run.status, 1);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        out["fixed"],
        serde_json::json!([{
            "file": "restart.rbk", "line": 3, "column": 9, "code": "W0001",
            "title": "Add the title \"Restart orders api\"",
        }])
    );
    assert_eq!(out["not_fixed"], serde_json::json!([]));
    let codes: Vec<_> = out["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["W0103", "E0301"]);
}

/// Through a symbolic link the file it points to is written, and the link stays a link.
#[cfg(unix)]
#[test]
fn a_linked_file_is_fixed_where_it_lives() {
    let dir = tempdir("link");
    std::fs::create_dir(dir.join("real")).unwrap();
    let real = dir.join("real/pool_report.rbk");
    std::fs::write(&real, UNTITLED).unwrap();
    std::os::unix::fs::symlink("real/pool_report.rbk", dir.join("linked.rbk")).unwrap();
    let run = rbk_in(&dir, &["check", "--fix", "linked.rbk"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    assert!(read(&real).contains("  title \"Pool report\"\n"));
    assert!(std::fs::symlink_metadata(dir.join("linked.rbk"))
        .unwrap()
        .file_type()
        .is_symlink());
}

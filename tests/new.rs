//! `rbk new --template` as a user runs it: every shipped template scaffolds into a runbook that
//! checks clean under `--deny warnings` and whose tests pass; one template serves several
//! services, each instance with its own name, gates and tests.

mod support;

use std::fs;
use std::path::PathBuf;

use support::{rbk, rbk_in, repo_root};

fn tempdir(name: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("new-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

const TEMPLATES: &[&str] = &[
    "pool-exhaustion",
    "disk-almost-full",
    "crash-looping-pod",
    "certificate-expiry",
    "replication-lag",
    "failed-job",
];

#[test]
fn list_shows_every_template_and_its_parameters() {
    let run = rbk(&["new", "--list"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    for template in TEMPLATES {
        assert!(
            run.stdout.contains(&format!("\n{template}\n"))
                || run.stdout.starts_with(&format!("{template}\n")),
            "{template}"
        );
    }
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn every_template_scaffolds_a_runbook_that_checks_clean_and_passes_its_tests() {
    let dir = tempdir("each");
    for template in TEMPLATES {
        let file = format!("{template}.rbk");
        let run = rbk_in(&dir, &["new", &file, "--template", template]);
        assert_eq!(run.status, 0, "{template}: {}", run.stderr);
        let checked = rbk_in(&dir, &["check", "--deny", "warnings", &file]);
        assert_eq!(checked.status, 0, "{template}: {}", checked.stdout);
        let tested = rbk_in(&dir, &["test", &file]);
        assert_eq!(tested.status, 0, "{template}: {}", tested.stdout);
        assert!(tested.stdout.contains(" 0 failed") && !tested.stdout.contains("\n0 passed"));
        let formatted = rbk_in(&dir, &["fmt", "--check", &file]);
        assert_eq!(formatted.status, 0, "{template}: {}", formatted.stdout);
    }
}

#[test]
fn one_template_serves_several_services_each_with_its_own_plan_gates_and_tests() {
    let dir = tempdir("several");
    fs::write(
        dir.join("rbk.toml"),
        "[approvers]\norders-dba = [\"alice\", \"bob\"]\npayments-dba = [\"carol\", \"dan\"]\nsearch-dba = [\"erin\"]\n",
    )
    .unwrap();
    for service in ["orders", "payments", "search"] {
        let run = rbk_in(
            &dir,
            &[
                "new",
                &format!("{service}.rbk"),
                "--template",
                "pool-exhaustion",
                "--set",
                &format!("service={service}"),
                "--set",
                &format!("approvers={service}-dba"),
                "--set",
                "max_sessions=25",
            ],
        );
        assert_eq!(run.status, 0, "{}", run.stderr);
    }
    // Together they check (no duplicate names) and every instance's tests run.
    let checked = rbk_in(&dir, &["check", "--deny", "warnings", "."]);
    assert_eq!(checked.status, 0, "{}", checked.stdout);
    let tested = rbk_in(&dir, &["test", "."]);
    assert_eq!(tested.status, 0, "{}", tested.stdout);
    assert!(
        tested.stdout.contains("9 passed, 0 failed"),
        "{}",
        tested.stdout
    );
    for service in ["orders", "payments", "search"] {
        let plan = rbk_in(
            &dir,
            &["plan", &format!("{service}.rbk"), "--format", "json"],
        );
        assert_eq!(plan.status, 0, "{}", plan.stderr);
        let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
        assert_eq!(plan[0]["name"], format!("pool_exhaustion_{service}"));
        assert!(plan[0]["trigger"]["written"]
            .as_str()
            .unwrap()
            .contains(&format!("== \"{service}\"")));
        let restart = plan[0]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "restart")
            .unwrap();
        assert_eq!(
            restart["gate"],
            format!("required from \"{service}-dba\" timeout 5m on timeout escalate")
        );
        let text = fs::read_to_string(dir.join(format!("{service}.rbk"))).unwrap();
        assert!(text.contains("max: 25)"), "{text}");
        assert!(text.contains(&format!(
            "secret(\"{}_DATABASE_URL\")",
            service.to_uppercase()
        )));
    }
}

#[test]
fn bad_values_unknown_templates_and_existing_files_are_refused() {
    let dir = tempdir("refused");
    let injected = rbk_in(
        &dir,
        &[
            "new",
            "a.rbk",
            "--template",
            "pool-exhaustion",
            "--set",
            "service=x\" }",
        ],
    );
    assert_eq!(injected.status, 2);
    assert!(
        injected.stderr.contains("service must be a name"),
        "{}",
        injected.stderr
    );
    let not_int = rbk_in(
        &dir,
        &[
            "new",
            "a.rbk",
            "--template",
            "pool-exhaustion",
            "--set",
            "max_sessions=many",
        ],
    );
    assert_eq!(not_int.status, 2);
    assert!(
        not_int.stderr.contains("a whole number"),
        "{}",
        not_int.stderr
    );
    let unknown_key = rbk_in(
        &dir,
        &[
            "new",
            "a.rbk",
            "--template",
            "pool-exhaustion",
            "--set",
            "colour=red",
        ],
    );
    assert_eq!(unknown_key.status, 2);
    assert!(
        unknown_key.stderr.contains("no parameter `colour`"),
        "{}",
        unknown_key.stderr
    );
    let unknown = rbk_in(&dir, &["new", "a.rbk", "--template", "pool-exhausted"]);
    assert_eq!(unknown.status, 2);
    insta::assert_snapshot!("unknown_template", unknown.stderr);
    assert!(!dir.join("a.rbk").exists());

    fs::write(dir.join("mine.rbk"), "// mine\n").unwrap();
    let existing = rbk_in(&dir, &["new", "mine.rbk", "--template", "failed-job"]);
    assert_eq!(existing.status, 2);
    assert!(existing.stderr.contains("--force"), "{}", existing.stderr);
    assert_eq!(
        fs::read_to_string(dir.join("mine.rbk")).unwrap(),
        "// mine\n"
    );
    let forced = rbk_in(
        &dir,
        &["new", "mine.rbk", "--template", "failed-job", "--force"],
    );
    assert_eq!(forced.status, 0, "{}", forced.stderr);
    assert!(fs::read_to_string(dir.join("mine.rbk"))
        .unwrap()
        .contains("runbook failed_job_nightly_report"));
}

//! `rbk import` as a user runs it: every Markdown runbook of the corpus in
//! tests/fixtures/import becomes a draft that `rbk check` accepts with no errors, whose tests
//! `rbk test` passes, that holds every fenced command, and whose every step that can write or
//! destroy waits for an approval (as `rbk plan` reports it).

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use support::{rbk, rbk_in, repo_root};

fn tempdir(name: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("import-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(repo_root().join("tests/fixtures/import"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| !p.ends_with("README.md"))
        .collect();
    files.sort();
    files
}

const SHELL: &[&str] = &["", "sh", "bash", "shell", "zsh"];
const SQL: &[&str] = &["sql", "psql"];

/// The commands of every fenced block, found by a scanner independent of the importer's.
fn fenced_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut fence: Option<(String, String)> = None;
    let mut pending = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        if let Some((marker, language)) = &fence {
            if trimmed.starts_with(marker.as_str()) {
                if !pending.trim().is_empty() {
                    commands.push(pending.trim().to_string());
                }
                pending.clear();
                fence = None;
                continue;
            }
            let language = language.as_str();
            if language == "skip" {
                continue;
            }
            if SQL.contains(&language) {
                let text = trimmed.trim_start_matches("=> ");
                if text.is_empty() || text.starts_with("--") || text.starts_with('\\') {
                    continue;
                }
                for (i, piece) in text.split(';').enumerate() {
                    if i > 0 {
                        if !pending.trim().is_empty() {
                            commands.push(pending.trim().to_string());
                        }
                        pending.clear();
                    }
                    if !pending.is_empty() {
                        pending.push(' ');
                    }
                    pending.push_str(piece.trim());
                }
            } else {
                let console = language == "console";
                let command = match trimmed.strip_prefix("$ ") {
                    Some(command) => command,
                    None if !pending.is_empty() => trimmed,
                    None if console || trimmed.is_empty() || trimmed.starts_with('#') => continue,
                    None => trimmed,
                };
                let joined = if pending.is_empty() {
                    command.to_string()
                } else {
                    format!("{pending} {command}")
                };
                match joined.strip_suffix('\\') {
                    Some(open) => pending = open.trim_end().to_string(),
                    None => {
                        commands.push(joined);
                        pending.clear();
                    }
                }
            }
            continue;
        }
        for marker in ["```", "~~~"] {
            if let Some(info) = trimmed.strip_prefix(marker) {
                let language = info.trim().to_lowercase();
                if SHELL.contains(&language.as_str())
                    || SQL.contains(&language.as_str())
                    || language == "console"
                {
                    fence = Some((marker.to_string(), language));
                } else {
                    fence = Some((marker.to_string(), "not-commands".to_string()));
                }
            }
        }
        if fence.as_ref().is_some_and(|(_, l)| l == "not-commands") {
            // Skip to the closing fence without collecting anything.
            fence = fence.map(|(m, _)| (m, "skip".to_string()));
        }
    }
    commands.retain(|c| !c.is_empty());
    commands
}

#[test]
fn the_corpus_has_at_least_fifteen_runbooks() {
    assert!(corpus().len() >= 15, "{:?}", corpus());
}

#[test]
fn every_corpus_runbook_imports_into_a_draft_that_checks_tests_and_gates() {
    let out = tempdir("corpus");
    for markdown_path in corpus() {
        let name = markdown_path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        let markdown = fs::read_to_string(&markdown_path).unwrap();
        let imported = rbk(&[
            "import",
            markdown_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            imported.status, 0,
            "{name}: {}{}",
            imported.stdout, imported.stderr
        );
        let draft_path = out.join(format!("{name}.rbk"));
        let draft = fs::read_to_string(&draft_path).unwrap();
        let draft_arg = draft_path.to_str().unwrap();

        let checked = rbk(&["check", draft_arg]);
        assert_eq!(
            checked.status, 0,
            "{name} does not check:\n{}\n{draft}",
            checked.stdout
        );
        assert!(checked.stdout.contains("0 errors") || checked.stdout.starts_with("ok:"));

        let tested = rbk(&["test", draft_arg]);
        assert_eq!(
            tested.status, 0,
            "{name}'s tests fail:\n{}\n{draft}",
            tested.stdout
        );
        assert!(tested.stdout.contains(" 0 failed"), "{}", tested.stdout);
        assert!(
            !tested.stdout.contains("\n0 passed"),
            "{name} has no passing test"
        );

        let formatted = rbk(&["fmt", "--check", draft_arg]);
        assert_eq!(
            formatted.status, 0,
            "{name} is not in fmt's layout: {}",
            formatted.stdout
        );

        let lines: Vec<&str> = draft.lines().map(str::trim).collect();
        let commands = fenced_commands(&markdown);
        assert!(
            !commands.is_empty() || name == "none",
            "{name}: no commands found"
        );
        for command in &commands {
            let comment = format!("// $ {command}");
            let at = lines
                .iter()
                .position(|l| *l == comment)
                .unwrap_or_else(|| panic!("{name}: `{command}` is not in the draft:\n{draft}"));
            let call = lines[at + 1..]
                .iter()
                .find(|l| !l.starts_with("//"))
                .unwrap();
            assert!(
                ["shell.run(", "k8s.", "pg."]
                    .iter()
                    .any(|a| call.contains(a)),
                "{name}: `{command}` is followed by `{call}`, not an action"
            );
        }

        let plan = rbk(&["plan", draft_arg, "--format", "json"]);
        assert_eq!(plan.status, 0, "{}", plan.stderr);
        let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
        for runbook in plan.as_array().unwrap() {
            assert!(
                runbook["limits"].to_string().contains("concurrency 1"),
                "{name}"
            );
            for step in runbook["steps"].as_array().unwrap() {
                let effect = step["effect"].as_str().unwrap();
                let gate = step["gate"].as_str().unwrap();
                if effect == "write" || effect == "destructive" {
                    assert!(
                        gate.starts_with("required from"),
                        "{name}: step {} is {effect} but its gate is `{gate}`",
                        step["name"]
                    );
                }
            }
        }
        assert!(draft.contains("\n  escalate pagerduty.page("), "{name}");
    }
}

#[test]
fn typed_translations_where_they_fit_and_gates_where_they_write() {
    let out = tempdir("typed");
    let file = repo_root().join("tests/fixtures/import/KubePodCrashLooping.md");
    let run = rbk(&[
        "import",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let draft = fs::read_to_string(out.join("KubePodCrashLooping.rbk")).unwrap();
    insta::assert_snapshot!("kube_pod_crash_looping_draft", draft);
}

#[test]
fn sql_runbook_draft() {
    let out = tempdir("sql");
    let file = repo_root().join("tests/fixtures/import/PostgresConnectionsHigh.md");
    let run = rbk(&[
        "import",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let draft = fs::read_to_string(out.join("PostgresConnectionsHigh.rbk")).unwrap();
    assert!(draft.contains("pg.terminate(db, sessions_"), "{draft}");
    assert!(draft.contains("max: 20)"), "{draft}");
    insta::assert_snapshot!("postgres_connections_high_draft", draft);
}

/// Runs `rbk import` in a fresh directory holding a copy of one corpus file.
fn import_in(dir: &Path, file: &str, args: &[&str]) -> support::Run {
    fs::copy(
        repo_root().join("tests/fixtures/import").join(file),
        dir.join(file),
    )
    .unwrap();
    let mut all = vec!["import", file];
    all.extend_from_slice(args);
    rbk_in(dir, &all)
}

#[test]
fn text_and_json_reports() {
    let dir = tempdir("reports");
    let text = import_in(&dir, "TargetDown.md", &[]);
    assert_eq!(text.status, 0, "{}", text.stderr);
    insta::assert_snapshot!("import_text_report", text.stdout);
    let json = import_in(&dir, "TargetDown.md", &["--force", "--format", "json"]);
    assert_eq!(json.status, 0, "{}", json.stderr);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed[0]["commands_shell"], 2);
    insta::assert_snapshot!("import_json_report", json.stdout);
}

#[test]
fn an_existing_draft_is_not_overwritten_without_force() {
    let dir = tempdir("force");
    fs::write(dir.join("KubeJobFailed.rbk"), "// mine\n").unwrap();
    let refused = import_in(&dir, "KubeJobFailed.md", &[]);
    assert_eq!(refused.status, 1);
    assert!(
        refused
            .stderr
            .contains("exists; not overwritten (use --force"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        fs::read_to_string(dir.join("KubeJobFailed.rbk")).unwrap(),
        "// mine\n"
    );
    let forced = import_in(&dir, "KubeJobFailed.md", &["--force"]);
    assert_eq!(forced.status, 0, "{}", forced.stderr);
    assert!(fs::read_to_string(dir.join("KubeJobFailed.rbk"))
        .unwrap()
        .contains("runbook kube_job_failed"));
}

#[test]
fn the_approver_group_comes_from_the_flag_else_rbk_toml() {
    let dir = tempdir("approvers");
    fs::write(
        dir.join("rbk.toml"),
        "[approvers]\nplatform = [\"dave\", \"erin\"]\nsre = [\"grace\"]\n",
    )
    .unwrap();
    let from_toml = import_in(&dir, "KubeJobFailed.md", &[]);
    assert_eq!(from_toml.status, 0, "{}", from_toml.stderr);
    let draft = fs::read_to_string(dir.join("KubeJobFailed.rbk")).unwrap();
    assert!(
        draft.contains("approval required from \"platform\""),
        "{draft}"
    );
    // The group exists, so the draft checks clean even under --deny warnings' group lint.
    let checked = rbk_in(&dir, &["check", "KubeJobFailed.rbk"]);
    assert!(!checked.stdout.contains("W0101"), "{}", checked.stdout);
    let tested = rbk_in(&dir, &["test", "KubeJobFailed.rbk"]);
    assert_eq!(tested.status, 0, "{}", tested.stdout);

    let from_flag = import_in(&dir, "KubeJobFailed.md", &["--force", "--approvers", "sre"]);
    assert_eq!(from_flag.status, 0, "{}", from_flag.stderr);
    let draft = fs::read_to_string(dir.join("KubeJobFailed.rbk")).unwrap();
    assert!(draft.contains("approval required from \"sre\""), "{draft}");
    assert!(!draft.contains("\"platform\""), "{draft}");
}

#[test]
fn a_missing_markdown_file_is_a_usage_error() {
    let run = rbk(&["import", "no/such/runbook.md"]);
    assert_eq!(run.status, 2);
    assert!(run.stderr.contains("no/such/runbook.md"), "{}", run.stderr);
}

#[test]
fn hostile_placeholders_cannot_inject_shell_syntax() {
    // A placeholder inside a piped line reaches `sh -c` only as a positional parameter.
    let dir = tempdir("hostile");
    fs::write(
        dir.join("Pipes.md"),
        "# PipesAlert\n\n```bash\nkubectl get pods -n $NAMESPACE | grep \"<pod>\"\n```\n",
    )
    .unwrap();
    let run = rbk_in(&dir, &["import", "Pipes.md"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let draft = fs::read_to_string(dir.join("Pipes.rbk")).unwrap();
    assert!(
        draft.contains(r#"shell.run(["sh", "-c", "kubectl get pods -n \"$\{1\}\" | grep \"$\{2\}\"", "sh", namespace, pod])"#),
        "{draft}"
    );
    assert_eq!(rbk_in(&dir, &["check", "Pipes.rbk"]).status, 0);
    assert_eq!(rbk_in(&dir, &["test", "Pipes.rbk"]).status, 0);
}

#[test]
fn an_alert_without_the_label_stops_the_run_instead_of_acting_on_an_empty_value() {
    let dir = tempdir("empty-label");
    let run = import_in(&dir, "KubePodCrashLooping.md", &[]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let mut draft = fs::read_to_string(dir.join("KubePodCrashLooping.rbk")).unwrap();
    draft.push_str(
        r#"
test "an alert with no pod label deletes nothing" {
  mock k8s.pods returns [k8s.pod("web-1", namespace: "prod")]
  mock shell.run returns ""
  mock k8s.delete_pod returns none
  mock pagerduty.page returns none
  approve mitigation
  run kube_pod_crash_looping alert { labels: { "namespace": "prod" } }
  expect step find_pod_restart succeeded
  expect step look_events_last failed
  expect not called k8s.delete_pod
  expect escalated
}
"#,
    );
    fs::write(dir.join("KubePodCrashLooping.rbk"), draft).unwrap();
    let tested = rbk_in(&dir, &["test", "KubePodCrashLooping.rbk"]);
    assert_eq!(tested.status, 0, "{}", tested.stdout);
    assert!(
        tested.stdout.contains("3 passed, 0 failed"),
        "{}",
        tested.stdout
    );
}

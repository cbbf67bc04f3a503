//! What an approver reads: lists of records (here PostgreSQL sessions) as tables with the
//! columns that matter, capped with "and N more" — in the terminal approval prompt and in the
//! dry-run report of `rbk run`, run by the built binary with a real database connection
//! (`RBK_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! The sessions are written into the runbook, so the tables are the same on every machine; the
//! pids are above Linux's largest (4194304), so no real backend could ever be ended by them.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use support::repo_root;

const APPLICATIONS: [&str; 3] = ["orders-api", "billing-worker", "psql"];

/// The gate of the prompt tests: nobody answers, so after a second the run is denied.
const ASKED: &str = r#"approval required from "database-oncall" timeout 1s on timeout deny"#;
/// The gate of the dry-run test: none, so the withheld call is reported.
const WAIVED: &str = r#"approval none reason "a dry run only reports it""#;

/// A runbook that picks `count` sessions and ends them behind `gate`.
fn runbook(count: usize, gate: &str) -> String {
    let sessions: Vec<String> = (0..count)
        .map(|i| {
            format!(
                "{{ pid: {}, user: \"app\", application: \"{}\", client_addr: \"10.0.{}.{}\", state: \"idle\", idle: {}m, backend_start: now(), query: \"SELECT * FROM orders WHERE customer_id = $1 AND status = 'open' ORDER BY created_at DESC\" }}",
                9_100_001 + i,
                APPLICATIONS[i % 3],
                i / 200,
                7 + i % 200,
                61 + i
            )
        })
        .collect();
    format!(
        r#"use std.postgres as pg

/// Ends the sessions it picked, after a human says yes.
runbook end_sessions {{
  title "End idle sessions"
  input {{
    db: pg.Database = pg.connect(secret("ORDERS_DATABASE_URL"))
  }}

  step pick "Pick the sessions" {{
    let idle: list<pg.Session> = [
      {}
    ]
  }}

  step kill "End them" {{
    {gate}
    pg.terminate(db, idle, max: 100)
  }}
}}
"#,
        sessions.join(",\n      ")
    )
}

fn project(tag: &str, source: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("tables-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("rbk.toml"),
        "[approvers]\ndatabase-oncall = [\"alice\", \"bob\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("end.rbk"), source).unwrap();
    dir
}

/// `rbk run end.rbk` as carol, 100 columns wide, nobody at the terminal; its standard output.
fn run(dir: &PathBuf, extra: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(["run", "end.rbk", "--as", "carol", "--store", "memory"])
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env("ORDERS_DATABASE_URL", support::pg::base_url())
        .stdin(Stdio::null())
        .output()
        .expect("the rbk binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stdout.contains("could not connect") && !stderr.contains("could not connect"),
        "PostgreSQL is not reachable at {}: {stdout}{stderr}",
        support::pg::base_url()
    );
    (output.status.code().unwrap_or(-1), stdout)
}

/// Run ids, the journal's head and elapsed times differ from run to run.
fn settle(snapshot: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"r-\d{8}-\d{6}-[0-9a-f]+", "[run]");
    settings.add_filter(r"head [0-9a-f]{64}", "head [hash]");
    settings.add_filter(r"\[\d+\.\d+s\]", "[time]");
    settings.add_filter(r" in \d+\.\d+s", " in [time]");
    settings.bind(snapshot);
}

#[test]
fn three_sessions_in_the_approval_prompt_are_a_table() {
    let dir = project("prompt-3", &runbook(3, ASKED));
    let (status, stdout) = run(&dir, &[]);
    assert_eq!(status, 1, "nobody approved, so the run is denied: {stdout}");
    assert!(
        stdout.contains("          pid      user  application     client    state  idle  query"),
        "{stdout}"
    );
    settle(|| insta::assert_snapshot!(stdout));
}

#[test]
fn fifty_sessions_in_the_approval_prompt_are_capped() {
    let dir = project("prompt-50", &runbook(50, ASKED));
    let (status, stdout) = run(&dir, &[]);
    assert_eq!(status, 1, "{stdout}");
    assert!(stdout.contains("sessions: 50 sessions"), "{stdout}");
    assert!(stdout.contains("          … and 40 more"), "{stdout}");
    assert_eq!(
        stdout.matches("SELECT * FROM orders").count(),
        10,
        "ten rows, not fifty: {stdout}"
    );
    for line in stdout.lines().filter(|l| l.contains("9100")) {
        assert!(
            line.chars().count() <= 100,
            "wider than the terminal: {line}"
        );
    }
    settle(|| insta::assert_snapshot!(stdout));
}

#[test]
fn fifty_sessions_in_the_dry_run_report_are_a_capped_table() {
    let dir = project("dry-50", &runbook(50, WAIVED));
    let (status, stdout) = run(&dir, &["--dry-run"]);
    assert_eq!(status, 0, "{stdout}");
    let report = stdout
        .split("dry run: 1 write or destructive action was not executed:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no dry-run report in {stdout}"));
    assert!(
        report.starts_with("  postgres.terminate  [destructive]\n"),
        "{report}"
    );
    assert!(report.contains("    sessions: 50 sessions\n"), "{report}");
    assert!(report.contains("      … and 40 more\n"), "{report}");
    settle(|| insta::assert_snapshot!(report));
}

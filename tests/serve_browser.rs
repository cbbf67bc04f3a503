//! The run pages in a real browser: Debian's chromium driven by Python Playwright
//! (tests/browser/approve.py). A person signs in with a token made by `rbk token create`,
//! opens the run waiting at a destructive step, reads its action and arguments, sees an alert
//! label carrying `<script>` as text (no dialog fires), clicks Approve and watches the run
//! succeed. Screenshots go to target/screenshots/ for a person to look at.

mod support;

use std::path::Path;
use std::process::Command;

use support::repo_root;
use support::web::{self, WebProject, HOSTILE};

/// What CI installs (.ci/run); a missing piece fails the test with the way to install it.
fn require_browser() {
    let mut missing = Vec::new();
    if !Path::new("/usr/bin/chromium").exists() {
        missing.push("chromium: apt-get install -y chromium chromium-driver");
    }
    let playwright = Command::new("python3")
        .args(["-c", "import playwright"])
        .status()
        .is_ok_and(|s| s.success());
    if !playwright {
        missing.push("Python Playwright: pip install playwright (the browser is Debian's chromium, no download)");
    }
    assert!(
        missing.is_empty(),
        "the browser test needs what .ci/run installs; missing:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn an_approver_signs_in_reads_the_plan_approves_and_watches_the_run_succeed() {
    require_browser();
    let project = WebProject::new("browser", "");
    let token = project.token("alice");
    let serve = project.serve();
    let run = project.start_waiting_run(&serve, "browser-1");
    assert!(
        !project.effect().exists(),
        "the gated step ran before anyone approved it"
    );

    let shots = repo_root().join("target").join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let effect = project.effect().display().to_string();
    let driven = Command::new("python3")
        .arg(repo_root().join("tests").join("browser").join("approve.py"))
        .args([&serve.url, &token, &shots.display().to_string(), &effect])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&driven.stdout);
    let stderr = String::from_utf8_lossy(&driven.stderr);
    assert!(
        driven.status.success(),
        "the browser did not get through:\n{stdout}\n{stderr}\n--- rbk serve ---\n{}",
        serve.log()
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("approve.py's last line is not JSON ({e}):\n{stdout}"));
    assert_eq!(seen["dialogs"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["chain_intact"], true, "{seen}");

    // What the click did, as the store and the world see it.
    project.wait_for_state(&serve, &run, "succeeded");
    assert!(project.effect().exists(), "the approved step did not run");
    let log = project.verified_log(&run);
    assert!(log.contains("\"approval_answered\""), "{log}");
    assert!(log.contains("\"alice\""), "{log}");
    assert!(log.contains("web 127.0.0.1 (session)"), "{log}");
    for shot in ["runs.png", "run.png", "run-phone.png", "run-succeeded.png"] {
        let size = std::fs::metadata(shots.join(shot)).map_or(0, |m| m.len());
        assert!(size > 1000, "{shot} was not saved ({size} bytes)");
    }
}

#[test]
fn a_form_post_without_the_csrf_token_is_refused_and_nothing_is_decided() {
    let project = WebProject::new("csrf", "");
    let token = project.token("alice");
    let serve = project.serve();
    let run = project.start_waiting_run(&serve, "csrf-1");
    let cookie = web::sign_in(&serve.url, &token);
    let page = web::get(&format!("{}/runs/{run}", serve.url), &[("cookie", &cookie)]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        !page.body.contains(HOSTILE),
        "the label reached the page unescaped"
    );
    assert!(
        page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        page.body
    );
    let digest = page
        .body
        .split("name=\"digest\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries the plan digest")
        .to_string();
    let decisions = format!("{}/runs/{run}/decisions", serve.url);
    let without = format!("step=clear&decision=approve&digest={digest}");
    let refused = web::post_form(&decisions, &[("cookie", &cookie)], &without);
    assert_eq!(refused.status, 403, "{}", refused.body);
    let forged = format!("{without}&csrf=0000");
    let refused = web::post_form(&decisions, &[("cookie", &cookie)], &forged);
    assert_eq!(refused.status, 403, "{}", refused.body);
    // Another session's token is not this one's.
    let other = web::sign_in(&serve.url, &token);
    let other_page = web::get(&format!("{}/runs/{run}", serve.url), &[("cookie", &other)]);
    let others = format!("{without}&csrf={}", web::csrf_of(&other_page.body));
    let refused = web::post_form(&decisions, &[("cookie", &cookie)], &others);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(project.state(&run), "waiting");
    assert!(!project.verified_log(&run).contains("approval_answered"));
    // With it, the same form is a vote.
    let good = format!("{without}&csrf={}", web::csrf_of(&page.body));
    let accepted = web::post_form(&decisions, &[("cookie", &cookie)], &good);
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    project.wait_for_state(&serve, &run, "succeeded");
}

/// A gate that asks the approver for a value: the form shows a typed input, the browser's
/// value reaches the step through the one decision path, and the page says what was given.
#[test]
fn an_approver_gives_the_value_a_gate_asks_for_in_the_browser() {
    require_browser();
    let project = WebProject::with_gate(
        "browser-ask",
        "approval required from \"oncall\" ask { keep: size }",
        "approval.keep",
    );
    let token = project.token("alice");
    let serve = project.serve();
    let run = project.start_waiting_run(&serve, "browser-ask-1");

    let shots = repo_root().join("target").join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let driven = Command::new("python3")
        .arg(
            repo_root()
                .join("tests")
                .join("browser")
                .join("approve_with_value.py"),
        )
        .args([
            &serve.url,
            &token,
            &shots.display().to_string(),
            "keep",
            "15Gi",
        ])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&driven.stdout);
    let stderr = String::from_utf8_lossy(&driven.stderr);
    assert!(
        driven.status.success(),
        "the browser did not get through:\n{stdout}\n{stderr}\n--- rbk serve ---\n{}",
        serve.log()
    );
    project.wait_for_state(&serve, &run, "succeeded");
    let effect = format!("{}-15Gi", project.effect().display());
    assert!(
        std::path::Path::new(&effect).exists(),
        "the step did not get the value the browser gave ({effect})"
    );
    let log = project.verified_log(&run);
    assert!(log.contains("15Gi"), "{log}");
    for shot in [
        "run-asks.png",
        "run-asks-refused.png",
        "run-asks-succeeded.png",
    ] {
        let size = std::fs::metadata(shots.join(shot)).map_or(0, |m| m.len());
        assert!(size > 1000, "{shot} was not saved ({size} bytes)");
    }
}

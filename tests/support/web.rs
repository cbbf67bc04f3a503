//! A project for the web pages' end-to-end tests: an rbk.toml with people and groups, a
//! runbook that waits at a destructive gate and then leaves a file behind (the effect a test
//! can see), people's tokens made with `rbk token create`, and signing in as a browser does.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::http::{self, Answer};
use super::rbk_serve::Serve;
use super::waiting::until;
use super::{rbk_in, repo_root};

pub const DEADLINE: Duration = Duration::from_secs(90);

/// A label no page may turn into markup.
pub const HOSTILE: &str = "<script>alert(1)</script>";

pub struct WebProject {
    pub dir: PathBuf,
}

impl WebProject {
    /// `rbk.toml` holds `[approvers] oncall = ["alice", "bob"]`, `carol` outside the group,
    /// and `extra` (e.g. a `[web]` table).
    pub fn new(tag: &str, extra: &str) -> WebProject {
        let dir = repo_root()
            .join("target")
            .join("test-tmp")
            .join(format!("web-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("rbk.toml"),
            format!("# people who answer pages\n[approvers]\noncall = [\"alice\", \"bob\"] # the rota\n\n{extra}"),
        )
        .unwrap();
        let runbook = format!(
            r#"use std.shell

runbook clear_cache {{
  title "Clear a full cache"
  trigger alert "CacheFull"

  step look "Look at the cache" {{
    log "cache on {{alert.labels["host"]}} is full"
  }}

  step clear "Clear the cache" {{
    approval required from "oncall"
    shell.run(["touch", "{effect}"])
  }}
}}
"#,
            effect = Self::effect_of(&dir).display()
        );
        std::fs::write(dir.join("cache.rbk"), runbook).unwrap();
        WebProject { dir }
    }

    /// Puts `gate` (the approval line) on the cache-clearing step, and has the step leave
    /// `EFFECT-VALUE` behind, where VALUE is `touched` (an expression over the step's names).
    pub fn with_gate(tag: &str, gate: &str, touched: &str) -> WebProject {
        let project = WebProject::new(tag, "");
        let runbook = std::fs::read_to_string(project.dir.join("cache.rbk")).unwrap();
        let effect = project.effect().display().to_string();
        let runbook = runbook
            .replace(
                "    approval required from \"oncall\"\n",
                &format!("    {gate}\n"),
            )
            .replace(
                &format!("shell.run([\"touch\", \"{effect}\"])"),
                &format!("shell.run([\"touch\", \"{effect}-{{{touched}}}\"])"),
            );
        std::fs::write(project.dir.join("cache.rbk"), runbook).unwrap();
        project
    }

    /// The file the gated step creates when it runs.
    pub fn effect(&self) -> PathBuf {
        Self::effect_of(&self.dir)
    }

    fn effect_of(dir: &Path) -> PathBuf {
        dir.join("cache-cleared")
    }

    pub fn store(&self) -> String {
        self.dir.join("rbk.db").display().to_string()
    }

    /// `rbk token create --as NAME`: the token, from the last line of its output.
    pub fn token(&self, person: &str) -> String {
        let made = rbk_in(&self.dir, &["token", "create", "--as", person]);
        assert_eq!(made.status, 0, "{}{}", made.stdout, made.stderr);
        made.stdout
            .lines()
            .last()
            .expect("rbk token create prints the token last")
            .trim()
            .to_string()
    }

    pub fn serve(&self) -> Serve {
        Serve::start(&self.dir, &["--store", &self.store()], &[])
    }

    /// Posts a CacheFull alert whose `summary` label carries a script; returns the run's id
    /// once it waits at the gate.
    pub fn start_waiting_run(&self, serve: &Serve, fingerprint: &str) -> String {
        let body = format!(
            r#"{{"version":"4","status":"firing","receiver":"rbk","alerts":[{{"status":"firing","labels":{{"alertname":"CacheFull","host":"cache-1","summary":{hostile}}},"annotations":{{"description":{hostile}}},"startsAt":"2026-12-02T03:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"{fingerprint}"}}]}}"#,
            hostile = serde_json::to_string(HOSTILE).unwrap()
        );
        let answer = serve.post_alertmanager("", &body);
        assert_eq!(answer.status, 200, "{}", answer.body);
        until(
            "the run to wait at its gate",
            DEADLINE,
            || {
                self.runs()
                    .into_iter()
                    .find(|r| r["state"] == "waiting" && r["trigger"]["fingerprint"] == fingerprint)
                    .and_then(|r| r["id"].as_str().map(str::to_string))
            },
            || format!("{:#?}\n{}", self.runs(), serve.log()),
        )
    }

    pub fn runs(&self) -> Vec<serde_json::Value> {
        let listed = rbk_in(
            &self.dir,
            &[
                "runs",
                "--store",
                &self.store(),
                "--format",
                "json",
                "--limit",
                "100",
            ],
        );
        serde_json::from_str(listed.stdout.trim()).unwrap_or_default()
    }

    pub fn state(&self, run: &str) -> String {
        self.runs()
            .into_iter()
            .find(|r| r["id"] == run)
            .and_then(|r| r["state"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    pub fn wait_for_state(&self, serve: &Serve, run: &str, state: &str) {
        until(
            &format!("run {run} to be {state}"),
            DEADLINE,
            || (self.state(run) == state).then_some(()),
            || format!("{:#?}\n{}", self.runs(), serve.log()),
        );
    }

    /// `rbk log RUN --verify --format json`: must pass.
    pub fn verified_log(&self, run: &str) -> String {
        let log = rbk_in(
            &self.dir,
            &[
                "log",
                run,
                "--store",
                &self.store(),
                "--verify",
                "--format",
                "json",
            ],
        );
        assert_eq!(log.status, 0, "{}{}", log.stdout, log.stderr);
        log.stdout
    }
}

pub fn get(url: &str, headers: &[(&str, &str)]) -> Answer {
    http::request("GET", url, headers, "").unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

pub fn post_form(url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    http::request("POST", url, &all, body).unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

/// The value of the first hidden `csrf` input on a page.
pub fn csrf_of(page: &str) -> String {
    let start = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("no CSRF token on the page:\n{page}"))
        + "name=\"csrf\" value=\"".len();
    page[start..].split('"').next().unwrap().to_string()
}

/// `name=value` of the cookie `name` set by an answer.
pub fn cookie_set(answer: &Answer, name: &str) -> Option<String> {
    answer
        .headers("set-cookie")
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
}

/// Signs in through the login form as a browser does; returns the `Cookie` header value.
pub fn sign_in(base: &str, token: &str) -> String {
    let form = get(&format!("{base}/login"), &[]);
    assert_eq!(form.status, 200, "{}", form.body);
    let login_cookie = cookie_set(&form, "rbk_login").expect("the login form sets its cookie");
    let login_cookie = login_cookie.split(';').next().unwrap().to_string();
    let csrf = csrf_of(&form.body);
    let signed = post_form(
        &format!("{base}/login"),
        &[("cookie", &login_cookie)],
        &format!("token={token}&csrf={csrf}"),
    );
    assert_eq!(signed.status, 303, "{}", signed.body);
    let session = cookie_set(&signed, "rbk_session").expect("signing in sets the session cookie");
    session.split(';').next().unwrap().to_string()
}

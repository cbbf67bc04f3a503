//! The ticket modules end to end: a runbook using `std.jira`, `std.github` and PagerDuty's
//! incident actions, run by the built binary with `rbk.toml` pointing all three at one local
//! stand-in that records every request. What the APIs receive is asserted exactly, down to the
//! defaults the engine fills in (`issue_type`, `labels`) and the argument names the natives read.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::json;
use support::repo_root;

const JIRA_TOKEN: &str = "jira-e2e-token-5f1c";
const GITHUB_TOKEN: &str = "ghp-e2e-token-77ab";
const PD_TOKEN: &str = "pd-e2e-token-9d2e";

const TRANSITIONS: &str = r#"{"transitions":[{"id":"11","name":"Start Progress","to":{"name":"In Progress"}},{"id":"31","name":"Close","to":{"name":"Done"}}]}"#;

const RUNBOOK: &str = r#"use std.jira
use std.github
use std.pagerduty

/// Files and closes the tickets of one incident.
runbook tickets {
  title "Incident tickets"
  owner "sre"

  input {
    incident: string = "PT4KHLK"
  }

  step ack "Acknowledge the page" {
    pagerduty.acknowledge_incident(incident)
  }

  step open "Open the tickets" {
    let key = jira.create_issue("OPS", "disk filling on node-3", "82% -> 91% in 1h")
    let number = github.create_issue(repo: "acme/infra", title: "disk filling on node-3", body: "Jira: {key}")
  }

  step close "Close them" {
    jira.comment(key, "GitHub issue #{number}")
    jira.transition(key, to: "done")
    github.close("acme/infra", number, comment: "fixed by the runbook")
    pagerduty.resolve_incident(incident, note: "tickets {key} and #{number}")
  }
}
"#;

/// One request: its line (`POST /path HTTP/1.1`), lower-cased headers and body.
#[derive(Clone, Debug)]
struct Request {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        if self.body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&self.body).unwrap()
        }
    }
}

/// Jira, GitHub and PagerDuty under `/jira`, `/gh` and `/pd` of one local server. `jira_status`
/// answers Jira's transitions list (404 plays a missing issue).
fn stand_in(jira_status: u16) -> (String, Arc<Mutex<Vec<Request>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().map_while(Result::ok) {
            let Some(request) = read(&mut socket) else {
                continue;
            };
            let (status, reply) = match request.line.split(' ').take(2).collect::<Vec<_>>()[..] {
                ["POST", "/jira/rest/api/2/issue"] => (201, r#"{"id":"1","key":"OPS-7"}"#),
                ["GET", path] if path.ends_with("/transitions") => {
                    if jira_status == 200 {
                        (200, TRANSITIONS)
                    } else {
                        (
                            jira_status,
                            r#"{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}"#,
                        )
                    }
                }
                ["POST", path] if path.ends_with("/transitions") => (204, ""),
                ["POST", "/gh/repos/acme/infra/issues"] => (201, r#"{"number":42}"#),
                ["POST", _] => (201, "{}"),
                _ => (200, "{}"),
            };
            // Recorded before answering, so the run cannot end before its request is seen.
            record.lock().unwrap().push(request);
            let _ = write!(
                socket,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    (url, seen)
}

fn read(socket: &mut std::net::TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = socket.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let mut lines = head.lines();
            let line = lines.next()?.to_string();
            let headers: Vec<(String, String)> = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return Some(Request {
                    line,
                    headers,
                    body: body.to_string(),
                });
            }
        }
    }
}

fn project(tag: &str, url: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("tickets-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tickets.rbk"), RUNBOOK).unwrap();
    std::fs::write(
        dir.join("rbk.toml"),
        format!(
            "[integrations.jira]\nurl = \"{url}/jira\"\nuser = \"bot@acme.com\"\ntoken_secret = \"E2E_JIRA\"\n\n\
             [integrations.github]\napi_url = \"{url}/gh\"\ntoken_secret = \"E2E_GITHUB\"\n\n\
             [integrations.pagerduty]\napi_url = \"{url}/pd\"\napi_token_secret = \"E2E_PD\"\nfrom = \"bot@acme.com\"\n"
        ),
    )
    .unwrap();
    dir
}

fn run(dir: &PathBuf) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(["run", "tickets.rbk", "--as", "carol"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("E2E_JIRA", JIRA_TOKEN)
        .env("E2E_GITHUB", GITHUB_TOKEN)
        .env("E2E_PD", PD_TOKEN)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the rbk binary runs");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn a_runbook_files_and_closes_tickets_with_exactly_these_requests() {
    let (url, seen) = stand_in(200);
    let dir = project("ok", &url);
    let (status, output) = run(&dir);
    assert_eq!(status, 0, "{output}");
    for token in [JIRA_TOKEN, GITHUB_TOKEN, PD_TOKEN] {
        assert!(!output.contains(token), "{output}");
    }

    let requests = seen.lock().unwrap().clone();
    let lines: Vec<&str> = requests.iter().map(|r| r.line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "PUT /pd/incidents/PT4KHLK HTTP/1.1",
            "POST /jira/rest/api/2/issue HTTP/1.1",
            "POST /gh/repos/acme/infra/issues HTTP/1.1",
            "POST /jira/rest/api/2/issue/OPS-7/comment HTTP/1.1",
            "GET /jira/rest/api/2/issue/OPS-7/transitions HTTP/1.1",
            "POST /jira/rest/api/2/issue/OPS-7/transitions HTTP/1.1",
            "POST /gh/repos/acme/infra/issues/42/comments HTTP/1.1",
            "PATCH /gh/repos/acme/infra/issues/42 HTTP/1.1",
            "POST /pd/incidents/PT4KHLK/notes HTTP/1.1",
            "PUT /pd/incidents/PT4KHLK HTTP/1.1",
        ],
        "{output}"
    );
    let bodies: Vec<serde_json::Value> = requests.iter().map(Request::json).collect();
    assert_eq!(
        bodies,
        [
            json!({"incident": {"type": "incident_reference", "status": "acknowledged"}}),
            json!({"fields": {
                "project": {"key": "OPS"},
                "summary": "disk filling on node-3",
                "description": "82% -> 91% in 1h",
                "issuetype": {"name": "Task"},
            }}),
            json!({"title": "disk filling on node-3", "body": "Jira: OPS-7", "labels": []}),
            json!({"body": "GitHub issue #42"}),
            serde_json::Value::Null,
            json!({"transition": {"id": "31"}}),
            json!({"body": "fixed by the runbook"}),
            json!({"state": "closed", "state_reason": "completed"}),
            json!({"note": {"content": "tickets OPS-7 and #42"}}),
            json!({"incident": {"type": "incident_reference", "status": "resolved"}}),
        ]
    );
    // base64("bot@acme.com:jira-e2e-token-5f1c")
    let jira_basic = "Basic Ym90QGFjbWUuY29tOmppcmEtZTJlLXRva2VuLTVmMWM=";
    for request in &requests {
        let path = request.line.split(' ').nth(1).unwrap();
        let (authorization, content_type) = if path.starts_with("/jira") {
            (jira_basic.to_string(), "application/json")
        } else if path.starts_with("/gh") {
            (format!("Bearer {GITHUB_TOKEN}"), "application/json")
        } else {
            assert_eq!(request.header("from"), "bot@acme.com");
            (format!("Token token={PD_TOKEN}"), "application/json")
        };
        assert_eq!(request.header("authorization"), authorization, "{path}");
        if !request.body.is_empty() {
            assert_eq!(request.header("content-type"), content_type, "{path}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_refusal_fails_the_step_with_the_apis_own_message() {
    let (url, seen) = stand_in(404);
    let dir = project("missing", &url);
    let (status, output) = run(&dir);
    assert_eq!(status, 1, "{output}");
    assert!(
        output.contains(
            "jira.transition: Jira answered HTTP 404 to GET /jira/rest/api/2/issue/OPS-7/transitions: \
             Issue does not exist or you do not have permission to see it."
        ),
        "{output}"
    );
    assert!(!output.contains(JIRA_TOKEN), "{output}");
    // Nothing after the failed transition was sent.
    let requests = seen.lock().unwrap().clone();
    assert!(
        !requests.iter().any(|r| r.line.starts_with("PATCH")),
        "{requests:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The ticket tokens may live in a secret directory (a Kubernetes secret mount) named in
/// rbk.toml, read as `secret()` reads them: no environment variable is set here.
#[test]
fn ticket_tokens_are_read_from_the_projects_secret_files() {
    let (url, seen) = stand_in(200);
    let dir = project("files", &url);
    let mounted = dir.join("mounted");
    std::fs::create_dir_all(&mounted).unwrap();
    for (name, token) in [
        ("E2E_JIRA", JIRA_TOKEN),
        ("E2E_GITHUB", GITHUB_TOKEN),
        ("E2E_PD", PD_TOKEN),
    ] {
        std::fs::write(mounted.join(name), format!("{token}\n")).unwrap();
    }
    let toml = std::fs::read_to_string(dir.join("rbk.toml")).unwrap();
    std::fs::write(
        dir.join("rbk.toml"),
        format!("[secrets]\ndir = \"mounted\"\n\n{toml}"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(["run", "tickets.rbk", "--as", "carol"])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .env_remove("E2E_JIRA")
        .env_remove("E2E_GITHUB")
        .env_remove("E2E_PD")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the rbk binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(0), "{text}");
    for token in [JIRA_TOKEN, GITHUB_TOKEN, PD_TOKEN] {
        assert!(!text.contains(token), "{text}");
    }
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 10, "{text}");
    let github = requests
        .iter()
        .find(|r| r.line.contains(" /gh/"))
        .expect("a GitHub request");
    assert_eq!(
        github.header("authorization"),
        format!("Bearer {GITHUB_TOKEN}")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

//! `rbk serve` end to end: the built binary on a free local port, with a SQLite store in a
//! scratch directory or a fresh PostgreSQL database, fed Alertmanager payloads over HTTP.
//! What is checked is what a user sees: HTTP answers, `rbk runs --format json`, `rbk log`.

mod support;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use support::{rbk_in, repo_root};

/// Long enough for a loaded CI machine; a passing test never waits this long.
const DEADLINE: Duration = Duration::from_secs(60);

const DISK: &str = r#"runbook disk_full {
  title "Disk full"
  trigger alert "DiskFull" where alert.labels["host"] != "ignored"
  concurrency 1 per alert.labels["host"]

  step look "Look at the disk" {
    let host = alert.labels["host"]
    log "disk full on {host}"
  }

  step report "Report" {
    log "done"
  }
}
"#;

const POOL: &str = r#"runbook pool_high {
  title "Pool high"
  trigger alert "PoolHigh"
  concurrency 1 per alert.labels["db"]

  step look "Look" {
    log "pool"
  }
}
"#;

const CERT: &str = r#"runbook cert_expiring {
  title "Certificate expiring"
  trigger alert "CertExpiring"
  rate 1 per 1h by alert.labels["cert"]

  step look "Look" {
    log "cert"
  }
}
"#;

const GATED: &str = r#"runbook gated {
  title "Gated"
  trigger alert "NeedsHuman"

  step ask "Ask a human" {
    approval required from "sre"
    log "approved"
  }
}
"#;

/// A gate with a deadline an hour away.
const GATED_WITH_TIMEOUT: &str = r#"runbook gated {
  title "Gated"
  trigger alert "NeedsHuman"

  step ask "Ask a human" {
    approval required from "sre" timeout 1h on timeout deny
    log "approved"
  }
}
"#;

const TICKING: &str = r#"runbook ticking {
  title "Every second"
  trigger schedule "* * * * * *"

  step look "Look" {
    log "tick"
  }
}
"#;

struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(name: &str, runbooks: &[(&str, &str)]) -> Project {
        let dir = repo_root()
            .join("target")
            .join("test-tmp")
            .join(format!("serve-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("rbk.toml"),
            "[approvers]\nsre = [\"alice\", \"bob\"]\n",
        )
        .unwrap();
        for (file, text) in runbooks {
            std::fs::write(dir.join(file), text).unwrap();
        }
        Project { dir }
    }

    fn store(&self) -> String {
        self.dir.join("rbk.db").display().to_string()
    }

    /// `rbk runs --format json` against `store`: every run, newest first.
    fn runs(&self, store: &str) -> Vec<serde_json::Value> {
        let args = [
            "runs", "--store", store, "--format", "json", "--limit", "1000",
        ];
        let out = rbk_in(&self.dir, &args);
        assert_eq!(out.status, 0, "{}{}", out.stdout, out.stderr);
        let parsed: serde_json::Value = serde_json::from_str(out.stdout.trim())
            .unwrap_or_else(|e| panic!("rbk runs --format json: {e}\n{}", out.stdout));
        parsed.as_array().cloned().unwrap_or_default()
    }

    /// Waits until `rbk runs` shows what `done` wants; returns those runs.
    fn wait_for_runs(
        &self,
        store: &str,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let started = Instant::now();
        loop {
            let runs = self.runs(store);
            if done(&runs) {
                return runs;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "rbk runs never showed what the test waits for:\n{runs:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn state(run: &serde_json::Value) -> &str {
    run["state"].as_str().unwrap_or_default()
}

/// A running `rbk serve`; stopped with SIGTERM when dropped.
struct Server {
    child: Option<Child>,
    port: u16,
    /// Its structured log lines (standard error).
    log: Receiver<String>,
}

impl Server {
    fn start(project: &Project, store: &str, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rbk"));
        command
            // Port 0: the server picks a free port and names it in its `listening` line, so
            // no other process can take the port between a test choosing it and the bind.
            .args(["serve", ".", "--listen", "127.0.0.1:0", "--store", store])
            .args(extra)
            .current_dir(&project.dir)
            .env("NO_COLOR", "1")
            .env_remove("RBK_INTAKE_TOKEN")
            .env_remove("RBK_STORE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("rbk serve starts");
        let stderr = child.stderr.take().unwrap();
        let (sender, log) = channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            child: Some(child),
            port: 0,
            log,
        };
        let listening = server.wait_for_log("\"event\":\"listening\"");
        let line: serde_json::Value = serde_json::from_str(&listening).expect("a JSON log line");
        let address = line["address"].as_str().expect("the listening address");
        // These projects configure no base URL: links (web pages, Slack messages) must name
        // the bound port, never the `:0` that was asked for.
        assert_eq!(line["web"], format!("http://{address}"), "{listening}");
        server.port = address
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .expect("a port in the listening address");
        server
    }

    /// Reads the log until a line contains `needle`; returns it.
    fn wait_for_log(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let left = DEADLINE.saturating_sub(started.elapsed());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("rbk serve never logged {needle}"),
            }
        }
    }

    fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
        request(self.port, "POST", path, token, body)
    }

    fn get(&self, path: &str) -> (u16, String) {
        request(self.port, "GET", path, None, "")
    }

    /// SIGTERM, then its exit code.
    fn stop(mut self) -> i32 {
        let mut child = self.child.take().unwrap();
        terminate(&child);
        child.wait().unwrap().code().unwrap_or(-1)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&child);
            let _ = child.wait();
        }
    }
}

fn terminate(child: &Child) {
    // SAFETY: a signal to our own child, which has not been waited for yet.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
}

/// One HTTP/1.1 request on a fresh connection: the status and the body.
fn request(port: u16, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("rbk serve accepts");
    let auth = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n{auth}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// An Alertmanager webhook v4 body with one alert.
fn payload(name: &str, status: &str, fingerprint: &str, starts_at: &str, labels: &str) -> String {
    format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"{name}\"}}","truncatedAlerts":0,"status":"{status}","receiver":"rbk","groupLabels":{{"alertname":"{name}"}},"commonLabels":{{}},"commonAnnotations":{{}},"externalURL":"http://alertmanager:9093","alerts":[{{"status":"{status}","labels":{{"alertname":"{name}",{labels}}},"annotations":{{"summary":"test"}},"startsAt":"{starts_at}","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus:9090/graph","fingerprint":"{fingerprint}"}}]}}"#
    )
}

fn disk_alert(status: &str) -> String {
    payload(
        "DiskFull",
        status,
        "d15cf011",
        "2026-12-02T01:00:00Z",
        r#""host":"db1""#,
    )
}

#[test]
fn refuses_to_start_on_a_runbook_with_errors() {
    let project = Project::new(
        "refuses",
        &[(
            "broken.rbk",
            "runbook broken {\n  title \"Broken\"\n  step s {\n    log missing_name\n  }\n}\n",
        )],
    );
    let out = rbk_in(&project.dir, &["serve", ".", "--listen", "127.0.0.1:0"]);
    assert_eq!(out.status, 1, "{}{}", out.stdout, out.stderr);
    let shown = out
        .stdout
        .replace(&project.dir.display().to_string(), "[DIR]");
    insta::assert_snapshot!(shown);
}

#[test]
fn without_a_token_it_refuses_a_non_loopback_address() {
    let project = Project::new("no-token", &[("disk.rbk", DISK)]);
    let mut command = Command::new(env!("CARGO_BIN_EXE_rbk"));
    let out = command
        .args(["serve", ".", "--listen", "0.0.0.0:0"])
        .current_dir(&project.dir)
        .env_remove("RBK_INTAKE_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without a token")
            && stderr.contains("RBK_INTAKE_TOKEN"),
        "{stderr}"
    );
}

#[test]
fn the_intake_wants_the_right_bearer_token() {
    let project = Project::new("token", &[("disk.rbk", DISK)]);
    let store = project.store();
    let server = Server::start(
        &project,
        &store,
        &["--workers", "0"],
        &[("RBK_INTAKE_TOKEN", "s3cret-token")],
    );
    let body = disk_alert("firing");
    let (status, _) = server.post("/v1/alertmanager", None, &body);
    assert_eq!(status, 401, "no token");
    let (status, _) = server.post("/v1/alertmanager", Some("s3cret-tokem"), &body);
    assert_eq!(status, 401, "a wrong token");
    let (status, _) = server.post("/v1/alertmanager", Some("s3cret-token2"), &body);
    assert_eq!(status, 401, "a token with more after it");
    let (status, _) = server.post("/v1/alertmanager", Some("s3cret"), &body);
    assert_eq!(status, 401, "a prefix of the token");
    assert!(project.runs(&store).is_empty(), "nothing was recorded");
    let (status, answer) = server.post("/v1/alertmanager", Some("s3cret-token"), &body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(project.runs(&store).len(), 1);
    // Probes need no token.
    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(server.get("/readyz").0, 200);
}

#[test]
fn a_body_that_is_not_a_payload_is_refused_with_the_reason() {
    let project = Project::new("bad-body", &[("disk.rbk", DISK)]);
    let store = project.store();
    let server = Server::start(&project, &store, &["--workers", "0"], &[]);
    let (status, answer) = server.post("/v1/alertmanager", None, "{\"hello\": ");
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("not an Alertmanager payload"), "{answer}");
    let (status, answer) = server.post("/v1/alertmanager", None, "[1, 2, 3]");
    assert_eq!(status, 400, "{answer}");
    let too_big = format!("{{\"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (status, _) = server.post("/v1/alertmanager", None, &too_big);
    assert_eq!(status, 413);
    assert!(project.runs(&store).is_empty());
}

/// Alertmanager re-sends whole groups, retries, and an HA pair delivers twice: all of that is
/// one occurrence and must start one run.
fn one_run_for_a_hundred_deliveries(project: &Project, store: &str) {
    let server = Server::start(project, store, &["--workers", "0"], &[]);
    let body = disk_alert("firing");
    for _round in 0..5 {
        let senders: Vec<_> = (0..20)
            .map(|_| {
                let body = body.clone();
                let port = server.port;
                std::thread::spawn(move || request(port, "POST", "/v1/alertmanager", None, &body))
            })
            .collect();
        for sender in senders {
            let (status, answer) = sender.join().unwrap();
            assert_eq!(status, 200, "{answer}");
        }
    }
    let metrics = server.get("/metrics").1;
    assert!(
        metrics
            .lines()
            .any(|l| l == "rbk_alerts_received_total 100"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l == "rbk_alerts_duplicate_total 99"),
        "{metrics}"
    );
    assert_eq!(server.stop(), 0);
    let runs = project.runs(store);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(state(&runs[0]), "queued");
}

#[test]
fn the_same_payload_a_hundred_times_twenty_at_once_is_one_run() {
    let project = Project::new("hundred", &[("disk.rbk", DISK)]);
    one_run_for_a_hundred_deliveries(&project, &project.store());
}

#[test]
fn the_same_payload_a_hundred_times_is_one_run_on_postgres() {
    let project = Project::new("hundred-pg", &[("disk.rbk", DISK)]);
    let database = pg::Database::create("serve_hundred");
    one_run_for_a_hundred_deliveries(&project, &database.url());
}

fn a_matching_alert_runs_to_the_end(project: &Project, store: &str) {
    let server = Server::start(project, store, &[], &[]);
    let (status, answer) = server.post("/v1/alertmanager", None, &disk_alert("firing"));
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["starts"][0]["outcome"], "queued", "{answer}");
    let finished = server.wait_for_log("\"event\":\"run_finished\"");
    assert!(finished.contains("\"status\":\"succeeded\""), "{finished}");
    // An alert the `where` rejects starts nothing.
    let ignored = payload(
        "DiskFull",
        "firing",
        "0ther",
        "2026-12-02T01:05:00Z",
        r#""host":"ignored""#,
    );
    let (status, answer) = server.post("/v1/alertmanager", None, &ignored);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.stop(), 0, "SIGTERM ends it cleanly");
    // Read once the server is gone: opening a PostgreSQL store next to a busy server can
    // deadlock its migrations (the store's defect, reported), which is not what this tests.
    let runs = project.runs(store);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(state(&runs[0]), "succeeded", "{runs:#?}");
    assert_eq!(runs[0]["started_by"], "alertmanager");
    let run = runs[0]["id"].as_str().unwrap().to_string();
    let log = rbk_in(&project.dir, &["log", &run, "--store", store]);
    assert!(log.stdout.contains("disk full on db1"), "{}", log.stdout);
    let verified = rbk_in(&project.dir, &["log", &run, "--store", store, "--verify"]);
    assert_eq!(verified.status, 0, "{}{}", verified.stdout, verified.stderr);
}

#[test]
fn a_matching_alert_runs_the_runbook_to_the_end() {
    let project = Project::new("to-the-end", &[("disk.rbk", DISK)]);
    a_matching_alert_runs_to_the_end(&project, &project.store());
}

#[test]
fn a_matching_alert_runs_the_runbook_to_the_end_on_postgres() {
    let project = Project::new("to-the-end-pg", &[("disk.rbk", DISK)]);
    let database = pg::Database::create("serve_end");
    a_matching_alert_runs_to_the_end(&project, &database.url());
}

#[test]
fn a_resolved_alert_cancels_its_queued_run() {
    let project = Project::new("resolved", &[("disk.rbk", DISK)]);
    let store = project.store();
    let server = Server::start(&project, &store, &["--workers", "0"], &[]);
    let (status, answer) = server.post("/v1/alertmanager", None, &disk_alert("firing"));
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = server.post("/v1/alertmanager", None, &disk_alert("resolved"));
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        answer["cancelled"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    let runs = project.runs(&store);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(state(&runs[0]), "cancelled", "{runs:#?}");
}

#[test]
fn coalesced_and_suppressed_starts_are_visible_in_rbk_runs() {
    let project = Project::new("storms", &[("pool.rbk", POOL), ("cert.rbk", CERT)]);
    let store = project.store();
    let server = Server::start(&project, &store, &["--workers", "0"], &[]);
    // Two occurrences for one db: the second is coalesced onto the first (concurrency 1).
    for starts_at in ["2026-12-02T01:00:00Z", "2026-12-02T01:01:00Z"] {
        let body = payload("PoolHigh", "firing", "p001", starts_at, r#""db":"orders""#);
        let (status, answer) = server.post("/v1/alertmanager", None, &body);
        assert_eq!(status, 200, "{answer}");
    }
    // Two occurrences for one certificate within the hour: the second is suppressed (rate).
    for starts_at in ["2026-12-02T01:00:00Z", "2026-12-02T01:01:00Z"] {
        let body = payload(
            "CertExpiring",
            "firing",
            "c001",
            starts_at,
            r#""cert":"api""#,
        );
        let (status, answer) = server.post("/v1/alertmanager", None, &body);
        assert_eq!(status, 200, "{answer}");
    }
    let runs = project.runs(&store);
    let states = |runbook: &str| {
        let mut found: Vec<&str> = runs
            .iter()
            .filter(|r| r["runbook"] == runbook)
            .map(state)
            .collect();
        found.sort_unstable();
        found
    };
    assert_eq!(states("pool_high"), ["coalesced", "queued"], "{runs:#?}");
    assert_eq!(
        states("cert_expiring"),
        ["queued", "suppressed"],
        "{runs:#?}"
    );
    let metrics = server.get("/metrics").1;
    assert!(
        metrics.lines().any(|l| l == "rbk_runs_coalesced_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l == "rbk_runs_suppressed_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.lines().any(|l| l == "rbk_runs{state=\"queued\"} 2"),
        "{metrics}"
    );
}

#[test]
fn a_webhook_maps_any_json_to_an_alert() {
    let project = Project::new("webhook", &[("disk.rbk", DISK)]);
    std::fs::write(
        project.dir.join("rbk.toml"),
        "[approvers]\nsre = [\"alice\"]\n\n[serve.webhooks.grafana]\nalert = \"DiskFull\"\nlabels = { host = \"/machine/name\" }\nfingerprint = \"/id\"\nstarts_at = \"/since\"\nstarted_by = \"grafana\"\n",
    )
    .unwrap();
    let store = project.store();
    let server = Server::start(&project, &store, &["--workers", "0"], &[]);
    let body = r#"{"id": "g-17", "since": "2026-12-02T01:00:00Z", "machine": {"name": "db9"}}"#;
    let (status, answer) = server.post("/v1/webhook/grafana", None, body);
    assert_eq!(status, 200, "{answer}");
    let (status, _) = server.post("/v1/webhook/grafana", None, body);
    assert_eq!(status, 200);
    let runs = project.runs(&store);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["started_by"], "grafana");
    let (status, answer) = server.post("/v1/webhook/grafana", None, r#"{"id": 1}"#);
    assert_eq!(status, 400);
    assert!(answer.contains("/machine/name"), "{answer}");
    assert_eq!(server.post("/v1/webhook/nope", None, body).0, 404);
}

#[test]
fn a_reload_that_does_not_check_keeps_the_old_runbooks() {
    let project = Project::new("reload", &[("disk.rbk", DISK)]);
    let store = project.store();
    let server = Server::start(&project, &store, &["--workers", "0"], &[]);
    std::fs::write(
        project.dir.join("disk.rbk"),
        "runbook broken {\n  step s {\n    log missing_name\n  }\n}\n",
    )
    .unwrap();
    let pid = server.child.as_ref().unwrap().id() as i32;
    // SAFETY: a signal to our own child.
    unsafe {
        libc::kill(pid, libc::SIGHUP);
    }
    let refused = server.wait_for_log("\"event\":\"reload_refused\"");
    assert!(refused.contains("missing_name"), "{refused}");
    let (status, answer) = server.post("/v1/alertmanager", None, &disk_alert("firing"));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        project.runs(&store).len(),
        1,
        "the old disk_full still starts runs"
    );
}

/// A gate with a deadline no longer keeps its worker (it parks with its `wake_at`): SIGTERM
/// finds nothing in hand, the run waits in the store holding no lease, and the answer, given
/// while another process serves, finishes it there.
#[test]
fn sigterm_leaves_a_parked_run_waiting_and_the_next_process_finishes_it() {
    let project = Project::new("release", &[("gated.rbk", GATED_WITH_TIMEOUT)]);
    std::fs::write(
        project.dir.join("rbk.toml"),
        "[approvers]\nsre = [\"alice\", \"bob\"]\n\n[serve]\nshutdown_grace = \"1s\"\n",
    )
    .unwrap();
    let store = project.store();
    let server = Server::start(&project, &store, &[], &[]);
    let body = payload(
        "NeedsHuman",
        "firing",
        "9a7e",
        "2026-12-02T01:00:00Z",
        r#""team":"sre""#,
    );
    let (status, answer) = server.post("/v1/alertmanager", None, &body);
    assert_eq!(status, 200, "{answer}");
    server.wait_for_log("\"event\":\"parked\"");
    assert_eq!(server.stop(), 0);
    let runs = project.runs(&store);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    // Its last worker's process is gone, so `rbk runs` may call it interrupted; either way it
    // was not given back to the queue, and nothing ran.
    assert!(
        matches!(state(&runs[0]), "waiting" | "interrupted"),
        "{runs:#?}"
    );
    let run = runs[0]["id"].as_str().unwrap().to_string();
    let _server = Server::start(&project, &store, &[], &[]);
    let approved = rbk_in(
        &project.dir,
        &["approve", &run, "ask", "--as", "alice", "--store", &store],
    );
    assert_eq!(approved.status, 0, "{}{}", approved.stdout, approved.stderr);
    project.wait_for_runs(&store, |runs| state(&runs[0]) == "succeeded");
    let verified = rbk_in(&project.dir, &["log", &run, "--store", &store, "--verify"]);
    assert_eq!(verified.status, 0, "{}{}", verified.stdout, verified.stderr);
}

#[test]
fn a_schedule_tick_starts_one_run_however_many_processes_see_it() {
    let project = Project::new("ticks", &[("ticking.rbk", TICKING)]);
    let store = project.store();
    let first = Server::start(&project, &store, &["--workers", "0"], &[]);
    let second = Server::start(&project, &store, &["--workers", "0"], &[]);
    project.wait_for_runs(&store, |runs| runs.len() >= 4);
    drop((first, second));
    let runs = project.runs(&store);
    let mut keys: Vec<&str> = runs
        .iter()
        .map(|r| r["trigger"]["key"].as_str().unwrap_or_default())
        .collect();
    assert!(keys.iter().all(|k| k.starts_with("schedule|")), "{runs:#?}");
    let all = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), all, "a tick started two runs: {runs:#?}");
    assert!(
        runs.iter().all(|r| r["started_by"] == "schedule"),
        "{runs:#?}"
    );
}

/// A fresh PostgreSQL database per test (tests/postgres.rs does the same).
mod pg {
    use tokio_postgres::NoTls;

    fn base_url() -> String {
        std::env::var("RBK_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    fn admin(sql: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = base_url();
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, NoTls)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {url}: {e}"));
            tokio::spawn(connection);
            client.batch_execute(sql).await.unwrap();
        });
    }

    pub struct Database {
        name: String,
    }

    impl Database {
        pub fn create(tag: &str) -> Database {
            let name = format!("rbk_{tag}_{}", std::process::id());
            admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            admin(&format!("CREATE DATABASE {name}"));
            Database { name }
        }

        pub fn url(&self) -> String {
            let base = base_url();
            let without_query = base.split('?').next().unwrap_or(&base).to_string();
            let server = without_query
                .rsplit_once('/')
                .map_or(without_query.as_str(), |(server, _)| server)
                .to_string();
            format!("{server}/{}", self.name)
        }
    }

    impl Drop for Database {
        fn drop(&mut self) {
            admin(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[test]
fn a_run_waiting_for_a_human_holds_no_worker_and_an_answer_queues_it_again() {
    let project = Project::new("parked", &[("gated.rbk", GATED)]);
    let store = project.store();
    // One worker: the second run can only reach its gate if the first let the worker go.
    let server = Server::start(&project, &store, &["--workers", "1"], &[]);
    for (fingerprint, starts_at) in [
        ("p1", "2026-12-02T01:00:00Z"),
        ("p2", "2026-12-02T01:00:05Z"),
    ] {
        let body = payload(
            "NeedsHuman",
            "firing",
            fingerprint,
            starts_at,
            r#""team":"sre""#,
        );
        let (status, answer) = server.post("/v1/alertmanager", None, &body);
        assert_eq!(status, 200, "{answer}");
    }
    let runs = project.wait_for_runs(&store, |runs| {
        runs.len() == 2 && runs.iter().all(|r| state(r) == "waiting")
    });
    server.wait_for_log("\"event\":\"parked\"");
    // An answer from someone allowed queues each run again; the one worker finishes both,
    // and the gate's step runs once.
    for run in &runs {
        let id = run["id"].as_str().unwrap();
        let approved = rbk_in(
            &project.dir,
            &["approve", id, "ask", "--as", "bob", "--store", &store],
        );
        assert_eq!(approved.status, 0, "{}{}", approved.stdout, approved.stderr);
    }
    project.wait_for_runs(&store, |runs| runs.iter().all(|r| state(r) == "succeeded"));
    for run in &runs {
        let id = run["id"].as_str().unwrap();
        let log = rbk_in(
            &project.dir,
            &["log", id, "--store", &store, "--verify", "--format", "json"],
        );
        assert_eq!(log.status, 0, "{}{}", log.stdout, log.stderr);
        let asked = log.stdout.matches("\"step_started\"").count();
        assert_eq!(asked, 1, "the gated step ran once:\n{}", log.stdout);
        assert!(log.stdout.contains("\"run_released\""), "{}", log.stdout);
    }
}

/// A storm of distinct alerts holds the next run for one human decision.
const STORMY: &str = r#"runbook stormy {
  title "Stormy"
  trigger alert "Stormy"

  step look "Look" {
    log "looked"
  }
}
"#;

fn stormy_alert(n: u32) -> String {
    payload(
        "Stormy",
        "firing",
        &format!("st{n}"),
        "2026-12-02T01:00:00Z",
        &format!(r#""host":"h{n}""#),
    )
}

/// `rbk approve RUN storm` lets the held run start and it runs to the end; `rbk deny RUN storm`
/// cancels the next one; a run that is not held, and a person in no group, are refused.
#[test]
fn a_run_held_by_a_storm_is_released_or_cancelled_by_an_approver() {
    let project = Project::new("storm-hold", &[("stormy.rbk", STORMY)]);
    std::fs::write(
        project.dir.join("rbk.toml"),
        "[approvers]\nsre = [\"alice\", \"bob\"]\n\n[serve]\nstorm = { distinct = 1, window = \"1h\" }\n",
    )
    .unwrap();
    let store = project.store();
    let server = Server::start(&project, &store, &[], &[]);
    let (status, answer) = server.post("/v1/alertmanager", None, &stormy_alert(1));
    assert_eq!(status, 200, "{answer}");
    let runs = project.wait_for_runs(&store, |runs| {
        runs.len() == 1 && state(&runs[0]) == "succeeded"
    });
    let first = runs[0]["id"].as_str().unwrap().to_string();
    let (status, answer) = server.post("/v1/alertmanager", None, &stormy_alert(2));
    assert_eq!(status, 200, "{answer}");
    let runs = project.wait_for_runs(&store, |runs| runs.len() == 2);
    let held = runs
        .iter()
        .find(|r| r["id"] != first.as_str())
        .unwrap()
        .clone();
    assert_eq!(state(&held), "waiting", "{runs:#?}");
    let held = held["id"].as_str().unwrap().to_string();

    let approve = |run: &str, who: &str| {
        rbk_in(
            &project.dir,
            &["approve", run, "storm", "--as", who, "--store", &store],
        )
    };
    let not_held = approve(&first, "alice");
    assert_eq!(not_held.status, 1, "{}{}", not_held.stdout, not_held.stderr);
    assert!(
        not_held.stdout.contains("not held by a storm"),
        "{}",
        not_held.stdout
    );
    let outsider = approve(&held, "mallory");
    assert_eq!(outsider.status, 1, "{}{}", outsider.stdout, outsider.stderr);
    assert!(
        outsider.stdout.contains("in no approver group"),
        "{}",
        outsider.stdout
    );
    let released = approve(&held, "alice");
    assert_eq!(released.status, 0, "{}{}", released.stdout, released.stderr);
    project.wait_for_runs(&store, |runs| runs.iter().all(|r| state(r) == "succeeded"));
    let log = rbk_in(
        &project.dir,
        &[
            "log", &held, "--store", &store, "--verify", "--format", "json",
        ],
    );
    assert_eq!(log.status, 0, "{}{}", log.stdout, log.stderr);
    assert!(
        log.stdout.contains("\"storm_hold_released\""),
        "{}",
        log.stdout
    );
    let again = approve(&held, "bob");
    assert_eq!(again.status, 1, "decided once: {}", again.stdout);

    // The storm goes on: the next run is held, and this time denied.
    let (status, answer) = server.post("/v1/alertmanager", None, &stormy_alert(3));
    assert_eq!(status, 200, "{answer}");
    let runs = project.wait_for_runs(&store, |runs| runs.len() == 3);
    let third = runs[0]["id"].as_str().unwrap().to_string();
    assert_eq!(state(&runs[0]), "waiting", "{runs:#?}");
    let denied = rbk_in(
        &project.dir,
        &["deny", &third, "storm", "--as", "bob", "--store", &store],
    );
    assert_eq!(denied.status, 0, "{}{}", denied.stdout, denied.stderr);
    project.wait_for_runs(&store, |runs| state(&runs[0]) == "cancelled");
    let log = rbk_in(
        &project.dir,
        &[
            "log", &third, "--store", &store, "--verify", "--format", "json",
        ],
    );
    assert_eq!(log.status, 0, "{}{}", log.stdout, log.stderr);
    assert!(log.stdout.contains("\"run_cancelled\""), "{}", log.stdout);
    assert!(!log.stdout.contains("\"step_started\""), "{}", log.stdout);
}

const GATED_TWO_SECONDS: &str = r#"runbook gated {
  title "Gated"
  trigger alert "NeedsHuman"

  step ask "Ask a human" {
    approval required from "sre" timeout 2s on timeout deny
    log "approved"
  }
}
"#;

/// A gate with a `timeout` parks its run like any other (the only worker goes on with another
/// run), and at the deadline the reaper queues it and the gate times out with its outcome.
#[test]
fn a_gate_with_a_timeout_holds_no_worker_and_times_out_at_its_deadline() {
    let project = Project::new(
        "gate-timeout",
        &[("gated.rbk", GATED_TWO_SECONDS), ("pool.rbk", POOL)],
    );
    let store = project.store();
    let server = Server::start(&project, &store, &["--workers", "1"], &[]);
    let gated = payload(
        "NeedsHuman",
        "firing",
        "g1",
        "2026-12-02T01:00:00Z",
        r#""team":"sre""#,
    );
    let (status, answer) = server.post("/v1/alertmanager", None, &gated);
    assert_eq!(status, 200, "{answer}");
    let parked = server.wait_for_log("\"event\":\"parked\"");
    assert!(parked.contains("wake_at"), "{parked}");
    let pool = payload(
        "PoolHigh",
        "firing",
        "p1",
        "2026-12-02T01:00:00Z",
        r#""db":"db1""#,
    );
    let (status, answer) = server.post("/v1/alertmanager", None, &pool);
    assert_eq!(status, 200, "{answer}");
    let runs = project.wait_for_runs(&store, |runs| {
        runs.len() == 2
            && runs
                .iter()
                .all(|r| !matches!(state(r), "queued" | "running" | "waiting"))
    });
    let by_runbook = |name: &str| {
        runs.iter()
            .find(|r| r["runbook"] == name)
            .unwrap_or_else(|| panic!("no {name} run: {runs:#?}"))
    };
    assert_eq!(state(by_runbook("pool_high")), "succeeded", "{runs:#?}");
    let gated_run = by_runbook("gated")["id"].as_str().unwrap().to_string();
    let log = rbk_in(
        &project.dir,
        &[
            "log", &gated_run, "--store", &store, "--verify", "--format", "json",
        ],
    );
    assert_eq!(log.status, 0, "{}{}", log.stdout, log.stderr);
    assert!(
        log.stdout.contains("\"approval_timed_out\""),
        "{}",
        log.stdout
    );
    assert!(log.stdout.contains("\"step_denied\""), "{}", log.stdout);
    assert!(
        !log.stdout.contains("\"approved\""),
        "the gated step never ran: {}",
        log.stdout
    );
    // An answer after the deadline is refused, not recorded.
    let late = rbk_in(
        &project.dir,
        &[
            "approve", &gated_run, "ask", "--as", "alice", "--store", &store,
        ],
    );
    assert_eq!(late.status, 1, "{}{}", late.stdout, late.stderr);
}

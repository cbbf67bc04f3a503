//! Secrets that cannot be laundered, attacked end to end through the built binary: a runbook
//! whose programs print its secrets (`printenv`, `cat` of the secret files), an HTTP endpoint
//! that echoes them, a `fail` message, a notification and an approval prompt that carry them,
//! and `rbk serve` showing such a run. The raw values must be nowhere a person or another
//! program can read afterwards: standard output and error (human and `--format json`), `rbk
//! log`, `rbk runs`, the SQLite store's bytes, the server's log and its pages; and what was
//! sent to Slack and PagerDuty carries only the credentials meant for them.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::echo_server::EchoServer;
use support::rbk_serve::Serve;
use support::web::{self, WebProject, DEADLINE};
use support::{rbk_in, repo_root};

/// The secrets of [`LAUNDERING`], each distinctive so a search cannot mistake it.
const ENV_TOKEN: &str = "envtok-4c1b9e77";
const LATE_TOKEN: &str = "latetok-93ad0f1e";
const DIR_TOKEN: &str = "dirtok-7b2f11aa";
const FILE_TOKEN: &str = "filetok-e5d0c3b9";
const PD_KEY: &str = "pdkey-61f0aa27";

/// Launders its secrets through every path a program gives it. `MOUNT` and `KEYS` are
/// replaced by the test's directories.
const LAUNDERING: &str = r##"use std.shell
use std.http
use std.slack
use std.pagerduty

runbook launder {
  title "Every way a secret can leave as plain text"
  input {
    env_token: secret = secret("RBK_T_ENV_TOKEN")
    dir_token: secret = secret("RBK_T_DIR_TOKEN")
    file_token: secret = secret("RBK_T_FILE_TOKEN")
    echo_url: string = env("RBK_T_ECHO_URL")
  }
  escalate pagerduty.page(service: "sre", summary: "launder needs a human: {run.summary}")

  step early "A program prints a secret before any step reads it" {
    approval none reason "printenv only prints"
    let early = trim(shell.run(["printenv", "RBK_T_LATE_TOKEN"]))
    log "early: {early}"
  }

  step programs "Programs print the secrets" {
    approval none reason "printenv and cat only print"
    let printed = trim(shell.run(["printenv", "RBK_T_ENV_TOKEN"]))
    let mounted = trim(shell.run(["cat", "MOUNT/RBK_T_DIR_TOKEN"]))
    let named = trim(shell.run(["cat", "KEYS/file-token"]))
    let credential = trim(shell.run(["cat", "MOUNT/RBK_T_PD_KEY"]))
    log "printed {printed}, mounted {mounted}, named {named}, credential {credential}"
  }

  step server "An endpoint echoes a secret" {
    let response = http.post(url: echo_url, body: "{printed} {mounted}")
    log "the endpoint said {response.body}"
  }

  step complain "A failure message quotes program output" {
    on failure continue
    fail "could not rotate {printed} / {mounted} / {named}"
  }

  step late "Reads the secret printed early" {
    approval none reason "true does nothing"
    shell.run(["true", secret("RBK_T_LATE_TOKEN")])
  }

  notify slack.post(channel: "#ops", text: "rotated {printed} and {named}")

  step gated "The prompt shows resolved arguments" {
    approval required from "sre" timeout 1s on timeout deny
    shell.run(["echo", env("RBK_T_ENV_TOKEN"), mounted])
  }
}
"##;

struct Project {
    dir: PathBuf,
}

impl Project {
    fn new(tag: &str) -> Project {
        let dir = repo_root()
            .join("target")
            .join("test-tmp")
            .join(format!("secrets-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("mount")).unwrap();
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        Project { dir }
    }

    fn rbk(&self, args: &[&str]) -> support::Run {
        rbk_in(&self.dir, args)
    }

    /// Every file under the project's `.rbk/` (the SQLite store and its journal files), as text.
    fn store_files(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.dir.join(".rbk")) else {
            return found;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            found.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
        found
    }
}

fn assert_absent(secrets: &[&str], outputs: &[(String, String)]) {
    for (place, text) in outputs {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} is in {place}:\n{text}");
        }
    }
}

#[test]
fn secrets_laundered_through_programs_files_servers_and_failures_are_masked_everywhere() {
    let project = Project::new("launder");
    let mount = project.dir.join("mount");
    let keys = project.dir.join("keys");
    // As a Kubernetes secret volume and `echo value > file` write them: with a line break.
    std::fs::write(mount.join("RBK_T_DIR_TOKEN"), format!("{DIR_TOKEN}\n")).unwrap();
    std::fs::write(mount.join("RBK_T_PD_KEY"), format!("{PD_KEY}\n")).unwrap();
    std::fs::write(keys.join("file-token"), format!("{FILE_TOKEN}\n")).unwrap();
    let server = EchoServer::start(&format!("you sent {FILE_TOKEN} and: "));
    std::fs::write(
        project.dir.join("rbk.toml"),
        format!(
            "[approvers]\nsre = [\"alice\", \"bob\"]\n\n\
             [secrets]\ndir = \"mount\"\n\n\
             [secrets.files]\nRBK_T_FILE_TOKEN = \"keys/file-token\"\n\n\
             [integrations.slack]\nwebhook_url = \"{url}/slack-hook\"\n\n\
             [integrations.pagerduty]\nurl = \"{url}/v2/enqueue\"\nrouting_key_secret = \"RBK_T_PD_KEY\"\n",
            url = server.url
        ),
    )
    .unwrap();
    let runbook = LAUNDERING
        .replace("MOUNT", &mount.display().to_string())
        .replace("KEYS", &keys.display().to_string());
    std::fs::write(project.dir.join("launder.rbk"), runbook).unwrap();

    let run = |extra: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
            .args(["run", "launder.rbk", "--as", "carol"])
            .args(extra)
            .current_dir(&project.dir)
            .env("NO_COLOR", "1")
            .env("RBK_T_ENV_TOKEN", ENV_TOKEN)
            .env("RBK_T_LATE_TOKEN", LATE_TOKEN)
            .env("RBK_T_ECHO_URL", format!("{}/echo", server.url))
            .env_remove("RBK_T_DIR_TOKEN")
            .env_remove("RBK_T_FILE_TOKEN")
            .env_remove("RBK_T_PD_KEY")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let human = run(&[]);
    let json = run(&["--format", "json"]);

    // Every laundering happened, and each shows the secret's name in its place.
    let out = &human.0;
    let context = format!("{}\n{}", human.0, human.1);
    for expected in [
        "log: early: <secret RBK_T_LATE_TOKEN>",
        "log: printed <secret RBK_T_ENV_TOKEN>, mounted <secret RBK_T_DIR_TOKEN>, \
         named <secret RBK_T_FILE_TOKEN>, credential <secret RBK_T_PD_KEY>",
        "the endpoint said you sent <secret RBK_T_FILE_TOKEN> and: \
         <secret RBK_T_ENV_TOKEN> <secret RBK_T_DIR_TOKEN>",
        "could not rotate <secret RBK_T_ENV_TOKEN> / <secret RBK_T_DIR_TOKEN> / \
         <secret RBK_T_FILE_TOKEN>",
        "<secret RBK_T_ENV_TOKEN>",
    ] {
        assert!(
            out.contains(expected),
            "missing {expected:?} in:\n{context}"
        );
    }
    // The prompt showed the gated call's resolved arguments, masked.
    let prompt: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.contains("gated needs approval"))
        .take_while(|l| !l.contains("answer with"))
        .collect();
    assert!(
        prompt
            .iter()
            .any(|l| l.contains("<secret RBK_T_ENV_TOKEN>"))
            && prompt
                .iter()
                .any(|l| l.contains("<secret RBK_T_DIR_TOKEN>")),
        "the prompt:\n{}\n\n{context}",
        prompt.join("\n")
    );
    assert!(json.0.contains("<secret RBK_T_DIR_TOKEN>"), "{}", json.0);

    // Slack got the notification and PagerDuty the escalation, with its key read from the
    // secret directory; neither payload carries a runbook secret.
    let requests = server.requests();
    let slack: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("POST /slack-hook"))
        .collect();
    let pagerduty: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("POST /v2/enqueue"))
        .collect();
    assert!(
        slack
            .iter()
            .any(|r| r.contains("rotated <secret RBK_T_ENV_TOKEN> and <secret RBK_T_FILE_TOKEN>")),
        "{requests:#?}"
    );
    assert!(
        pagerduty.iter().any(|r| r.contains(PD_KEY)),
        "the routing key from the secret directory reaches PagerDuty: {requests:#?}"
    );
    let runbook_secrets = [ENV_TOKEN, LATE_TOKEN, DIR_TOKEN, FILE_TOKEN];
    for request in &slack {
        for secret in runbook_secrets.iter().chain(&[PD_KEY]) {
            assert!(!request.contains(secret), "{secret} was sent:\n{request}");
        }
    }
    // The routing key belongs in PagerDuty's own field, and nowhere else in what it gets.
    for request in &pagerduty {
        for secret in &runbook_secrets {
            assert!(!request.contains(secret), "{secret} was sent:\n{request}");
        }
        let body = request.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let mut event: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["routing_key"], PD_KEY);
        event["routing_key"] = serde_json::Value::Null;
        assert!(!event.to_string().contains(PD_KEY), "{event}");
    }

    // Nothing a person can read afterwards holds a raw value.
    let mut outputs = vec![
        ("run stdout".to_string(), human.0.clone()),
        ("run stderr".to_string(), human.1.clone()),
        ("run --format json stdout".to_string(), json.0.clone()),
        ("run --format json stderr".to_string(), json.1.clone()),
    ];
    let ids: Vec<String> = human
        .0
        .lines()
        .chain(json.0.lines())
        .filter_map(|l| {
            l.strip_prefix("run ")
                .and_then(|rest| rest.split(':').next())
                .or_else(|| l.split("\"run\":\"").nth(1)?.split('"').next())
        })
        .filter(|id| id.starts_with("r-"))
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    for id in &ids {
        for args in [vec!["log", id], vec!["log", id, "--format", "json"]] {
            let log = project.rbk(&args);
            assert_eq!(log.status, 0, "{}", log.stderr);
            assert!(
                log.stdout.contains("<secret RBK_T_FILE_TOKEN>"),
                "{}",
                log.stdout
            );
            outputs.push((args.join(" "), log.stdout + &log.stderr));
        }
    }
    let runs = project.rbk(&["runs"]);
    outputs.push(("rbk runs".into(), runs.stdout + &runs.stderr));
    let store = project.store_files();
    assert!(!store.is_empty(), "the runs were stored under .rbk/");
    outputs.extend(store);
    assert_absent(&[&runbook_secrets[..], &[PD_KEY]].concat(), &outputs);
}

#[test]
fn a_missing_or_unreadable_secret_file_fails_the_step_saying_where_rbk_looked() {
    let project = Project::new("missing");
    std::fs::write(
        project.dir.join("rbk.toml"),
        "[secrets]\ndir = \"mount\"\n\n[secrets.files]\nRBK_T_LOCKED = \"keys/locked\"\n",
    )
    .unwrap();
    std::fs::write(project.dir.join("keys/locked"), [0xffu8, 0xfe, b'x', b'y']).unwrap();
    std::fs::write(
        project.dir.join("reads.rbk"),
        "use std.shell\n\nrunbook reads {\n  title \"Reads secrets\"\n  step absent {\n    \
         approval none reason \"true does nothing\"\n    shell.run([\"true\", secret(\"RBK_T_ABSENT\")])\n  }\n}\n\n\
         runbook locked {\n  title \"Reads a bad file\"\n  step bad {\n    \
         approval none reason \"true does nothing\"\n    shell.run([\"true\", secret(\"RBK_T_LOCKED\")])\n  }\n}\n",
    )
    .unwrap();
    let absent = project.rbk(&["run", "reads.rbk::reads"]);
    assert_eq!(absent.status, 1, "{}{}", absent.stdout, absent.stderr);
    let mount = project.dir.join("mount").join("RBK_T_ABSENT");
    let expected = format!(
        "secret RBK_T_ABSENT is not set: no environment variable RBK_T_ABSENT, no file {} ([secrets] dir in rbk.toml)",
        mount.display()
    );
    assert!(absent.stdout.contains(&expected), "{}", absent.stdout);

    let locked = project.rbk(&["run", "reads.rbk::locked"]);
    assert_eq!(locked.status, 1, "{}{}", locked.stdout, locked.stderr);
    assert!(
        locked
            .stdout
            .contains("secret RBK_T_LOCKED cannot be read from")
            && locked.stdout.contains("it is not UTF-8 text"),
        "{}",
        locked.stdout
    );
}

/// A run started through `rbk serve` whose step prints a secret read from the secret
/// directory, and waits at a gate whose call holds it: the run page (journal, gate) and the
/// server's own log show it masked.
#[test]
fn serve_shows_a_laundered_secret_masked_on_the_run_page_and_in_its_log() {
    const SERVE_TOKEN: &str = "servetok-0a9c55e3";
    let project = WebProject::new("secrets", "[secrets]\ndir = \"mount\"\n");
    std::fs::create_dir_all(project.dir.join("mount")).unwrap();
    std::fs::write(
        project.dir.join("mount").join("RBK_T_SERVE_TOKEN"),
        format!("{SERVE_TOKEN}\n"),
    )
    .unwrap();
    std::fs::write(
        project.dir.join("leak.rbk"),
        format!(
            r#"use std.shell

runbook leak_on_page {{
  title "Prints a mounted secret"
  trigger alert "TokenLeak"
  concurrency 1

  step print "Print the token" {{
    approval none reason "cat only prints"
    let printed = shell.run(["cat", "{mount}/RBK_T_SERVE_TOKEN"])
    log "the token is {{printed}}"
  }}

  step apply "Use the token" {{
    approval required from "oncall"
    shell.run(["echo", printed, secret("RBK_T_SERVE_TOKEN")])
  }}
}}
"#,
            mount = project.dir.join("mount").display()
        ),
    )
    .unwrap();
    let alice = project.token("alice");
    let serve = Serve::start(&project.dir, &["--store", &project.store()], &[]);
    let body = r#"{"version":"4","status":"firing","receiver":"rbk","alerts":[{"status":"firing","labels":{"alertname":"TokenLeak"},"annotations":{},"startsAt":"2026-12-02T03:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"leak-1"}]}"#;
    let answer = serve.post_alertmanager("", body);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let run = support::waiting::until(
        "the run to wait at its gate",
        DEADLINE,
        || {
            project
                .runs()
                .into_iter()
                .find(|r| r["state"] == "waiting" && r["runbook"] == "leak_on_page")
                .and_then(|r| r["id"].as_str().map(str::to_string))
        },
        || format!("{:#?}\n{}", project.runs(), serve.log()),
    );
    let page = web::get(
        &format!("{}/runs/{run}", serve.url),
        &[("authorization", &format!("Bearer {alice}"))],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("the token is &lt;secret RBK_T_SERVE_TOKEN&gt;"),
        "{}",
        page.body
    );
    let log = rbk_in(
        &project.dir,
        &["log", &run, "--store", &project.store(), "--format", "json"],
    );
    assert!(
        log.stdout.contains("<secret RBK_T_SERVE_TOKEN>"),
        "{}",
        log.stdout
    );
    let mut outputs = vec![
        ("the run page".to_string(), page.body.clone()),
        (
            "rbk log --format json".to_string(),
            log.stdout + &log.stderr,
        ),
        ("the server's log".to_string(), serve.log()),
        (
            "the store".to_string(),
            String::from_utf8_lossy(&std::fs::read(project.store()).unwrap()).into_owned(),
        ),
    ];
    for extra in ["-wal", "-journal"] {
        let path = format!("{}{extra}", project.store());
        if Path::new(&path).exists() {
            outputs.push((
                path.clone(),
                String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
            ));
        }
    }
    assert_absent(&[SERVE_TOKEN], &outputs);
}

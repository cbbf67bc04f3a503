//! The real alert path, for end-to-end tests: Debian's `prometheus-postgres-exporter`,
//! `prometheus` and `prometheus-alertmanager`, each started on a free loopback port with its
//! files in a directory of its own and intervals of one second, so that a condition in
//! PostgreSQL reaches a webhook in about two seconds. Everything is killed when the stack is
//! dropped. `.ci/run` installs the three packages when they are missing.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::http;
use super::waiting::{free_port, until};

/// The rule Prometheus evaluates every second: `PostgresConnectionsHigh` (labels `db="orders"`)
/// while more than `idle_above` sessions of `database` are idle, for `for_seconds`.
pub struct ConnectionsRule {
    pub database: String,
    pub idle_above: u32,
    pub for_seconds: u32,
}

/// Where Alertmanager delivers: an Alertmanager webhook receiver and its bearer token.
pub struct Webhook {
    pub url: String,
    pub bearer_token: String,
}

pub const ALERT_NAME: &str = "PostgresConnectionsHigh";

pub struct AlertingStack {
    dir: PathBuf,
    children: Vec<(&'static str, Child)>,
    pub alertmanager_url: String,
    pub prometheus_url: String,
}

impl AlertingStack {
    /// postgres_exporter on `postgres_url`'s server, Prometheus scraping it with `rule`, and
    /// Alertmanager sending to `webhook`; returns once all three answer.
    pub fn start(postgres_url: &str, rule: &ConnectionsRule, webhook: &Webhook) -> AlertingStack {
        let mut stack = AlertingStack::alertmanager_only(webhook);
        let exporter_port = free_port();
        let prometheus_port = free_port();
        let exporter_url = format!("http://127.0.0.1:{exporter_port}");
        stack.prometheus_url = format!("http://127.0.0.1:{prometheus_port}");

        let mut exporter = Command::new(binary("prometheus-postgres-exporter"));
        exporter
            .arg(format!("--web.listen-address=127.0.0.1:{exporter_port}"))
            .env("DATA_SOURCE_NAME", with_sslmode_disabled(postgres_url));
        stack.spawn("postgres_exporter", exporter);
        stack.wait_ready("postgres_exporter", &format!("{exporter_url}/metrics"));

        std::fs::write(stack.dir.join("rules.yml"), rules_yaml(rule)).unwrap();
        std::fs::write(
            stack.dir.join("prometheus.yml"),
            prometheus_yaml(exporter_port, &stack.alertmanager_url),
        )
        .unwrap();
        let mut prometheus = Command::new(binary("prometheus"));
        prometheus
            .arg(format!(
                "--config.file={}",
                stack.dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                stack.dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"));
        stack.spawn("prometheus", prometheus);
        let ready = format!("{}/-/ready", stack.prometheus_url);
        stack.wait_ready("prometheus", &ready);
        stack
    }

    /// Alertmanager alone, delivering to `webhook`: alerts are posted to it with
    /// [`AlertingStack::post_alert`], as Prometheus would.
    pub fn alertmanager_only(webhook: &Webhook) -> AlertingStack {
        let port = free_port();
        let mut stack = AlertingStack::empty();
        stack.alertmanager_url = format!("http://127.0.0.1:{port}");
        std::fs::write(
            stack.dir.join("alertmanager.yml"),
            alertmanager_yaml(webhook),
        )
        .unwrap();
        let mut alertmanager = Command::new(binary("prometheus-alertmanager"));
        alertmanager
            .arg(format!(
                "--config.file={}",
                stack.dir.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", stack.dir.join("am").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            // No gossip: one Alertmanager, no cluster port to collide on.
            .arg("--cluster.listen-address=");
        stack.spawn("alertmanager", alertmanager);
        let ready = format!("{}/-/ready", stack.alertmanager_url);
        stack.wait_ready("alertmanager", &ready);
        stack
    }

    /// Prometheus alone, scraping itself every second and evaluating `rules` (the text of a
    /// rule file) every second; returns once it answers.
    pub fn prometheus_only(rules: &str) -> AlertingStack {
        let mut stack = AlertingStack::empty();
        let port = free_port();
        stack.prometheus_url = format!("http://127.0.0.1:{port}");
        std::fs::write(stack.dir.join("rules.yml"), rules).unwrap();
        std::fs::write(
            stack.dir.join("prometheus.yml"),
            format!(
                r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"#
            ),
        )
        .unwrap();
        let mut prometheus = Command::new(binary("prometheus"));
        prometheus
            .arg(format!(
                "--config.file={}",
                stack.dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                stack.dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        stack.spawn("prometheus", prometheus);
        let ready = format!("{}/-/ready", stack.prometheus_url);
        stack.wait_ready("prometheus", &ready);
        stack
    }

    /// A stack with its own directory and nothing running yet.
    fn empty() -> AlertingStack {
        let dir = super::repo_root()
            .join("target")
            .join("test-tmp")
            .join(format!("alerting-{}-{}", std::process::id(), free_port()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        AlertingStack {
            dir,
            children: Vec::new(),
            alertmanager_url: String::new(),
            prometheus_url: String::new(),
        }
    }

    /// The alerts Alertmanager holds as active under `name` (resolved ones are not listed).
    pub fn active_alerts(&self, name: &str) -> Vec<serde_json::Value> {
        let answer = http::get(&format!(
            "{}/api/v2/alerts?filter=alertname%3D%22{name}%22",
            self.alertmanager_url
        ))
        .unwrap_or_else(|e| panic!("Alertmanager's API: {e}\n{}", self.logs()));
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.json().as_array().cloned().unwrap_or_default()
    }

    /// What Prometheus says of the alert `name`: `pending`, `firing`, or None when inactive.
    pub fn prometheus_state(&self, name: &str) -> Option<String> {
        let answer = http::get(&format!("{}/api/v1/alerts", self.prometheus_url))
            .unwrap_or_else(|e| panic!("Prometheus's API: {e}\n{}", self.logs()));
        answer.json()["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|alert| alert["labels"]["alertname"] == name)
            .and_then(|alert| alert["state"].as_str().map(str::to_string))
    }

    /// How many webhook deliveries Alertmanager has failed (its own metric).
    pub fn failed_notifications(&self) -> f64 {
        let answer = http::get(&format!("{}/metrics", self.alertmanager_url))
            .unwrap_or_else(|e| panic!("Alertmanager's metrics: {e}\n{}", self.logs()));
        answer
            .body
            .lines()
            .filter(|l| l.starts_with("alertmanager_notifications_failed_total{"))
            .filter(|l| l.contains(r#"integration="webhook""#))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Gives Alertmanager a firing alert, as Prometheus does (`POST /api/v2/alerts`).
    pub fn post_alert(&self, labels: &serde_json::Value, annotations: &serde_json::Value) {
        let body = serde_json::json!([{ "labels": labels, "annotations": annotations }]);
        let answer = http::post_json(
            &format!("{}/api/v2/alerts", self.alertmanager_url),
            &[],
            &body.to_string(),
        )
        .unwrap_or_else(|e| panic!("Alertmanager's API: {e}\n{}", self.logs()));
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    /// The last lines each process wrote, for a failing test's message.
    pub fn logs(&self) -> String {
        let names: Vec<&str> = self.children.iter().map(|(n, _)| *n).collect();
        logs_in(&self.dir, &names)
    }

    fn spawn(&mut self, name: &'static str, mut command: Command) {
        let log = File::create(self.dir.join(format!("{name}.log"))).unwrap();
        let child = command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.children.push((name, child));
    }

    fn wait_ready(&mut self, name: &str, url: &str) {
        let dir = self.dir.clone();
        let names: Vec<&'static str> = self.children.iter().map(|(n, _)| *n).collect();
        let child = &mut self
            .children
            .iter_mut()
            .find(|(n, _)| *n == name)
            .expect("a started process")
            .1;
        let answered = until(
            &format!("{name} to answer at {url}"),
            Duration::from_secs(60),
            || match child.try_wait() {
                Ok(Some(status)) => Some(Err(status)),
                _ => http::get(url)
                    .ok()
                    .filter(|a| a.status == 200)
                    .map(|_| Ok(())),
            },
            || logs_in(&dir, &names),
        );
        if let Err(status) = answered {
            panic!(
                "{name} exited ({status}) before it answered\n{}",
                logs_in(&dir, &names)
            );
        }
    }
}

impl Drop for AlertingStack {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn logs_in(dir: &Path, names: &[&str]) -> String {
    names
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            format!("--- {name} ---\n{tail}\n")
        })
        .collect()
}

/// The path of a Debian package's binary, or a panic saying how to get it.
fn binary(name: &str) -> PathBuf {
    let path = Path::new("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: these tests run Debian's prometheus, prometheus-alertmanager and \
         prometheus-postgres-exporter (`apt-get install -y prometheus prometheus-alertmanager \
         prometheus-postgres-exporter`; .ci/run does it)",
        path.display()
    );
    path
}

/// lib/pq (the exporter's driver) defaults to TLS, which the local test server does not offer.
fn with_sslmode_disabled(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

fn rules_yaml(rule: &ConnectionsRule) -> String {
    format!(
        r#"groups:
  - name: rbk-e2e
    rules:
      - alert: {ALERT_NAME}
        expr: sum(pg_stat_activity_count{{datname="{database}",state="idle"}}) > {idle_above}
        for: {for_seconds}s
        labels:
          db: orders
          severity: page
        annotations:
          summary: "More than {idle_above} idle sessions on {database}"
"#,
        database = rule.database,
        idle_above = rule.idle_above,
        for_seconds = rule.for_seconds,
    )
}

fn prometheus_yaml(exporter_port: u16, alertmanager_url: &str) -> String {
    let alertmanager = alertmanager_url.trim_start_matches("http://");
    format!(
        r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["{alertmanager}"]
scrape_configs:
  - job_name: postgres
    static_configs:
      - targets: ["127.0.0.1:{exporter_port}"]
"#
    )
}

/// Alertmanager 0.25's webhook receiver with a bearer token (`http_config.authorization`),
/// grouping by alert and database, delivering at once and on every change a second later.
fn alertmanager_yaml(webhook: &Webhook) -> String {
    format!(
        r#"route:
  receiver: rbk
  group_by: [alertname, db]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: rbk
    webhook_configs:
      - url: "{url}"
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: "{token}"
"#,
        url = webhook.url,
        token = webhook.bearer_token,
    )
}

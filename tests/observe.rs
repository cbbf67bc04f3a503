//! `std.prometheus` and `std.alertmanager` against the real servers: Debian's `prometheus`
//! (recording known constants every second and scraping itself) and `prometheus-alertmanager`,
//! each started on a free loopback port by tests/support/alerting.rs. The natives are called
//! directly for exact values and errors, and the built `rbk` runs runbooks that use them, the
//! one-line verify included.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rbk_compiler::config::ProjectConfig;
use rbk_compiler::syntax::Effect;
use rbk_compiler::types::Ty;
use rbk_interpreter::{ActionCall, ActionError, Actions, Value};
use rbk_stdlib::natives::NativeActions;
use support::alerting::AlertingStack;
use support::waiting::until;
use support::{http, rbk_in, repo_root};

/// Two series of one recorded metric, with values no default or mock would produce.
const RULES: &str = r#"groups:
  - name: rbk-observe
    rules:
      - record: rbk_test_ratio
        expr: vector(0.25)
        labels: {db: orders}
      - record: rbk_test_ratio
        expr: vector(0.5)
        labels: {db: billing}
"#;

/// Prometheus with [`RULES`], once both series and a few seconds of history are there.
fn prometheus() -> AlertingStack {
    let stack = AlertingStack::prometheus_only(RULES);
    let url = format!(
        "{}/api/v1/query?query=count_over_time(rbk_test_ratio%5B1m%5D)%20%3E%3D%203",
        stack.prometheus_url
    );
    let series = |url: &str| {
        let answer = http::get(url).ok()?;
        answer.json()["data"]["result"].as_array().map(Vec::len)
    };
    until(
        "both recorded series with three samples each",
        Duration::from_secs(60),
        || (series(&url)? == 2).then_some(()),
        || stack.logs(),
    );
    // Prometheus hands its first targets to the scraper a few seconds after it starts.
    let up = format!(
        "{}/api/v1/query?query=up%7Bjob%3D%22prometheus%22%7D%20%3D%3D%201",
        stack.prometheus_url
    );
    until(
        "Prometheus to have scraped itself",
        Duration::from_secs(60),
        || (series(&up)? == 1).then_some(()),
        || stack.logs(),
    );
    stack
}

fn natives(rbk_toml: &str) -> NativeActions {
    NativeActions::new(&ProjectConfig::parse(rbk_toml).unwrap().integrations)
}

async fn call(
    actions: &NativeActions,
    action: &str,
    args: Vec<(&str, Value)>,
) -> Result<Value, ActionError> {
    let call = ActionCall {
        action: action.to_string(),
        effect: Effect::Read,
        returns_handle: None,
        returns: Ty::Unknown,
        args: args.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        run_id: "r-observe".into(),
    };
    actions.call(&call).await
}

fn field<'v>(value: &'v Value, name: &str) -> &'v Value {
    match value {
        Value::Record(fields) => &fields[name],
        other => panic!("not a record: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_natives_read_what_a_real_server_computes() {
    let stack = prometheus();
    let actions = natives(&format!(
        "[integrations.prometheus]\nurl = \"{}\"\n",
        stack.prometheus_url
    ));
    let value = |expr: &str, default: Value| {
        call(
            &actions,
            "prometheus.value",
            vec![("expr", Value::str(expr)), ("default", default)],
        )
    };

    assert_eq!(
        value("sum(rbk_test_ratio)", Value::None).await,
        Ok(Value::Float(0.75))
    );
    assert_eq!(
        value(r#"rbk_test_ratio{db="orders"}"#, Value::None).await,
        Ok(Value::Float(0.25))
    );
    // A scalar result, computed by the server from the recorded series.
    assert_eq!(
        value("scalar(sum(rbk_test_ratio)) * 4", Value::None).await,
        Ok(Value::Float(3.0))
    );
    // Prometheus scrapes itself: its own target is up.
    assert_eq!(
        value(r#"up{job="prometheus"}"#, Value::None).await,
        Ok(Value::Float(1.0))
    );

    let several = value("rbk_test_ratio", Value::None).await.unwrap_err();
    assert!(
        several.message.contains(
            r#"gave 2 series, not one number: rbk_test_ratio{db="billing"}, rbk_test_ratio{db="orders"}"#
        ),
        "{}",
        several.message
    );
    let absent = value(r#"rbk_test_ratio{db="nowhere"}"#, Value::None)
        .await
        .unwrap_err();
    assert!(
        absent.message.contains("matched no series"),
        "{}",
        absent.message
    );
    assert_eq!(
        value(r#"rbk_test_ratio{db="nowhere"}"#, Value::Float(0.0)).await,
        Ok(Value::Float(0.0))
    );
    let bad = value("sum(rbk_test_ratio", Value::None).await.unwrap_err();
    assert!(
        bad.message
            .starts_with("Prometheus refused `sum(rbk_test_ratio` (HTTP 400, bad_data): "),
        "{}",
        bad.message
    );
    assert!(
        bad.message.contains("unclosed left parenthesis"),
        "{}",
        bad.message
    );
    let range = value("rbk_test_ratio[1m]", Value::None).await.unwrap_err();
    assert!(
        range.message.contains("is a range vector"),
        "{}",
        range.message
    );

    let Value::List(samples) = call(
        &actions,
        "prometheus.query",
        vec![("expr", Value::str("rbk_test_ratio"))],
    )
    .await
    .unwrap() else {
        panic!("a list")
    };
    let by_db: BTreeMap<String, (Value, Value)> = samples
        .iter()
        .map(|sample| {
            let Value::Map(labels) = field(sample, "labels") else {
                panic!("labels are a map")
            };
            (
                labels["db"].to_string(),
                (labels["__name__"].clone(), field(sample, "value").clone()),
            )
        })
        .collect();
    assert_eq!(
        by_db,
        BTreeMap::from([
            (
                "billing".to_string(),
                (Value::str("rbk_test_ratio"), Value::Float(0.5))
            ),
            (
                "orders".to_string(),
                (Value::str("rbk_test_ratio"), Value::Float(0.25))
            ),
        ])
    );
    assert_eq!(
        call(
            &actions,
            "prometheus.query",
            vec![("expr", Value::str("rbk_test_ratio{db=\"nowhere\"}"))]
        )
        .await,
        Ok(Value::List(vec![]))
    );

    let Value::List(series) = call(
        &actions,
        "prometheus.query_range",
        vec![
            ("expr", Value::str("sum(rbk_test_ratio)")),
            ("range", Value::Duration(2_000)),
            ("start", Value::None),
            ("end", Value::None),
            ("step", Value::Duration(1_000)),
        ],
    )
    .await
    .unwrap() else {
        panic!("a list")
    };
    assert_eq!(series.len(), 1, "{series:?}");
    let Value::List(points) = field(&series[0], "points") else {
        panic!("points are a list")
    };
    assert_eq!(
        points.len(),
        3,
        "2s at 1s steps, both ends included: {points:?}"
    );
    let times: Vec<i64> = points
        .iter()
        .map(|point| {
            assert_eq!(field(point, "value"), &Value::Float(0.75));
            match field(point, "time") {
                Value::Time(at) => *at,
                other => panic!("not a time: {other:?}"),
            }
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] == 1_000),
        "one second apart, oldest first: {times:?}"
    );
}

/// A project directory whose rbk.toml points at `stack`.
fn project(name: &str, stack: &AlertingStack, runbook: &str) -> PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("observe-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = String::new();
    if !stack.prometheus_url.is_empty() {
        toml.push_str(&format!(
            "[integrations.prometheus]\nurl = \"{}\"\n\n",
            stack.prometheus_url
        ));
    }
    if !stack.alertmanager_url.is_empty() {
        toml.push_str(&format!(
            "[integrations.alertmanager]\nurl = \"{}\"\n",
            stack.alertmanager_url
        ));
    }
    std::fs::write(dir.join("rbk.toml"), toml).unwrap();
    std::fs::write(dir.join("observe.rbk"), runbook).unwrap();
    dir
}

const RATIOS: &str = r#"use std.prometheus

/// Reads the recorded ratios and verifies their sum in one line.
runbook ratios {
  title "Recorded ratios"

  step read "Read the ratios" {
    let orders = prometheus.value("rbk_test_ratio\{db=\"orders\"}")
    let all = prometheus.query("rbk_test_ratio")
    let history = prometheus.query_range("sum(rbk_test_ratio)", range: 2s, step: 1s)
    log "orders={orders} series={len(all)} ranges={len(history)}"
  }

  verify low "The summed ratio is below 0.8" {
    expect prometheus.value("sum(rbk_test_ratio)") < 0.8 within 30s every 1s
  }
}

/// The one-line verify on a value that stays too high fails after its window.
runbook too_high {
  title "Too high"
  verify low "The summed ratio is below 0.5" {
    expect prometheus.value("sum(rbk_test_ratio)") < 0.5 within 2s every 1s
  }
}

/// A series that does not exist is not a value.
runbook absent {
  title "Absent"
  verify low "The missing series is low" {
    expect prometheus.value("rbk_test_ratio\{db=\"nowhere\"}") < 0.5 within 2s every 1s
  }
}

/// Bad PromQL fails the step with Prometheus's words.
runbook bad_promql {
  title "Bad PromQL"
  step read "Read" {
    let x = prometheus.value("sum(rbk_test_ratio")
    log "{x}"
  }
}
"#;

#[test]
fn the_one_line_verify_runs_against_a_real_prometheus() {
    let stack = prometheus();
    let dir = project("verify", &stack, RATIOS);
    let check = rbk_in(&dir, &["check", "--deny", "warnings", "observe.rbk"]);
    assert_eq!(check.status, 0, "{}{}", check.stdout, check.stderr);

    let run = rbk_in(&dir, &["run", "observe.rbk::ratios"]);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.status, 0, "{output}\n{}", stack.logs());
    assert!(output.contains("orders=0.25 series=2 ranges=1"), "{output}");

    let run = rbk_in(&dir, &["run", "observe.rbk::too_high"]);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.status, 0, "{output}");
    assert!(
        output
            .contains("`prometheus.value(\"sum(rbk_test_ratio)\") < 0.5` was still false after 2s"),
        "{output}"
    );

    let run = rbk_in(&dir, &["run", "observe.rbk::absent"]);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.status, 0, "{output}");
    assert!(
        output.contains(
            r#"✗ low: prometheus.value failed: `rbk_test_ratio{db="nowhere"}` matched no series"#
        ),
        "{output}"
    );

    let run = rbk_in(&dir, &["run", "observe.rbk::bad_promql"]);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.status, 0, "{output}");
    assert!(
        output.contains(
            "✗ read: prometheus.value failed: Prometheus refused `sum(rbk_test_ratio` (HTTP 400, bad_data)"
        ),
        "{output}"
    );
    assert!(output.contains("unclosed left parenthesis"), "{output}");
}

const SILENCES: &str = r#"use std.alertmanager

/// Silences the test alert while someone works on it.
runbook quiet {
  title "Silence the test alert"
  input {
    minutes: duration = 30m
  }
  step silence "Silence it" {
    let id = alertmanager.silence({"alertname": "RbkObserveTest", "instance": "=~db-.*"}, for: minutes, comment: "rbk observe test")
    log "silence id={id}"
  }
}

/// Lifts a silence.
runbook unquiet {
  title "Lift the silence"
  input {
    id: string
  }
  step expire "Expire it" {
    alertmanager.expire(id)
  }
}
"#;

/// Alertmanager's own record of the silence `id`.
fn silence_in(stack: &AlertingStack, id: &str) -> serde_json::Value {
    let answer = http::get(&format!("{}/api/v2/silences", stack.alertmanager_url)).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no silence {id} in {}", answer.body))
}

#[test]
fn a_silence_is_created_read_back_and_expired_in_a_real_alertmanager() {
    let stack = AlertingStack::alertmanager_only(&support::alerting::Webhook {
        url: "http://127.0.0.1:9/unused".into(),
        bearer_token: "unused".into(),
    });
    let dir = project("silence", &stack, SILENCES);
    let check = rbk_in(&dir, &["check", "--deny", "warnings", "observe.rbk"]);
    assert_eq!(check.status, 0, "{}{}", check.stdout, check.stderr);

    let run = rbk_in(
        &dir,
        &["run", "observe.rbk::quiet", "--input", "minutes=45m"],
    );
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.status, 0, "{output}\n{}", stack.logs());
    let id = output
        .split("silence id=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no id in {output}"))
        .to_string();

    let silence = silence_in(&stack, &id);
    assert_eq!(silence["status"]["state"], "active", "{silence}");
    assert_eq!(silence["comment"], "rbk observe test");
    assert!(
        silence["createdBy"]
            .as_str()
            .unwrap()
            .starts_with("rbk (run r-"),
        "{silence}"
    );
    let mut matchers: Vec<serde_json::Value> = silence["matchers"].as_array().unwrap().clone();
    matchers.sort_by_key(|m| m["name"].as_str().unwrap().to_string());
    assert_eq!(
        matchers,
        vec![
            serde_json::json!({"name": "alertname", "value": "RbkObserveTest", "isRegex": false, "isEqual": true}),
            serde_json::json!({"name": "instance", "value": "db-.*", "isRegex": true, "isEqual": true}),
        ]
    );
    // Alertmanager moves a start in its past to its own now, a few milliseconds on.
    let starts: jiff::Timestamp = silence["startsAt"].as_str().unwrap().parse().unwrap();
    let ends: jiff::Timestamp = silence["endsAt"].as_str().unwrap().parse().unwrap();
    let length = ends.duration_since(starts).as_secs_f64();
    assert!(
        (45.0 * 60.0 - 5.0..=45.0 * 60.0).contains(&length),
        "45m, not {length}s: {silence}"
    );

    let input = format!("id={id}");
    let run = rbk_in(&dir, &["run", "observe.rbk::unquiet", "--input", &input]);
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(run.status, 0, "{output}\n{}", stack.logs());
    assert_eq!(silence_in(&stack, &id)["status"]["state"], "expired");

    // Expiring what has already ended is the state asked for.
    let run = rbk_in(&dir, &["run", "observe.rbk::unquiet", "--input", &input]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);

    let unknown = "8f3c2b1a-1111-4222-8333-944455556666";
    let run = rbk_in(
        &dir,
        &[
            "run",
            "observe.rbk::unquiet",
            "--input",
            &format!("id={unknown}"),
        ],
    );
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_ne!(run.status, 0, "{output}");
    assert!(
        output.contains(&format!(
            "alertmanager.expire failed: Alertmanager at {} has no silence `{unknown}`",
            stack.alertmanager_url
        )),
        "{output}"
    );
}

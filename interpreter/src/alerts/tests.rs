use std::path::PathBuf;

use rbk_compiler::project::StdOnly;
use rbk_compiler::syntax::ItemKind;
use rbk_compiler::{check, Analysis, CheckOptions};

use super::*;
use crate::action::{ActionCall, ActionError};

/// What Alertmanager 0.25 (Debian bookworm's) posts: `notify/webhook`'s `Message`, the
/// embedded `template.Data` first, then `version`, `groupKey`, `truncatedAlerts`; times are
/// Go's RFC 3339 with nanoseconds; a firing alert ends at the zero time.
const AM_025_FIRING: &str = r#"{"receiver":"rbk","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"PostgresConnectionsHigh","db":"orders","instance":"127.0.0.1:9187","job":"postgres","severity":"page"},"annotations":{"summary":"orders uses 95% of max_connections"},"startsAt":"2026-12-01T10:00:03.127659211Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://db1:9090/graph?g0.expr=pg_stat_activity_count+%3E+90\u0026g0.tab=1","fingerprint":"4f2a1cbb9a1e2c07"},{"status":"firing","labels":{"alertname":"PostgresConnectionsHigh","db":"billing","instance":"127.0.0.1:9187","job":"postgres","severity":"page"},"annotations":{"summary":"billing uses 91% of max_connections"},"startsAt":"2026-12-01T10:00:33.5Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://db1:9090/graph","fingerprint":"9c0e5a51d3b3f1aa"}],"groupLabels":{"alertname":"PostgresConnectionsHigh"},"commonLabels":{"alertname":"PostgresConnectionsHigh","instance":"127.0.0.1:9187","job":"postgres","severity":"page"},"commonAnnotations":{},"externalURL":"http://db1:9093","version":"4","groupKey":"{}:{alertname=\"PostgresConnectionsHigh\"}","truncatedAlerts":0}"#;

/// The same group once the orders alert resolved, as a newer Alertmanager (0.27+) sends it:
/// with `routeLabels`-era extras the receiver must ignore.
const AM_RESOLVED_NEWER: &str = r#"{"receiver":"rbk","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"PostgresConnectionsHigh","db":"orders"},"annotations":{},"startsAt":"2026-12-01T10:00:03.127659211Z","endsAt":"2026-12-01T10:04:18+01:00","generatorURL":"","fingerprint":"4f2a1cbb9a1e2c07"}],"groupLabels":{},"commonLabels":{"alertname":"PostgresConnectionsHigh"},"commonAnnotations":{},"externalURL":"http://db1:9093","version":"4","groupKey":"{}/{}:{}","truncatedAlerts":3,"notification_reason":"alert_resolved","routeLabels":{"team":"db"}}"#;

#[test]
fn an_alertmanager_025_body_is_read_whole() {
    let payload = parse_payload(AM_025_FIRING.as_bytes()).unwrap();
    assert_eq!(payload.alerts.len(), 2);
    assert_eq!(payload.receiver.as_deref(), Some("rbk"));
    assert_eq!(
        payload.group_key.as_deref(),
        Some("{}:{alertname=\"PostgresConnectionsHigh\"}")
    );
    assert_eq!(payload.truncated_alerts, 0);
    let orders = &payload.alerts[0];
    assert_eq!(orders.name, "PostgresConnectionsHigh");
    assert_eq!(orders.status, AlertStatus::Firing);
    assert_eq!(orders.labels["db"], "orders");
    assert_eq!(
        orders.annotations["summary"],
        "orders uses 95% of max_connections"
    );
    // 2026-12-01T10:00:03.127Z
    assert_eq!(orders.starts_at, 1_796_119_203_127);
    assert_eq!(orders.ends_at, None, "the zero time means no end");
    assert_eq!(orders.fingerprint, "4f2a1cbb9a1e2c07");
    assert!(orders.generator_url.as_deref().unwrap().contains("g0.expr"));
    assert_eq!(
        orders.occurrence_key(),
        "4f2a1cbb9a1e2c07|2026-12-01T10:00:03.127Z"
    );
    assert_eq!(
        payload.alerts[1].occurrence_key(),
        "9c0e5a51d3b3f1aa|2026-12-01T10:00:33.500Z"
    );
    assert_eq!(payload.raw["externalURL"], "http://db1:9093");
}

#[test]
fn newer_fields_are_ignored_and_offsets_are_honoured() {
    let payload = parse_payload(AM_RESOLVED_NEWER.as_bytes()).unwrap();
    let alert = &payload.alerts[0];
    assert_eq!(alert.status, AlertStatus::Resolved);
    // 10:04:18 at +01:00 is 09:04:18 UTC.
    assert_eq!(
        alert.ends_at.map(crate::value::format_time).as_deref(),
        Some("2026-12-01T09:04:18Z")
    );
    assert_eq!(alert.generator_url, None, "an empty URL is no URL");
    assert_eq!(payload.truncated_alerts, 3);
}

#[test]
fn one_alert_object_is_a_payload_of_one() {
    let body = r#"{"labels": {"alertname": "DiskFull", "mount": "/var"}, "startsAt": "2026-12-01T10:00:00Z"}"#;
    let payload = parse_payload(body.as_bytes()).unwrap();
    assert_eq!(payload.alerts.len(), 1);
    let alert = &payload.alerts[0];
    assert_eq!(
        alert.status,
        AlertStatus::Firing,
        "firing unless it says so"
    );
    assert_eq!(alert.starts_at, 1_796_119_200_000);
    assert_eq!(
        alert.fingerprint,
        label_fingerprint(&alert.labels),
        "no fingerprint given: Alertmanager's own is computed"
    );
    assert_eq!(
        alert.occurrence_key(),
        format!("{}|2026-12-01T10:00:00Z", alert.fingerprint)
    );
}

#[test]
fn the_fingerprint_is_prometheus_label_signature() {
    // prometheus/common model/signature_test.go.
    assert_eq!(label_fingerprint(&BTreeMap::new()), "cbf29ce484222325");
    let labels = BTreeMap::from([
        ("name".to_string(), "garland, briggs".to_string()),
        ("fear".to_string(), "love is not enough".to_string()),
    ]);
    assert_eq!(
        u64::from_str_radix(&label_fingerprint(&labels), 16).unwrap(),
        5_799_056_148_416_392_346
    );
}

#[test]
fn bad_bodies_say_what_is_wrong() {
    let cases: &[(&str, &str)] = &[
        ("not json", "not JSON"),
        ("[1, 2]", "a JSON array, not an object"),
        (
            r#"{"version": "4", "status": "firing"}"#,
            "no `alerts` array",
        ),
        (
            r#"{"alerts": {"a": 1}}"#,
            "`alerts` is a JSON object, not an array",
        ),
        (
            r#"{"version": "5", "alerts": []}"#,
            "version \"5\" is not supported",
        ),
        (
            r#"{"alerts": [{"labels": {"db": "orders"}, "startsAt": "2026-12-01T10:00:00Z"}]}"#,
            "alerts[0]: the alert has no `alertname` label",
        ),
        (
            r#"{"alerts": [{"labels": {"alertname": "X"}}]}"#,
            "alerts[0]: the alert has no `startsAt`",
        ),
        (
            r#"{"alerts": [{"labels": {"alertname": "X"}, "startsAt": "yesterday"}]}"#,
            "`startsAt`: \"yesterday\" is not an RFC 3339 time",
        ),
        (
            r#"{"alerts": [{"labels": {"alertname": "X"}, "startsAt": "2026-02-30T10:00:00Z"}]}"#,
            "is not an RFC 3339 time",
        ),
        (
            r#"{"alerts": [{"labels": {"alertname": "X", "n": 3}, "startsAt": "2026-12-01T10:00:00Z"}]}"#,
            "labels[\"n\"] is a JSON number",
        ),
        (
            r#"{"alerts": [{"status": "pending", "labels": {"alertname": "X"}, "startsAt": "2026-12-01T10:00:00Z"}]}"#,
            "\"firing\" or \"resolved\"",
        ),
        (
            r#"{"alerts": [], "truncatedAlerts": -1}"#,
            "`truncatedAlerts` is -1, not a count",
        ),
    ];
    for (body, wanted) in cases {
        let error = parse_payload(body.as_bytes()).expect_err(body);
        assert!(error.to_string().contains(wanted), "{body}: {error}");
    }
}

#[test]
fn times_parse_as_rfc3339() {
    assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(Some(0)));
    assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Ok(Some(1500)));
    assert_eq!(parse_time("1970-01-01T01:00:00+01:00"), Ok(Some(0)));
    assert_eq!(parse_time("1969-12-31T23:00:00-01:00"), Ok(Some(0)));
    assert_eq!(
        parse_time("2024-02-29T00:00:00Z"),
        Ok(Some(1_709_164_800_000))
    );
    assert_eq!(parse_time("0001-01-01T00:00:00Z"), Ok(None));
    for bad in [
        "",
        "2026-12-01",
        "2026-12-01T10:00:00",
        "2026-13-01T10:00:00Z",
        "2026-12-01T24:00:00Z",
        "2026-12-01T10:00:00.Z",
        "2026-12-01T10:00:00+0100",
        "2026-12-01T10:00:00Zjunk",
        "2026-12-01T10:00:00＋01:00",
    ] {
        assert!(parse_time(bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn the_runbooks_alert_value_is_typed() {
    let payload = parse_payload(AM_RESOLVED_NEWER.as_bytes()).unwrap();
    let Value::Record(fields) = payload.alerts[0].to_value() else {
        panic!("not a record");
    };
    assert_eq!(fields["name"], Value::str("PostgresConnectionsHigh"));
    assert_eq!(fields["status"], Value::str("resolved"));
    assert!(matches!(fields["starts_at"], Value::Time(_)));
    assert!(matches!(fields["ends_at"], Value::Time(_)));
    assert_eq!(fields["fingerprint"], Value::str("4f2a1cbb9a1e2c07"));
    let Value::Map(labels) = &fields["labels"] else {
        panic!("labels are a map");
    };
    assert_eq!(labels["db"], Value::str("orders"));
    let firing = parse_payload(AM_025_FIRING.as_bytes()).unwrap();
    let Value::Record(fields) = firing.alerts[0].to_value() else {
        panic!("not a record");
    };
    assert_eq!(fields["ends_at"], Value::None);
}

// ---------------------------------------------------------------------------------------------
// Matching
// ---------------------------------------------------------------------------------------------

fn compile(source: &str) -> (Analysis, usize) {
    let analysis = check(
        vec![(PathBuf::from("rb.rbk"), source.to_string())],
        &StdOnly(&[]),
        &CheckOptions::default(),
    );
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let item = analysis
        .module(analysis.roots[0])
        .ast
        .items
        .iter()
        .position(|i| matches!(i.kind, ItemKind::Runbook(_)))
        .unwrap();
    (analysis, item)
}

/// Matching calls no action: a `where` that reached one would fail the test.
struct NoActions;

impl Actions for NoActions {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move { Err(ActionError::new(format!("{} called", call.action))) })
    }
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

const POOL: &str = r#"
fn db_of(labels: map<string, string>) -> string {
  return labels["db"] ?? "?"
}
runbook pool {
  title "t"
  trigger alert "PostgresConnectionsHigh" where alert.labels["db"] == "orders" or alert.labels["db"] == "billing"
  concurrency 1 per db_of(alert.labels)
  rate 3 per 1h by "{alert.labels["instance"]}/{alert.name}"
  step s { log "{alert.labels["db"]}" }
}
"#;

#[test]
fn a_matching_alert_gets_its_keys() {
    let (program, item) = compile(POOL);
    let payload = parse_payload(AM_025_FIRING.as_bytes()).unwrap();
    let module = program.roots[0];
    let found = block_on(match_alert(
        &program,
        module,
        item,
        &payload.alerts[1],
        &NoActions,
    ));
    assert_eq!(
        found,
        Ok(Some(TriggerMatch {
            concurrency_key: Some("billing".into()),
            rate_key: Some("127.0.0.1:9187/PostgresConnectionsHigh".into()),
        }))
    );
}

#[test]
fn the_name_and_the_where_clause_reject_with_a_reason() {
    let (program, item) = compile(POOL);
    let module = program.roots[0];
    let mut alert = parse_payload(AM_025_FIRING.as_bytes()).unwrap().alerts[0].clone();
    alert.labels.insert("db".into(), "payroll".into());
    assert_eq!(
        block_on(match_alert(&program, module, item, &alert, &NoActions)),
        Ok(None)
    );
    let verdict = block_on(judge_alert(
        &program,
        module,
        item,
        &alert.to_value(),
        &NoActions,
        &ProcessEnvironment,
    ));
    assert_eq!(
        verdict,
        Ok(Verdict::Rejected(
            "the trigger's `where alert.labels[\"db\"] == \"orders\" or alert.labels[\"db\"] == \"billing\"` is false for this alert".into()
        ))
    );
    alert.name = "DiskFull".into();
    let verdict = block_on(judge_alert(
        &program,
        module,
        item,
        &alert.to_value(),
        &NoActions,
        &ProcessEnvironment,
    ));
    assert_eq!(
        verdict,
        Ok(Verdict::Rejected(
            "runbook `pool` is triggered by alert \"PostgresConnectionsHigh\", not \"DiskFull\""
                .into()
        ))
    );
}

#[test]
fn a_missing_label_is_no_match_not_an_error() {
    let (program, item) = compile(POOL);
    let module = program.roots[0];
    let mut alert = parse_payload(AM_025_FIRING.as_bytes()).unwrap().alerts[0].clone();
    alert.labels.remove("db");
    assert_eq!(
        block_on(match_alert(&program, module, item, &alert, &NoActions)),
        Ok(None)
    );
}

#[test]
fn without_per_or_by_there_are_no_keys() {
    let (program, item) = compile(
        "runbook r {\n  title \"t\"\n  trigger alert \"A\"\n  concurrency 1\n  rate 2 per 1m\n  step s { log \"x\" }\n}\n",
    );
    let alert =
        parse_payload(br#"{"labels": {"alertname": "A"}, "startsAt": "2026-12-01T10:00:00Z"}"#)
            .unwrap()
            .alerts
            .remove(0);
    assert_eq!(
        block_on(match_alert(
            &program,
            program.roots[0],
            item,
            &alert,
            &NoActions
        )),
        Ok(Some(TriggerMatch {
            concurrency_key: None,
            rate_key: None
        }))
    );
}

#[test]
fn a_runbook_without_an_alert_trigger_is_an_error() {
    let (program, item) =
        compile("runbook r {\n  title \"t\"\n  trigger manual\n  step s { log \"x\" }\n}\n");
    let alert =
        parse_payload(br#"{"labels": {"alertname": "A"}, "startsAt": "2026-12-01T10:00:00Z"}"#)
            .unwrap()
            .alerts
            .remove(0);
    let error = block_on(match_alert(
        &program,
        program.roots[0],
        item,
        &alert,
        &NoActions,
    ))
    .unwrap_err();
    assert!(
        error.to_string().contains("has no `trigger alert"),
        "{error}"
    );
}

#[test]
fn payload_errors_say_their_kind_and_keep_the_parser_error() {
    use std::error::Error as _;
    let not_json = parse_payload(b"{").unwrap_err();
    assert!(matches!(not_json, PayloadError::NotJson(_)), "{not_json:?}");
    assert!(not_json.source().is_some(), "the JSON error is kept");
    let old = parse_payload(br#"{"version": "3", "alerts": []}"#).unwrap_err();
    assert!(
        matches!(&old, PayloadError::UnsupportedVersion { version } if version == "3"),
        "{old:?}"
    );
    let second_bad = parse_payload(
        br#"{"alerts": [{"labels": {"alertname": "A"}, "startsAt": "2026-12-01T10:00:00Z"}, {}]}"#,
    )
    .unwrap_err();
    assert!(
        matches!(second_bad, PayloadError::BadAlert { index: 1, .. }),
        "{second_bad:?}"
    );
}

//! PagerDuty's incident actions against a local capture server: the exact REST API v2 requests
//! (with the `From` header) and PagerDuty's refusals.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::natives::web::capture::{CaptureServer, Captured, Reply};
use rbk_compiler::types::Ty;

const TOKEN: &str = "u+PDRESTKEY0123456789";
const INCIDENT: &str =
    r#"{"incident":{"id":"Q2K7F3XYZ1ABCD","type":"incident","status":"acknowledged"}}"#;

fn env(vars: &[(&str, &str)]) -> EnvLookup {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(move |name| vars.get(name).cloned())
}

fn incidents(server: &CaptureServer) -> Incidents {
    let config = PagerDutyConfig {
        api_url: Some(server.url.clone()),
        api_token_secret: Some("OPS_PD_API_KEY".into()),
        from: Some("oncall-bot@example.com".into()),
        ..PagerDutyConfig::default()
    };
    configured(config, &[("OPS_PD_API_KEY", TOKEN)])
}

fn configured(config: PagerDutyConfig, vars: &[(&str, &str)]) -> Incidents {
    let mut incidents = Incidents::new(Some(&config), env(vars));
    incidents.api.retry.base_delay = Duration::from_millis(1);
    incidents.api.retry.max_delay = Duration::from_millis(5);
    incidents
}

fn call(action: &str, args: &[(&str, &str)]) -> ActionCall {
    ActionCall {
        action: action.into(),
        effect: Effect::Write,
        returns_handle: None,
        returns: Ty::Unknown,
        args: args
            .iter()
            .map(|(n, v)| (n.to_string(), Value::str(*v)))
            .collect(),
        run_id: "run-7".into(),
    }
}

fn assert_rest_headers(request: &Captured) {
    assert_eq!(
        request.headers["authorization"],
        format!("Token token={TOKEN}")
    );
    assert_eq!(
        request.headers["accept"],
        "application/vnd.pagerduty+json;version=2"
    );
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["from"], "oncall-bot@example.com");
}

#[tokio::test]
async fn add_note_posts_the_note_as_the_from_user() {
    let server = CaptureServer::start(vec![Reply::new(
        201,
        r#"{"note":{"id":"PWL7QXS","content":"Terminated 3 idle sessions."}}"#,
    )])
    .await;
    incidents(&server)
        .add_note(&call(
            "pagerduty.add_note",
            &[
                ("incident", "Q2K7F3XYZ1ABCD"),
                ("note", "Terminated 3 idle sessions."),
            ],
        ))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/incidents/Q2K7F3XYZ1ABCD/notes");
    assert_rest_headers(&requests[0]);
    assert_eq!(
        requests[0].json(),
        json!({"note": {"content": "Terminated 3 idle sessions."}})
    );
}

#[tokio::test]
async fn acknowledge_puts_the_acknowledged_status() {
    let server = CaptureServer::start(vec![Reply::new(200, INCIDENT)]).await;
    incidents(&server)
        .acknowledge(&call(
            "pagerduty.acknowledge_incident",
            &[("incident", "Q2K7F3XYZ1ABCD")],
        ))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "PUT");
    assert_eq!(requests[0].path, "/incidents/Q2K7F3XYZ1ABCD");
    assert_rest_headers(&requests[0]);
    assert_eq!(
        requests[0].json(),
        json!({"incident": {"type": "incident_reference", "status": "acknowledged"}})
    );
}

#[tokio::test]
async fn resolve_adds_the_note_first_then_resolves() {
    let server = CaptureServer::start(vec![
        Reply::new(201, r#"{"note":{}}"#),
        Reply::new(200, INCIDENT),
    ])
    .await;
    incidents(&server)
        .resolve(&call(
            "pagerduty.resolve_incident",
            &[("incident", "PT4KHLK"), ("note", "Pool back to 40%.")],
        ))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/incidents/PT4KHLK/notes");
    assert_eq!(
        requests[0].json(),
        json!({"note": {"content": "Pool back to 40%."}})
    );
    assert_eq!(requests[1].method, "PUT");
    assert_eq!(requests[1].path, "/incidents/PT4KHLK");
    assert_rest_headers(&requests[1]);
    assert_eq!(
        requests[1].json(),
        json!({"incident": {"type": "incident_reference", "status": "resolved"}})
    );
}

#[tokio::test]
async fn resolve_without_a_note_only_puts_the_status() {
    let server = CaptureServer::start(vec![Reply::new(200, INCIDENT)]).await;
    incidents(&server)
        .resolve(&call(
            "pagerduty.resolve_incident",
            &[("incident", "PT4KHLK"), ("note", "")],
        ))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "PUT");
}

#[tokio::test]
async fn a_refused_key_is_explained_without_showing_it() {
    let server = CaptureServer::start(vec![Reply::new(
        401,
        r#"{"error":{"message":"Unauthorized","code":2006}}"#,
    )])
    .await;
    let error = incidents(&server)
        .acknowledge(&call(
            "pagerduty.acknowledge_incident",
            &[("incident", "PT4KHLK")],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "pagerduty.acknowledge_incident: PagerDuty answered HTTP 401 to PUT /incidents/PT4KHLK: \
         Unauthorized (PagerDuty error code 2006) (the credential was refused: check the REST API \
         key in OPS_PD_API_KEY (an account or user key with write access; an Events API routing \
         key does not work here))"
    );
    assert!(!error.message.contains(TOKEN));
}

#[tokio::test]
async fn an_unknown_incident_surfaces_pagerdutys_message() {
    let server = CaptureServer::start(vec![Reply::new(
        404,
        r#"{"error":{"message":"Not Found","code":2100}}"#,
    )])
    .await;
    let error = incidents(&server)
        .add_note(&call(
            "pagerduty.add_note",
            &[("incident", "PNOPE"), ("note", "x")],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "pagerduty.add_note: PagerDuty answered HTTP 404 to POST /incidents/PNOPE/notes: Not \
         Found (PagerDuty error code 2100)"
    );
}

#[tokio::test]
async fn invalid_input_carries_each_error() {
    let server = CaptureServer::start(vec![Reply::new(
        400,
        r#"{"error":{"message":"Invalid Input Provided","code":2001,"errors":["Requester User Not Found"]}}"#,
    )])
    .await;
    let error = incidents(&server)
        .acknowledge(&call(
            "pagerduty.acknowledge_incident",
            &[("incident", "PT4KHLK")],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "pagerduty.acknowledge_incident: PagerDuty answered HTTP 400 to PUT /incidents/PT4KHLK: \
         Invalid Input Provided: Requester User Not Found (PagerDuty error code 2001)"
    );
    assert_eq!(server.requests().len(), 1, "a 400 is not retried");
}

#[tokio::test]
async fn setting_a_status_is_retried_on_a_server_error_but_a_note_is_not() {
    let server =
        CaptureServer::start(vec![Reply::new(503, "busy"), Reply::new(200, INCIDENT)]).await;
    incidents(&server)
        .acknowledge(&call(
            "pagerduty.acknowledge_incident",
            &[("incident", "PT4KHLK")],
        ))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);

    let server = CaptureServer::start(vec![Reply::new(503, "busy")]).await;
    let error = incidents(&server)
        .add_note(&call(
            "pagerduty.add_note",
            &[("incident", "PT4KHLK"), ("note", "x")],
        ))
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 1, "a note may have been added");
    assert!(error.message.contains("HTTP 503"), "{}", error.message);
}

#[tokio::test]
async fn without_from_or_a_key_nothing_is_sent() {
    let server = CaptureServer::start(vec![Reply::new(200, INCIDENT)]).await;
    let no_from = configured(
        PagerDutyConfig {
            api_url: Some(server.url.clone()),
            ..PagerDutyConfig::default()
        },
        &[("PAGERDUTY_API_TOKEN", TOKEN)],
    );
    let error = no_from
        .acknowledge(&call(
            "pagerduty.acknowledge_incident",
            &[("incident", "PT4KHLK")],
        ))
        .await
        .unwrap_err();
    assert!(
        error
            .message
            .contains("set `from = \"you@example.com\"` under [integrations.pagerduty]"),
        "{}",
        error.message
    );
    let no_key = configured(
        PagerDutyConfig {
            api_url: Some(server.url.clone()),
            from: Some("bot@example.com".into()),
            ..PagerDutyConfig::default()
        },
        &[("PAGERDUTY_ROUTING_KEY", "an events key is not a REST key")],
    );
    let error = no_key
        .acknowledge(&call(
            "pagerduty.acknowledge_incident",
            &[("incident", "PT4KHLK")],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "std.pagerduty has no API token: the environment variable PAGERDUTY_API_TOKEN is not set \
         (the default; name another variable with `api_token_secret` under \
         [integrations.pagerduty] in rbk.toml)"
    );
    let error = incidents(&server)
        .add_note(&call(
            "pagerduty.add_note",
            &[("incident", "../users"), ("note", "x")],
        ))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("is not a PagerDuty incident id"),
        "{}",
        error.message
    );
    assert!(server.requests().is_empty());
}

#[test]
fn the_default_api() {
    let incidents = Incidents::new(None, env(&[]));
    assert_eq!(
        incidents.api.base.as_deref(),
        Some("https://api.pagerduty.com")
    );
}

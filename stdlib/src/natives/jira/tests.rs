//! `std.jira` against a local capture server: the exact requests (method, path, query, headers,
//! body) and what each kind of refusal looks like to the runbook.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::natives::web::capture::{CaptureServer, Reply};
use rbk_compiler::types::Ty;

const TOKEN: &str = "jira-token-0123456789";
/// base64("ops@example.com:jira-token-0123456789").
const BASIC: &str = "Basic b3BzQGV4YW1wbGUuY29tOmppcmEtdG9rZW4tMDEyMzQ1Njc4OQ==";

const TRANSITIONS: &str = r#"{"expand":"transitions","transitions":[
  {"id":"11","name":"Start Progress","to":{"name":"In Progress","id":"3"}},
  {"id":"21","name":"Resolve Issue","to":{"name":"Resolved","id":"5"}},
  {"id":"31","name":"Close Issue","to":{"name":"Closed","id":"6"}}]}"#;

fn env(vars: &[(&str, &str)]) -> EnvLookup {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(move |name| vars.get(name).cloned())
}

/// A Jira Cloud site (basic authentication) at the capture server, under `/jira`.
fn cloud(server: &CaptureServer) -> Jira {
    site(
        server,
        JiraConfig {
            url: Some(format!("{}/jira/", server.url)),
            user: Some("ops@example.com".into()),
            token_secret: Some("OPS_JIRA_TOKEN".into()),
        },
        &[("OPS_JIRA_TOKEN", TOKEN)],
    )
}

fn site(server: &CaptureServer, config: JiraConfig, vars: &[(&str, &str)]) -> Jira {
    let _ = server;
    let mut jira = Jira::new(Some(&config), env(vars));
    jira.api.retry.base_delay = Duration::from_millis(1);
    jira.api.retry.max_delay = Duration::from_millis(5);
    jira
}

fn call(action: &str, args: Vec<(&str, Value)>) -> ActionCall {
    ActionCall {
        action: action.into(),
        effect: Effect::Write,
        returns_handle: None,
        returns: Ty::Unknown,
        args: args.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        run_id: "run-7".into(),
    }
}

fn create(project: &str, summary: &str) -> ActionCall {
    call(
        "jira.create_issue",
        vec![
            ("project", Value::str(project)),
            ("summary", Value::str(summary)),
            (
                "description",
                Value::str("Pool usage 95% -> 40%.\nTerminated 3 idle sessions."),
            ),
            ("issue_type", Value::str("Incident")),
        ],
    )
}

fn on(key: &str, name: &str, value: &str) -> ActionCall {
    call(
        "jira.transition",
        vec![("key", Value::str(key)), (name, Value::str(value))],
    )
}

#[tokio::test]
async fn create_issue_posts_the_fields_and_returns_the_new_key() {
    let server = CaptureServer::start(vec![Reply::new(
        201,
        r#"{"id":"10002","key":"OPS-24","self":"https://acme.atlassian.net/rest/api/2/issue/10002"}"#,
    )])
    .await;
    let jira = cloud(&server);
    let key = jira
        .create_issue(&create("OPS", "orders-db pool exhausted"))
        .await
        .unwrap();
    assert_eq!(key, Value::str("OPS-24"));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/jira/rest/api/2/issue");
    assert_eq!(request.headers["authorization"], BASIC);
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["accept"], "application/json");
    assert_eq!(
        request.json(),
        json!({
            "fields": {
                "project": {"key": "OPS"},
                "summary": "orders-db pool exhausted",
                "description": "Pool usage 95% -> 40%.\nTerminated 3 idle sessions.",
                "issuetype": {"name": "Incident"},
            }
        })
    );
}

#[tokio::test]
async fn the_issue_type_defaults_to_task_and_a_pat_is_a_bearer_token() {
    let server = CaptureServer::start(vec![Reply::new(201, r#"{"id":"1","key":"DB-1"}"#)]).await;
    let jira = site(
        &server,
        JiraConfig {
            url: Some(server.url.clone()),
            user: None,
            token_secret: None,
        },
        &[("JIRA_API_TOKEN", TOKEN)],
    );
    let mut without_type = create("DB", "replica lag");
    without_type.args.retain(|(name, _)| name != "issue_type");
    assert_eq!(
        jira.create_issue(&without_type).await.unwrap(),
        Value::str("DB-1")
    );
    let request = &server.requests()[0];
    assert_eq!(request.path, "/rest/api/2/issue");
    assert_eq!(request.headers["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(
        request.json()["fields"]["issuetype"],
        json!({"name": "Task"})
    );
}

#[tokio::test]
async fn comment_posts_the_body_to_the_issue() {
    let server = CaptureServer::start(vec![Reply::new(201, r#"{"id":"10000","body":"x"}"#)]).await;
    let jira = cloud(&server);
    let result = jira
        .comment(&call(
            "jira.comment",
            vec![
                ("key", Value::str("OPS-24")),
                (
                    "body",
                    Value::str("Resolved by run run-7: pool back to 40%."),
                ),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(result, Value::None);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/jira/rest/api/2/issue/OPS-24/comment");
    assert_eq!(requests[0].headers["authorization"], BASIC);
    assert_eq!(requests[0].headers["content-type"], "application/json");
    assert_eq!(
        requests[0].json(),
        json!({"body": "Resolved by run run-7: pool back to 40%."})
    );
}

#[tokio::test]
async fn transition_looks_up_the_id_by_name_then_posts_it() {
    let server =
        CaptureServer::start(vec![Reply::new(200, TRANSITIONS), Reply::new(204, "")]).await;
    let jira = cloud(&server);
    jira.transition(&on("OPS-24", "to", "resolve issue"))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path,
        "/jira/rest/api/2/issue/OPS-24/transitions"
    );
    assert_eq!(requests[0].headers["authorization"], BASIC);
    assert_eq!(requests[0].body, "");
    assert_eq!(requests[1].method, "POST");
    assert_eq!(
        requests[1].path,
        "/jira/rest/api/2/issue/OPS-24/transitions"
    );
    assert_eq!(requests[1].headers["authorization"], BASIC);
    assert_eq!(requests[1].headers["content-type"], "application/json");
    assert_eq!(requests[1].json(), json!({"transition": {"id": "21"}}));
}

#[tokio::test]
async fn transition_also_takes_the_status_it_leads_to() {
    let server =
        CaptureServer::start(vec![Reply::new(200, TRANSITIONS), Reply::new(204, "")]).await;
    let jira = cloud(&server);
    jira.transition(&on("OPS-24", "to", "Closed"))
        .await
        .unwrap();
    assert_eq!(
        server.requests()[1].json(),
        json!({"transition": {"id": "31"}})
    );
}

#[tokio::test]
async fn an_unknown_transition_lists_the_available_ones_and_changes_nothing() {
    let server =
        CaptureServer::start(vec![Reply::new(200, TRANSITIONS), Reply::new(204, "")]).await;
    let jira = cloud(&server);
    let error = jira
        .transition(&on("OPS-24", "to", "Done"))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "jira.transition: OPS-24 has no transition `Done` from its current status; available: \
         `Start Progress` (to In Progress), `Resolve Issue` (to Resolved), `Close Issue` (to \
         Closed); nothing was changed"
    );
    assert_eq!(server.requests().len(), 1, "only the GET was sent");
}

#[test]
fn several_transitions_to_one_status_must_be_named() {
    let transitions = vec![
        Transition {
            id: "1".into(),
            name: "Fixed".into(),
            to: "Done".into(),
        },
        Transition {
            id: "2".into(),
            name: "Won't Do".into(),
            to: "Done".into(),
        },
    ];
    let error = choose(&transitions, "done").unwrap_err().to_string();
    assert_eq!(
        error,
        "has several transitions to status `done`: `Fixed` (to Done), `Won't Do` (to Done); \
         name the one to take"
    );
    assert_eq!(choose(&transitions, "won't do").unwrap().id, "2");
    assert!(choose(&[], "Done")
        .unwrap_err()
        .to_string()
        .contains("offers no transitions to this account"));
}

#[test]
fn numeric_transition_ids_are_read_too() {
    let parsed =
        parse_transitions(r#"{"transitions":[{"id":41,"name":"Done","to":{"name":"Done"}}]}"#)
            .unwrap();
    assert_eq!(parsed[0].id, "41");
    assert_eq!(parse_transitions(r#"{"errorMessages":[]}"#), None);
}

#[tokio::test]
async fn a_refused_token_is_explained_without_showing_it() {
    // Jira's answer quoting the token must not leak it either.
    let body = format!(r#"{{"errorMessages":["Token {TOKEN} is not valid"],"errors":{{}}}}"#);
    let server = CaptureServer::start(vec![Reply::new(401, body)]).await;
    let jira = cloud(&server);
    let error = jira
        .create_issue(&create("OPS", "pool exhausted"))
        .await
        .unwrap_err();
    assert!(!error.message.contains(TOKEN), "{}", error.message);
    assert_eq!(
        error.message,
        "jira.create_issue: Jira answered HTTP 401 to POST /jira/rest/api/2/issue: Token \
         <secret OPS_JIRA_TOKEN> is not valid (the credential was refused: check the API token \
         in OPS_JIRA_TOKEN and that it belongs to `ops@example.com` ([integrations.jira] user))"
    );
    assert_eq!(server.requests().len(), 1, "a 401 is not retried");
}

#[tokio::test]
async fn a_missing_issue_surfaces_jiras_message() {
    let server = CaptureServer::start(vec![Reply::new(
        404,
        r#"{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}"#,
    )])
    .await;
    let jira = cloud(&server);
    let error = jira
        .comment(&call(
            "jira.comment",
            vec![("key", Value::str("OPS-999")), ("body", Value::str("x"))],
        ))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "jira.comment: Jira answered HTTP 404 to POST /jira/rest/api/2/issue/OPS-999/comment: \
         Issue does not exist or you do not have permission to see it."
    );
}

#[tokio::test]
async fn invalid_fields_are_named_with_jiras_reasons() {
    let server = CaptureServer::start(vec![Reply::new(
        400,
        r#"{"errorMessages":[],"errors":{"issuetype":"Specify a valid issue type","project":"Specify a valid project ID or key"}}"#,
    )])
    .await;
    let jira = cloud(&server);
    let error = jira
        .create_issue(&create("NOPE", "pool exhausted"))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "jira.create_issue: Jira answered HTTP 400 to POST /jira/rest/api/2/issue: issuetype: \
         Specify a valid issue type; project: Specify a valid project ID or key"
    );
}

#[tokio::test]
async fn a_server_error_on_a_post_is_not_retried_but_a_rate_limit_is() {
    let server = CaptureServer::start(vec![
        Reply::new(429, "").header("retry-after", "0"),
        Reply::new(502, "bad gateway"),
    ])
    .await;
    let jira = cloud(&server);
    let error = jira
        .create_issue(&create("OPS", "pool exhausted"))
        .await
        .unwrap_err();
    // The 429 was retried; the 502 may have created the issue, so it is not.
    assert_eq!(server.requests().len(), 2);
    assert!(
        error.message.contains("HTTP 502 after 2 tries"),
        "{}",
        error.message
    );
    assert!(error.message.contains("bad gateway"), "{}", error.message);
}

#[tokio::test]
async fn bad_keys_and_texts_are_refused_before_anything_is_sent() {
    let server = CaptureServer::start(vec![Reply::new(201, "{}")]).await;
    let jira = cloud(&server);
    for key in ["OPS-1/../../admin", "..", "OPS", "-1", "OPS-1?x=1", ""] {
        let error = jira
            .comment(&call(
                "jira.comment",
                vec![("key", Value::str(key)), ("body", Value::str("x"))],
            ))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("is not a Jira issue key"),
            "{key}: {}",
            error.message
        );
    }
    let error = jira
        .create_issue(&create("OPS", &"x".repeat(256)))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("`summary` has 256 characters"),
        "{}",
        error.message
    );
    let error = jira
        .create_issue(&create("OPS", "two\nlines"))
        .await
        .unwrap_err();
    assert!(error.message.contains("line break"), "{}", error.message);
    let error = jira.create_issue(&create("O PS", "x")).await.unwrap_err();
    assert!(
        error.message.contains("not a Jira project key"),
        "{}",
        error.message
    );
    let error = jira
        .comment(&call(
            "jira.comment",
            vec![("key", Value::str("OPS-1")), ("body", Value::str("  "))],
        ))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("`body` is empty"),
        "{}",
        error.message
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn missing_configuration_names_the_rbk_toml_keys() {
    let server = CaptureServer::start(vec![Reply::new(201, "{}")]).await;
    let no_site = site(&server, JiraConfig::default(), &[("JIRA_API_TOKEN", TOKEN)]);
    let error = no_site.create_issue(&create("OPS", "x")).await.unwrap_err();
    assert!(
        error
            .message
            .contains("set `url` under [integrations.jira]"),
        "{}",
        error.message
    );
    let no_token = site(
        &server,
        JiraConfig {
            url: Some(server.url.clone()),
            ..JiraConfig::default()
        },
        &[],
    );
    let error = no_token
        .create_issue(&create("OPS", "x"))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "std.jira has no API token: the environment variable JIRA_API_TOKEN is not set (the \
         default; name another variable with `token_secret` under [integrations.jira] in \
         rbk.toml)"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn an_answer_echoing_the_basic_authentication_header_is_masked() {
    let body = format!(r#"{{"errorMessages":["Authorization: {BASIC} was refused"]}}"#);
    let server = CaptureServer::start(vec![Reply::new(401, body)]).await;
    let error = cloud(&server)
        .comment(&call(
            "jira.comment",
            vec![("key", Value::str("OPS-1")), ("body", Value::str("x"))],
        ))
        .await
        .unwrap_err();
    let encoded = BASIC.trim_start_matches("Basic ");
    // The base64 masked is the whole groups of three bytes; what is left is padding-sized.
    assert!(
        !error.message.contains(&encoded[..encoded.len() - 4]),
        "{}",
        error.message
    );
    assert!(
        error
            .message
            .contains("Authorization: Basic <secret OPS_JIRA_TOKEN>"),
        "{}",
        error.message
    );
    assert!(!error.message.contains(TOKEN), "{}", error.message);
}

//! `std.github` against a local capture server: the exact requests and GitHub's refusals.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::natives::web::capture::{CaptureServer, Reply};
use rbk_compiler::types::Ty;

const TOKEN: &str = "github_pat_11ABCDEF0123456789";

fn env(vars: &[(&str, &str)]) -> EnvLookup {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(move |name| vars.get(name).cloned())
}

/// GitHub Enterprise style: the API under `/api/v3` of the capture server.
fn github(server: &CaptureServer) -> GitHub {
    let config = GitHubConfig {
        api_url: Some(format!("{}/api/v3", server.url)),
        token_secret: Some("OPS_GITHUB_TOKEN".into()),
    };
    let mut github = GitHub::new(Some(&config), env(&[("OPS_GITHUB_TOKEN", TOKEN)]));
    github.api.retry.base_delay = Duration::from_millis(1);
    github.api.retry.max_delay = Duration::from_millis(5);
    github
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

fn create(repo: &str, labels: &[&str]) -> ActionCall {
    call(
        "github.create_issue",
        vec![
            ("repo", Value::str(repo)),
            ("title", Value::str("Resolution: orders-db pool exhaustion")),
            (
                "body",
                Value::str("Terminated 3 idle sessions.\n\nRun: run-7"),
            ),
            (
                "labels",
                Value::List(labels.iter().map(|l| Value::str(*l)).collect()),
            ),
        ],
    )
}

fn assert_github_headers(request: &crate::natives::web::capture::Captured) {
    assert_eq!(request.headers["authorization"], format!("Bearer {TOKEN}"));
    assert_eq!(request.headers["accept"], "application/vnd.github+json");
    assert_eq!(request.headers["x-github-api-version"], "2022-11-28");
    assert_eq!(request.headers["content-type"], "application/json");
    assert!(request.headers["user-agent"].starts_with("rbk/"));
}

#[tokio::test]
async fn create_issue_posts_title_body_and_labels_and_returns_the_number() {
    let server = CaptureServer::start(vec![Reply::new(
        201,
        r#"{"id":1,"number":1347,"state":"open","title":"Resolution: orders-db pool exhaustion"}"#,
    )])
    .await;
    let number = github(&server)
        .create_issue(&create("acme/orders", &["incident", "db"]))
        .await
        .unwrap();
    assert_eq!(number, Value::Int(1347));
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/api/v3/repos/acme/orders/issues");
    assert_github_headers(&requests[0]);
    assert_eq!(
        requests[0].json(),
        json!({
            "title": "Resolution: orders-db pool exhaustion",
            "body": "Terminated 3 idle sessions.\n\nRun: run-7",
            "labels": ["incident", "db"],
        })
    );
}

#[tokio::test]
async fn comment_posts_to_the_issue() {
    let server = CaptureServer::start(vec![Reply::new(201, r#"{"id":9}"#)]).await;
    github(&server)
        .comment(&call(
            "github.comment",
            vec![
                ("repo", Value::str("acme/orders.api")),
                ("number", Value::Int(12)),
                ("body", Value::str("Pool back to 40%.")),
            ],
        ))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(
        requests[0].path,
        "/api/v3/repos/acme/orders.api/issues/12/comments"
    );
    assert_github_headers(&requests[0]);
    assert_eq!(requests[0].json(), json!({"body": "Pool back to 40%."}));
}

#[tokio::test]
async fn close_comments_first_then_closes_as_completed() {
    let server =
        CaptureServer::start(vec![Reply::new(201, r#"{"id":9}"#), Reply::new(200, "{}")]).await;
    github(&server)
        .close(&call(
            "github.close",
            vec![
                ("repo", Value::str("acme/orders")),
                ("number", Value::Int(12)),
                ("comment", Value::str("Fixed by run run-7.")),
            ],
        ))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(
        requests[0].path,
        "/api/v3/repos/acme/orders/issues/12/comments"
    );
    assert_eq!(requests[0].json(), json!({"body": "Fixed by run run-7."}));
    assert_eq!(requests[1].method, "PATCH");
    assert_eq!(requests[1].path, "/api/v3/repos/acme/orders/issues/12");
    assert_github_headers(&requests[1]);
    assert_eq!(
        requests[1].json(),
        json!({"state": "closed", "state_reason": "completed"})
    );
}

#[tokio::test]
async fn close_without_a_comment_only_patches() {
    let server = CaptureServer::start(vec![Reply::new(200, "{}")]).await;
    github(&server)
        .close(&call(
            "github.close",
            vec![
                ("repo", Value::str("acme/orders")),
                ("number", Value::Int(3)),
                ("comment", Value::str("")),
            ],
        ))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "PATCH");
}

#[tokio::test]
async fn a_failed_comment_does_not_close_the_issue() {
    let server = CaptureServer::start(vec![Reply::new(
        403,
        r#"{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest"}"#,
    )])
    .await;
    let error = github(&server)
        .close(&call(
            "github.close",
            vec![
                ("repo", Value::str("acme/orders")),
                ("number", Value::Int(3)),
                ("comment", Value::str("done")),
            ],
        ))
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 1, "no PATCH after the refusal");
    assert_eq!(
        error.message,
        "github.close: GitHub answered HTTP 403 to POST /api/v3/repos/acme/orders/issues/3/comments: \
         Resource not accessible by personal access token (the credential is valid but may not do \
         this: check the token in OPS_GITHUB_TOKEN: it needs Issues read and write permission on \
         the repository, and what it is allowed to do)"
    );
}

#[tokio::test]
async fn bad_credentials_are_explained_without_the_token() {
    let server = CaptureServer::start(vec![Reply::new(
        401,
        format!(r#"{{"message":"Bad credentials for {TOKEN}","documentation_url":"https://docs.github.com/rest"}}"#),
    )])
    .await;
    let error = github(&server)
        .create_issue(&create("acme/orders", &[]))
        .await
        .unwrap_err();
    assert!(!error.message.contains(TOKEN), "{}", error.message);
    assert!(
        error
            .message
            .contains("HTTP 401 to POST /api/v3/repos/acme/orders/issues: Bad credentials for <secret OPS_GITHUB_TOKEN>"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("the credential was refused"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_missing_repository_says_what_404_can_mean() {
    let server = CaptureServer::start(vec![Reply::new(
        404,
        r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest/issues/issues#create-an-issue","status":"404"}"#,
    )])
    .await;
    let error = github(&server)
        .create_issue(&create("acme/nope", &[]))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "github.create_issue: GitHub answered HTTP 404 to POST /api/v3/repos/acme/nope/issues: \
         Not Found (GitHub says 404 both for a repository or issue that does not exist and for \
         one the token may not see)"
    );
}

#[tokio::test]
async fn validation_failures_carry_each_error() {
    let server = CaptureServer::start(vec![Reply::new(
        422,
        r#"{"message":"Validation Failed","errors":[{"value":"urgent!","resource":"Label","field":"name","code":"invalid"},{"resource":"Issue","code":"custom","field":"body","message":"body is too long"}],"documentation_url":"https://docs.github.com/rest","status":"422"}"#,
    )])
    .await;
    let error = github(&server)
        .create_issue(&create("acme/orders", &["urgent!"]))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "github.create_issue: GitHub answered HTTP 422 to POST /api/v3/repos/acme/orders/issues: \
         Validation Failed: Label.name `urgent!`: invalid; body is too long"
    );
    assert_eq!(server.requests().len(), 1, "a 422 is not retried");
}

#[tokio::test]
async fn closing_is_idempotent_so_a_server_error_is_retried() {
    let server =
        CaptureServer::start(vec![Reply::new(502, "bad gateway"), Reply::new(200, "{}")]).await;
    github(&server)
        .close(&call(
            "github.close",
            vec![
                ("repo", Value::str("acme/orders")),
                ("number", Value::Int(3)),
            ],
        ))
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.method == "PATCH"));
}

#[tokio::test]
async fn bad_arguments_are_refused_before_anything_is_sent() {
    let server = CaptureServer::start(vec![Reply::new(201, r#"{"number":1}"#)]).await;
    let github = github(&server);
    for repo in [
        "acme",
        "acme/orders/extra",
        "../orders",
        "acme/..",
        "acme/or ders",
        "/x",
    ] {
        let error = github.create_issue(&create(repo, &[])).await.unwrap_err();
        assert!(
            error
                .message
                .contains("is not a repository as `OWNER/NAME`"),
            "{repo}: {}",
            error.message
        );
    }
    let error = github
        .comment(&call(
            "github.comment",
            vec![
                ("repo", Value::str("acme/orders")),
                ("number", Value::Int(0)),
                ("body", Value::str("x")),
            ],
        ))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("issue numbers start at 1"),
        "{}",
        error.message
    );
    let error = github
        .create_issue(&create("acme/orders", &[" "]))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("a label is empty"),
        "{}",
        error.message
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn the_default_api_and_token_variable() {
    let github = GitHub::new(None, env(&[]));
    assert_eq!(github.api.base.as_deref(), Some("https://api.github.com"));
    let error = github
        .create_issue(&create("acme/orders", &[]))
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "std.github has no API token: the environment variable GITHUB_TOKEN is not set (the \
         default; name another variable with `token_secret` under [integrations.github] in \
         rbk.toml)"
    );
}

//! `std.jira`, `std.github` and PagerDuty's incident actions as `rbk run` gets them: registered
//! by `all()`, configured from `rbk.toml`, credentials read from the environment variables it
//! names, called through the `Actions` trait. Each request goes to a local capture server; the
//! modules' own tests cover every request and refusal in detail.

mod support;

use std::sync::{Arc, Mutex};

use rbk_interpreter::{Actions, Value};
use support::{call, natives};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as received: the request line, the lower-cased headers, the body.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// Answers the n-th request with `replies[n]` (the last one after that).
async fn capture(replies: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        for n in 0..20 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut data = Vec::new();
            let mut buffer = [0u8; 4096];
            let (head, body) = loop {
                let read = socket.read(&mut buffer).await.unwrap_or(0);
                if read == 0 {
                    break (String::new(), String::new());
                }
                data.extend_from_slice(&buffer[..read]);
                let text = String::from_utf8_lossy(&data).into_owned();
                if let Some((head, rest)) = text.split_once("\r\n\r\n") {
                    let length: usize = head
                        .lines()
                        .filter_map(|l| l.split_once(':'))
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                        .and_then(|(_, v)| v.trim().parse().ok())
                        .unwrap_or(0);
                    if rest.len() >= length {
                        break (head.to_string(), rest.to_string());
                    }
                }
            };
            let mut lines = head.lines();
            let line = lines.next().unwrap_or("").to_string();
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            record.lock().unwrap().push(Seen {
                line,
                headers,
                body,
            });
            let (status, reply) = replies[n.min(replies.len() - 1)];
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                reply.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn jira_github_and_pagerduty_incidents_run_from_rbk_toml() {
    let (jira_url, jira) = capture(vec![(201, r#"{"id":"10002","key":"OPS-24"}"#)]).await;
    let (github_url, github) = capture(vec![(201, r#"{"number":77}"#)]).await;
    let (pd_url, pd) = capture(vec![(201, r#"{"note":{}}"#)]).await;
    // Variables only this test uses, so setting them races with nothing.
    std::env::set_var("RBK_TICKETS_TEST_JIRA", "jira-secret-token");
    std::env::set_var("RBK_TICKETS_TEST_GITHUB", "gh-secret-token");
    std::env::set_var("RBK_TICKETS_TEST_PD", "pd-secret-token");
    let actions = natives(&format!(
        "[integrations.jira]\nurl = \"{jira_url}\"\ntoken_secret = \"RBK_TICKETS_TEST_JIRA\"\n\n\
         [integrations.github]\napi_url = \"{github_url}\"\ntoken_secret = \"RBK_TICKETS_TEST_GITHUB\"\n\n\
         [integrations.pagerduty]\napi_url = \"{pd_url}\"\napi_token_secret = \"RBK_TICKETS_TEST_PD\"\nfrom = \"bot@example.com\"\n"
    ));

    let key = actions
        .call(&call(
            "jira.create_issue",
            vec![
                ("project", Value::str("OPS")),
                ("summary", Value::str("disk filling on node-3")),
                ("description", Value::str("82% -> 91% in 1h")),
                ("issue_type", Value::str("Task")),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(key, Value::str("OPS-24"));
    let number = actions
        .call(&call(
            "github.create_issue",
            vec![
                ("repo", Value::str("acme/infra")),
                ("title", Value::str("disk filling on node-3")),
                ("body", Value::str("see OPS-24")),
                ("labels", Value::List(vec![])),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(number, Value::Int(77));
    actions
        .call(&call(
            "pagerduty.add_note",
            vec![
                ("incident", Value::str("Q2K7F3XYZ1ABCD")),
                ("note", Value::str("ticket OPS-24")),
            ],
        ))
        .await
        .unwrap();

    let jira = jira.lock().unwrap()[0].clone();
    assert_eq!(jira.line, "POST /rest/api/2/issue HTTP/1.1");
    assert_eq!(jira.header("authorization"), "Bearer jira-secret-token");
    assert_eq!(jira.json()["fields"]["project"]["key"], "OPS");
    let github = github.lock().unwrap()[0].clone();
    assert_eq!(github.line, "POST /repos/acme/infra/issues HTTP/1.1");
    assert_eq!(github.header("authorization"), "Bearer gh-secret-token");
    assert_eq!(
        github.json(),
        serde_json::json!({"title": "disk filling on node-3", "body": "see OPS-24", "labels": []})
    );
    let pd = pd.lock().unwrap()[0].clone();
    assert_eq!(pd.line, "POST /incidents/Q2K7F3XYZ1ABCD/notes HTTP/1.1");
    assert_eq!(pd.header("authorization"), "Token token=pd-secret-token");
    assert_eq!(pd.header("from"), "bot@example.com");
    assert_eq!(
        pd.json(),
        serde_json::json!({"note": {"content": "ticket OPS-24"}})
    );
}

#[tokio::test]
async fn the_events_api_actions_still_work_beside_the_rest_ones() {
    let (url, seen) = capture(vec![(202, r#"{"status":"success"}"#)]).await;
    std::env::set_var("RBK_TICKETS_TEST_PD_ROUTING", "routing-key-0123");
    let actions = natives(&format!(
        "[integrations.pagerduty]\nurl = \"{url}/v2/enqueue\"\nrouting_key_secret = \"RBK_TICKETS_TEST_PD_ROUTING\"\napi_url = \"{url}\"\nfrom = \"bot@example.com\"\n"
    ));
    actions
        .call(&call(
            "pagerduty.resolve",
            vec![
                ("service", Value::str("db")),
                ("summary", Value::str("fixed")),
            ],
        ))
        .await
        .unwrap();
    let seen = seen.lock().unwrap()[0].clone();
    assert_eq!(seen.line, "POST /v2/enqueue HTTP/1.1");
    assert_eq!(seen.json()["event_action"], "resolve");
    assert_eq!(seen.json()["routing_key"], "routing-key-0123");
}

//! `std.slack`, `std.pagerduty` and `std.http` as `rbk run` gets them: registered by `all()`,
//! configured from `rbk.toml`, called through the `Actions` trait. Each request goes to a local
//! capture server; the modules' own tests cover retries, redaction and limits in detail.

mod support;

use std::sync::{Arc, Mutex};

use rbk_interpreter::{Actions, Value};
use support::{call, natives};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers every request with `status` and `body`; returns its base URL and what it received
/// (request line, then body).
async fn capture(status: u16, body: &'static str) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        for _ in 0..20 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut data = Vec::new();
            let mut buffer = [0u8; 4096];
            let (head, received) = loop {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), String::new());
                }
                data.extend_from_slice(&buffer[..n]);
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
            let line = head.lines().next().unwrap_or("").to_string();
            record.lock().unwrap().push((line, received));
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn slack_pagerduty_and_http_run_from_rbk_toml() {
    let (url, seen) = capture(200, "ok").await;
    // A variable only this test uses, so setting it races with nothing.
    std::env::set_var("RBK_WEB_TEST_PD_KEY", "pd-key-from-env");
    let actions = natives(&format!(
        "[integrations.slack]\nwebhook_url = \"{url}/hook\"\n\n\
         [integrations.pagerduty]\nurl = \"{url}/v2/enqueue\"\nrouting_key_secret = \"RBK_WEB_TEST_PD_KEY\"\n\n\
         [integrations.http]\nallowed_hosts = [\"127.0.0.1\"]\n"
    ));
    actions
        .call(&call(
            "slack.post",
            vec![("channel", Value::str("#ops")), ("text", Value::str("hi"))],
        ))
        .await
        .unwrap();
    actions
        .call(&call(
            "pagerduty.page",
            vec![
                ("service", Value::str("db")),
                ("summary", Value::str("pool exhausted")),
                ("severity", Value::str("warning")),
            ],
        ))
        .await
        .unwrap();
    let response = actions
        .call(&call(
            "http.post",
            vec![
                ("url", Value::str(format!("{url}/x"))),
                ("body", Value::str("[1,2]")),
                ("timeout", Value::Duration(5_000)),
            ],
        ))
        .await
        .unwrap();
    let Value::Record(fields) = response else {
        panic!("not a record")
    };
    assert_eq!(fields["status"], Value::Int(200));
    assert_eq!(fields["body"], Value::str("ok"));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, "POST /hook HTTP/1.1");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&seen[0].1).unwrap(),
        serde_json::json!({
            "channel": "#ops",
            "text": "hi",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
        })
    );
    assert_eq!(seen[1].0, "POST /v2/enqueue HTTP/1.1");
    let event: serde_json::Value = serde_json::from_str(&seen[1].1).unwrap();
    assert_eq!(event["routing_key"], "pd-key-from-env");
    assert_eq!(event["event_action"], "trigger");
    assert_eq!(event["dedup_key"], "r-2024-0001");
    assert_eq!(event["payload"]["summary"], "pool exhausted");
    assert_eq!(event["payload"]["severity"], "warning");
    assert!(event["payload"]["source"]
        .as_str()
        .unwrap()
        .starts_with("rbk@"));
    assert_eq!(
        seen[2],
        ("POST /x HTTP/1.1".to_string(), "[1,2]".to_string())
    );
}

#[tokio::test]
async fn unconfigured_integrations_say_what_to_set() {
    let actions = natives(
        "[integrations.slack]\nwebhook_url_secret = \"RBK_WEB_TEST_UNSET_SLACK\"\n\n\
         [integrations.pagerduty.services]\ndb = \"RBK_WEB_TEST_UNSET_PD\"\n",
    );
    let error = actions
        .call(&call(
            "slack.post",
            vec![("channel", Value::str("#ops")), ("text", Value::str("hi"))],
        ))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("RBK_WEB_TEST_UNSET_SLACK"),
        "{}",
        error.message
    );
    let error = actions
        .call(&call(
            "pagerduty.resolve",
            vec![("service", Value::str("db")), ("summary", Value::str(""))],
        ))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("RBK_WEB_TEST_UNSET_PD"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("[integrations.pagerduty.services]"),
        "{}",
        error.message
    );
}

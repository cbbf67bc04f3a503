//! `http.get(url, timeout)` and `http.post(url, body, timeout)`: plain HTTP(S) requests that
//! return an `http.Response` record `{status, body, headers}`.
//!
//! Any status is an answer, not an error: the runbook decides what a 503 means. Only a bad URL,
//! a host outside `[integrations.http] allowed_hosts`, a connection failure or the timeout fail
//! the step. Redirects are followed (at most 10, each to an allowed host). The body is read as
//! UTF-8 (invalid bytes replaced) and cut at 1 MiB. A POST body that is a JSON object or array is
//! sent as `application/json`, anything else as `text/plain; charset=utf-8`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rbk_compiler::config::HttpConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use reqwest::header::CONTENT_TYPE;
use reqwest::Url;

use super::web::{self, LazyClient, MAX_BODY};
use super::NativeAction;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REDIRECTS: usize = 10;

/// What `get` and `post` share: the allowed hosts and a client that enforces them on redirects.
struct Http {
    allowed_hosts: Arc<Vec<String>>,
    client: LazyClient,
}

impl Http {
    fn new(config: Option<&HttpConfig>) -> Self {
        let allowed_hosts: Arc<Vec<String>> = Arc::new(
            config
                .map(|c| {
                    c.allowed_hosts
                        .iter()
                        .map(|h| h.to_ascii_lowercase())
                        .collect()
                })
                .unwrap_or_default(),
        );
        let hosts = allowed_hosts.clone();
        Http {
            allowed_hosts,
            client: LazyClient::new(move || {
                let hosts = hosts.clone();
                web::client_builder().redirect(reqwest::redirect::Policy::custom(move |attempt| {
                    if attempt.previous().len() >= MAX_REDIRECTS {
                        let message = format!("more than {MAX_REDIRECTS} redirects");
                        attempt.error(message)
                    } else if !allowed(&hosts, attempt.url()) {
                        let message = format!(
                            "redirected to {}, which is not in [integrations.http] allowed_hosts",
                            attempt.url().host_str().unwrap_or("a URL without a host")
                        );
                        attempt.error(message)
                    } else {
                        attempt.follow()
                    }
                }))
            }),
        }
    }

    async fn request(
        &self,
        action: &str,
        call: &ActionCall,
        body: Option<&str>,
    ) -> Result<Value, ActionError> {
        let text = web::string_arg(call, "url")?;
        let timeout = web::duration_arg(call, "timeout", DEFAULT_TIMEOUT);
        let url = Url::parse(text)
            .map_err(|e| ActionError::new(format!("{action}: `{text}` is not a URL: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ActionError::new(format!(
                "{action}: `{text}` is not an http:// or https:// URL"
            )));
        }
        if !allowed(&self.allowed_hosts, &url) {
            return Err(ActionError::new(format!(
                "{action}: {} is not in [integrations.http] allowed_hosts in rbk.toml ({})",
                url.host_str().unwrap_or("the URL's host"),
                self.allowed_hosts.join(", ")
            )));
        }
        let client = self.client.get()?;
        let request = match body {
            None => client.get(url.clone()),
            Some(body) => client
                .post(url.clone())
                .header(CONTENT_TYPE, content_type(body))
                .body(body.to_string()),
        };
        let fail = |error: reqwest::Error| {
            if error.is_timeout() {
                ActionError::new(format!(
                    "{action} {url}: no complete answer within {}",
                    seconds(timeout)
                ))
            } else {
                ActionError::new(format!("{action} {url}: {}", web::describe_error(error)))
            }
        };
        let work = async {
            let response = request.timeout(timeout).send().await.map_err(fail)?;
            let status = response.status().as_u16();
            let mut headers: BTreeMap<String, Value> = BTreeMap::new();
            for (name, value) in response.headers() {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                headers
                    .entry(name.as_str().to_ascii_lowercase())
                    .and_modify(|v| {
                        if let Value::Str(existing) = v {
                            existing.push_str(", ");
                            existing.push_str(&value);
                        }
                    })
                    .or_insert_with(|| Value::Str(value));
            }
            let (bytes, _) = web::read_body(response, MAX_BODY).await.map_err(fail)?;
            Ok::<_, ActionError>(Value::Record(BTreeMap::from([
                ("status".to_string(), Value::Int(i64::from(status))),
                (
                    "body".to_string(),
                    Value::Str(String::from_utf8_lossy(&bytes).into_owned()),
                ),
                ("headers".to_string(), Value::Map(headers)),
            ])))
        };
        // reqwest's timeout covers the body too; this is the backstop.
        match tokio::time::timeout(timeout + Duration::from_millis(100), work).await {
            Ok(result) => result,
            Err(_) => Err(ActionError::new(format!(
                "{action} {url}: no complete answer within {}",
                seconds(timeout)
            ))),
        }
    }
}

fn seconds(duration: Duration) -> String {
    rbk_interpreter::value::format_duration(duration.as_millis() as u64)
}

/// Whether `url`'s host may be called (see [`host_allowed`]).
fn allowed(hosts: &[String], url: &Url) -> bool {
    match url.host_str() {
        Some(host) => host_allowed(hosts, host),
        None => hosts.is_empty(),
    }
}

/// The `[integrations.http] allowed_hosts` rule, for every action that reaches a host: any
/// host when the list is empty; else an exact (case-blind) match, or `*.example.com` for every
/// subdomain of example.com.
pub(super) fn host_allowed(hosts: &[String], host: &str) -> bool {
    if hosts.is_empty() {
        return true;
    }
    let host = host.to_ascii_lowercase();
    hosts.iter().any(|entry| match entry.strip_prefix('*') {
        Some(suffix) if suffix.starts_with('.') => host.ends_with(suffix),
        _ => *entry == host,
    })
}

fn content_type(body: &str) -> &'static str {
    let trimmed = body.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && serde_json::from_str::<serde_json::Value>(body).is_ok()
    {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    }
}

pub struct Get {
    http: Http,
}

impl Get {
    pub fn new(config: Option<&HttpConfig>) -> Self {
        Get {
            http: Http::new(config),
        }
    }
}

impl NativeAction for Get {
    fn name(&self) -> &'static str {
        "http.get"
    }

    fn arity(&self) -> usize {
        2
    }

    fn effect(&self) -> Effect {
        Effect::Read
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move { self.http.request("http.get", call, None).await })
    }
}

pub struct Post {
    http: Http,
}

impl Post {
    pub fn new(config: Option<&HttpConfig>) -> Self {
        Post {
            http: Http::new(config),
        }
    }
}

impl NativeAction for Post {
    fn name(&self) -> &'static str {
        "http.post"
    }

    fn arity(&self) -> usize {
        3
    }

    fn effect(&self) -> Effect {
        Effect::Write
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let body = web::string_arg(call, "body")?;
            self.http.request("http.post", call, Some(body)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::natives::web::capture::{CaptureServer, Reply};
    use rbk_compiler::types::Ty;

    fn call(action: &str, url: &str, body: Option<&str>, timeout_ms: u64) -> ActionCall {
        let mut args = vec![("url".to_string(), Value::str(url))];
        if let Some(body) = body {
            args.push(("body".to_string(), Value::str(body)));
        }
        args.push(("timeout".to_string(), Value::Duration(timeout_ms)));
        ActionCall {
            action: action.into(),
            effect: Effect::Read,
            returns_handle: None,
            returns: Ty::Unknown,
            args,
            run_id: "run-1".into(),
        }
    }

    fn field<'a>(response: &'a Value, name: &str) -> &'a Value {
        match response {
            Value::Record(fields) => &fields[name],
            other => panic!("not a record: {other:?}"),
        }
    }

    #[tokio::test]
    async fn get_returns_status_body_and_lower_case_headers() {
        let server = CaptureServer::start(vec![Reply::new(200, r#"{"ok":true}"#)
            .header("Content-Type", "application/json")
            .header("X-Request-Id", "abc")])
        .await;
        let response = Get::new(None)
            .call(&call(
                "http.get",
                &format!("{}/healthz?deep=1", server.url),
                None,
                5_000,
            ))
            .await
            .unwrap();
        assert_eq!(field(&response, "status"), &Value::Int(200));
        assert_eq!(field(&response, "body"), &Value::str(r#"{"ok":true}"#));
        let Value::Map(headers) = field(&response, "headers") else {
            panic!("headers is not a map");
        };
        assert_eq!(headers["content-type"], Value::str("application/json"));
        assert_eq!(headers["x-request-id"], Value::str("abc"));
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, "GET");
        assert_eq!(requests[0].path, "/healthz?deep=1");
        assert_eq!(requests[0].body, "");
    }

    #[tokio::test]
    async fn a_server_error_is_an_answer_not_a_failure() {
        let server = CaptureServer::start(vec![Reply::new(503, "down")]).await;
        let response = Get::new(None)
            .call(&call("http.get", &server.url, None, 5_000))
            .await
            .unwrap();
        assert_eq!(field(&response, "status"), &Value::Int(503));
        assert_eq!(field(&response, "body"), &Value::str("down"));
        assert_eq!(server.requests().len(), 1, "http does not retry");
    }

    #[tokio::test]
    async fn post_sends_the_body_exactly_with_a_content_type() {
        let server = CaptureServer::start(vec![Reply::new(201, "created")]).await;
        let post = Post::new(None);
        let json_body = r#"{"title": "pool exhausted", "tags": ["db"]}"#;
        let response = post
            .call(&call(
                "http.post",
                &format!("{}/tickets", server.url),
                Some(json_body),
                5_000,
            ))
            .await
            .unwrap();
        assert_eq!(field(&response, "status"), &Value::Int(201));
        post.call(&call(
            "http.post",
            &format!("{}/log", server.url),
            Some("plain text"),
            5_000,
        ))
        .await
        .unwrap();
        let requests = server.requests();
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/tickets");
        assert_eq!(requests[0].body, json_body);
        assert_eq!(requests[0].headers["content-type"], "application/json");
        assert_eq!(requests[1].body, "plain text");
        assert_eq!(
            requests[1].headers["content-type"],
            "text/plain; charset=utf-8"
        );
    }

    #[tokio::test]
    async fn a_slow_server_is_a_timeout_error() {
        let server =
            CaptureServer::start(vec![Reply::new(200, "late").delay(Duration::from_secs(3))]).await;
        let started = std::time::Instant::now();
        let error = Get::new(None)
            .call(&call("http.get", &server.url, None, 200))
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(error.message.contains("within"), "{}", error.message);
    }

    #[tokio::test]
    async fn a_refused_connection_is_an_error() {
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let error = Get::new(None)
            .call(&call(
                "http.get",
                &format!("http://127.0.0.1:{port}/"),
                None,
                5_000,
            ))
            .await
            .unwrap_err();
        assert!(
            error.message.starts_with("http.get http://127.0.0.1:"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn the_body_is_cut_at_one_mebibyte() {
        let server = CaptureServer::start(vec![Reply::new(200, "x".repeat(MAX_BODY + 5000))]).await;
        let response = Get::new(None)
            .call(&call("http.get", &server.url, None, 10_000))
            .await
            .unwrap();
        let Value::Str(body) = field(&response, "body") else {
            panic!("body is not a string");
        };
        assert_eq!(body.len(), MAX_BODY);
    }

    #[tokio::test]
    async fn redirects_are_followed_within_the_allowed_hosts() {
        let server = CaptureServer::start(vec![
            Reply::new(302, "").header("Location", "/new"),
            Reply::new(200, "moved here"),
        ])
        .await;
        let config = HttpConfig {
            allowed_hosts: vec!["127.0.0.1".into()],
        };
        let response = Get::new(Some(&config))
            .call(&call(
                "http.get",
                &format!("{}/old", server.url),
                None,
                5_000,
            ))
            .await
            .unwrap();
        assert_eq!(field(&response, "body"), &Value::str("moved here"));
        let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, vec!["/old", "/new"]);
    }

    #[tokio::test]
    async fn hosts_outside_allowed_hosts_are_refused_even_by_redirect() {
        let server = CaptureServer::start(vec![
            Reply::new(302, "").header("Location", "http://localhost:1/elsewhere")
        ])
        .await;
        let config = HttpConfig {
            allowed_hosts: vec!["127.0.0.1".into(), "*.example.com".into()],
        };
        let get = Get::new(Some(&config));
        let error = get
            .call(&call("http.get", "http://internal.corp/", None, 5_000))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("internal.corp is not in"),
            "{}",
            error.message
        );
        let error = get
            .call(&call("http.get", &server.url, None, 5_000))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("redirected to localhost"),
            "{}",
            error.message
        );
        assert_eq!(server.requests().len(), 1);
    }

    #[test]
    fn allowed_hosts_match_exactly_or_by_wildcard() {
        let hosts = vec!["api.example.com".to_string(), "*.corp.net".to_string()];
        let ok = |u: &str| allowed(&hosts, &Url::parse(u).unwrap());
        assert!(ok("https://API.example.com/x"));
        assert!(ok("https://a.b.corp.net/"));
        assert!(!ok("https://corp.net/"));
        assert!(!ok("https://evilcorp.net/"));
        assert!(!ok("https://example.com/"));
        assert!(allowed(&[], &Url::parse("https://anything/").unwrap()));
    }

    #[tokio::test]
    async fn bad_urls_are_errors() {
        let get = Get::new(None);
        let error = get
            .call(&call("http.get", "orders.internal/healthz", None, 1_000))
            .await
            .unwrap_err();
        assert!(error.message.contains("is not a URL"), "{}", error.message);
        let error = get
            .call(&call("http.get", "ftp://files/", None, 1_000))
            .await
            .unwrap_err();
        assert!(error.message.contains("not an http"), "{}", error.message);
    }
}

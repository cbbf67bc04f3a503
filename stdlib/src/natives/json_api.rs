//! What `std.prometheus` and `std.alertmanager` share: a JSON HTTP API at a base URL from
//! rbk.toml, an optional bearer token read from the environment variable rbk.toml names (never
//! shown in a message), and retries of what is safe to send again.
//!
//! A request that never reached the server (connection refused, name lookup failed) is always
//! retried; a 502, 503 or 504 from a proxy in front of the server, or a timeout, only for
//! requests the caller marks idempotent (reads, expiring a silence): creating a silence twice
//! would leave two.

use std::time::Duration;

use rbk_interpreter::ActionError;
use reqwest::{Method, StatusCode, Url};

use super::web::{self, EnvLookup, LazyClient, SecretValue};

/// Where one integration is and how it is reached.
pub(crate) struct JsonApi {
    /// `Prometheus`, for messages.
    system: &'static str,
    /// `[integrations.prometheus]`, for messages.
    section: &'static str,
    /// The configured base URL, as written.
    base: String,
    /// The environment variable holding the bearer token, if rbk.toml names one.
    token_variable: Option<String>,
    env: EnvLookup,
    client: LazyClient,
    pub(crate) attempts: u32,
    pub(crate) base_delay: Duration,
    pub(crate) timeout: Duration,
}

/// The server's answer: status and (bounded) body.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: String,
}

/// One request: method, path below the base URL, query pairs, JSON body.
pub(crate) struct Request<'a> {
    pub method: Method,
    pub path: &'a str,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
    /// Safe to send twice: also retried after a timeout or a 502/503/504.
    pub idempotent: bool,
}

impl<'a> Request<'a> {
    pub fn get(path: &'a str, query: Vec<(&'static str, String)>) -> Self {
        Request {
            method: Method::GET,
            path,
            query,
            body: None,
            idempotent: true,
        }
    }
}

impl JsonApi {
    pub(crate) fn new(
        system: &'static str,
        section: &'static str,
        base: String,
        token_variable: Option<String>,
        env: EnvLookup,
    ) -> Self {
        JsonApi {
            system,
            section,
            base,
            token_variable,
            env,
            client: LazyClient::new(web::client_builder),
            attempts: 3,
            base_delay: Duration::from_millis(250),
            timeout: Duration::from_secs(30),
        }
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The bearer token, when rbk.toml names a variable; a named but unset variable is an error
    /// rather than an unauthenticated request that would fail less clearly.
    fn token(&self) -> Result<Option<SecretValue>, ActionError> {
        let Some(variable) = &self.token_variable else {
            return Ok(None);
        };
        match (self.env)(variable) {
            Some(value) => Ok(Some(SecretValue {
                value,
                name: variable.clone(),
            })),
            None => Err(ActionError::new(format!(
                "the environment variable {variable} is not set (`bearer_token_secret` \
                 under {} in rbk.toml names it as the token for {})",
                self.section, self.system
            ))),
        }
    }

    fn url(&self, path: &str) -> Result<Url, ActionError> {
        let joined = format!("{}{path}", self.base.trim_end_matches('/'));
        let url = Url::parse(&joined).map_err(|e| {
            ActionError::new(format!(
                "`url = \"{}\"` under {} in rbk.toml is not a URL: {e}",
                self.base, self.section
            ))
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(ActionError::new(format!(
                "`url = \"{}\"` under {} in rbk.toml is not an http:// or https:// URL",
                self.base, self.section
            )));
        }
        Ok(url)
    }

    /// Sends `request`, retrying as the module comment says. Any status is returned for the
    /// caller to read; only a transport failure is an error here.
    pub(crate) async fn send(&self, request: Request<'_>) -> Result<Answer, ActionError> {
        let url = self.url(request.path)?;
        let token = self.token()?;
        let client = self.client.get()?;
        let redact = |text: String| match &token {
            Some(token) => token.redact(&text),
            None => text,
        };
        let mut attempt = 1;
        loop {
            let mut builder = client
                .request(request.method.clone(), url.clone())
                .timeout(self.timeout)
                .header(reqwest::header::ACCEPT, "application/json");
            if !request.query.is_empty() {
                builder = builder.query(&request.query);
            }
            if let Some(body) = &request.body {
                builder = builder.json(body);
            }
            if let Some(token) = &token {
                builder = builder.bearer_auth(&token.value);
            }
            let more = attempt < self.attempts;
            let wait = self.base_delay.saturating_mul(1 << (attempt - 1).min(8));
            match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    let proxy_trouble = matches!(
                        status,
                        StatusCode::BAD_GATEWAY
                            | StatusCode::SERVICE_UNAVAILABLE
                            | StatusCode::GATEWAY_TIMEOUT
                    );
                    if more && request.idempotent && proxy_trouble {
                        drop(response);
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    let (bytes, _) =
                        web::read_body(response, web::MAX_BODY).await.map_err(|e| {
                            ActionError::new(redact(format!(
                                "{} at {} broke off its answer: {}",
                                self.system,
                                self.base,
                                web::describe_error(e)
                            )))
                        })?;
                    return Ok(Answer {
                        status,
                        body: redact(String::from_utf8_lossy(&bytes).into_owned()),
                    });
                }
                Err(error) => {
                    let retry = error.is_connect() || (request.idempotent && error.is_timeout());
                    if more && retry {
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    let tries = if attempt > 1 {
                        format!(" (after {attempt} tries)")
                    } else {
                        String::new()
                    };
                    let what = if error.is_timeout() {
                        format!(
                            "no answer within {}",
                            rbk_interpreter::value::format_duration(self.timeout.as_millis() as u64)
                        )
                    } else {
                        web::describe_error(error)
                    };
                    return Err(ActionError::new(redact(format!(
                        "cannot reach {} at {}: {what}{tries}",
                        self.system, self.base
                    ))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::natives::web::capture::{CaptureServer, Reply};

    fn api(base: &str, token_variable: Option<&str>, vars: &[(&str, &str)]) -> JsonApi {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut api = JsonApi::new(
            "Prometheus",
            "[integrations.prometheus]",
            base.to_string(),
            token_variable.map(str::to_string),
            Arc::new(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())),
        );
        api.base_delay = Duration::from_millis(1);
        api
    }

    #[tokio::test]
    async fn the_token_is_sent_as_a_bearer_and_never_echoed() {
        let server =
            CaptureServer::start(vec![Reply::new(401, "bad token s3cr3t-t0ken for you")]).await;
        let api = api(
            &format!("{}/prom/", server.url),
            Some("PROM_TOKEN"),
            &[("PROM_TOKEN", "s3cr3t-t0ken")],
        );
        let answer = api
            .send(Request::get(
                "/api/v1/query",
                vec![("query", "up == 1".into())],
            ))
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.body, "bad token <secret PROM_TOKEN> for you");
        let requests = server.requests();
        assert_eq!(requests[0].path, "/prom/api/v1/query?query=up+%3D%3D+1");
        assert_eq!(requests[0].headers["authorization"], "Bearer s3cr3t-t0ken");
    }

    #[tokio::test]
    async fn a_named_but_unset_token_fails_before_sending() {
        let server = CaptureServer::start(vec![Reply::new(200, "{}")]).await;
        let api = api(&server.url, Some("PROM_TOKEN"), &[]);
        let error = api
            .send(Request::get("/api/v1/query", vec![]))
            .await
            .err()
            .unwrap();
        assert!(error.message.contains("PROM_TOKEN"), "{}", error.message);
        assert!(
            error.message.contains("[integrations.prometheus]"),
            "{}",
            error.message
        );
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn proxy_errors_are_retried_only_for_idempotent_requests() {
        let server = CaptureServer::start(vec![
            Reply::new(502, "bad gateway"),
            Reply::new(200, r#"{"ok":true}"#),
        ])
        .await;
        let api = api(&server.url, None, &[]);
        let answer = api.send(Request::get("/x", vec![])).await.unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(server.requests().len(), 2);

        let server = CaptureServer::start(vec![Reply::new(503, "unavailable")]).await;
        let api = self::api(&server.url, None, &[]);
        let answer = api
            .send(Request {
                method: Method::POST,
                path: "/api/v2/silences",
                query: vec![],
                body: Some(serde_json::json!({})),
                idempotent: false,
            })
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(server.requests().len(), 1, "a POST is sent once");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_with_the_tries() {
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let api = api(&format!("http://127.0.0.1:{port}"), None, &[]);
        let error = api
            .send(Request::get("/api/v1/query", vec![]))
            .await
            .err()
            .unwrap();
        assert!(
            error.message.starts_with(&format!(
                "cannot reach Prometheus at http://127.0.0.1:{port}: "
            )),
            "{}",
            error.message
        );
        assert!(
            error.message.ends_with("(after 3 tries)"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn a_bad_base_url_names_the_rbk_toml_key() {
        let api = api("localhost:9090", None, &[]);
        let error = api
            .send(Request::get("/api/v1/query", vec![]))
            .await
            .err()
            .unwrap();
        assert!(
            error
                .message
                .contains("`url = \"localhost:9090\"` under [integrations.prometheus]"),
            "{}",
            error.message
        );
    }
}

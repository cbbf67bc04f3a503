//! What `std.slack`, `std.pagerduty` and `std.http` share: the HTTP client, secrets looked up by
//! environment-variable name, redaction of secrets from error messages, bounded bodies and
//! retries with exponential backoff.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rbk_interpreter::{ActionCall, ActionError, Value};
use reqwest::header::HeaderMap;
use reqwest::{Client, StatusCode};

/// Response bodies beyond this are cut, so a runaway endpoint cannot fill memory or the journal.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// Looks up an environment variable; tests pass their own instead of touching the process's.
pub(crate) type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

pub(crate) fn process_env() -> EnvLookup {
    Arc::new(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

/// A secret read from the environment, with the variable's name for messages.
pub(crate) struct SecretValue {
    pub value: String,
    pub name: String,
}

impl SecretValue {
    /// `message` with every occurrence of the secret replaced by `<secret NAME>`.
    /// When the secret is a URL, its path (the token of a webhook URL) is replaced too.
    pub fn redact(&self, message: &str) -> String {
        if self.value.is_empty() {
            return message.to_string();
        }
        let mask = format!("<secret {}>", self.name);
        let mut text = message.replace(&self.value, &mask);
        if let Ok(url) = reqwest::Url::parse(&self.value) {
            let path = url.path();
            if path.len() > 1 {
                text = text.replace(path, &mask);
            }
            if let Some(query) = url.query().filter(|q| !q.is_empty()) {
                text = text.replace(query, &mask);
            }
        }
        text
    }
}

/// A client built once, on first use (building one can fail: no TLS roots, say).
pub(crate) struct LazyClient {
    client: OnceLock<Result<Client, ClientSetupError>>,
    build: Box<dyn Fn() -> reqwest::ClientBuilder + Send + Sync>,
}

impl LazyClient {
    pub fn new(build: impl Fn() -> reqwest::ClientBuilder + Send + Sync + 'static) -> Self {
        LazyClient {
            client: OnceLock::new(),
            build: Box::new(build),
        }
    }

    pub fn get(&self) -> Result<&Client, ActionError> {
        self.client().map_err(|e| ActionError::new(e.to_string()))
    }

    /// The client, or why it could not be built (the same answer every time).
    pub fn client(&self) -> Result<&Client, ClientSetupError> {
        self.client
            .get_or_init(|| {
                (self.build)().build().map_err(|e| ClientSetupError {
                    detail: describe_error(e),
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The HTTP client could not be built (no TLS roots, say). Its reason is kept as text: the one
/// failure is handed to every caller, and reqwest's errors cannot be copied.
#[derive(Clone, Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {detail}")]
pub(crate) struct ClientSetupError {
    detail: String,
}

/// Why a request got no answer: the transport failed (described without the URL, which may
/// be a secret), possibly after retries.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    #[error(transparent)]
    Client(#[from] ClientSetupError),
    /// Sending failed on the last of `attempts` tries; `error` has no URL.
    #[error("{}{}", describe(error), if *attempts > 1 { format!(" (after {attempts} tries)") } else { String::new() })]
    Send {
        #[source]
        error: reqwest::Error,
        attempts: u32,
    },
    /// The answer's body could not be read; `0` has no URL.
    #[error("{}", describe(.0))]
    Body(#[source] reqwest::Error),
}

impl TransportError {
    pub(crate) fn send(error: reqwest::Error, attempts: u32) -> TransportError {
        TransportError::Send {
            error: error.without_url(),
            attempts,
        }
    }

    pub(crate) fn body(error: reqwest::Error) -> TransportError {
        TransportError::Body(error.without_url())
    }
}

/// The builder every integration starts from: rustls, a user agent, no redirects (webhook and
/// events endpoints never redirect; `std.http` sets its own policy).
pub(crate) fn client_builder() -> reqwest::ClientBuilder {
    Client::builder()
        .user_agent(concat!("rbk/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
}

/// A reqwest error as text, without the URL (which may be a secret, like a Slack webhook) but
/// with its causes (`connection refused`, `timed out`).
pub(crate) fn describe_error(error: reqwest::Error) -> String {
    describe(&error.without_url())
}

/// An error and its causes as one line, each cause once.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            let _ = write!(text, ": {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// Reads at most `limit` bytes of the body; says whether there was more.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// How often and how patiently a request is retried.
#[derive(Clone, Debug)]
pub(crate) struct Retry {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait before the first retry; it doubles for each retry after.
    pub base_delay: Duration,
    /// No wait is longer than this, whatever `Retry-After` asks.
    pub max_delay: Duration,
    /// Also retry when the request timed out (only for idempotent requests: a timed-out request
    /// may have arrived).
    pub retry_timeouts: bool,
}

impl Retry {
    pub(crate) fn delay(&self, retry: u32, headers: Option<&HeaderMap>) -> Duration {
        let asked = headers
            .and_then(|h| h.get(reqwest::header::RETRY_AFTER))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let backoff = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(16)));
        asked.unwrap_or(backoff).min(self.max_delay)
    }
}

/// The answer to a request: its status and (bounded) body as text.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: String,
    /// Tries it took.
    pub attempts: u32,
}

/// Sends `body` as JSON to `url`, retrying 429, 5xx and connection failures per `retry`. Any
/// other status is the answer. Errors are transport failures, described without the URL.
pub(crate) async fn post_json(
    client: &Client,
    url: &str,
    body: &serde_json::Value,
    timeout: Duration,
    retry: &Retry,
) -> Result<Answer, TransportError> {
    let mut attempt = 1;
    loop {
        let sent = client.post(url).timeout(timeout).json(body).send().await;
        let more = attempt < retry.attempts;
        match sent {
            Ok(response) => {
                let status = response.status();
                if more && (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()) {
                    let wait = retry.delay(attempt - 1, Some(response.headers()));
                    drop(response);
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                let (bytes, _) = read_body(response, 64 * 1024)
                    .await
                    .map_err(TransportError::body)?;
                return Ok(Answer {
                    status,
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                    attempts: attempt,
                });
            }
            Err(error) => {
                if more && (error.is_connect() || (retry.retry_timeouts && error.is_timeout())) {
                    tokio::time::sleep(retry.delay(attempt - 1, None)).await;
                    attempt += 1;
                    continue;
                }
                return Err(TransportError::send(error, attempt));
            }
        }
    }
}

/// A string argument, or a clear error naming it.
pub(crate) fn string_arg<'a>(call: &'a ActionCall, name: &str) -> Result<&'a str, ActionError> {
    match call.arg(name) {
        Some(Value::Str(text)) => Ok(text),
        Some(other) => Err(ActionError::new(format!(
            "`{name}` must be a string, not a {}",
            other.type_name()
        ))),
        None => Err(ActionError::new(format!("`{name}` is missing"))),
    }
}

/// A duration argument in milliseconds, or `default`.
pub(crate) fn duration_arg(call: &ActionCall, name: &str, default: Duration) -> Duration {
    match call.arg(name) {
        Some(Value::Duration(ms)) => Duration::from_millis(*ms),
        _ => default,
    }
}

/// At most `max` characters of `text`, for quoting an answer in a message.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// This machine's name, for PagerDuty's `source`.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// A local HTTP server for tests: records every request and answers from a script.
#[cfg(test)]
pub(crate) mod capture {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[derive(Clone, Debug)]
    pub struct Captured {
        pub method: String,
        pub path: String,
        /// Lower-case names.
        pub headers: BTreeMap<String, String>,
        pub body: String,
    }

    impl Captured {
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_str(&self.body).expect("the body is JSON")
        }
    }

    #[derive(Clone, Debug)]
    pub struct Reply {
        pub status: u16,
        pub body: String,
        pub headers: Vec<(String, String)>,
        pub delay: Duration,
    }

    impl Reply {
        pub fn new(status: u16, body: impl Into<String>) -> Reply {
            Reply {
                status,
                body: body.into(),
                headers: Vec::new(),
                delay: Duration::ZERO,
            }
        }

        pub fn header(mut self, name: &str, value: &str) -> Reply {
            self.headers.push((name.into(), value.into()));
            self
        }

        pub fn delay(mut self, delay: Duration) -> Reply {
            self.delay = delay;
            self
        }
    }

    pub struct CaptureServer {
        /// `http://127.0.0.1:PORT`.
        pub url: String,
        requests: Arc<Mutex<Vec<Captured>>>,
    }

    impl CaptureServer {
        /// Answers the n-th request with `script[n]`, and the last entry after that.
        pub async fn start(script: Vec<Reply>) -> CaptureServer {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let requests = Arc::new(Mutex::new(Vec::new()));
            let recorded = requests.clone();
            tokio::spawn(async move {
                let mut served = 0usize;
                // Bounded: no test sends more than this many requests.
                while served < 100 {
                    let Ok((mut socket, _)) = listener.accept().await else {
                        return;
                    };
                    let Some(request) = read_request(&mut socket).await else {
                        continue;
                    };
                    recorded.lock().unwrap().push(request);
                    let reply = script[served.min(script.len() - 1)].clone();
                    served += 1;
                    tokio::spawn(async move {
                        tokio::time::sleep(reply.delay).await;
                        let mut head = format!(
                            "HTTP/1.1 {} Scripted\r\ncontent-length: {}\r\nconnection: close\r\n",
                            reply.status,
                            reply.body.len()
                        );
                        for (name, value) in &reply.headers {
                            head.push_str(&format!("{name}: {value}\r\n"));
                        }
                        head.push_str("\r\n");
                        let _ = socket.write_all(head.as_bytes()).await;
                        let _ = socket.write_all(reply.body.as_bytes()).await;
                        let _ = socket.shutdown().await;
                    });
                }
            });
            CaptureServer {
                url: format!("http://127.0.0.1:{port}"),
                requests,
            }
        }

        pub fn requests(&self) -> Vec<Captured> {
            self.requests.lock().unwrap().clone()
        }
    }

    async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Captured> {
        let mut data = Vec::new();
        let mut buffer = [0u8; 8192];
        let header_end = loop {
            let n = socket.read(&mut buffer).await.ok()?;
            if n == 0 {
                return None;
            }
            data.extend_from_slice(&buffer[..n]);
            if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = String::from_utf8_lossy(&data[..header_end]).into_owned();
        let mut lines = head.split("\r\n");
        let mut request_line = lines.next()?.split(' ');
        let method = request_line.next()?.to_string();
        let path = request_line.next()?.to_string();
        let headers: BTreeMap<String, String> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        while data.len() < header_end + length {
            let n = socket.read(&mut buffer).await.ok()?;
            if n == 0 {
                break;
            }
            data.extend_from_slice(&buffer[..n]);
        }
        let body = String::from_utf8_lossy(&data[header_end..]).into_owned();
        Some(Captured {
            method,
            path,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_replaces_every_occurrence() {
        let secret = SecretValue {
            value: "hunter2".into(),
            name: "PD_KEY".into(),
        };
        assert_eq!(
            secret.redact("key hunter2 is bad: hunter2"),
            "key <secret PD_KEY> is bad: <secret PD_KEY>"
        );
        let url = SecretValue {
            value: "https://hooks.example/services/T0/B0/token".into(),
            name: "HOOK".into(),
        };
        assert_eq!(
            url.redact("no_service for /services/T0/B0/token"),
            "no_service for <secret HOOK>"
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let retry = Retry {
            attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(350),
            retry_timeouts: true,
        };
        assert_eq!(retry.delay(0, None), Duration::from_millis(100));
        assert_eq!(retry.delay(1, None), Duration::from_millis(200));
        assert_eq!(retry.delay(2, None), Duration::from_millis(350));
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "0".parse().unwrap());
        assert_eq!(retry.delay(2, Some(&headers)), Duration::ZERO);
    }

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("  héllo  ", 10), "héllo");
        assert_eq!(excerpt("héllo", 2), "hé...");
    }
}

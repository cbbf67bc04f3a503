//! What the ticket integrations share (`std.jira`, `std.github`, PagerDuty's incidents): a JSON
//! REST API at a configured base URL, called with a credential that is a named secret, whose
//! failures carry the API's own message and never the credential.
//!
//! Retries are only where a second request cannot do twice what the first did: a refused
//! connection (nothing was sent) and 429 (the API did not act) always; 5xx and timeouts only for
//! idempotent requests (GET, or setting a state), since a failed `POST` may still have created the
//! issue or comment.

use std::sync::Arc;
use std::time::Duration;

use rbk_compiler::syntax::Effect;
use rbk_interpreter::secrets::SecretMask;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use reqwest::{Method, StatusCode, Url};

use super::web::{self, LazyClient, Retry, SecretValue};
use super::NativeAction;

/// How a request proves who sends it.
pub(crate) enum Credential {
    /// `Authorization: Bearer TOKEN` (GitHub, Jira personal access tokens).
    Bearer(SecretValue),
    /// `Authorization: Basic base64(USER:TOKEN)` (Jira Cloud API tokens).
    Basic { user: String, token: SecretValue },
    /// `Authorization: Token token=TOKEN` (PagerDuty REST API keys).
    PagerDutyToken(SecretValue),
}

impl Credential {
    fn secret(&self) -> &SecretValue {
        match self {
            Credential::Bearer(token)
            | Credential::Basic { token, .. }
            | Credential::PagerDutyToken(token) => token,
        }
    }

    /// `message` with the token replaced by `<secret NAME>`: as it is, and in the encodings the
    /// engine masks for any secret (percent-encoded, JSON-escaped, base64), including the
    /// base64 of `user:token` that a basic-authentication header carries.
    pub fn redact(&self, message: &str) -> String {
        let secret = self.secret();
        let mask = SecretMask::default();
        mask.learn(&secret.name, &secret.value);
        if let Credential::Basic { user, token } = self {
            mask.learn(&token.name, &format!("{user}:{}", token.value));
        }
        secret.redact(&mask.mask(message))
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credential::Bearer(token) => request.bearer_auth(&token.value),
            Credential::Basic { user, token } => request.basic_auth(user, Some(&token.value)),
            Credential::PagerDutyToken(token) => request.header(
                reqwest::header::AUTHORIZATION,
                format!("Token token={}", token.value),
            ),
        }
    }
}

/// One REST API: where it is and how patiently it is called.
pub(crate) struct RestApi {
    /// `Jira`, `GitHub`, `PagerDuty`: for messages.
    pub system: &'static str,
    /// The base URL every path is appended to; `None` when the project configured none and the
    /// system has no default (a Jira site).
    pub base: Option<String>,
    /// What to tell the user when `base` is missing.
    pub missing_base: &'static str,
    /// Headers every request carries (`Accept`, an API version).
    pub headers: Vec<(&'static str, String)>,
    client: LazyClient,
    pub retry: Retry,
    pub timeout: Duration,
}

/// The API's answer: status and (bounded) body.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: String,
    pub attempts: u32,
}

impl Reply {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}

impl RestApi {
    pub fn new(
        system: &'static str,
        base: Option<String>,
        missing_base: &'static str,
        headers: Vec<(&'static str, String)>,
    ) -> Self {
        RestApi {
            system,
            base: base.map(|b| b.trim().trim_end_matches('/').to_string()),
            missing_base,
            headers,
            client: LazyClient::new(web::client_builder),
            retry: Retry {
                attempts: 3,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(20),
                retry_timeouts: false,
            },
            timeout: Duration::from_secs(15),
        }
    }

    /// The URL of `segments` under the base, each segment percent-encoded, so a value can
    /// never reach another path. Callers validate segments first: `.` and `..` are dropped
    /// by the URL library, which would silently change the path.
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url, ActionError> {
        let base = self
            .base
            .as_deref()
            .ok_or_else(|| ActionError::new(self.missing_base))?;
        let mut url = Url::parse(base).map_err(|e| {
            ActionError::new(format!(
                "the {} base URL `{base}` is not a valid URL: {e}",
                self.system
            ))
        })?;
        if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
            return Err(ActionError::new(format!(
                "the {} base URL `{base}` must be an http:// or https:// URL",
                self.system
            )));
        }
        url.path_segments_mut()
            .map_err(|()| ActionError::new(format!("the {} base URL has no path", self.system)))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends one request, retrying what may be retried. The error is a transport failure,
    /// described without the URL's credentials.
    pub async fn send(
        &self,
        credential: &Credential,
        request: &Request<'_>,
    ) -> Result<Reply, web::TransportError> {
        let client = self.client.client()?;
        let mut attempt = 1;
        loop {
            let mut builder = client.request(request.method.clone(), request.url.clone());
            for (name, value) in &self.headers {
                builder = builder.header(*name, value);
            }
            for (name, value) in &request.headers {
                builder = builder.header(*name, *value);
            }
            builder = credential.authorize(builder).timeout(self.timeout);
            if let Some(body) = &request.body {
                builder = builder.json(body);
            }
            let more = attempt < self.retry.attempts;
            match builder.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || (request.idempotent && status.is_server_error());
                    if more && retryable {
                        let wait = self.retry.delay(attempt - 1, Some(response.headers()));
                        drop(response);
                        tokio::time::sleep(wait).await;
                        attempt += 1;
                        continue;
                    }
                    let (bytes, _) = web::read_body(response, 64 * 1024)
                        .await
                        .map_err(web::TransportError::body)?;
                    return Ok(Reply {
                        status,
                        body: String::from_utf8_lossy(&bytes).into_owned(),
                        attempts: attempt,
                    });
                }
                Err(error) => {
                    if more && (error.is_connect() || (request.idempotent && error.is_timeout())) {
                        tokio::time::sleep(self.retry.delay(attempt - 1, None)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(web::TransportError::send(error, attempt));
                }
            }
        }
    }

    /// Sends the request and turns anything but a 2xx answer into the step's error:
    /// `ACTION: SYSTEM answered HTTP N to METHOD PATH: <the API's message>`, plus what to check
    /// for 401 and 403. `explain` pulls the API's own message out of an error body.
    pub async fn call(
        &self,
        action: &str,
        credential: &Credential,
        request: &Request<'_>,
        explain: fn(&str) -> Option<String>,
        credential_hint: &str,
    ) -> Result<Reply, ActionError> {
        self.call_noting(
            action,
            credential,
            request,
            explain,
            credential_hint,
            |_| None,
        )
        .await
    }

    /// [`Rest::call`], with `note(status)` appended to the error of an answer with that status
    /// (what the API means by it, when that is not what the status says).
    pub async fn call_noting(
        &self,
        action: &str,
        credential: &Credential,
        request: &Request<'_>,
        explain: fn(&str) -> Option<String>,
        credential_hint: &str,
        note: fn(StatusCode) -> Option<&'static str>,
    ) -> Result<Reply, ActionError> {
        let url = &request.url;
        let reply = self.send(credential, request).await.map_err(|e| {
            ActionError::new(credential.redact(&format!(
                "{action}: cannot reach {} at {}: {e}",
                self.system,
                origin(url)
            )))
        })?;
        if reply.status.is_success() {
            return Ok(reply);
        }
        let tries = if reply.attempts > 1 {
            format!(" after {} tries", reply.attempts)
        } else {
            String::new()
        };
        let said = explain(&reply.body).unwrap_or_else(|| {
            if reply.body.trim().is_empty() {
                "(empty answer)".to_string()
            } else {
                web::excerpt(&reply.body, 300)
            }
        });
        let hint = match reply.status {
            StatusCode::UNAUTHORIZED => format!(" (the credential was refused: {credential_hint})"),
            StatusCode::FORBIDDEN => format!(
                " (the credential is valid but may not do this: {credential_hint}, and what it \
                 is allowed to do)"
            ),
            _ => String::new(),
        };
        let mut message = credential.redact(&format!(
            "{action}: {} answered HTTP {}{tries} to {} {}: {said}{hint}",
            self.system,
            reply.status.as_u16(),
            request.method,
            url.path()
        ));
        message.push_str(note(reply.status).unwrap_or_default());
        Err(ActionError::new(message))
    }
}

/// One request to a REST API.
pub(crate) struct Request<'a> {
    pub method: Method,
    pub url: Url,
    pub body: Option<serde_json::Value>,
    /// A 5xx answer or a timeout may be retried: the request is a read or sets a state.
    pub idempotent: bool,
    /// Headers of this request only (PagerDuty's `From`).
    pub headers: Vec<(&'static str, &'a str)>,
}

impl Request<'_> {
    /// A request that creates something (an issue, a comment): only a refused connection and
    /// 429 are retried.
    pub fn create(url: Url, body: serde_json::Value) -> Self {
        Request {
            method: Method::POST,
            url,
            body: Some(body),
            idempotent: false,
            headers: Vec::new(),
        }
    }

    /// A read.
    pub fn get(url: Url) -> Self {
        Request {
            method: Method::GET,
            url,
            body: None,
            idempotent: true,
            headers: Vec::new(),
        }
    }

    /// A request that sets a state (closed, resolved) and so may be sent twice.
    pub fn set(method: Method, url: Url, body: serde_json::Value) -> Self {
        Request {
            method,
            url,
            body: Some(body),
            idempotent: true,
            headers: Vec::new(),
        }
    }
}

/// `scheme://host:port` of a URL, for messages (never a path or query that may hold a token).
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Reads a secret credential through `env`: the variable `configured` names, else `default`.
/// The error names the variable and the `rbk.toml` key (`key` under `section`) that would
/// choose another.
pub(crate) fn read_token(
    env: &web::EnvLookup,
    module: &str,
    (section, key): (&str, &str),
    configured: Option<&str>,
    default: &str,
) -> Result<SecretValue, ActionError> {
    let variable = configured.unwrap_or(default);
    match env(variable) {
        Some(value) => Ok(SecretValue {
            value,
            name: variable.to_string(),
        }),
        None => {
            let how = if configured.is_some() {
                format!("`{key}` under {section} in rbk.toml names it")
            } else {
                format!(
                    "the default; name another variable with `{key}` under {section} in rbk.toml"
                )
            };
            Err(ActionError::new(format!(
                "{module} has no API token: the environment variable {variable} is not set ({how})"
            )))
        }
    }
}

/// An integer argument, or a clear error naming it.
pub(crate) fn int_arg(call: &ActionCall, name: &str) -> Result<i64, ActionError> {
    match call.arg(name) {
        Some(Value::Int(n)) => Ok(*n),
        Some(other) => Err(ActionError::new(format!(
            "`{name}` must be an int, not a {}",
            other.type_name()
        ))),
        None => Err(ActionError::new(format!("`{name}` is missing"))),
    }
}

/// An optional string argument: missing and `none` are the empty string.
pub(crate) fn optional_string_arg<'a>(
    call: &'a ActionCall,
    name: &str,
) -> Result<&'a str, ActionError> {
    match call.arg(name) {
        None | Some(Value::None) => Ok(""),
        Some(_) => web::string_arg(call, name),
    }
}

/// A non-empty text argument (a title, a comment), refused before anything is sent when it is
/// blank or longer than the API takes.
pub(crate) fn text_arg<'a>(
    call: &'a ActionCall,
    action: &str,
    name: &str,
    max_chars: usize,
) -> Result<&'a str, ActionError> {
    let text = web::string_arg(call, name)?;
    if text.trim().is_empty() {
        return Err(ActionError::new(format!(
            "{action}: `{name}` is empty; nothing was sent"
        )));
    }
    let length = text.chars().count();
    if length > max_chars {
        return Err(ActionError::new(format!(
            "{action}: `{name}` has {length} characters; the API takes at most {max_chars}; \
             nothing was sent"
        )));
    }
    Ok(text)
}

/// What an action of a REST integration runs: the shared service and the call.
pub(crate) type Perform<S> =
    for<'a> fn(&'a S, &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>>;

/// One `extern action` of a REST integration, all of whose actions share one service value
/// (configuration, credential lookup and HTTP client).
pub(crate) struct ServiceAction<S> {
    pub name: &'static str,
    pub arity: usize,
    pub effect: Effect,
    pub service: Arc<S>,
    pub perform: Perform<S>,
}

impl<S: Send + Sync + 'static> NativeAction for ServiceAction<S> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn arity(&self) -> usize {
        self.arity
    }

    fn effect(&self) -> Effect {
        self.effect
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        (self.perform)(&self.service, call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(base: &str) -> RestApi {
        RestApi::new("Test", Some(base.into()), "no base", Vec::new())
    }

    #[test]
    fn segments_are_encoded_so_a_value_cannot_reach_another_path() {
        let url = api("https://jira.example.com/jira/")
            .url(
                &["rest", "api", "2", "issue", "OPS-1/../../admin?x=1#y"],
                &[],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://jira.example.com/jira/rest/api/2/issue/OPS-1%2F..%2F..%2Fadmin%3Fx=1%23y"
        );
        let url = api("http://127.0.0.1:9/")
            .url(&["a"], &[("fields", "status,summary")])
            .unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/a?fields=status%2Csummary");
    }

    #[test]
    fn a_missing_or_odd_base_is_a_clear_error() {
        let none = RestApi::new("Jira", None, "std.jira has no site", Vec::new());
        assert_eq!(
            none.url(&["x"], &[]).unwrap_err().message,
            "std.jira has no site"
        );
        let error = api("ftp://files.example").url(&["x"], &[]).unwrap_err();
        assert!(
            error.message.contains("must be an http:// or https:// URL"),
            "{}",
            error.message
        );
        let error = api("not a url").url(&["x"], &[]).unwrap_err();
        assert!(
            error.message.contains("not a valid URL"),
            "{}",
            error.message
        );
    }
}

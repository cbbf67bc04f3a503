//! `std.github`: GitHub Issues through the REST API (github.com, or GitHub Enterprise Server at
//! `[integrations.github] api_url`).
//!
//! The token (a fine-grained or classic personal access token, or an app installation token
//! with Issues: write) is a secret read from the environment variable `token_secret` names
//! (default `GITHUB_TOKEN`), sent as `Authorization: Bearer`, and never appears in a message.

use std::sync::Arc;

use rbk_compiler::config::GitHubConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, Value};
use reqwest::Method;
use serde_json::json;

use super::rest::{self, Credential, Request, RestApi, ServiceAction};
use super::web::{self, EnvLookup};
use super::NativeAction;

const DEFAULT_API: &str = "https://api.github.com";
const DEFAULT_SECRET: &str = "GITHUB_TOKEN";
/// The REST API version the requests are written against.
const API_VERSION: &str = "2022-11-28";
/// GitHub's limits for an issue title and an issue or comment body.
const MAX_TITLE: usize = 256;
const MAX_BODY: usize = 65_536;

/// The GitHub API every `std.github` action talks to.
pub(crate) struct GitHub {
    pub(crate) api: RestApi,
    config: GitHubConfig,
    env: EnvLookup,
}

/// Every `std.github` action.
/// Its token is read through `secrets`, as `secret()` reads (environment, then secret files).
pub fn actions(config: Option<&GitHubConfig>, secrets: EnvLookup) -> Vec<Box<dyn NativeAction>> {
    service_actions(Arc::new(GitHub::new(config, secrets)))
}

fn service_actions(github: Arc<GitHub>) -> Vec<Box<dyn NativeAction>> {
    let action = |name, arity, perform: rest::Perform<GitHub>| -> Box<dyn NativeAction> {
        Box::new(ServiceAction {
            name,
            arity,
            effect: Effect::Write,
            service: github.clone(),
            perform,
        })
    };
    vec![
        action("github.create_issue", 4, |g, c| Box::pin(g.create_issue(c))),
        action("github.comment", 3, |g, c| Box::pin(g.comment(c))),
        action("github.close", 3, |g, c| Box::pin(g.close(c))),
    ]
}

impl GitHub {
    pub(crate) fn new(config: Option<&GitHubConfig>, env: EnvLookup) -> Self {
        let config = config.cloned().unwrap_or_default();
        GitHub {
            api: RestApi::new(
                "GitHub",
                Some(
                    config
                        .api_url
                        .clone()
                        .unwrap_or_else(|| DEFAULT_API.to_string()),
                ),
                "std.github has no API URL",
                vec![
                    ("accept", "application/vnd.github+json".to_string()),
                    ("x-github-api-version", API_VERSION.to_string()),
                ],
            ),
            config,
            env,
        }
    }

    fn credential(&self) -> Result<Credential, ActionError> {
        rest::read_token(
            &self.env,
            "std.github",
            ("[integrations.github]", "token_secret"),
            self.config.token_secret.as_deref(),
            DEFAULT_SECRET,
        )
        .map(Credential::Bearer)
    }

    fn credential_hint(&self) -> String {
        let variable = self
            .config
            .token_secret
            .as_deref()
            .unwrap_or(DEFAULT_SECRET);
        format!(
            "check the token in {variable}: it needs Issues read and write permission on the \
             repository"
        )
    }

    /// Sends `body` to `segments` under the API: `create` says it makes something new (only a
    /// refused connection or 429 is retried), otherwise it sets a state (PATCH, retried).
    async fn send(
        &self,
        action: &str,
        segments: &[&str],
        body: serde_json::Value,
        create: bool,
    ) -> Result<rest::Reply, ActionError> {
        let credential = self.credential()?;
        let url = self.api.url(segments, &[])?;
        let request = if create {
            Request::create(url, body)
        } else {
            Request::set(Method::PATCH, url, body)
        };
        self.api
            .call_noting(
                action,
                &credential,
                &request,
                explain,
                &self.credential_hint(),
                // GitHub answers 404, not 403, for a private repository the token cannot see.
                |status| {
                    (status == reqwest::StatusCode::NOT_FOUND).then_some(
                        " (GitHub says 404 both for a repository or issue that does not exist \
                         and for one the token may not see)",
                    )
                },
            )
            .await
    }

    /// `POST /repos/OWNER/REPO/issues`; returns the new issue's number.
    async fn create_issue(&self, call: &ActionCall) -> Result<Value, ActionError> {
        const ACTION: &str = "github.create_issue";
        let (owner, name) = repository(call, ACTION)?;
        let title = rest::text_arg(call, ACTION, "title", MAX_TITLE)?;
        let body = web::string_arg(call, "body")?;
        if body.chars().count() > MAX_BODY {
            return Err(ActionError::new(format!(
                "{ACTION}: `body` is longer than GitHub's {MAX_BODY} characters; nothing was sent"
            )));
        }
        let labels = labels(call, ACTION)?;
        let reply = self
            .send(
                ACTION,
                &["repos", owner, name, "issues"],
                json!({ "title": title, "body": body, "labels": labels }),
                true,
            )
            .await?;
        match reply.json().as_ref().and_then(|j| j["number"].as_i64()) {
            Some(number) => Ok(Value::Int(number)),
            None => Err(ActionError::new(format!(
                "{ACTION}: GitHub answered HTTP {} without the new issue's number: {}",
                reply.status.as_u16(),
                web::excerpt(&reply.body, 200)
            ))),
        }
    }

    /// `POST /repos/OWNER/REPO/issues/N/comments`.
    async fn comment(&self, call: &ActionCall) -> Result<Value, ActionError> {
        const ACTION: &str = "github.comment";
        let (owner, name) = repository(call, ACTION)?;
        let number = issue_number(call, ACTION)?;
        let body = rest::text_arg(call, ACTION, "body", MAX_BODY)?;
        self.post_comment(ACTION, owner, name, &number, body)
            .await?;
        Ok(Value::None)
    }

    async fn post_comment(
        &self,
        action: &str,
        owner: &str,
        name: &str,
        number: &str,
        body: &str,
    ) -> Result<(), ActionError> {
        self.send(
            action,
            &["repos", owner, name, "issues", number, "comments"],
            json!({ "body": body }),
            true,
        )
        .await
        .map(|_| ())
    }

    /// Comments (when `comment` is not empty), then `PATCH`es the issue to `closed` as
    /// completed. Closing a closed issue succeeds, so a retried step does no harm.
    async fn close(&self, call: &ActionCall) -> Result<Value, ActionError> {
        const ACTION: &str = "github.close";
        let (owner, name) = repository(call, ACTION)?;
        let number = issue_number(call, ACTION)?;
        let comment = rest::optional_string_arg(call, "comment")?;
        if comment.chars().count() > MAX_BODY {
            return Err(ActionError::new(format!(
                "{ACTION}: `comment` is longer than GitHub's {MAX_BODY} characters; nothing was \
                 sent"
            )));
        }
        if !comment.trim().is_empty() {
            self.post_comment(ACTION, owner, name, &number, comment)
                .await?;
        }
        self.send(
            ACTION,
            &["repos", owner, name, "issues", &number],
            json!({ "state": "closed", "state_reason": "completed" }),
            false,
        )
        .await?;
        Ok(Value::None)
    }
}

/// The `repo` argument, `OWNER/NAME`, split; anything else is refused before sending.
fn repository<'a>(call: &'a ActionCall, action: &str) -> Result<(&'a str, &'a str), ActionError> {
    let repo = web::string_arg(call, "repo")?;
    let part = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if part(owner) && part(name) => Ok((owner, name)),
        _ => Err(ActionError::new(format!(
            "{action}: `{repo}` is not a repository as `OWNER/NAME` (like `acme/orders`); \
             nothing was sent"
        ))),
    }
}

fn issue_number(call: &ActionCall, action: &str) -> Result<String, ActionError> {
    let number = rest::int_arg(call, "number")?;
    if number < 1 {
        return Err(ActionError::new(format!(
            "{action}: `number` is {number}; issue numbers start at 1; nothing was sent"
        )));
    }
    Ok(number.to_string())
}

fn labels(call: &ActionCall, action: &str) -> Result<Vec<String>, ActionError> {
    match call.arg("labels") {
        None | Some(Value::None) => Ok(Vec::new()),
        Some(Value::List(items)) => items
            .iter()
            .map(|item| match item {
                Value::Str(label) if !label.trim().is_empty() => Ok(label.clone()),
                Value::Str(_) => Err(ActionError::new(format!(
                    "{action}: a label is empty; nothing was sent"
                ))),
                other => Err(ActionError::new(format!(
                    "{action}: labels must be strings, not a {}",
                    other.type_name()
                ))),
            })
            .collect(),
        Some(other) => Err(ActionError::new(format!(
            "{action}: `labels` must be a list of strings, not a {}",
            other.type_name()
        ))),
    }
}

/// GitHub's error text: `message`, then each entry of `errors` (its `message`, else
/// `resource.field: code`).
fn explain(body: &str) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_str(body).ok()?;
    let mut text = answer["message"].as_str()?.to_string();
    let details: Vec<String> = answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| match e {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Object(_) => {
                        e["message"].as_str().map(str::to_string).or_else(|| {
                            let code = e["code"].as_str()?;
                            let field = e["field"].as_str().unwrap_or("");
                            let resource = e["resource"].as_str().unwrap_or("");
                            let value = match &e["value"] {
                                serde_json::Value::Null => String::new(),
                                serde_json::Value::String(v) => format!(" `{v}`"),
                                other => format!(" `{other}`"),
                            };
                            Some(format!("{resource}.{field}{value}: {code}"))
                        })
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if !details.is_empty() {
        text.push_str(": ");
        text.push_str(&details.join("; "));
    }
    Some(web::excerpt(&text, 500))
}

#[cfg(test)]
mod tests;

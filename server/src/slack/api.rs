//! Slack's Web API behind a small trait: `chat.postMessage`, `chat.update` and the replies to
//! a click's `response_url`. The base URL comes from `[integrations.slack] api_url`, so a local
//! relay or a test stand-in can take Slack's place.

use std::time::Duration;

use rbk_interpreter::BoxFuture;
use serde_json::{json, Value};

/// Where a message lives: what `chat.postMessage` answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// Why a Web API call did not do what was asked; `method` is the API method (or
/// `response_url`).
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("{method}: Slack could not be reached: {source}")]
    Unreachable {
        method: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{method}: Slack answered {status} with no JSON: {source}")]
    NotJson {
        method: String,
        status: reqwest::StatusCode,
        #[source]
        source: reqwest::Error,
    },
    /// Slack answered `ok: false` with this error code.
    #[error("{method}: Slack refused it ({status}): {code}")]
    Refused {
        method: String,
        status: reqwest::StatusCode,
        code: String,
    },
    #[error("{method}: Slack's answer has no channel or ts")]
    NoMessage { method: String },
    #[error("{method}: Slack answered {status}")]
    Status {
        method: String,
        status: reqwest::StatusCode,
    },
}

pub trait SlackApi: Send + Sync {
    /// `chat.postMessage`; `thread_ts` posts a reply in that message's thread.
    fn post<'a>(
        &'a self,
        channel: &'a str,
        text: &'a str,
        blocks: Option<&'a Value>,
        thread_ts: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Posted, SlackError>>;
    /// `chat.update`: replaces the message's text and blocks.
    fn update<'a>(
        &'a self,
        at: &'a Posted,
        text: &'a str,
        blocks: &'a Value,
    ) -> BoxFuture<'a, Result<(), SlackError>>;
    /// `chat.postEphemeral`: a message only `user` sees (a refused reaction).
    fn post_ephemeral<'a>(
        &'a self,
        channel: &'a str,
        user: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<(), SlackError>>;
    /// A private reply to the person who clicked, through the click's `response_url`.
    fn respond_privately<'a>(
        &'a self,
        response_url: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<(), SlackError>>;
}

/// The real Web API over HTTPS with the bot token.
pub struct WebApi {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl WebApi {
    pub fn new(base: &str, token: &str) -> WebApi {
        WebApi {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    async fn call(&self, method: &str, body: &Value) -> Result<Value, SlackError> {
        let url = format!("{}/{method}", self.base);
        let answer = self
            .client
            .post(&url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|source| SlackError::Unreachable {
                method: method.to_string(),
                source,
            })?;
        let status = answer.status();
        let reply: Value = answer.json().await.map_err(|source| SlackError::NotJson {
            method: method.to_string(),
            status,
            source,
        })?;
        // Slack answers 200 with `ok: false` and an error code for most failures.
        if reply.get("ok") == Some(&Value::Bool(true)) {
            Ok(reply)
        } else {
            let code = reply
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error given");
            Err(SlackError::Refused {
                method: method.to_string(),
                status,
                code: code.to_string(),
            })
        }
    }
}

impl SlackApi for WebApi {
    fn post<'a>(
        &'a self,
        channel: &'a str,
        text: &'a str,
        blocks: Option<&'a Value>,
        thread_ts: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Posted, SlackError>> {
        Box::pin(async move {
            let mut body = json!({"channel": channel, "text": text, "unfurl_links": false});
            if let Some(blocks) = blocks {
                body["blocks"] = blocks.clone();
            }
            if let Some(thread_ts) = thread_ts {
                body["thread_ts"] = json!(thread_ts);
            }
            let reply = self.call("chat.postMessage", &body).await?;
            let field = |name: &str| reply.get(name).and_then(Value::as_str).map(str::to_string);
            match (field("channel"), field("ts")) {
                (Some(channel), Some(ts)) => Ok(Posted { channel, ts }),
                _ => Err(SlackError::NoMessage {
                    method: "chat.postMessage".to_string(),
                }),
            }
        })
    }

    fn update<'a>(
        &'a self,
        at: &'a Posted,
        text: &'a str,
        blocks: &'a Value,
    ) -> BoxFuture<'a, Result<(), SlackError>> {
        Box::pin(async move {
            let body = json!({"channel": at.channel, "ts": at.ts, "text": text, "blocks": blocks});
            self.call("chat.update", &body).await.map(|_| ())
        })
    }

    fn post_ephemeral<'a>(
        &'a self,
        channel: &'a str,
        user: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<(), SlackError>> {
        Box::pin(async move {
            let body = json!({"channel": channel, "user": user, "text": text});
            self.call("chat.postEphemeral", &body).await.map(|_| ())
        })
    }

    fn respond_privately<'a>(
        &'a self,
        response_url: &'a str,
        text: &'a str,
    ) -> BoxFuture<'a, Result<(), SlackError>> {
        Box::pin(async move {
            let body =
                json!({"response_type": "ephemeral", "replace_original": false, "text": text});
            let answer = self
                .client
                .post(response_url)
                .json(&body)
                .send()
                .await
                .map_err(|source| SlackError::Unreachable {
                    method: "response_url".to_string(),
                    source,
                })?;
            if answer.status().is_success() {
                Ok(())
            } else {
                Err(SlackError::Status {
                    method: "response_url".to_string(),
                    status: answer.status(),
                })
            }
        })
    }
}

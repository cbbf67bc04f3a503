//! `slack.post(channel, text)`: a message through a Slack incoming webhook.
//!
//! The webhook URL is a secret (anyone holding it can post): it comes from the environment
//! variable named by `[integrations.slack] webhook_url_secret` (default `SLACK_WEBHOOK_URL`), or,
//! when it is not secret (a local relay, tests), from `webhook_url`. It never appears in a message.
//!
//! The body is `{"channel", "text", "blocks"}`: `text` is the notification fallback, `blocks` the
//! same text as mrkdwn `section` blocks of at most 3000 characters each (Slack's limit per block).
//! Webhooks created by a Slack app post to their own channel and ignore `channel`; legacy
//! webhooks and relays honour it.

use std::time::Duration;

use rbk_compiler::config::SlackConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use serde_json::json;

use super::web::{self, EnvLookup, LazyClient, Retry, SecretValue};
use super::NativeAction;

const DEFAULT_SECRET: &str = "SLACK_WEBHOOK_URL";
/// Slack's limit for the text of one section block.
const BLOCK_TEXT: usize = 3000;
/// Slack truncates messages longer than this; refuse instead of posting half an update.
const MAX_TEXT: usize = 40_000;

pub struct Post {
    config: SlackConfig,
    env: EnvLookup,
    client: LazyClient,
    pub(crate) retry: Retry,
    pub(crate) timeout: Duration,
}

impl Post {
    pub(crate) fn with_env(config: Option<&SlackConfig>, env: EnvLookup) -> Self {
        Post {
            config: config.cloned().unwrap_or_default(),
            env,
            client: LazyClient::new(web::client_builder),
            retry: Retry {
                attempts: 4,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(10),
                // A timed-out post may have been delivered: do not post it twice.
                retry_timeouts: false,
            },
            timeout: Duration::from_secs(10),
        }
    }

    /// The webhook URL: the variable `webhook_url_secret` names if that is set, else
    /// `webhook_url`, else `$SLACK_WEBHOOK_URL`.
    fn webhook(&self) -> Result<SecretValue, ActionError> {
        let missing = |variable: &str, explicit: bool| {
            let how = if explicit {
                "`webhook_url_secret` under [integrations.slack] in rbk.toml names it; set it to \
                 the incoming-webhook URL"
            } else {
                "set it to the incoming-webhook URL, or name another variable with \
                 `webhook_url_secret` under [integrations.slack] in rbk.toml; a URL that is not \
                 secret can be given as `webhook_url`"
            };
            ActionError::new(format!(
                "std.slack has no webhook URL: the environment variable {variable} is not set ({how})"
            ))
        };
        if let Some(variable) = &self.config.webhook_url_secret {
            return (self.env)(variable)
                .map(|value| SecretValue {
                    value,
                    name: variable.clone(),
                })
                .ok_or_else(|| missing(variable, true));
        }
        if let Some(url) = &self.config.webhook_url {
            return Ok(SecretValue {
                value: url.clone(),
                name: "integrations.slack.webhook_url".into(),
            });
        }
        (self.env)(DEFAULT_SECRET)
            .map(|value| SecretValue {
                value,
                name: DEFAULT_SECRET.into(),
            })
            .ok_or_else(|| missing(DEFAULT_SECRET, false))
    }
}

/// The webhook body for `text` posted to `channel`.
pub(crate) fn message(channel: &str, text: &str) -> serde_json::Value {
    let chars: Vec<char> = text.chars().collect();
    let blocks: Vec<serde_json::Value> = chars
        .chunks(BLOCK_TEXT)
        .map(|chunk| {
            json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": chunk.iter().collect::<String>() }
            })
        })
        .collect();
    json!({ "channel": channel, "text": text, "blocks": blocks })
}

impl NativeAction for Post {
    fn name(&self) -> &'static str {
        "slack.post"
    }

    fn arity(&self) -> usize {
        2
    }

    fn effect(&self) -> Effect {
        Effect::Write
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let channel = web::string_arg(call, "channel")?;
            let text = web::string_arg(call, "text")?;
            if text.trim().is_empty() {
                return Err(ActionError::new(
                    "slack.post: `text` is empty; Slack rejects empty messages",
                ));
            }
            let length = text.chars().count();
            if length > MAX_TEXT {
                return Err(ActionError::new(format!(
                    "slack.post: `text` has {length} characters; Slack takes at most {MAX_TEXT}"
                )));
            }
            let webhook = self.webhook()?;
            let client = self.client.get()?;
            let body = message(channel, text);
            let answer = web::post_json(client, &webhook.value, &body, self.timeout, &self.retry)
                .await
                .map_err(|e| {
                    ActionError::new(webhook.redact(&format!(
                        "slack.post: cannot reach the Slack webhook ({}): {e}",
                        webhook.name
                    )))
                })?;
            if answer.status.is_success() {
                return Ok(Value::None);
            }
            let tries = if answer.attempts > 1 {
                format!(" after {} tries", answer.attempts)
            } else {
                String::new()
            };
            Err(ActionError::new(webhook.redact(&format!(
                "slack.post: Slack rejected the message to {channel} with HTTP {}{tries}: {}",
                answer.status.as_u16(),
                web::excerpt(&answer.body, 300)
            ))))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::natives::web::capture::{CaptureServer, Reply};
    use rbk_compiler::types::Ty;

    fn call(channel: &str, text: &str) -> ActionCall {
        ActionCall {
            action: "slack.post".into(),
            effect: Effect::Write,
            returns_handle: None,
            returns: Ty::None,
            args: vec![
                ("channel".into(), Value::str(channel)),
                ("text".into(), Value::str(text)),
            ],
            run_id: "run-1".into(),
        }
    }

    fn env(vars: &[(&str, &str)]) -> EnvLookup {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Arc::new(move |name| vars.get(name).cloned())
    }

    fn fast(mut post: Post) -> Post {
        post.retry.base_delay = Duration::from_millis(1);
        post.retry.max_delay = Duration::from_millis(5);
        post
    }

    #[tokio::test]
    async fn posts_text_and_blocks_to_the_webhook_from_the_secret() {
        let server = CaptureServer::start(vec![Reply::new(200, "ok")]).await;
        let config = SlackConfig {
            webhook_url: None,
            webhook_url_secret: Some("OPS_SLACK".into()),
            ..SlackConfig::default()
        };
        let url = format!("{}/services/T000/B000/XXXX", server.url);
        let post = Post::with_env(Some(&config), env(&[("OPS_SLACK", &url)]));
        let result = post
            .call(&call("#incidents", "Pool usage *92%* -> 40%"))
            .await
            .unwrap();
        assert_eq!(result, Value::None);
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/services/T000/B000/XXXX");
        assert_eq!(requests[0].headers["content-type"], "application/json");
        assert_eq!(
            requests[0].json(),
            json!({
                "channel": "#incidents",
                "text": "Pool usage *92%* -> 40%",
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": "Pool usage *92%* -> 40%"}}
                ]
            })
        );
    }

    #[tokio::test]
    async fn the_default_variable_is_slack_webhook_url_and_webhook_url_is_the_fallback() {
        let server = CaptureServer::start(vec![Reply::new(200, "ok")]).await;
        let from_env = Post::with_env(
            None,
            env(&[("SLACK_WEBHOOK_URL", &format!("{}/env", server.url))]),
        );
        from_env.call(&call("#a", "one")).await.unwrap();
        let config = SlackConfig {
            webhook_url: Some(format!("{}/plain", server.url)),
            webhook_url_secret: None,
            ..SlackConfig::default()
        };
        let from_toml = Post::with_env(Some(&config), env(&[]));
        from_toml.call(&call("#a", "two")).await.unwrap();
        let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
        assert_eq!(paths, vec!["/env", "/plain"]);
    }

    #[test]
    fn long_text_is_split_into_blocks_of_3000_characters() {
        let text = "é".repeat(7000);
        let body = message("#c", &text);
        let blocks = body["blocks"].as_array().unwrap();
        let sizes: Vec<usize> = blocks
            .iter()
            .map(|b| b["text"]["text"].as_str().unwrap().chars().count())
            .collect();
        assert_eq!(sizes, vec![3000, 3000, 1000]);
        assert_eq!(body["text"].as_str().unwrap(), text);
    }

    #[tokio::test]
    async fn missing_configuration_names_the_key_and_the_variable() {
        let post = Post::with_env(None, env(&[]));
        let error = post.call(&call("#a", "hi")).await.unwrap_err();
        assert!(
            error.message.contains("SLACK_WEBHOOK_URL"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("webhook_url_secret"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("[integrations.slack]"),
            "{}",
            error.message
        );

        let config = SlackConfig {
            webhook_url: None,
            webhook_url_secret: Some("OPS_SLACK".into()),
            ..SlackConfig::default()
        };
        let post = Post::with_env(Some(&config), env(&[]));
        let error = post.call(&call("#a", "hi")).await.unwrap_err();
        assert!(error.message.contains("OPS_SLACK"), "{}", error.message);
    }

    #[tokio::test]
    async fn a_rejection_is_an_error_with_slacks_answer_but_never_the_url() {
        let server = CaptureServer::start(vec![Reply::new(404, "no_service")]).await;
        let url = format!("{}/services/T0/B0/sekrit-token", server.url);
        let post = fast(Post::with_env(None, env(&[("SLACK_WEBHOOK_URL", &url)])));
        let error = post.call(&call("#a", "hi")).await.unwrap_err();
        assert!(error.message.contains("404"), "{}", error.message);
        assert!(error.message.contains("no_service"), "{}", error.message);
        assert!(!error.message.contains("sekrit-token"), "{}", error.message);
        assert_eq!(server.requests().len(), 1, "a 404 is not retried");
    }

    #[tokio::test]
    async fn an_answer_that_quotes_the_url_is_redacted() {
        // A relay that echoes the path it was called on.
        let server = CaptureServer::start(vec![Reply::new(
            400,
            "bad request to /services/T0/B0/sekrit-token",
        )])
        .await;
        let url = format!("{}/services/T0/B0/sekrit-token", server.url);
        let post = Post::with_env(None, env(&[("SLACK_WEBHOOK_URL", &url)]));
        let error = post.call(&call("#a", "hi")).await.unwrap_err();
        assert!(!error.message.contains("sekrit-token"), "{}", error.message);
        assert!(
            error.message.contains("<secret SLACK_WEBHOOK_URL>"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn rate_limits_are_retried() {
        let server = CaptureServer::start(vec![
            Reply::new(429, "rate_limited").header("retry-after", "0"),
            Reply::new(200, "ok"),
        ])
        .await;
        let post = fast(Post::with_env(
            None,
            env(&[("SLACK_WEBHOOK_URL", &format!("{}/hook", server.url))]),
        ));
        post.call(&call("#a", "hi")).await.unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].body, requests[1].body);
    }

    #[tokio::test]
    async fn an_unreachable_webhook_fails_without_showing_the_url() {
        // Bind and drop a listener to get a port nobody listens on.
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/services/sekrit-token");
        let post = fast(Post::with_env(None, env(&[("SLACK_WEBHOOK_URL", &url)])));
        let error = post.call(&call("#a", "hi")).await.unwrap_err();
        assert!(error.message.contains("cannot reach"), "{}", error.message);
        assert!(!error.message.contains("sekrit-token"), "{}", error.message);
        assert!(
            !error.message.contains(&port.to_string()),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn empty_text_is_refused_before_sending() {
        let post = Post::with_env(None, env(&[]));
        let error = post.call(&call("#a", "  ")).await.unwrap_err();
        assert!(error.message.contains("empty"), "{}", error.message);
    }
}

//! Approvals from Slack: a Block Kit message when a run waits at a gate ([`notice`]), button
//! clicks ([`interactivity`]) and ✅/❌ reactions ([`events`]) decided through the one decision
//! path, and the message kept up to date with the outcome. Every request from Slack is checked
//! against its signature before anything of it is read ([`signature`]).

pub mod api;
pub mod blocks;
pub mod events;
pub mod interactivity;
pub mod notice;
mod outcome;
pub mod signature;

use std::collections::BTreeMap;
use std::sync::Arc;

use rbk_compiler::config::SlackConfig;

use crate::log;
use api::{SlackApi, WebApi};

pub const DEFAULT_API_URL: &str = "https://slack.com/api";
pub const DEFAULT_BOT_TOKEN_ENV: &str = "SLACK_BOT_TOKEN";
pub const DEFAULT_SIGNING_SECRET_ENV: &str = "SLACK_SIGNING_SECRET";

/// `[integrations.slack]` resolved against the environment. Secrets are not printed.
#[derive(Clone)]
pub struct SlackSettings {
    pub api_url: String,
    pub bot_token: Option<String>,
    pub bot_token_env: String,
    pub signing_secret: Option<String>,
    pub signing_secret_env: String,
    pub approvals_channel: Option<String>,
    /// Where the run pages are, for the link in each message (`[web] base_url`).
    pub base_url: String,
    /// Slack user id to person name (`[people.NAME] slack`).
    pub people: BTreeMap<String, String>,
}

impl std::fmt::Debug for SlackSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackSettings")
            .field("api_url", &self.api_url)
            .field("bot_token", &self.bot_token.as_ref().map(|_| "(set)"))
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "(set)"),
            )
            .field("approvals_channel", &self.approvals_channel)
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl SlackSettings {
    /// `None` when rbk.toml has no `[integrations.slack]`. `Err` when it asks for approval
    /// messages (`approvals_channel`) but the bot token or signing secret is not in the
    /// environment: the messages could not be posted, or their buttons could not be trusted.
    pub fn resolve(
        config: Option<&SlackConfig>,
        people: BTreeMap<String, String>,
        base_url: String,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<SlackSettings>, MissingCredential> {
        let Some(config) = config else {
            return Ok(None);
        };
        let bot_token_env = config
            .bot_token_secret
            .clone()
            .unwrap_or_else(|| DEFAULT_BOT_TOKEN_ENV.to_string());
        let signing_secret_env = config
            .signing_secret_secret
            .clone()
            .unwrap_or_else(|| DEFAULT_SIGNING_SECRET_ENV.to_string());
        let present = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let settings = SlackSettings {
            api_url: config
                .api_url
                .clone()
                .unwrap_or_else(|| DEFAULT_API_URL.to_string()),
            bot_token: present(&bot_token_env),
            bot_token_env,
            signing_secret: present(&signing_secret_env),
            signing_secret_env,
            approvals_channel: config
                .approvals_channel
                .clone()
                .filter(|c| !c.trim().is_empty()),
            base_url: base_url.trim_end_matches('/').to_string(),
            people,
        };
        if settings.approvals_channel.is_some() {
            for (value, name, what) in [
                (
                    &settings.bot_token,
                    &settings.bot_token_env,
                    "bot token (xoxb-…)",
                ),
                (
                    &settings.signing_secret,
                    &settings.signing_secret_env,
                    "signing secret",
                ),
            ] {
                if value.is_none() {
                    return Err(MissingCredential {
                        what,
                        variable: name.clone(),
                    });
                }
            }
        }
        Ok(Some(settings))
    }
}

/// Approval messages are asked for, but a credential they need is not in the environment.
#[derive(Debug, thiserror::Error)]
#[error(
    "rbk.toml [integrations.slack] approvals_channel is set, but the Slack app's {what} is not: \
     set the environment variable {variable} (rbk.toml names it), or remove approvals_channel"
)]
pub struct MissingCredential {
    /// "bot token (xoxb-…)" or "signing secret".
    pub what: &'static str,
    pub variable: String,
}

/// What the server needs to talk to Slack: its settings and the Web API.
pub struct Slack {
    pub settings: SlackSettings,
    pub api: Arc<dyn SlackApi>,
}

impl Slack {
    pub fn new(settings: SlackSettings) -> Slack {
        let api = Arc::new(WebApi::new(
            &settings.api_url,
            settings.bot_token.as_deref().unwrap_or(""),
        ));
        Slack { settings, api }
    }

    /// Posting approval messages needs a channel and a bot token.
    pub fn posts_approvals(&self) -> Option<&str> {
        match (&self.settings.approvals_channel, &self.settings.bot_token) {
            (Some(channel), Some(_)) => Some(channel),
            _ => None,
        }
    }

    pub fn person(&self, user_id: &str) -> Option<&str> {
        self.settings.people.get(user_id.trim()).map(String::as_str)
    }

    pub fn run_url(&self, run_id: &str) -> String {
        format!("{}/runs/{run_id}", self.settings.base_url)
    }
}

/// The store key of the message about `step`.
pub fn notice_key(step: &str) -> String {
    format!("slack:{step}")
}

/// Logs a failed Slack call: the decision stands whatever Slack says.
fn call_failed(what: &str, run: &str, error: &dyn std::fmt::Display) {
    log::warn(
        "slack_call_failed",
        serde_json::json!({"what": what, "run": run, "error": error.to_string()}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn an_approvals_channel_without_a_signing_secret_is_refused_with_the_variable_named() {
        let config = SlackConfig {
            approvals_channel: Some("C0APPROVALS".into()),
            signing_secret_secret: Some("OPS_SLACK_SIGNING".into()),
            ..SlackConfig::default()
        };
        let error = SlackSettings::resolve(
            Some(&config),
            BTreeMap::new(),
            "http://x".into(),
            &env(&[("SLACK_BOT_TOKEN", "xoxb-1")]),
        )
        .unwrap_err();
        assert!(error.to_string().contains("OPS_SLACK_SIGNING"), "{error}");
    }

    #[test]
    fn defaults_and_secrets_stay_out_of_debug_output() {
        let config = SlackConfig {
            approvals_channel: Some("C0APPROVALS".into()),
            ..SlackConfig::default()
        };
        let settings = SlackSettings::resolve(
            Some(&config),
            BTreeMap::new(),
            "http://rbk.example/".into(),
            &env(&[
                ("SLACK_BOT_TOKEN", "xoxb-secret"),
                ("SLACK_SIGNING_SECRET", "shh"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(settings.api_url, DEFAULT_API_URL);
        let slack = Slack::new(settings.clone());
        assert_eq!(slack.run_url("r-1"), "http://rbk.example/runs/r-1");
        assert_eq!(slack.posts_approvals(), Some("C0APPROVALS"));
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("xoxb-secret") && !shown.contains("shh"),
            "{shown}"
        );
    }
}

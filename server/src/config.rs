//! What `rbk serve` runs with: rbk.toml's `[serve]` resolved against the command line and the
//! environment, and checked before anything listens.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use rbk_compiler::config::{ServeConfig, WebConfig, WebhookConfig};
use rbk_compiler::types::Ty;
use rbk_interpreter::store::StormLimit;
use rbk_interpreter::value::{Expected, InputError};
use rbk_interpreter::Value;

use crate::web::WebSettings;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9095";
pub const DEFAULT_TOKEN_ENV: &str = "RBK_INTAKE_TOKEN";
pub const DEFAULT_WORKERS: usize = 4;
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;
/// Alertmanager sends whole groups; a megabyte holds thousands of alerts.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// SERVE.md: a 30 s lease renewed every 10 s.
pub const LEASE_MS: u64 = 30_000;
pub const HEARTBEAT_MS: u64 = 10_000;
pub const REAP_EVERY_MS: u64 = 3_000;

#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    /// `None`: no token configured; then only a loopback address may be used.
    pub token: Option<String>,
    pub token_env: String,
    /// Runs executed at once; 0 makes an intake-only process (others on the store run them).
    pub workers: usize,
    pub max_in_flight: usize,
    pub storm: Option<StormLimit>,
    pub webhooks: BTreeMap<String, WebhookConfig>,
    /// How long SIGTERM waits for runs in hand before releasing them to another process.
    pub shutdown_grace_ms: u64,
    /// The run pages: `[web]` resolved (see `Settings::resolve_web`).
    pub web: WebSettings,
    /// `[integrations.slack]` for approval messages and Slack's requests; set by the caller
    /// (it needs the whole rbk.toml: people, the web's base URL).
    pub slack: Option<crate::slack::SlackSettings>,
}

/// What the command line gives; it wins over rbk.toml.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub workers: Option<usize>,
}

/// Why the server refuses to start: a usage problem (exit 2), said so the user can fix it.
#[derive(Debug, PartialEq)]
pub struct SettingsError(pub String);

impl Settings {
    pub fn resolve(
        config: Option<&ServeConfig>,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let empty = ServeConfig::default();
        let config = config.unwrap_or(&empty);
        let listen_text = overrides
            .listen
            .clone()
            .or_else(|| config.listen.clone())
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            SettingsError(format!(
                "--listen `{listen_text}` is not an address: write IP:PORT, e.g. {DEFAULT_LISTEN}"
            ))
        })?;
        let token_env = config
            .token_env
            .clone()
            .unwrap_or_else(|| DEFAULT_TOKEN_ENV.to_string());
        let token = env(&token_env).filter(|t| !t.trim().is_empty());
        if token.is_none() && !listen.ip().is_loopback() {
            return Err(SettingsError(format!(
                "refusing to listen on {listen} without a token: anyone who can reach it could start runs. \
                 Set the environment variable {token_env} (rbk.toml [serve] token_env names it) to a secret, \
                 or listen on a loopback address such as {DEFAULT_LISTEN}"
            )));
        }
        let workers = overrides
            .workers
            .or(config.workers)
            .unwrap_or(DEFAULT_WORKERS);
        let storm = match &config.storm {
            None => Some(StormLimit {
                max_distinct: 20,
                window_ms: 5 * 60_000,
            }),
            Some(storm) => Some(StormLimit {
                max_distinct: storm.distinct,
                window_ms: parse_duration(&storm.window)
                    .map_err(|e| SettingsError(format!("rbk.toml [serve] storm window: {e}")))?,
            }),
        };
        let shutdown_grace_ms = match &config.shutdown_grace {
            Some(text) => parse_duration(text)
                .map_err(|e| SettingsError(format!("rbk.toml [serve] shutdown_grace: {e}")))?,
            None => 10_000,
        };
        for (name, hook) in &config.webhooks {
            for pointer in hook
                .labels
                .values()
                .chain(hook.annotations.values())
                .chain(&hook.fingerprint)
                .chain(&hook.starts_at)
                .chain(&hook.status)
            {
                if !pointer.is_empty() && !pointer.starts_with('/') {
                    return Err(SettingsError(format!(
                        "rbk.toml [serve.webhooks.{name}]: `{pointer}` is not a JSON pointer; write it like /labels/host"
                    )));
                }
            }
        }
        let web = WebSettings::resolve(None, listen, env)?;
        Ok(Settings {
            web,
            listen,
            token,
            token_env,
            workers,
            max_in_flight: config.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT).max(1),
            storm,
            webhooks: config.webhooks.clone(),
            shutdown_grace_ms,
            slack: None,
        })
    }
}

impl Settings {
    /// `[web]` from rbk.toml, with the session key from the environment.
    pub fn resolve_web(
        mut self,
        config: Option<&WebConfig>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        self.web = WebSettings::resolve(config, self.listen, env)?;
        Ok(self)
    }
}

/// `5m`, `30s`, `1h` as the language writes durations.
fn parse_duration(text: &str) -> Result<u64, InputError> {
    match Value::parse_input(text, &Ty::Duration)? {
        Value::Duration(ms) => Ok(ms),
        // A duration input parses to a duration or not at all; this arm only keeps the match
        // whole.
        _ => Err(InputError::NotA {
            text: text.trim().to_string(),
            expected: Expected::Duration,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_listen_on_loopback_without_a_token() {
        let settings = Settings::resolve(None, &Overrides::default(), &no_env).unwrap();
        assert_eq!(settings.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(settings.workers, DEFAULT_WORKERS);
        assert!(settings.token.is_none());
    }

    #[test]
    fn refuses_a_public_address_without_a_token() {
        let overrides = Overrides {
            listen: Some("0.0.0.0:9095".into()),
            workers: None,
        };
        let refused = Settings::resolve(None, &overrides, &no_env).unwrap_err();
        assert!(refused.0.contains("RBK_INTAKE_TOKEN"), "{refused:?}");
        let with_token = |name: &str| (name == "RBK_INTAKE_TOKEN").then(|| "s3cret".to_string());
        assert!(Settings::resolve(None, &overrides, &with_token).is_ok());
    }

    #[test]
    fn an_empty_token_is_no_token() {
        let overrides = Overrides {
            listen: Some("10.0.0.1:9095".into()),
            workers: None,
        };
        let blank = |_: &str| Some("  ".to_string());
        assert!(Settings::resolve(None, &overrides, &blank).is_err());
    }

    #[test]
    fn reads_the_storm_window() {
        let config = ServeConfig {
            storm: Some(rbk_compiler::config::StormConfig {
                distinct: 3,
                window: "2m".into(),
                approvers: None,
            }),
            ..ServeConfig::default()
        };
        let settings = Settings::resolve(Some(&config), &Overrides::default(), &no_env).unwrap();
        let storm = settings.storm.unwrap();
        assert_eq!((storm.max_distinct, storm.window_ms), (3, 120_000));
    }
}

//! `rbk.toml`, the project file: approver groups, integrations (endpoints, secrets by
//! reference) and the store. Parsing only; finding and reading the file is the caller's job.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Group name to the users in it.
    #[serde(default)]
    pub approvers: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub integrations: Integrations,
    #[serde(default)]
    pub store: Option<StoreConfig>,
    #[serde(default)]
    pub audit: Option<AuditConfig>,
}

/// How exported journal heads are signed (`rbk log RUN --export`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// The environment variable holding the HMAC key for exported heads.
    pub head_key_env: Option<String>,
}

/// Where the standard library's actions reach the outside world. Secrets are never written
/// here: a `*_secret` key names the environment variable that holds the value.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Integrations {
    pub slack: Option<SlackConfig>,
    pub pagerduty: Option<PagerDutyConfig>,
    pub kubernetes: Option<KubernetesConfig>,
    pub http: Option<HttpConfig>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming-webhook URL, when it is not secret (tests, a local relay).
    pub webhook_url: Option<String>,
    /// The environment variable holding the incoming-webhook URL (default `SLACK_WEBHOOK_URL`).
    pub webhook_url_secret: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// Events API v2 endpoint (default `https://events.pagerduty.com/v2/enqueue`).
    pub url: Option<String>,
    /// The environment variable holding the routing (integration) key (default
    /// `PAGERDUTY_ROUTING_KEY`).
    pub routing_key_secret: Option<String>,
    /// Routing keys per `service:` name, as environment variable names; falls back to
    /// `routing_key_secret`.
    #[serde(default)]
    pub services: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// A kubeconfig file (default: `$KUBECONFIG`, then `~/.kube/config`, then in-cluster).
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Hosts `std.http` may call; empty means any.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// A SQLite path (relative to rbk.toml) or a `postgres://` URL.
    pub url: Option<String>,
}

impl ProjectConfig {
    /// Parses the text of an `rbk.toml`; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<ProjectConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_groups_and_integrations() {
        let config = ProjectConfig::parse(
            "[approvers]\ndba = [\"alice\"]\n\n[integrations.slack]\nwebhook_url_secret = \"OPS_SLACK\"\n\n[integrations.pagerduty.services]\ndatabase-oncall = \"PD_DB_KEY\"\n",
        )
        .unwrap();
        assert_eq!(config.approvers["dba"], vec!["alice".to_string()]);
        assert_eq!(
            config
                .integrations
                .slack
                .unwrap()
                .webhook_url_secret
                .as_deref(),
            Some("OPS_SLACK")
        );
        assert_eq!(
            config.integrations.pagerduty.unwrap().services["database-oncall"],
            "PD_DB_KEY"
        );
    }

    #[test]
    fn a_typo_is_an_error_not_silence() {
        let error = ProjectConfig::parse("[aprovers]\ndba = [\"alice\"]\n").unwrap_err();
        assert!(error.contains("aprovers"), "{error}");
    }
}

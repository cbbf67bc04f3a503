//! `rbk.toml`, the project file: approver groups, integrations (endpoints, secrets by
//! reference) and the store. Parsing only; finding and reading the file is the caller's job.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
    /// `rbk serve`: the intake token, where to listen, workers, the storm threshold, webhooks.
    #[serde(default)]
    pub serve: Option<ServeConfig>,
    /// `[shell]`: the project's own read-only commands for `shell.run`.
    #[serde(default)]
    pub shell: Option<ShellConfig>,
    /// `[web]`: who may look at the run pages served by `rbk serve`, and how people sign in.
    #[serde(default)]
    pub web: Option<WebConfig>,
    /// `[people.NAME]`: how a person is recognised outside the CLI (Slack user id, token
    /// hashes). Groups in `[approvers]` name these people (or plain CLI users).
    #[serde(default)]
    pub people: BTreeMap<String, PersonConfig>,
    /// `[secrets]`: where `secret("X")` looks once the environment has no `X`.
    #[serde(default)]
    pub secrets: Option<SecretsConfig>,
}

/// `[secrets] dir = "/var/run/secrets/app"` (one file per secret, named as the secret: a
/// Kubernetes secret volume) and `[secrets.files] NAME = "path"` (one file for one secret).
/// Relative paths are relative to the rbk.toml. Only where to look: the values stay in files.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    pub dir: Option<String>,
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// `[shell] read_only = ["kafka-topics --describe", "mytool status"]`: `shell.run` of a command
/// whose first words are written out as one of these is a `read` action, as the standard
/// table's are. Name only commands that read whatever arguments follow.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ShellConfig {
    #[serde(default)]
    pub read_only: Vec<String>,
}

/// `[people.NAME]`: one person's identities. Slack is known by user id, never display name;
/// tokens only by their hash, so a leaked rbk.toml does not let anyone in.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PersonConfig {
    /// The Slack user id, e.g. `U0123ABCD`.
    pub slack: Option<String>,
    /// `sha256:<hex>` hashes of the person's web/API tokens (`rbk token create --as NAME`).
    #[serde(default)]
    pub tokens: Vec<String>,
}

/// `[web]`: the run pages of `rbk serve` (docs/serve.md, "The web page").
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Anyone who can reach the server may look at runs (never act). Default: looking needs a
    /// person too.
    #[serde(default)]
    pub public_read: bool,
    /// Where people reach the pages, for links sent elsewhere (Slack). Default `http://LISTEN`.
    pub base_url: Option<String>,
    /// An authenticating reverse proxy that names the person in a header.
    pub trusted_proxy: Option<TrustedProxyConfig>,
    /// Mark the session cookie `Secure` (default: only when a trusted proxy says the request
    /// came over https).
    pub secure_cookies: Option<bool>,
}

/// `[web.trusted_proxy]`: the identity header, and the only addresses allowed to send it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrustedProxyConfig {
    /// E.g. `X-Forwarded-User`.
    pub header: String,
    /// IP addresses or CIDR ranges (`10.0.0.0/8`) of the proxy.
    pub from: Vec<String>,
}

/// `[serve]`: how `rbk serve` listens and takes in alerts. Command-line flags win over it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The environment variable holding the intake's bearer token (default `RBK_INTAKE_TOKEN`).
    pub token_env: Option<String>,
    /// `ADDR:PORT` (default `127.0.0.1:9095`).
    pub listen: Option<String>,
    /// Runs executed at once by this process (default 4).
    pub workers: Option<usize>,
    /// Intakes handled at once before answering 503 (default 64).
    pub max_in_flight: Option<usize>,
    /// Past this many distinct firing alerts of one runbook within the window, it stops
    /// auto-starting and its runs wait for a human (default 20 within 5m).
    pub storm: Option<StormConfig>,
    /// How long SIGTERM lets runs in hand go on before releasing them to the queue (default
    /// `10s`).
    pub shutdown_grace: Option<String>,
    /// `[serve.webhooks.NAME]`: `POST /v1/webhook/NAME` bodies mapped to an alert.
    #[serde(default)]
    pub webhooks: BTreeMap<String, WebhookConfig>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StormConfig {
    #[serde(default = "default_storm_distinct")]
    pub distinct: u32,
    /// A duration such as `5m`.
    #[serde(default = "default_storm_window")]
    pub window: String,
    /// The group whose members may release or cancel a held run (`rbk approve RUN storm`);
    /// `None`: anyone in any approver group.
    #[serde(default)]
    pub approvers: Option<String>,
}

fn default_storm_distinct() -> u32 {
    20
}

fn default_storm_window() -> String {
    "5m".to_string()
}

/// How a JSON body becomes an alert. Values are JSON pointers (`/data/host`) into the body.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The alert's name, as `trigger alert "NAME"` matches it.
    pub alert: String,
    /// Label name to the JSON pointer of its value.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotation name to the JSON pointer of its value.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Who the runs it starts are started by (default `webhook:NAME`).
    pub started_by: Option<String>,
    /// A pointer to a value naming the alert (default: a hash of its labels).
    pub fingerprint: Option<String>,
    /// A pointer to when it started (RFC 3339 text or milliseconds); one occurrence per value.
    /// Default: the time the body arrives, so every POST is a new occurrence.
    pub starts_at: Option<String>,
    /// A pointer to `firing` or `resolved` (default: firing).
    pub status: Option<String>,
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
    pub prometheus: Option<PrometheusConfig>,
    pub alertmanager: Option<AlertmanagerConfig>,
    pub jira: Option<JiraConfig>,
    pub github: Option<GitHubConfig>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming-webhook URL, when it is not secret (tests, a local relay).
    pub webhook_url: Option<String>,
    /// The environment variable holding the incoming-webhook URL (default `SLACK_WEBHOOK_URL`).
    pub webhook_url_secret: Option<String>,
    /// The base of Slack's Web API (default `https://slack.com/api`): a local relay or a test
    /// stand-in otherwise.
    pub api_url: Option<String>,
    /// The environment variable holding the Slack app's bot token (default `SLACK_BOT_TOKEN`).
    pub bot_token_secret: Option<String>,
    /// The environment variable holding the Slack app's signing secret (default
    /// `SLACK_SIGNING_SECRET`).
    pub signing_secret_secret: Option<String>,
    /// The channel (id or name) `rbk serve` posts approval messages to; none: no messages.
    pub approvals_channel: Option<String>,
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
    /// REST API v2 base for incidents (default `https://api.pagerduty.com`).
    pub api_url: Option<String>,
    /// The environment variable holding a REST API key (default `PAGERDUTY_API_TOKEN`).
    pub api_token_secret: Option<String>,
    /// The email of the PagerDuty user the REST API acts as (its required `From` header).
    pub from: Option<String>,
}

/// `[integrations.jira]`: the Jira site `std.jira` files tickets on.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// The site, e.g. `https://acme.atlassian.net` or `https://jira.example.com/jira`.
    pub url: Option<String>,
    /// The account (email) for Jira Cloud's basic authentication with an API token; without it
    /// the token is sent as a bearer token (a Jira Server / Data Center personal access token).
    pub user: Option<String>,
    /// The environment variable holding the API token (default `JIRA_API_TOKEN`).
    pub token_secret: Option<String>,
}

/// `[integrations.github]`: where `std.github` opens issues.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GitHubConfig {
    /// The REST API base (default `https://api.github.com`; GitHub Enterprise Server:
    /// `https://HOST/api/v3`).
    pub api_url: Option<String>,
    /// The environment variable holding the token (default `GITHUB_TOKEN`).
    pub token_secret: Option<String>,
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

/// `[integrations.prometheus]`: the server `std.prometheus` queries.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// The server's base URL, below which `/api/v1/query` lives (default
    /// `http://localhost:9090`; a path prefix such as `https://metrics.example/prometheus` is kept).
    pub url: Option<String>,
    /// The environment variable holding a bearer token sent as `Authorization: Bearer …`
    /// (default: no token is sent).
    pub bearer_token_secret: Option<String>,
}

/// `[integrations.alertmanager]`: the Alertmanager `std.alertmanager` silences alerts in.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// The base URL, below which `/api/v2/silences` lives (default `http://localhost:9093`).
    pub url: Option<String>,
    /// The environment variable holding a bearer token sent as `Authorization: Bearer …`
    /// (default: no token is sent).
    pub bearer_token_secret: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// A SQLite path (relative to rbk.toml) or a `postgres://` URL.
    pub url: Option<String>,
}

/// An `rbk.toml` that does not parse: TOML's own report (what is wrong and where), shown
/// without its trailing newline so it sits inside the messages that quote it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.to_string().trim_end())]
pub struct ConfigError(#[source] pub toml::de::Error);

impl ProjectConfig {
    /// Parses the text of an `rbk.toml`; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<ProjectConfig, ConfigError> {
        toml::from_str(text).map_err(ConfigError)
    }

    /// The secrets rbk itself reads for the project (Slack's webhook URL and tokens, PagerDuty
    /// routing keys, the intake token, the audit key), by the names they are read under:
    /// a run masks their values wherever they turn up, as it masks what `secret()` read.
    pub fn credential_names(&self) -> Vec<String> {
        let slack = self.integrations.slack.clone().unwrap_or_default();
        let pagerduty = self.integrations.pagerduty.clone().unwrap_or_default();
        let serve = self.serve.clone().unwrap_or_default();
        let audit = self.audit.clone().unwrap_or_default();
        let or = |configured: Option<String>, default: &str| {
            Some(configured.unwrap_or_else(|| default.to_string()))
        };
        let mut names: Vec<String> = [
            or(slack.webhook_url_secret, "SLACK_WEBHOOK_URL"),
            or(slack.bot_token_secret, "SLACK_BOT_TOKEN"),
            or(slack.signing_secret_secret, "SLACK_SIGNING_SECRET"),
            or(pagerduty.routing_key_secret, "PAGERDUTY_ROUTING_KEY"),
            or(serve.token_env, "RBK_INTAKE_TOKEN"),
            Some("RBK_WEB_SESSION_KEY".to_string()),
            audit.head_key_env,
        ]
        .into_iter()
        .flatten()
        .chain(pagerduty.services.into_values())
        .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The person whose `[people.NAME] slack` is this Slack user id (ids, not display names:
    /// anyone can take a display name).
    pub fn person_by_slack(&self, user_id: &str) -> Option<&str> {
        let user_id = user_id.trim();
        if user_id.is_empty() {
            return None;
        }
        self.people
            .iter()
            .find(|(_, person)| person.slack.as_deref().map(str::trim) == Some(user_id))
            .map(|(name, _)| name.as_str())
    }

    /// The person one of whose stored hashes is this token's SHA-256. Every stored hash is
    /// compared, in constant time, so the time taken says nothing about which one is close.
    pub fn person_by_token(&self, token: &str) -> Option<&str> {
        if token.is_empty() {
            return None;
        }
        let presented = token_hash(token);
        let mut found = None;
        for (name, person) in &self.people {
            for stored in &person.tokens {
                let stored = stored.trim().to_ascii_lowercase();
                if bool::from(stored.as_bytes().ct_eq(presented.as_bytes())) && found.is_none() {
                    found = Some(name.as_str());
                }
            }
        }
        found
    }
}

/// How a token is stored in `[people.NAME] tokens`: `sha256:` and the hex digest.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
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
    fn reads_prometheus_and_alertmanager() {
        let config = ProjectConfig::parse(
            "[integrations.prometheus]\nurl = \"http://prom:9090\"\nbearer_token_secret = \"PROM_TOKEN\"\n\n[integrations.alertmanager]\nurl = \"http://am:9093\"\n",
        )
        .unwrap();
        let prometheus = config.integrations.prometheus.unwrap();
        assert_eq!(prometheus.url.as_deref(), Some("http://prom:9090"));
        assert_eq!(
            prometheus.bearer_token_secret.as_deref(),
            Some("PROM_TOKEN")
        );
        let alertmanager = config.integrations.alertmanager.unwrap();
        assert_eq!(alertmanager.url.as_deref(), Some("http://am:9093"));
        assert_eq!(alertmanager.bearer_token_secret, None);
        let error = ProjectConfig::parse("[integrations.prometheus]\ntoken = \"x\"\n").unwrap_err();
        assert!(error.to_string().contains("token"), "{error}");
    }

    #[test]
    fn reads_serve_and_its_webhooks() {
        let config = ProjectConfig::parse(
            "[serve]\nlisten = \"0.0.0.0:9095\"\nstorm = { distinct = 5, window = \"1m\" }\n\n[serve.webhooks.grafana]\nalert = \"DiskFull\"\nlabels = { host = \"/host\" }\n",
        )
        .unwrap();
        let serve = config.serve.unwrap();
        assert_eq!(serve.listen.as_deref(), Some("0.0.0.0:9095"));
        assert_eq!(serve.storm.unwrap().distinct, 5);
        assert_eq!(serve.webhooks["grafana"].labels["host"], "/host");
    }

    #[test]
    fn reads_web() {
        let config = ProjectConfig::parse(
            "[web]\npublic_read = true\nbase_url = \"https://rbk.example\"\ntrusted_proxy = { header = \"X-Forwarded-User\", from = [\"10.0.0.0/8\"] }\n",
        )
        .unwrap();
        let web = config.web.unwrap();
        assert!(web.public_read);
        assert_eq!(web.base_url.as_deref(), Some("https://rbk.example"));
        let proxy = web.trusted_proxy.unwrap();
        assert_eq!(proxy.header, "X-Forwarded-User");
        assert_eq!(proxy.from, vec!["10.0.0.0/8".to_string()]);
    }

    #[test]
    fn people_are_found_by_slack_id_and_token_hash_only() {
        let hash = token_hash("s3cret-token");
        let config = ProjectConfig::parse(&format!(
            "[approvers]\ndba = [\"alice\", \"bob\"]\n\n[people.alice]\nslack = \"U0123ABCD\"\ntokens = [\"{hash}\"]\n\n[people.bob]\nslack = \"U0999\"\n"
        ))
        .unwrap();
        assert_eq!(config.person_by_slack("U0123ABCD"), Some("alice"));
        assert_eq!(config.person_by_slack("U0999"), Some("bob"));
        assert_eq!(config.person_by_slack("alice"), None);
        assert_eq!(config.person_by_slack(""), None);
        assert_eq!(config.person_by_token("s3cret-token"), Some("alice"));
        assert_eq!(config.person_by_token("s3cret-token "), None);
        assert_eq!(
            config.person_by_token(&hash),
            None,
            "the hash itself is not a token"
        );
        assert_eq!(config.person_by_token(""), None);
        assert!(hash.starts_with("sha256:") && hash.len() == 7 + 64);
    }

    #[test]
    fn a_person_with_an_unknown_key_is_refused() {
        let error = ProjectConfig::parse("[people.alice]\nslack_name = \"alice\"\n").unwrap_err();
        assert!(error.to_string().contains("slack_name"), "{error}");
    }

    #[test]
    fn storm_approvers_alone_keep_the_default_threshold() {
        let config = ProjectConfig::parse("[serve.storm]\napprovers = \"oncall\"\n").unwrap();
        let storm = config.serve.unwrap().storm.unwrap();
        assert_eq!(storm.approvers.as_deref(), Some("oncall"));
        assert_eq!((storm.distinct, storm.window.as_str()), (20, "5m"));
    }

    #[test]
    fn reads_where_secrets_are_kept() {
        let config = ProjectConfig::parse(
            "[secrets]\ndir = \"/var/run/secrets/app\"\n\n[secrets.files]\nORDERS_DB = \"secrets/orders.url\"\n",
        )
        .unwrap();
        let secrets = config.secrets.unwrap();
        assert_eq!(secrets.dir.as_deref(), Some("/var/run/secrets/app"));
        assert_eq!(secrets.files["ORDERS_DB"], "secrets/orders.url");
        let error = ProjectConfig::parse("[secrets]\ndirectory = \"/x\"\n").unwrap_err();
        assert!(error.to_string().contains("directory"), "{error}");
    }

    #[test]
    fn credential_names_are_the_configured_variables_and_the_defaults() {
        let config = ProjectConfig::parse(
            "[integrations.slack]\nwebhook_url_secret = \"OPS_SLACK\"\n\n[integrations.pagerduty.services]\ndb = \"PD_DB_KEY\"\n\n[audit]\nhead_key_env = \"HEAD_KEY\"\n",
        )
        .unwrap();
        let names = config.credential_names();
        for name in [
            "OPS_SLACK",
            "PD_DB_KEY",
            "HEAD_KEY",
            "PAGERDUTY_ROUTING_KEY",
            "SLACK_BOT_TOKEN",
            "RBK_INTAKE_TOKEN",
        ] {
            assert!(
                names.iter().any(|n| n == name),
                "{name} missing from {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n == "SLACK_WEBHOOK_URL"), "{names:?}");
        assert!(!ProjectConfig::default()
            .credential_names()
            .iter()
            .any(|n| n == "HEAD_KEY"));
    }

    #[test]
    fn a_typo_is_an_error_not_silence() {
        let error = ProjectConfig::parse("[aprovers]\ndba = [\"alice\"]\n").unwrap_err();
        assert!(error.to_string().contains("aprovers"), "{error}");
    }
}

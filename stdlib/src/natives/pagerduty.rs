//! `pagerduty.page(service, summary, severity)` and `pagerduty.resolve(service, summary)`:
//! PagerDuty Events API v2.
//!
//! Every event of a run carries `dedup_key` = the run id, so `resolve` closes the incident `page`
//! opened in the same run, and paging twice in one run does not open a second incident. The
//! routing (integration) key is a secret read from the environment variable that
//! `[integrations.pagerduty.services] SERVICE` names, else `routing_key_secret`, else
//! `PAGERDUTY_ROUTING_KEY`; it never appears in a message. 429 and 5xx answers and connection
//! failures are retried with exponential backoff (events are idempotent by `dedup_key`);
//! a 400 is PagerDuty refusing the event and is not.

use std::time::Duration;

use rbk_compiler::config::PagerDutyConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use serde_json::json;

use super::web::{self, EnvLookup, LazyClient, Retry, SecretValue};
use super::NativeAction;

const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";
const DEFAULT_SECRET: &str = "PAGERDUTY_ROUTING_KEY";
const SEVERITIES: [&str; 4] = ["critical", "error", "warning", "info"];
/// PagerDuty's limit for `payload.summary`.
const MAX_SUMMARY: usize = 1024;

/// The connection to the Events API that both actions share.
pub(crate) struct Events {
    url: String,
    config: PagerDutyConfig,
    env: EnvLookup,
    client: LazyClient,
    pub(crate) retry: Retry,
    pub(crate) timeout: Duration,
    /// `payload.source`: `rbk@HOSTNAME`.
    pub(crate) source: String,
}

impl Events {
    pub(crate) fn new(config: Option<&PagerDutyConfig>, env: EnvLookup) -> Self {
        let config = config.cloned().unwrap_or_default();
        Events {
            url: config
                .url
                .clone()
                .unwrap_or_else(|| DEFAULT_URL.to_string()),
            config,
            env,
            client: LazyClient::new(web::client_builder),
            retry: Retry {
                attempts: 5,
                base_delay: Duration::from_millis(500),
                max_delay: Duration::from_secs(30),
                retry_timeouts: true,
            },
            timeout: Duration::from_secs(10),
            source: format!("rbk@{}", web::hostname()),
        }
    }

    /// The routing key of `service`.
    fn routing_key(&self, service: &str) -> Result<SecretValue, ActionError> {
        let (variable, how) = if let Some(variable) = self.config.services.get(service) {
            (
                variable.as_str(),
                format!("`{service}` under [integrations.pagerduty.services] in rbk.toml names it"),
            )
        } else if let Some(variable) = &self.config.routing_key_secret {
            (
                variable.as_str(),
                format!(
                    "`routing_key_secret` under [integrations.pagerduty] in rbk.toml names it; \
                     `{service}` has no entry under [integrations.pagerduty.services]"
                ),
            )
        } else {
            (
                DEFAULT_SECRET,
                format!(
                    "the default; name another variable with `routing_key_secret` under \
                     [integrations.pagerduty], or one for this service with `{service} = \"VAR\"` \
                     under [integrations.pagerduty.services] in rbk.toml"
                ),
            )
        };
        (self.env)(variable)
            .map(|value| SecretValue {
                value,
                name: variable.to_string(),
            })
            .ok_or_else(|| {
                ActionError::new(format!(
                    "std.pagerduty has no routing key for service `{service}`: the environment \
                     variable {variable} is not set ({how})"
                ))
            })
    }

    async fn send(
        &self,
        action: &str,
        service: &str,
        key: &SecretValue,
        event: serde_json::Value,
    ) -> Result<(), ActionError> {
        let client = self.client.get()?;
        let answer = web::post_json(client, &self.url, &event, self.timeout, &self.retry)
            .await
            .map_err(|e| {
                ActionError::new(key.redact(&format!(
                    "{action}: cannot reach PagerDuty for `{service}`: {e}"
                )))
            })?;
        if answer.status.is_success() {
            return Ok(());
        }
        let tries = if answer.attempts > 1 {
            format!(" after {} tries", answer.attempts)
        } else {
            String::new()
        };
        Err(ActionError::new(key.redact(&format!(
            "{action}: PagerDuty refused the event for `{service}` with HTTP {}{tries}: {}",
            answer.status.as_u16(),
            explain(&answer.body)
        ))))
    }
}

/// PagerDuty's error text: `message: errors...` from its JSON answer, else the raw body.
fn explain(body: &str) -> String {
    let Ok(answer) = serde_json::from_str::<serde_json::Value>(body) else {
        return web::excerpt(body, 300);
    };
    let mut parts = Vec::new();
    if let Some(message) = answer.get("message").and_then(|m| m.as_str()) {
        parts.push(message.to_string());
    }
    if let Some(errors) = answer.get("errors").and_then(|e| e.as_array()) {
        let errors: Vec<&str> = errors.iter().filter_map(|e| e.as_str()).collect();
        if !errors.is_empty() {
            parts.push(errors.join("; "));
        }
    }
    if parts.is_empty() {
        web::excerpt(body, 300)
    } else {
        web::excerpt(&parts.join(": "), 500)
    }
}

fn run_id<'a>(action: &str, call: &'a ActionCall) -> Result<&'a str, ActionError> {
    if call.run_id.is_empty() {
        return Err(ActionError::new(format!(
            "{action}: no run id to deduplicate the event by (PagerDuty events are sent only by a run)"
        )));
    }
    Ok(&call.run_id)
}

/// `pagerduty.page`: triggers an incident.
pub struct Page {
    pub(crate) events: Events,
}

impl Page {
    /// Reading the routing keys through `env` (the project's environment and secret files).
    pub(crate) fn with_env(config: Option<&PagerDutyConfig>, env: EnvLookup) -> Self {
        Page {
            events: Events::new(config, env),
        }
    }
}

impl NativeAction for Page {
    fn name(&self) -> &'static str {
        "pagerduty.page"
    }

    fn arity(&self) -> usize {
        3
    }

    fn effect(&self) -> Effect {
        Effect::Write
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let service = web::string_arg(call, "service")?;
            let summary = web::string_arg(call, "summary")?;
            let severity = match call.arg("severity") {
                None => "critical",
                Some(_) => web::string_arg(call, "severity")?,
            };
            if !SEVERITIES.contains(&severity) {
                return Err(ActionError::new(format!(
                    "pagerduty.page: severity `{severity}` is not one of critical, error, warning, info"
                )));
            }
            if summary.trim().is_empty() {
                return Err(ActionError::new(
                    "pagerduty.page: `summary` is empty; PagerDuty needs a title for the incident",
                ));
            }
            let summary: String = summary.chars().take(MAX_SUMMARY).collect();
            let dedup_key = run_id("pagerduty.page", call)?;
            let key = self.events.routing_key(service)?;
            let event = json!({
                "routing_key": key.value,
                "event_action": "trigger",
                "dedup_key": dedup_key,
                "payload": {
                    "summary": summary,
                    "source": self.events.source,
                    "severity": severity,
                },
            });
            self.events
                .send("pagerduty.page", service, &key, event)
                .await?;
            Ok(Value::None)
        })
    }
}

/// `pagerduty.resolve`: resolves the incident this run triggered. The event is always sent:
/// PagerDuty ignores a resolve whose `dedup_key` opened nothing, so a run that never paged (or
/// paged from another process before an approval) is handled the same way. The Events API has
/// no notes, so `summary` is kept only in the run's journal, which records every call.
pub struct Resolve {
    pub(crate) events: Events,
}

impl Resolve {
    /// Reading the routing keys through `env` (the project's environment and secret files).
    pub(crate) fn with_env(config: Option<&PagerDutyConfig>, env: EnvLookup) -> Self {
        Resolve {
            events: Events::new(config, env),
        }
    }
}

impl NativeAction for Resolve {
    fn name(&self) -> &'static str {
        "pagerduty.resolve"
    }

    fn arity(&self) -> usize {
        2
    }

    fn effect(&self) -> Effect {
        Effect::Write
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let service = web::string_arg(call, "service")?;
            let dedup_key = run_id("pagerduty.resolve", call)?;
            let key = self.events.routing_key(service)?;
            let event = json!({
                "routing_key": key.value,
                "event_action": "resolve",
                "dedup_key": dedup_key,
            });
            self.events
                .send("pagerduty.resolve", service, &key, event)
                .await?;
            Ok(Value::None)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Arc;

    use super::*;
    use crate::natives::web::capture::{CaptureServer, Reply};
    use rbk_compiler::types::Ty;

    const KEY: &str = "R0UTINGKEY0123456789abcdefabcdef";
    const ACCEPTED: &str =
        r#"{"status":"success","message":"Event processed","dedup_key":"run-42"}"#;

    fn env(vars: &[(&str, &str)]) -> EnvLookup {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Arc::new(move |name| vars.get(name).cloned())
    }

    fn events(server: &CaptureServer, config: PagerDutyConfig, vars: &[(&str, &str)]) -> Events {
        let config = PagerDutyConfig {
            url: Some(format!("{}/v2/enqueue", server.url)),
            ..config
        };
        let mut events = Events::new(Some(&config), env(vars));
        events.retry.base_delay = Duration::from_millis(1);
        events.retry.max_delay = Duration::from_millis(5);
        events.source = "rbk@test-host".into();
        events
    }

    fn call(action: &str, args: &[(&str, &str)]) -> ActionCall {
        ActionCall {
            action: action.into(),
            effect: Effect::Write,
            returns_handle: None,
            returns: Ty::None,
            args: args
                .iter()
                .map(|(n, v)| (n.to_string(), Value::str(*v)))
                .collect(),
            run_id: "run-42".into(),
        }
    }

    fn page(service: &str, summary: &str, severity: &str) -> ActionCall {
        call(
            "pagerduty.page",
            &[
                ("service", service),
                ("summary", summary),
                ("severity", severity),
            ],
        )
    }

    #[tokio::test]
    async fn page_then_resolve_share_the_run_id_as_dedup_key() {
        let server = CaptureServer::start(vec![Reply::new(202, ACCEPTED)]).await;
        let vars = [("PAGERDUTY_ROUTING_KEY", KEY)];
        let pager = Page {
            events: events(&server, PagerDutyConfig::default(), &vars),
        };
        let resolver = Resolve {
            events: events(&server, PagerDutyConfig::default(), &vars),
        };
        pager
            .call(&page("database-oncall", "pool exhausted", "error"))
            .await
            .unwrap();
        resolver
            .call(&call(
                "pagerduty.resolve",
                &[("service", "database-oncall"), ("summary", "fixed")],
            ))
            .await
            .unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 2);
        for request in &requests {
            assert_eq!(request.method, "POST");
            assert_eq!(request.path, "/v2/enqueue");
            assert_eq!(request.headers["content-type"], "application/json");
        }
        assert_eq!(
            requests[0].json(),
            json!({
                "routing_key": KEY,
                "event_action": "trigger",
                "dedup_key": "run-42",
                "payload": {
                    "summary": "pool exhausted",
                    "source": "rbk@test-host",
                    "severity": "error",
                },
            })
        );
        assert_eq!(
            requests[1].json(),
            json!({
                "routing_key": KEY,
                "event_action": "resolve",
                "dedup_key": "run-42",
            })
        );
    }

    #[tokio::test]
    async fn each_service_can_have_its_own_key() {
        let server = CaptureServer::start(vec![Reply::new(202, ACCEPTED)]).await;
        let config = PagerDutyConfig {
            url: None,
            routing_key_secret: Some("PD_DEFAULT".into()),
            services: BTreeMap::from([("database-oncall".to_string(), "PD_DB".to_string())]),
            ..PagerDutyConfig::default()
        };
        let pager = Page {
            events: events(
                &server,
                config,
                &[("PD_DB", "db-key"), ("PD_DEFAULT", "default-key")],
            ),
        };
        pager
            .call(&page("database-oncall", "a", "critical"))
            .await
            .unwrap();
        pager.call(&page("web-oncall", "b", "info")).await.unwrap();
        let keys: Vec<serde_json::Value> = server
            .requests()
            .iter()
            .map(|r| r.json()["routing_key"].clone())
            .collect();
        assert_eq!(keys, vec![json!("db-key"), json!("default-key")]);
    }

    #[tokio::test]
    async fn rate_limits_and_server_errors_are_retried_with_the_same_event() {
        let server = CaptureServer::start(vec![
            Reply::new(429, r#"{"status":"throttle"}"#),
            Reply::new(503, "unavailable"),
            Reply::new(202, ACCEPTED),
        ])
        .await;
        let pager = Page {
            events: events(
                &server,
                PagerDutyConfig::default(),
                &[("PAGERDUTY_ROUTING_KEY", KEY)],
            ),
        };
        pager
            .call(&page("db", "pool exhausted", "critical"))
            .await
            .unwrap();
        let requests = server.requests();
        assert_eq!(requests.len(), 3);
        assert!(requests.iter().all(|r| r.body == requests[0].body));
    }

    #[tokio::test]
    async fn retries_give_up_after_the_last_attempt() {
        let server = CaptureServer::start(vec![Reply::new(500, "boom")]).await;
        let pager = Page {
            events: events(
                &server,
                PagerDutyConfig::default(),
                &[("PAGERDUTY_ROUTING_KEY", KEY)],
            ),
        };
        let error = pager
            .call(&page("db", "pool exhausted", "critical"))
            .await
            .unwrap_err();
        assert_eq!(server.requests().len(), 5);
        assert!(
            error.message.contains("HTTP 500 after 5 tries"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn a_bad_request_is_not_retried_and_carries_pagerdutys_error() {
        // PagerDuty's own answer quoting the key must not leak it either.
        let body = format!(
            r#"{{"status":"invalid event","message":"Event object is invalid","errors":["Routing key {KEY} is invalid"]}}"#
        );
        let server = CaptureServer::start(vec![Reply::new(400, body)]).await;
        let pager = Page {
            events: events(
                &server,
                PagerDutyConfig::default(),
                &[("PAGERDUTY_ROUTING_KEY", KEY)],
            ),
        };
        let error = pager
            .call(&page("db", "pool exhausted", "critical"))
            .await
            .unwrap_err();
        assert_eq!(server.requests().len(), 1);
        assert!(error.message.contains("HTTP 400"), "{}", error.message);
        assert!(
            error.message.contains("Event object is invalid"),
            "{}",
            error.message
        );
        assert!(error.message.contains("is invalid"), "{}", error.message);
        assert!(!error.message.contains(KEY), "{}", error.message);
        assert!(
            error.message.contains("<secret PAGERDUTY_ROUTING_KEY>"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn an_invalid_severity_is_refused_before_sending() {
        let server = CaptureServer::start(vec![Reply::new(202, ACCEPTED)]).await;
        let pager = Page {
            events: events(
                &server,
                PagerDutyConfig::default(),
                &[("PAGERDUTY_ROUTING_KEY", KEY)],
            ),
        };
        let error = pager
            .call(&page("db", "pool exhausted", "high"))
            .await
            .unwrap_err();
        assert!(error.message.contains("`high`"), "{}", error.message);
        assert!(error.message.contains("critical, error, warning, info"));
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn a_missing_key_names_the_variable_and_the_rbk_toml_key() {
        let server = CaptureServer::start(vec![Reply::new(202, ACCEPTED)]).await;
        let pager = Page {
            events: events(&server, PagerDutyConfig::default(), &[]),
        };
        let error = pager
            .call(&page("db", "pool exhausted", "critical"))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("PAGERDUTY_ROUTING_KEY"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("routing_key_secret"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("[integrations.pagerduty.services]"),
            "{}",
            error.message
        );

        let config = PagerDutyConfig {
            url: None,
            routing_key_secret: None,
            services: BTreeMap::from([("db".to_string(), "PD_DB".to_string())]),
            ..PagerDutyConfig::default()
        };
        let pager = Page {
            events: events(&server, config, &[("PAGERDUTY_ROUTING_KEY", KEY)]),
        };
        let error = pager
            .call(&page("db", "pool exhausted", "critical"))
            .await
            .unwrap_err();
        assert!(error.message.contains("PD_DB"), "{}", error.message);
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_retried_then_fails_without_the_key() {
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let config = PagerDutyConfig {
            url: Some(format!("http://127.0.0.1:{port}/v2/enqueue")),
            ..PagerDutyConfig::default()
        };
        let mut events = Events::new(Some(&config), env(&[("PAGERDUTY_ROUTING_KEY", KEY)]));
        events.retry.base_delay = Duration::from_millis(1);
        events.retry.max_delay = Duration::from_millis(5);
        let error = Page { events }
            .call(&page("db", "pool exhausted", "critical"))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("cannot reach PagerDuty"),
            "{}",
            error.message
        );
        assert!(error.message.contains("after 5 tries"), "{}", error.message);
        assert!(!error.message.contains(KEY), "{}", error.message);
    }

    #[test]
    fn the_default_endpoint_and_source() {
        let events = Events::new(None, env(&[]));
        assert_eq!(events.url, "https://events.pagerduty.com/v2/enqueue");
        assert!(events.source.starts_with("rbk@"), "{}", events.source);
    }
}

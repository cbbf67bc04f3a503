//! `pagerduty.add_note`, `pagerduty.acknowledge_incident` and `pagerduty.resolve_incident`:
//! an existing incident, by id, through PagerDuty's REST API v2 (where `page` and `resolve`
//! use the Events API, which has neither ids nor notes).
//!
//! The REST API key is a secret read from the environment variable `api_token_secret` names
//! (default `PAGERDUTY_API_TOKEN`), sent as `Authorization: Token token=KEY`; it never appears in
//! a message. PagerDuty requires a `From` header with the email of a PagerDuty user for these
//! calls (the note's author, the one who acknowledged): `[integrations.pagerduty] from`.

use std::sync::Arc;

use rbk_compiler::config::PagerDutyConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, Value};
use reqwest::Method;
use serde_json::json;

use super::rest::{self, Credential, Request, RestApi, ServiceAction};
use super::web::{self, EnvLookup};
use super::NativeAction;

const DEFAULT_API: &str = "https://api.pagerduty.com";
const DEFAULT_SECRET: &str = "PAGERDUTY_API_TOKEN";
/// PagerDuty's limit for a note.
const MAX_NOTE: usize = 25_000;

/// PagerDuty's REST API as the incident actions use it.
pub(crate) struct Incidents {
    pub(crate) api: RestApi,
    config: PagerDutyConfig,
    env: EnvLookup,
}

/// The incident actions of `std.pagerduty`.
/// Its token is read through `secrets`, as `secret()` reads (environment, then secret files).
pub fn actions(config: Option<&PagerDutyConfig>, secrets: EnvLookup) -> Vec<Box<dyn NativeAction>> {
    service_actions(Arc::new(Incidents::new(config, secrets)))
}

fn service_actions(incidents: Arc<Incidents>) -> Vec<Box<dyn NativeAction>> {
    let action = |name, arity, perform: rest::Perform<Incidents>| -> Box<dyn NativeAction> {
        Box::new(ServiceAction {
            name,
            arity,
            effect: Effect::Write,
            service: incidents.clone(),
            perform,
        })
    };
    vec![
        action("pagerduty.add_note", 2, |i, c| Box::pin(i.add_note(c))),
        action("pagerduty.acknowledge_incident", 1, |i, c| {
            Box::pin(i.acknowledge(c))
        }),
        action("pagerduty.resolve_incident", 2, |i, c| {
            Box::pin(i.resolve(c))
        }),
    ]
}

impl Incidents {
    pub(crate) fn new(config: Option<&PagerDutyConfig>, env: EnvLookup) -> Self {
        let config = config.cloned().unwrap_or_default();
        Incidents {
            api: RestApi::new(
                "PagerDuty",
                Some(
                    config
                        .api_url
                        .clone()
                        .unwrap_or_else(|| DEFAULT_API.to_string()),
                ),
                "std.pagerduty has no REST API URL",
                vec![(
                    "accept",
                    "application/vnd.pagerduty+json;version=2".to_string(),
                )],
            ),
            config,
            env,
        }
    }

    /// The credential and the `From` email, or an error naming the `rbk.toml` key to set.
    fn requester(&self, action: &str) -> Result<(Credential, &str), ActionError> {
        let from = self
            .config
            .from
            .as_deref()
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| {
                ActionError::new(format!(
                    "{action}: PagerDuty's REST API needs the email of the PagerDuty user it acts \
                     as: set `from = \"you@example.com\"` under [integrations.pagerduty] in rbk.toml"
                ))
            })?;
        let token = rest::read_token(
            &self.env,
            "std.pagerduty",
            ("[integrations.pagerduty]", "api_token_secret"),
            self.config.api_token_secret.as_deref(),
            DEFAULT_SECRET,
        )?;
        Ok((Credential::PagerDutyToken(token), from))
    }

    fn credential_hint(&self) -> String {
        let variable = self
            .config
            .api_token_secret
            .as_deref()
            .unwrap_or(DEFAULT_SECRET);
        format!(
            "check the REST API key in {variable} (an account or user key with write access; an \
             Events API routing key does not work here)"
        )
    }

    /// Sends `request` with the `From` header; the API's message is the step's error.
    async fn send<'a>(&'a self, action: &str, mut request: Request<'a>) -> Result<(), ActionError> {
        let (credential, from) = self.requester(action)?;
        request.headers.push(("from", from));
        self.api
            .call(
                action,
                &credential,
                &request,
                explain,
                &self.credential_hint(),
            )
            .await
            .map(|_| ())
    }

    /// `POST /incidents/ID/notes`.
    async fn add_note(&self, call: &ActionCall) -> Result<Value, ActionError> {
        const ACTION: &str = "pagerduty.add_note";
        let incident = incident_id(call, ACTION)?;
        let note = rest::text_arg(call, ACTION, "note", MAX_NOTE)?;
        self.post_note(ACTION, incident, note).await?;
        Ok(Value::None)
    }

    async fn post_note(&self, action: &str, incident: &str, note: &str) -> Result<(), ActionError> {
        let url = self.api.url(&["incidents", incident, "notes"], &[])?;
        self.send(
            action,
            Request::create(url, json!({ "note": { "content": note } })),
        )
        .await
    }

    /// `PUT /incidents/ID` with the new status; setting a status is idempotent.
    async fn set_status(
        &self,
        action: &str,
        incident: &str,
        status: &str,
    ) -> Result<(), ActionError> {
        let url = self.api.url(&["incidents", incident], &[])?;
        let body = json!({ "incident": { "type": "incident_reference", "status": status } });
        self.send(action, Request::set(Method::PUT, url, body))
            .await
    }

    async fn acknowledge(&self, call: &ActionCall) -> Result<Value, ActionError> {
        const ACTION: &str = "pagerduty.acknowledge_incident";
        let incident = incident_id(call, ACTION)?;
        self.set_status(ACTION, incident, "acknowledged").await?;
        Ok(Value::None)
    }

    /// Adds `note` (when not empty) and then resolves: the note is written before the incident
    /// closes, so responders see why.
    async fn resolve(&self, call: &ActionCall) -> Result<Value, ActionError> {
        const ACTION: &str = "pagerduty.resolve_incident";
        let incident = incident_id(call, ACTION)?;
        let note = rest::optional_string_arg(call, "note")?;
        if note.chars().count() > MAX_NOTE {
            return Err(ActionError::new(format!(
                "{ACTION}: `note` is longer than PagerDuty's {MAX_NOTE} characters; nothing was \
                 sent"
            )));
        }
        if !note.trim().is_empty() {
            self.post_note(ACTION, incident, note).await?;
        }
        self.set_status(ACTION, incident, "resolved").await?;
        Ok(Value::None)
    }
}

/// The `incident` argument: a PagerDuty incident id (`Q2K7F3XYZ1ABCD`, `PT4KHLK`).
fn incident_id<'a>(call: &'a ActionCall, action: &str) -> Result<&'a str, ActionError> {
    let id = web::string_arg(call, "incident")?;
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(ActionError::new(format!(
            "{action}: `{id}` is not a PagerDuty incident id (letters and digits, like \
             `Q2K7F3XYZ1ABCD`; the incident number shown as #1234 is not its id); nothing was sent"
        )))
    }
}

/// PagerDuty's error text: `error.message` and `error.errors` from its JSON answer.
fn explain(body: &str) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_str(body).ok()?;
    let error = &answer["error"];
    let mut text = error["message"].as_str()?.to_string();
    let details: Vec<&str> = error["errors"]
        .as_array()
        .map(|errors| errors.iter().filter_map(|e| e.as_str()).collect())
        .unwrap_or_default();
    if !details.is_empty() {
        text.push_str(": ");
        text.push_str(&details.join("; "));
    }
    if let Some(code) = error["code"].as_i64() {
        text.push_str(&format!(" (PagerDuty error code {code})"));
    }
    Some(web::excerpt(&text, 500))
}

#[cfg(test)]
mod tests;

//! `std.jira`: issues on a Jira site through its REST API v2 (Jira Cloud, Server and Data
//! Center all serve it; v2 takes plain text where v3 wants Atlassian Document Format).
//!
//! The site is `[integrations.jira] url`. The API token is a secret read from the environment
//! variable `token_secret` names (default `JIRA_API_TOKEN`); with `user` set it is sent as
//! Jira Cloud's basic authentication (`user:token`), otherwise as a bearer token (a Server / Data
//! Center personal access token). It never appears in a message.

use std::sync::Arc;

use rbk_compiler::config::JiraConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, Value};
use serde_json::json;

use super::rest::{self, Credential, Request, RestApi, ServiceAction};
use super::web::{self, EnvLookup};
use super::NativeAction;

const DEFAULT_SECRET: &str = "JIRA_API_TOKEN";
/// Jira's limit for an issue summary.
const MAX_SUMMARY: usize = 255;
/// Jira's limit for a text field (description, comment body).
const MAX_TEXT: usize = 32_767;

/// The Jira site every `std.jira` action talks to.
pub(crate) struct Jira {
    pub(crate) api: RestApi,
    config: JiraConfig,
    env: EnvLookup,
}

/// Every `std.jira` action.
/// Its token is read through `secrets`, as `secret()` reads (environment, then secret files).
pub fn actions(config: Option<&JiraConfig>, secrets: EnvLookup) -> Vec<Box<dyn NativeAction>> {
    service_actions(Arc::new(Jira::new(config, secrets)))
}

fn service_actions(jira: Arc<Jira>) -> Vec<Box<dyn NativeAction>> {
    let action = |name, arity, perform: rest::Perform<Jira>| -> Box<dyn NativeAction> {
        Box::new(ServiceAction {
            name,
            arity,
            effect: Effect::Write,
            service: jira.clone(),
            perform,
        })
    };
    vec![
        action("jira.create_issue", 4, |j, c| Box::pin(j.create_issue(c))),
        action("jira.comment", 2, |j, c| Box::pin(j.comment(c))),
        action("jira.transition", 2, |j, c| Box::pin(j.transition(c))),
    ]
}

impl Jira {
    pub(crate) fn new(config: Option<&JiraConfig>, env: EnvLookup) -> Self {
        let config = config.cloned().unwrap_or_default();
        Jira {
            api: RestApi::new(
                "Jira",
                config.url.clone(),
                "std.jira has no site: set `url` under [integrations.jira] in rbk.toml \
                 (e.g. `url = \"https://acme.atlassian.net\"`)",
                vec![("accept", "application/json".to_string())],
            ),
            config,
            env,
        }
    }

    fn credential(&self) -> Result<Credential, ActionError> {
        let token = rest::read_token(
            &self.env,
            "std.jira",
            ("[integrations.jira]", "token_secret"),
            self.config.token_secret.as_deref(),
            DEFAULT_SECRET,
        )?;
        Ok(match &self.config.user {
            Some(user) => Credential::Basic {
                user: user.clone(),
                token,
            },
            None => Credential::Bearer(token),
        })
    }

    fn credential_hint(&self) -> String {
        let variable = self
            .config
            .token_secret
            .as_deref()
            .unwrap_or(DEFAULT_SECRET);
        match &self.config.user {
            Some(user) => format!(
                "check the API token in {variable} and that it belongs to `{user}` \
                 ([integrations.jira] user)"
            ),
            None => format!(
                "check the personal access token in {variable}; for Jira Cloud set `user` under \
                 [integrations.jira] to the token's account email"
            ),
        }
    }

    /// `POST /rest/api/2/issue`; returns the new issue's key (`OPS-123`).
    async fn create_issue(&self, call: &ActionCall) -> Result<Value, ActionError> {
        const ACTION: &str = "jira.create_issue";
        let project = web::string_arg(call, "project")?;
        if !is_project_key(project) {
            return Err(ActionError::new(format!(
                "{ACTION}: `{project}` is not a Jira project key (letters, digits and `_`, \
                 starting with a letter, like `OPS`); nothing was sent"
            )));
        }
        let summary = rest::text_arg(call, ACTION, "summary", MAX_SUMMARY)?;
        if summary.contains('\n') {
            return Err(ActionError::new(format!(
                "{ACTION}: `summary` has a line break; Jira takes a one-line summary (put the \
                 rest in `description`); nothing was sent"
            )));
        }
        let description = web::string_arg(call, "description")?;
        if description.chars().count() > MAX_TEXT {
            return Err(ActionError::new(format!(
                "{ACTION}: `description` is longer than Jira's {MAX_TEXT} characters; nothing \
                 was sent"
            )));
        }
        let issue_type = match call.arg("issue_type") {
            None => "Task",
            Some(_) => rest::text_arg(call, ACTION, "issue_type", 255)?,
        };
        let credential = self.credential()?;
        let url = self.api.url(&["rest", "api", "2", "issue"], &[])?;
        let body = json!({
            "fields": {
                "project": { "key": project },
                "summary": summary,
                "description": description,
                "issuetype": { "name": issue_type },
            }
        });
        let reply = self
            .api
            .call(
                ACTION,
                &credential,
                &Request::create(url, body),
                explain,
                &self.credential_hint(),
            )
            .await?;
        match reply.json().as_ref().and_then(|j| j["key"].as_str()) {
            Some(key) => Ok(Value::str(key)),
            None => Err(ActionError::new(format!(
                "{ACTION}: Jira answered HTTP {} without the new issue's key: {}",
                reply.status.as_u16(),
                web::excerpt(&reply.body, 200)
            ))),
        }
    }

    /// `POST /rest/api/2/issue/KEY/comment`.
    async fn comment(&self, call: &ActionCall) -> Result<Value, ActionError> {
        const ACTION: &str = "jira.comment";
        let key = issue_key(call, ACTION)?;
        let body = rest::text_arg(call, ACTION, "body", MAX_TEXT)?;
        let credential = self.credential()?;
        let url = self
            .api
            .url(&["rest", "api", "2", "issue", key, "comment"], &[])?;
        self.api
            .call(
                ACTION,
                &credential,
                &Request::create(url, json!({ "body": body })),
                explain,
                &self.credential_hint(),
            )
            .await?;
        Ok(Value::None)
    }

    /// Finds the transition named `to` among those the issue offers now (`GET .../transitions`)
    /// and performs it (`POST .../transitions`).
    async fn transition(&self, call: &ActionCall) -> Result<Value, ActionError> {
        const ACTION: &str = "jira.transition";
        let key = issue_key(call, ACTION)?;
        let wanted = rest::text_arg(call, ACTION, "to", 255)?;
        let credential = self.credential()?;
        let hint = self.credential_hint();
        let url = self
            .api
            .url(&["rest", "api", "2", "issue", key, "transitions"], &[])?;
        let listed = self
            .api
            .call(
                ACTION,
                &credential,
                &Request::get(url.clone()),
                explain,
                &hint,
            )
            .await?;
        let transitions = parse_transitions(&listed.body).ok_or_else(|| {
            ActionError::new(format!(
                "{ACTION}: Jira's list of transitions for {key} is not the JSON expected: {}",
                web::excerpt(&listed.body, 200)
            ))
        })?;
        let chosen = choose(&transitions, wanted).map_err(|why| {
            ActionError::new(format!("{ACTION}: {key} {why}; nothing was changed"))
        })?;
        self.api
            .call(
                ACTION,
                &credential,
                &Request::create(url, json!({ "transition": { "id": chosen.id } })),
                explain,
                &hint,
            )
            .await?;
        Ok(Value::None)
    }
}

/// A transition an issue offers: its id, its name (the button) and the status it leads to.
#[derive(Clone, Debug, PartialEq)]
struct Transition {
    id: String,
    name: String,
    to: String,
}

fn parse_transitions(body: &str) -> Option<Vec<Transition>> {
    let answer: serde_json::Value = serde_json::from_str(body).ok()?;
    answer["transitions"]
        .as_array()?
        .iter()
        .map(|t| {
            let id = match &t["id"] {
                serde_json::Value::String(id) => id.clone(),
                serde_json::Value::Number(id) => id.to_string(),
                _ => return None,
            };
            Some(Transition {
                id,
                name: t["name"].as_str()?.to_string(),
                to: t["to"]["name"].as_str().unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// The transition named `wanted` (case does not matter), else the one transition leading to a
/// status of that name. An unknown or ambiguous name is an error listing what is available.
fn choose<'a>(transitions: &'a [Transition], wanted: &str) -> Result<&'a Transition, NoTransition> {
    let wanted = wanted.trim();
    let same = |a: &str| a.trim().eq_ignore_ascii_case(wanted);
    if let Some(by_name) = transitions.iter().find(|t| same(&t.name)) {
        return Ok(by_name);
    }
    let by_status: Vec<&Transition> = transitions.iter().filter(|t| same(&t.to)).collect();
    match by_status.as_slice() {
        [one] => Ok(one),
        [] if transitions.is_empty() => Err(NoTransition::NoneOffered {
            wanted: wanted.to_string(),
        }),
        [] => Err(NoTransition::Unknown {
            wanted: wanted.to_string(),
            available: describe(transitions.iter()),
        }),
        several => Err(NoTransition::Ambiguous {
            wanted: wanted.to_string(),
            candidates: describe(several.iter().copied()),
        }),
    }
}

/// Why no one transition answers the name asked for; the texts follow "issue KEY ".
#[derive(Debug, thiserror::Error)]
enum NoTransition {
    #[error(
        "offers no transitions to this account now (it may lack the Transition Issues \
         permission), so it cannot move to `{wanted}`"
    )]
    NoneOffered { wanted: String },
    /// `available` lists the transitions as [`describe`] writes them.
    #[error("has no transition `{wanted}` from its current status; available: {available}")]
    Unknown { wanted: String, available: String },
    #[error("has several transitions to status `{wanted}`: {candidates}; name the one to take")]
    Ambiguous { wanted: String, candidates: String },
}

fn describe<'a>(transitions: impl Iterator<Item = &'a Transition>) -> String {
    transitions
        .map(|t| {
            if t.to.is_empty() || t.to == t.name {
                format!("`{}`", t.name)
            } else {
                format!("`{}` (to {})", t.name, t.to)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `OPS`, `DB_TEAM`.
fn is_project_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `key` argument: an issue key (`OPS-123`) or a numeric issue id.
fn issue_key<'a>(call: &'a ActionCall, action: &str) -> Result<&'a str, ActionError> {
    let key = web::string_arg(call, "key")?;
    let is_id = !key.is_empty() && key.chars().all(|c| c.is_ascii_digit());
    let is_key = key.rsplit_once('-').is_some_and(|(project, number)| {
        is_project_key(project) && !number.is_empty() && number.chars().all(|c| c.is_ascii_digit())
    });
    if is_id || is_key {
        Ok(key)
    } else {
        Err(ActionError::new(format!(
            "{action}: `{key}` is not a Jira issue key (like `OPS-123`) or issue id; nothing \
             was sent"
        )))
    }
}

/// Jira's error text: `errorMessages` and each field's error from its JSON answer.
fn explain(body: &str) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_str(body).ok()?;
    let mut parts: Vec<String> = answer["errorMessages"]
        .as_array()
        .map(|messages| {
            messages
                .iter()
                .filter_map(|m| m.as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if let Some(fields) = answer["errors"].as_object() {
        for (field, message) in fields {
            if let Some(message) = message.as_str() {
                parts.push(format!("{field}: {message}"));
            }
        }
    }
    if let Some(message) = answer["message"].as_str() {
        parts.push(message.to_string());
    }
    (!parts.is_empty()).then(|| web::excerpt(&parts.join("; "), 500))
}

#[cfg(test)]
mod tests;

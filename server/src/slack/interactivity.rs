//! `POST /v1/slack/interactivity`: an Approve or Deny click. The signature is checked on the
//! raw body first; then the vote goes through the decision path and is committed before the
//! answer (200, well within Slack's 3 s); the message update or the private refusal follows in
//! the background.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rbk_interpreter::decisions::Outcome;
use serde_json::{json, Value};

use super::blocks::{ButtonValue, APPROVE, DENY};
use super::outcome::{cast, SlackVote};
use super::signature::verify;
use super::{call_failed, Slack};
use crate::log;
use crate::state::Server;

pub async fn receive(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slack = match verified(&server, &headers, &body, "interactivity") {
        Ok(slack) => slack,
        Err((status, reason)) => return refuse(status, reason),
    };
    let click = match Click::parse(&body) {
        Ok(click) => click,
        Err(reason) => {
            let reason = reason.to_string();
            log::warn(
                "slack_refused",
                json!({"endpoint": "interactivity", "reason": reason}),
            );
            return refuse(StatusCode::BAD_REQUEST, reason);
        }
    };
    let vote = SlackVote {
        user_id: click.user_id.clone(),
        run: click.button.run.clone(),
        step: click.button.step.clone(),
        approve: click.approve,
        digest_seen: click.button.digest.clone(),
        external_id: click.action_ts.clone(),
    };
    let outcome = match cast(&server, &slack, vote).await {
        Ok(outcome) => outcome,
        Err(error) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the store could not record the vote ({error}); click again"),
            )
        }
    };
    match outcome {
        Err(refusal) => {
            let text = format!(":no_entry: Not counted: {}", refusal.message);
            let run = click.button.run.clone();
            tokio::spawn(async move {
                if let Err(error) = slack
                    .api
                    .respond_privately(&click.response_url, &text)
                    .await
                {
                    call_failed("response_url", &run, &error);
                }
            });
        }
        Ok(Outcome::Duplicate) => log::info(
            "slack_duplicate",
            json!({"run": click.button.run, "action_ts": click.action_ts, "reason": "Slack delivered this click before; it was counted once"}),
        ),
        Ok(_) => {}
    }
    StatusCode::OK.into_response()
}

/// The Slack settings when the request carries a valid signature; otherwise the status and
/// reason to answer with.
pub(super) fn verified(
    server: &Server,
    headers: &HeaderMap,
    body: &[u8],
    endpoint: &str,
) -> Result<Arc<Slack>, (StatusCode, String)> {
    let Some(slack) = server.slack.clone() else {
        return Err((
            StatusCode::NOT_FOUND,
            "Slack is not set up: rbk.toml has no [integrations.slack]".to_string(),
        ));
    };
    let Some(secret) = slack.settings.signing_secret.clone() else {
        return Err((
            StatusCode::NOT_FOUND,
            format!(
                "Slack requests cannot be checked: the environment variable {} (the app's signing secret) is not set",
                slack.settings.signing_secret_env
            ),
        ));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now_s = log::now_ms() / 1000;
    if let Err(problem) = verify(
        secret.as_bytes(),
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        body,
        now_s,
    ) {
        log::warn(
            "slack_refused",
            json!({"endpoint": endpoint, "reason": problem.to_string()}),
        );
        return Err((StatusCode::UNAUTHORIZED, problem.to_string()));
    }
    Ok(slack)
}

pub(super) fn refuse(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, Json(json!({"error": reason.into()}))).into_response()
}

/// The parts of a `block_actions` payload a vote needs.
#[derive(Debug, PartialEq)]
struct Click {
    user_id: String,
    approve: bool,
    button: ButtonValue,
    action_ts: String,
    response_url: String,
}

/// Why an interactivity body is not a click rbk answers (400, with this text).
#[derive(Debug, thiserror::Error)]
enum NotAClick {
    #[error("the body has no `payload` field (Slack sends payload=<JSON>)")]
    NoPayload,
    #[error("the payload is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("the payload has no {0}")]
    Missing(&'static str),
    #[error("rbk answers only block_actions, not {0}")]
    NotBlockActions(String),
    #[error("the payload has no action")]
    NoAction,
    #[error("unknown action_id `{0}`")]
    UnknownAction(String),
    #[error("the button's value is not rbk's: {0}")]
    ForeignButton(#[source] serde_json::Error),
}

impl Click {
    fn parse(body: &[u8]) -> Result<Click, NotAClick> {
        let payload = form_urlencoded::parse(body)
            .find(|(name, _)| name == "payload")
            .map(|(_, value)| value.into_owned())
            .ok_or(NotAClick::NoPayload)?;
        let payload: Value = serde_json::from_str(&payload).map_err(NotAClick::NotJson)?;
        let text = |value: &Value, pointer: &'static str| {
            value
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or(NotAClick::Missing(pointer))
        };
        let kind = text(&payload, "/type")?;
        if kind != "block_actions" {
            return Err(NotAClick::NotBlockActions(kind));
        }
        let action = payload.pointer("/actions/0").ok_or(NotAClick::NoAction)?;
        let approve = match text(action, "/action_id")?.as_str() {
            APPROVE => true,
            DENY => false,
            other => return Err(NotAClick::UnknownAction(other.to_string())),
        };
        let button: ButtonValue =
            serde_json::from_str(&text(action, "/value")?).map_err(NotAClick::ForeignButton)?;
        Ok(Click {
            user_id: text(&payload, "/user/id")?,
            approve,
            button,
            action_ts: text(action, "/action_ts")?,
            response_url: text(&payload, "/response_url")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(payload: &Value) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes()
    }

    fn payload(action_id: &str) -> Value {
        json!({
            "type": "block_actions",
            "user": {"id": "U0ALICE", "username": "bob", "name": "bob"},
            "response_url": "https://hooks.slack.com/actions/T0/1/xyz",
            "actions": [{
                "action_id": action_id,
                "value": "{\"run\":\"r-1\",\"step\":\"kill\",\"digest\":\"sha256:ab\"}",
                "action_ts": "1700000000.123456",
            }],
        })
    }

    #[test]
    fn a_click_is_read_by_user_id_never_by_name() {
        let click = Click::parse(&form(&payload("approve"))).unwrap();
        assert_eq!(click.user_id, "U0ALICE");
        assert!(click.approve);
        assert_eq!(click.button.run, "r-1");
        assert_eq!(click.button.step, "kill");
        assert_eq!(click.button.digest, "sha256:ab");
        assert_eq!(click.action_ts, "1700000000.123456");
        assert!(!Click::parse(&form(&payload("deny"))).unwrap().approve);
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        assert!(Click::parse(b"text=hi")
            .unwrap_err()
            .to_string()
            .contains("payload"));
        assert!(Click::parse(&form(&payload("launch")))
            .unwrap_err()
            .to_string()
            .contains("launch"));
        let mut other = payload("approve");
        other["type"] = json!("view_submission");
        assert!(Click::parse(&form(&other))
            .unwrap_err()
            .to_string()
            .contains("view_submission"));
        let mut forged = payload("approve");
        forged["actions"][0]["value"] = json!("approve it");
        assert!(Click::parse(&form(&forged)).is_err());
    }
}

//! `POST /v1/slack/events`: the Events API. `url_verification` answers the challenge;
//! `reaction_added` with ✅ (`white_check_mark`, `heavy_check_mark`) approves and ❌ (`x`)
//! denies, when the reaction is on one of rbk's approval messages. Slack re-sends an event it
//! thinks was missed (`X-Slack-Retry-Num`): the `event_id` is the vote's external id, so a
//! re-delivery is never a second vote.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rbk_interpreter::decisions::{open_requests, Outcome};
use rbk_interpreter::store::{RunQuery, RunState, Store};
use serde_json::{json, Value};

use super::interactivity::{refuse, verified};
use super::outcome::{cast, saved_message, SavedMessage, SlackVote};
use super::{call_failed, Slack};
use crate::log;
use crate::state::Server;

/// How many waiting runs are looked through for the message a reaction is on.
const WAITING_RUNS_LOOKED_AT: usize = 1000;

pub async fn receive(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let slack = match verified(&server, &headers, &body, "events") {
        Ok(slack) => slack,
        Err((status, reason)) => return refuse(status, reason),
    };
    let event: Value = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {error}"),
            )
        }
    };
    match event.get("type").and_then(Value::as_str) {
        Some("url_verification") => {
            let challenge = event.get("challenge").cloned().unwrap_or(Value::Null);
            return Json(json!({ "challenge": challenge })).into_response();
        }
        Some("event_callback") => {}
        other => {
            log::info("slack_event_ignored", json!({"type": other}));
            return StatusCode::OK.into_response();
        }
    }
    let Some(reaction) = Reaction::read(&event) else {
        return StatusCode::OK.into_response();
    };
    let Some(approve) = reaction.approves() else {
        return StatusCode::OK.into_response();
    };
    let found = match find_message(server.store.as_ref(), &reaction.channel, &reaction.ts).await {
        Ok(found) => found,
        Err(error) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the store could not be read ({error}); Slack sends it again"),
            )
        }
    };
    let Some((run, saved)) = found else {
        // A reaction on another message, or on one whose request is no longer open.
        return StatusCode::OK.into_response();
    };
    let vote = SlackVote {
        user_id: reaction.user.clone(),
        run: run.clone(),
        step: saved.message.step.clone(),
        approve,
        digest_seen: saved.digest.clone(),
        external_id: reaction.event_id.clone(),
    };
    match cast(&server, &slack, vote).await {
        Err(error) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store could not record the vote ({error}); Slack sends it again"),
        ),
        Ok(Err(refusal)) => {
            let text = format!(
                ":no_entry: Your reaction was not counted: {}",
                refusal.message
            );
            tokio::spawn(tell_privately(slack, reaction, run, text));
            StatusCode::OK.into_response()
        }
        Ok(Ok(Outcome::Duplicate)) => {
            log::info(
                "slack_duplicate",
                json!({"run": run, "event_id": reaction.event_id, "reason": "Slack delivered this event before; it was counted once"}),
            );
            StatusCode::OK.into_response()
        }
        Ok(Ok(_)) => StatusCode::OK.into_response(),
    }
}

async fn tell_privately(slack: Arc<Slack>, reaction: Reaction, run: String, text: String) {
    if let Err(error) = slack
        .api
        .post_ephemeral(&reaction.channel, &reaction.user, &text)
        .await
    {
        call_failed("chat.postEphemeral", &run, &error);
    }
}

/// The run and message a reaction is on: among the requests open now, the one whose message
/// is at (channel, ts).
async fn find_message(
    store: &dyn Store,
    channel: &str,
    ts: &str,
) -> Result<Option<(String, SavedMessage)>, rbk_interpreter::store::StoreError> {
    let query = RunQuery {
        limit: WAITING_RUNS_LOOKED_AT,
        state: Some(RunState::Waiting),
        ..RunQuery::default()
    };
    for run in store.list_runs(&query).await? {
        for request in open_requests(store, &run.id).await? {
            if let Some(saved) = saved_message(store, &run.id, &request.step).await {
                if saved.channel == channel && saved.ts == ts {
                    return Ok(Some((run.id.clone(), saved)));
                }
            }
        }
    }
    Ok(None)
}

/// A `reaction_added` event on a message.
#[derive(Debug, PartialEq)]
struct Reaction {
    event_id: String,
    user: String,
    reaction: String,
    channel: String,
    ts: String,
}

impl Reaction {
    fn read(event: &Value) -> Option<Reaction> {
        let text = |pointer: &str| event.pointer(pointer)?.as_str().map(str::to_string);
        if text("/event/type")? != "reaction_added" || text("/event/item/type")? != "message" {
            return None;
        }
        Some(Reaction {
            event_id: text("/event_id")?,
            user: text("/event/user")?,
            reaction: text("/event/reaction")?,
            channel: text("/event/item/channel")?,
            ts: text("/event/item/ts")?,
        })
    }

    /// ✅ approves, ❌ denies; other reactions are not votes. Skin tones do not change it.
    fn approves(&self) -> Option<bool> {
        match self.reaction.split("::").next().unwrap_or("") {
            "white_check_mark" | "heavy_check_mark" => Some(true),
            "x" => Some(false),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(reaction: &str) -> Value {
        json!({
            "type": "event_callback",
            "event_id": "Ev0001",
            "event": {
                "type": "reaction_added",
                "user": "U0ALICE",
                "reaction": reaction,
                "item": {"type": "message", "channel": "C0APPROVALS", "ts": "1700000000.000100"},
            },
        })
    }

    #[test]
    fn check_marks_approve_and_a_cross_denies() {
        let read = |r: &str| Reaction::read(&event(r)).unwrap().approves();
        assert_eq!(read("white_check_mark"), Some(true));
        assert_eq!(read("heavy_check_mark"), Some(true));
        assert_eq!(read("x"), Some(false));
        assert_eq!(read("thumbsup"), None);
        assert_eq!(read("x_x"), None);
        let reaction = Reaction::read(&event("x")).unwrap();
        assert_eq!(
            (
                reaction.event_id.as_str(),
                reaction.user.as_str(),
                reaction.channel.as_str(),
                reaction.ts.as_str()
            ),
            ("Ev0001", "U0ALICE", "C0APPROVALS", "1700000000.000100")
        );
    }

    #[test]
    fn reactions_on_files_and_other_events_are_not_votes() {
        let mut on_file = event("x");
        on_file["event"]["item"]["type"] = json!("file");
        assert_eq!(Reaction::read(&on_file), None);
        let mut removed = event("x");
        removed["event"]["type"] = json!("reaction_removed");
        assert_eq!(Reaction::read(&removed), None);
    }
}

//! Votes from the web: the run page's forms (`POST /runs/{id}/decisions`) and the JSON API
//! (`POST /v1/runs/{id}/decisions`, used by `rbk approve --server`). Both go through the one
//! decision path, `decide`, which checks every rule the CLI checks.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use rbk_interpreter::approval::ApprovalDecision;
use rbk_interpreter::decisions::{
    decide, Approvers, Outcome, Refusal, RefusalKind, Via, Vote, Voter,
};
use std::collections::BTreeMap;

use rbk_interpreter::asked_values::GivenValues;
use serde::Deserialize;
use serde_json::json;

use super::auth::{self, Person, Viewer};
use super::pages::run::{self as run_page, Notice};
use super::{csrf, forbidden_csrf, store_trouble};
use crate::log;
use crate::state::Server;

/// The run page's form: `step`, `decision`, `digest`, `csrf`, and a `value.NAME` field for each
/// value the gate asks for.
#[derive(Default)]
pub struct DecisionForm {
    step: String,
    decision: String,
    digest: Option<String>,
    csrf: Option<String>,
    values: GivenValues,
}

impl DecisionForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> DecisionForm {
        let mut form = DecisionForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "step" => form.step = value,
                "decision" => form.decision = value,
                "digest" => form.digest = Some(value),
                "csrf" => form.csrf = Some(value),
                _ => {
                    if let Some(name) = key.strip_prefix("value.") {
                        form.values.insert(name.to_string(), value);
                    }
                }
            }
        }
        form
    }
}

pub async fn from_form(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = DecisionForm::from_pairs(pairs);
    let now = log::now_ms();
    let person = match auth::identify(&server, &headers, peer, now) {
        Ok(Some(person)) => person,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(refused) => return auth::refusal(&refused),
    };
    if !csrf::check(
        &server.settings.web.key,
        &person.csrf_binding(),
        form.csrf.as_deref(),
    ) {
        return forbidden_csrf();
    }
    let viewer = Viewer::Person(person.clone());
    let Some(approve) = approval(&form.decision) else {
        let notice = Notice::Refused(format!(
            "`{}` is not a decision: choose approve or deny",
            form.decision
        ));
        return run_page::render(&server, &viewer, &id, Some(notice), StatusCode::BAD_REQUEST)
            .await;
    };
    let mut vote = vote(
        &person,
        &id,
        &form.step,
        approve,
        form.digest.clone(),
        Via::Web,
    );
    vote.values = form.values;
    match cast(&server, &vote, now).await {
        Err(answer) => answer,
        Ok(Ok(outcome)) => {
            let word = match outcome {
                Outcome::Recorded { .. } => "recorded",
                Outcome::Decided(ApprovalDecision::Granted { .. }) => "approved",
                Outcome::Decided(_) => "denied",
                Outcome::Duplicate => "duplicate",
            };
            Redirect::to(&format!("/runs/{id}?notice={word}")).into_response()
        }
        Ok(Err(refusal)) => {
            let status = refusal_status(&refusal.kind);
            run_page::render(
                &server,
                &viewer,
                &id,
                Some(Notice::Refused(refusal.message)),
                status,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct DecisionRequest {
    step: String,
    /// `approve` or `deny`.
    decision: String,
    /// The plan digest the person was shown; absent: the current one (as the CLI does).
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    /// The values the gate asks for, as text: `{"new_size": "5"}` (numbers and booleans are
    /// taken as they are written).
    #[serde(default)]
    values: BTreeMap<String, serde_json::Value>,
}

/// `POST /v1/runs/{id}/decisions`: a bearer token (or the trusted proxy) names the person; no
/// cookie is accepted here, so no other site can make a browser vote through it.
pub async fn from_api(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let now = log::now_ms();
    let person = match auth::api_person(&server, &headers, peer, now) {
        Ok(person) if !matches!(person.how, auth::How::Session(_)) => person,
        Ok(_) => {
            return (
                StatusCode::UNAUTHORIZED,
                Json(json!({"error": "the API takes Authorization: Bearer TOKEN, not the page's session cookie"})),
            )
                .into_response()
        }
        Err(answer) => return *answer,
    };
    let request: DecisionRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("the body is not a decision ({error}); send {{\"step\": \"STEP\", \"decision\": \"approve\"}}")})),
            )
                .into_response()
        }
    };
    let Some(approve) = approval(&request.decision) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("`{}` is not a decision: send approve or deny", request.decision)})),
        )
            .into_response();
    };
    let mut vote = vote(
        &person,
        &id,
        &request.step,
        approve,
        request.digest,
        Via::Api,
    );
    vote.comment = request.comment;
    vote.values = request
        .values
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            (name, text)
        })
        .collect();
    match cast(&server, &vote, now).await {
        Err(answer) => answer,
        Ok(Ok(outcome)) => {
            let body = match outcome {
                Outcome::Recorded { approvals, quorum } => {
                    json!({"outcome": "recorded", "approvals": approvals, "quorum": quorum})
                }
                Outcome::Decided(ApprovalDecision::Granted { by, .. }) => {
                    json!({"outcome": "decided", "decision": "granted", "by": by})
                }
                Outcome::Decided(ApprovalDecision::Denied { by, .. }) => {
                    json!({"outcome": "decided", "decision": "denied", "by": [by]})
                }
                Outcome::Decided(ApprovalDecision::TimedOut) => {
                    json!({"outcome": "decided", "decision": "timed_out"})
                }
                Outcome::Duplicate => json!({"outcome": "duplicate"}),
            };
            let mut body = body;
            body["person"] = json!(person.name);
            body["run"] = json!(vote.run_id);
            body["step"] = json!(vote.step);
            (StatusCode::OK, Json(body)).into_response()
        }
        Ok(Err(refusal)) => (
            refusal_status(&refusal.kind),
            Json(json!({"error": refusal.message, "refused": refusal.kind.as_str()})),
        )
            .into_response(),
    }
}

fn approval(decision: &str) -> Option<bool> {
    match decision.trim() {
        "approve" => Some(true),
        "deny" => Some(false),
        _ => None,
    }
}

fn vote(
    person: &Person,
    run_id: &str,
    step: &str,
    approve: bool,
    digest_seen: Option<String>,
    via: Via,
) -> Vote {
    let channel = match via {
        Via::Api => "api",
        _ => "web",
    };
    Vote {
        run_id: run_id.to_string(),
        step: step.trim().to_string(),
        approve,
        voter: Voter {
            person: person.name.clone(),
            via,
            from: person.from(channel),
        },
        comment: None,
        digest_seen: digest_seen.filter(|d| !d.is_empty()),
        // A web click has no id of its own: a second click is the same person voting again,
        // which the decision path refuses.
        external_id: None,
        values: GivenValues::new(),
    }
}

/// Calls the decision path with the people of the server's rbk.toml; a store failure is a 503
/// to try again.
async fn cast(
    server: &Server,
    vote: &Vote,
    now: i64,
) -> Result<Result<Outcome, Refusal>, Response> {
    let catalog = server.catalog();
    let approvers = Approvers::from_config(Some(&catalog.project));
    let decided = decide(server.store.as_ref(), &approvers, vote, now)
        .await
        .map_err(|error| store_trouble(&error))?;
    log::info(
        "web_vote",
        json!({
            "run": vote.run_id, "step": vote.step, "person": vote.voter.person,
            "from": vote.voter.from, "approve": vote.approve,
            "refused": decided.as_ref().err().map(|r| r.message.clone()),
        }),
    );
    Ok(decided)
}

/// 403 for who may not vote; 409 for a request that is no longer (or not yet) open to it.
fn refusal_status(kind: &RefusalKind) -> StatusCode {
    match kind {
        RefusalKind::UnknownPerson
        | RefusalKind::NotInGroup
        | RefusalKind::Starter
        | RefusalKind::NoConfig => StatusCode::FORBIDDEN,
        RefusalKind::NotWaiting
        | RefusalKind::AlreadyDecided
        | RefusalKind::Expired
        | RefusalKind::AlreadyVoted
        | RefusalKind::PlanChanged => StatusCode::CONFLICT,
        RefusalKind::BadValues => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

//! One vote from Slack (a click or a reaction) through the one decision path, and the message
//! redrawn afterwards: the outcome where the buttons were, or the count toward the quorum.

use std::sync::Arc;

use rbk_compiler::config::{PersonConfig, ProjectConfig};
use rbk_interpreter::approval::ApprovalDecision;
use rbk_interpreter::decisions::{
    decide, Approvers, Outcome, Refusal, RefusalKind, Via, Vote, Voter,
};
use rbk_interpreter::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::api::Posted;
use super::blocks::ApprovalMessage;
use super::{call_failed, notice_key, Slack};
use crate::log;
use crate::state::Server;

/// What is kept in the store about a posted approval message (`slack:STEP`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedMessage {
    pub channel: String,
    pub ts: String,
    pub digest: String,
    pub message: ApprovalMessage,
}

impl SavedMessage {
    pub fn at(&self) -> Posted {
        Posted {
            channel: self.channel.clone(),
            ts: self.ts.clone(),
        }
    }
}

pub async fn saved_message(store: &dyn Store, run: &str, step: &str) -> Option<SavedMessage> {
    let value = store.notice(run, &notice_key(step)).await.ok().flatten()?;
    serde_json::from_value(value).ok()
}

/// A vote as Slack delivers it: who (by Slack user id), on what, and the id Slack gave it.
pub struct SlackVote {
    pub user_id: String,
    pub run: String,
    pub step: String,
    pub approve: bool,
    pub digest_seen: String,
    /// `action_ts` of a click, `event_id` of a reaction: a re-delivery is not a second vote.
    pub external_id: String,
}

/// Decides the vote (committed when this returns) and, in the background, redraws the
/// message for a vote that counted. `Err`: the store could not be reached.
pub async fn cast(
    server: &Arc<Server>,
    slack: &Arc<Slack>,
    vote: SlackVote,
) -> Result<Result<Outcome, Refusal>, StoreError> {
    let Some(person) = slack.person(&vote.user_id).map(str::to_string) else {
        return Ok(Err(Refusal {
            kind: RefusalKind::UnknownPerson,
            message: format!(
                "Slack user {} is not a person in rbk.toml, so the vote was not counted: \
                 ask an admin to add `slack = \"{}\"` under your [people.NAME]",
                vote.user_id, vote.user_id
            ),
        }));
    };
    let approvers = approvers_for(server, slack, &vote.run).await;
    let decision = Vote {
        run_id: vote.run.clone(),
        step: vote.step.clone(),
        approve: vote.approve,
        voter: Voter {
            person: person.clone(),
            via: Via::Slack,
            from: format!("slack {}", vote.user_id),
        },
        comment: None,
        digest_seen: Some(vote.digest_seen.clone()),
        external_id: Some(vote.external_id.clone()),
        // A button or reaction carries no values: a gate that asks some refuses an approval
        // from Slack, and its message says where to give them.
        values: Default::default(),
    };
    let outcome = decide(server.store.as_ref(), &approvers, &decision, log::now_ms()).await?;
    log::info(
        "slack_vote",
        json!({
            "run": vote.run, "step": vote.step, "person": person, "slack_user": vote.user_id,
            "approve": vote.approve, "external_id": vote.external_id,
            "outcome": match &outcome {
                Ok(Outcome::Recorded { .. }) => "recorded".to_string(),
                Ok(Outcome::Decided(_)) => "decided".to_string(),
                Ok(Outcome::Duplicate) => "duplicate".to_string(),
                Err(refusal) => format!("refused: {}", refusal.message),
            },
        }),
    );
    let redraw = match &outcome {
        Ok(Outcome::Decided(decision)) => Some(Redraw::Outcome(decided_text(decision, ""))),
        Ok(Outcome::Recorded { approvals, quorum }) => Some(Redraw::Progress(
            progress_text(
                server.store.as_ref(),
                &vote.run,
                &vote.step,
                *approvals,
                *quorum,
            )
            .await,
        )),
        _ => None,
    };
    if let Some(redraw) = redraw {
        let (server, slack) = (server.clone(), slack.clone());
        tokio::spawn(async move {
            redraw_message(
                &slack,
                server.store.as_ref(),
                &vote.run,
                &vote.step,
                &redraw,
            )
            .await;
        });
    }
    Ok(outcome)
}

/// The groups that govern the run: those of the rbk.toml beside its runbook file. A run whose
/// file is no longer loaded is governed by nobody (no vote counts).
async fn approvers_for(server: &Server, slack: &Slack, run: &str) -> Approvers {
    let record = server.store.run(run).await.ok().flatten();
    let catalog = server.catalog();
    let groups = record
        .as_ref()
        .and_then(|record| catalog.find(&record.file, &record.runbook))
        .and_then(|(file, _)| file.approver_groups.clone());
    let Some(approvers) = groups else {
        return Approvers::from_config(None);
    };
    // The people are those rbk.toml maps Slack ids to: the only ones a click can name.
    let people = slack
        .settings
        .people
        .iter()
        .map(|(id, name)| {
            let person = PersonConfig {
                slack: Some(id.clone()),
                ..PersonConfig::default()
            };
            (name.clone(), person)
        })
        .collect();
    Approvers::from_config(Some(&ProjectConfig {
        approvers,
        people,
        ..ProjectConfig::default()
    }))
}

pub enum Redraw {
    /// Decided or timed out: the buttons go.
    Outcome(String),
    /// Counted toward the quorum: the buttons stay.
    Progress(String),
}

/// `✅ approved by alice, bob`, `❌ denied by bob`, `⏱ timed out: deny`.
pub fn decided_text(decision: &ApprovalDecision, on_timeout: &str) -> String {
    match decision {
        ApprovalDecision::Granted { by, .. } => format!("✅ approved by {}", by.join(", ")),
        ApprovalDecision::Denied { by, .. } => format!("❌ denied by {by}"),
        ApprovalDecision::TimedOut if on_timeout.is_empty() => "⏱ timed out".to_string(),
        ApprovalDecision::TimedOut => format!("⏱ timed out: {on_timeout}"),
    }
}

/// `1 of 2 approvals (alice)`.
async fn progress_text(
    store: &dyn Store,
    run: &str,
    step: &str,
    approvals: u32,
    quorum: u32,
) -> String {
    let mut names: Vec<String> = store
        .answers(run, step)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|answer| answer.approve)
        .map(|answer| answer.user)
        .collect();
    names.dedup();
    format!("{approvals} of {quorum} approvals ({})", names.join(", "))
}

/// Replaces the message about `step` with the outcome or the progress. Nothing to do when no
/// message was posted for it.
pub async fn redraw_message(
    slack: &Slack,
    store: &dyn Store,
    run: &str,
    step: &str,
    redraw: &Redraw,
) {
    let Some(saved) = saved_message(store, run, step).await else {
        return;
    };
    let (blocks, line) = match redraw {
        Redraw::Outcome(text) => (saved.message.blocks_with_outcome(text), text),
        Redraw::Progress(text) => (saved.message.blocks_with_progress(text), text),
    };
    let text = format!("{} — {line}", saved.message.text());
    match slack.api.update(&saved.at(), &text, &blocks).await {
        Ok(()) => log::info(
            "slack_updated",
            json!({"run": run, "step": step, "channel": saved.channel, "ts": saved.ts, "shows": line}),
        ),
        Err(error) => call_failed("chat.update", run, &error),
    }
}

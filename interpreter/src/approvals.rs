//! Approval gates answered through the store: from `rbk approve` in another process, from the
//! terminal that started the run, or (later) from Slack. Answers count only when they are for
//! this exact plan (digest), come from the named group as defined in rbk.toml, not from whoever
//! started the run, and are in the run's journal (a row written straight into the answers
//! table is not an answer). Names are compared in their normal form ([`normalize_person`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rbk_compiler::syntax::TimeoutOutcome;

use crate::action::BoxFuture;
use crate::approval::{ApprovalDecision, ApprovalRequest, Approver};
use crate::asked_values::{check_given, AskedValueError};
use crate::decisions::vote_counts;
use crate::identity::normalize_person;
use crate::journal::{Event, EventKind};
use crate::store::{ApprovalAnswer, Store};

/// What an answer must satisfy to count: the rules of the decision path
/// ([`crate::decisions::vote_counts`]), as text, and for an approval, values that answer the
/// gate's `ask`. `groups` is `None` when no rbk.toml governs the run: then nobody is known to
/// be an approver, and no answer counts.
pub fn answer_counts(
    answer: &ApprovalAnswer,
    request: &ApprovalRequest,
    groups: Option<&BTreeMap<String, Vec<String>>>,
) -> Result<(), AnswerRefused> {
    vote_counts(&answer.user, &answer.digest, request, groups).map_err(AnswerRefused::Vote)?;
    if answer.approve {
        check_given(&request.asks, &answer.values)?;
    }
    Ok(())
}

/// Why an answer does not count: the vote's rules refuse it, or its values do not answer the
/// gate.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AnswerRefused {
    #[error("{}", .0.message)]
    Vote(crate::decisions::Refusal),
    #[error(transparent)]
    Values(#[from] AskedValueError),
}

/// The answers to `step` that the run's journal holds, the latest per person: what the run
/// counts, whatever the answers table says.
pub fn journaled_answers(run_id: &str, step: &str, events: &[Event]) -> Vec<ApprovalAnswer> {
    let mut latest: BTreeMap<String, ApprovalAnswer> = BTreeMap::new();
    for event in events {
        if let EventKind::ApprovalAnswered {
            step: answered,
            by,
            approve,
            channel,
            digest,
            comment,
            from,
            values,
        } = &event.kind
        {
            if answered == step {
                latest.insert(
                    normalize_person(by),
                    ApprovalAnswer {
                        run_id: run_id.to_string(),
                        step: step.to_string(),
                        user: by.clone(),
                        approve: *approve,
                        comment: comment.clone(),
                        channel: channel.clone(),
                        at: event.at,
                        digest: digest.clone(),
                        external_id: None,
                        from: from.clone(),
                        values: values.clone(),
                    },
                );
            }
        }
    }
    let mut answers: Vec<ApprovalAnswer> = latest.into_values().collect();
    answers.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.user.cmp(&b.user)));
    answers
}

/// Decides from the answers so far: a valid denial denies; enough distinct valid approvals
/// grant; otherwise keep waiting (`None`).
pub fn decide(
    answers: &[ApprovalAnswer],
    request: &ApprovalRequest,
    groups: Option<&BTreeMap<String, Vec<String>>>,
) -> Option<ApprovalDecision> {
    let valid: Vec<&ApprovalAnswer> = answers
        .iter()
        .filter(|a| answer_counts(a, request, groups).is_ok())
        .collect();
    if let Some(denial) = valid.iter().find(|a| !a.approve) {
        return Some(ApprovalDecision::Denied {
            by: denial.user.clone(),
            channel: denial.channel.clone(),
        });
    }
    // One person counts once however they spelled their name.
    let mut approvers: Vec<String> = valid
        .iter()
        .filter(|a| a.approve)
        .map(|a| normalize_person(&a.user))
        .collect();
    approvers.sort_unstable();
    approvers.dedup();
    if approvers.len() >= request.quorum.max(1) as usize {
        let first = valid.iter().find(|a| a.approve);
        let channel = first.map_or("cli".to_string(), |a| a.channel.clone());
        // The decision path refuses an approval whose values differ from an earlier one, so
        // the first approval's values are every approver's.
        let values = first
            .and_then(|a| check_given(&request.asks, &a.values).ok())
            .unwrap_or_default();
        return Some(ApprovalDecision::Granted {
            by: approvers,
            channel,
            values,
        });
    }
    None
}

/// Tells a human that a run waits for them (the terminal, a chat message), and that it no
/// longer does.
pub trait ApprovalNotice: Send + Sync {
    fn waiting(&self, request: &ApprovalRequest);
    /// The gate was granted, denied or timed out, in the process that runs the run.
    fn decided(&self, _request: &ApprovalRequest, _decision: &ApprovalDecision) {}
}

pub struct StoreApprover {
    pub store: Arc<dyn Store>,
    pub groups: Option<BTreeMap<String, Vec<String>>>,
    pub poll_every: Duration,
    pub notice: Box<dyn ApprovalNotice>,
}

impl StoreApprover {
    /// What the run's journal decides for `request` now: `None` while it waits (or the store
    /// cannot be read).
    pub async fn decided(&self, request: &ApprovalRequest) -> Option<ApprovalDecision> {
        let events = self.store.events(&request.run_id).await.ok()?;
        let answers = journaled_answers(&request.run_id, &request.step, &events);
        decide(&answers, request, self.groups.as_ref())
    }

    /// When `request` times out (ms since the epoch): its timeout counted from the FIRST
    /// `approval_requested` of the step in the journal, so that a run resumed or re-queued
    /// does not start the clock again. `None` without a timeout.
    pub async fn deadline(&self, request: &ApprovalRequest) -> Option<i64> {
        let timeout = i64::try_from(request.timeout?).unwrap_or(i64::MAX);
        let first = self
            .store
            .events(&request.run_id)
            .await
            .ok()
            .and_then(|events| {
                events.iter().find_map(|e| match &e.kind {
                    EventKind::ApprovalRequested { step, .. } if step == &request.step => {
                        Some(e.at)
                    }
                    _ => None,
                })
            });
        Some(first.unwrap_or_else(now_ms).saturating_add(timeout))
    }

    /// What is decided now, deadline included: `TimedOut` once `deadline` passed unanswered.
    pub async fn decided_by(
        &self,
        request: &ApprovalRequest,
        deadline: Option<i64>,
    ) -> Option<ApprovalDecision> {
        if let Some(decision) = self.decided(request).await {
            return Some(decision);
        }
        deadline
            .is_some_and(|d| now_ms() >= d)
            .then_some(ApprovalDecision::TimedOut)
    }
}

impl Approver for StoreApprover {
    fn request<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async move {
            let deadline = self.deadline(request).await;
            let mut told = false;
            loop {
                if let Some(decision) = self.decided_by(request, deadline).await {
                    self.notice.decided(request, &decision);
                    return decision;
                }
                if !told {
                    self.notice.waiting(request);
                    told = true;
                }
                let left = deadline.map_or(self.poll_every, |d| {
                    Duration::from_millis(u64::try_from(d - now_ms()).unwrap_or(0))
                });
                tokio::time::sleep(self.poll_every.min(left)).await;
            }
        })
    }
}

/// ms since the epoch, as journal events are stamped.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `on timeout` as words for messages.
pub fn describe_outcome(outcome: TimeoutOutcome) -> &'static str {
    match outcome {
        TimeoutOutcome::Deny => "it is denied",
        TimeoutOutcome::Approve => "it is approved",
        TimeoutOutcome::Escalate => "it escalates",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(quorum: u32) -> ApprovalRequest {
        ApprovalRequest {
            run_id: "r1".into(),
            step: "restart".into(),
            group: Some("dba".into()),
            quorum,
            timeout: None,
            on_timeout: TimeoutOutcome::Deny,
            started_by: "carol".into(),
            actions: Vec::new(),
            planned: Vec::new(),
            digest: "d1".into(),
            asks: Vec::new(),
        }
    }

    fn answer(user: &str, approve: bool, digest: &str) -> ApprovalAnswer {
        ApprovalAnswer {
            run_id: "r1".into(),
            step: "restart".into(),
            user: user.into(),
            approve,
            comment: None,
            channel: "cli".into(),
            at: 0,
            digest: digest.into(),
            external_id: None,
            from: None,
            values: Default::default(),
        }
    }

    fn groups() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([(
            "dba".to_string(),
            vec!["alice".to_string(), "bob".to_string(), "carol".to_string()],
        )])
    }

    #[test]
    fn quorum_needs_distinct_members_other_than_the_starter() {
        let g = groups();
        assert_eq!(
            decide(&[answer("alice", true, "d1")], &request(2), Some(&g)),
            None
        );
        assert_eq!(
            decide(
                &[answer("alice", true, "d1"), answer("carol", true, "d1")],
                &request(2),
                Some(&g)
            ),
            None
        );
        assert_eq!(
            decide(
                &[answer("alice", true, "d1"), answer("mallory", true, "d1")],
                &request(2),
                Some(&g)
            ),
            None
        );
        assert!(matches!(
            decide(
                &[answer("alice", true, "d1"), answer("bob", true, "d1")],
                &request(2),
                Some(&g)
            ),
            Some(ApprovalDecision::Granted { .. })
        ));
    }

    #[test]
    fn an_answer_for_another_plan_does_not_count() {
        let g = groups();
        assert_eq!(
            decide(&[answer("alice", true, "old")], &request(1), Some(&g)),
            None
        );
    }

    #[test]
    fn a_second_spelling_of_one_name_is_not_a_second_approver() {
        let g = groups();
        for spelling in ["alice ", " Alice", "ALICE", "al\u{200b}ice"] {
            assert_eq!(
                decide(
                    &[answer("alice", true, "d1"), answer(spelling, true, "d1")],
                    &request(2),
                    Some(&g)
                ),
                None,
                "{spelling:?}"
            );
        }
    }

    #[test]
    fn the_starter_cannot_approve_under_another_spelling_of_their_name() {
        let g = groups();
        for spelling in ["carol ", "Carol", "\u{feff}carol"] {
            let refused = answer_counts(&answer(spelling, true, "d1"), &request(1), Some(&g));
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|r| r.to_string().contains("two-person rule")),
                "{spelling:?}: {refused:?}"
            );
        }
    }

    #[test]
    fn group_members_are_matched_in_normal_form() {
        let g = BTreeMap::from([("dba".to_string(), vec!["Bob ".to_string()])]);
        assert_eq!(
            answer_counts(&answer("bob", true, "d1"), &request(1), Some(&g)),
            Ok(())
        );
    }

    #[test]
    fn without_an_rbk_toml_no_answer_counts() {
        let refused = answer_counts(&answer("alice", true, "d1"), &request(1), None);
        assert!(
            refused
                .as_ref()
                .is_err_and(|r| r.to_string().contains("no rbk.toml")),
            "{refused:?}"
        );
        let mut ungrouped = request(1);
        ungrouped.group = None;
        assert!(answer_counts(&answer("alice", true, "d1"), &ungrouped, None).is_err());
        assert_eq!(
            decide(&[answer("alice", true, "d1")], &ungrouped, None),
            None
        );
    }

    #[test]
    fn a_valid_denial_wins() {
        let g = groups();
        let decision = decide(
            &[answer("alice", true, "d1"), answer("bob", false, "d1")],
            &request(1),
            Some(&g),
        );
        assert!(matches!(decision, Some(ApprovalDecision::Denied { by, .. }) if by == "bob"));
    }
}

//! Approval gates answered through the store: from `rbk approve` in another process, from the
//! terminal that started the run, or (later) from Slack. Answers count only when they are for
//! this exact plan (digest), come from the named group, and not from whoever started the run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rbk_compiler::syntax::TimeoutOutcome;

use crate::action::BoxFuture;
use crate::approval::{ApprovalDecision, ApprovalRequest, Approver};
use crate::store::{ApprovalAnswer, Store};

/// What an answer must satisfy to count.
pub fn answer_counts(
    answer: &ApprovalAnswer,
    request: &ApprovalRequest,
    groups: Option<&BTreeMap<String, Vec<String>>>,
) -> Result<(), String> {
    if answer.digest != request.digest {
        return Err(format!(
            "{}'s answer was for a different plan (the runbook or its arguments changed)",
            answer.user
        ));
    }
    if answer.user == request.started_by {
        return Err(format!(
            "{} started the run and cannot approve it (two-person rule)",
            answer.user
        ));
    }
    if let (Some(group), Some(groups)) = (&request.group, groups) {
        match groups.get(group) {
            Some(members) if members.iter().any(|m| m == &answer.user) => {}
            Some(_) => {
                return Err(format!(
                    "{} is not in approver group \"{group}\"",
                    answer.user
                ))
            }
            None => {
                return Err(format!(
                    "approver group \"{group}\" is not defined in rbk.toml"
                ))
            }
        }
    }
    Ok(())
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
    let mut approvers: Vec<&str> = valid
        .iter()
        .filter(|a| a.approve)
        .map(|a| a.user.as_str())
        .collect();
    approvers.sort_unstable();
    approvers.dedup();
    if approvers.len() >= request.quorum.max(1) as usize {
        let channel = valid
            .iter()
            .find(|a| a.approve)
            .map_or("cli".to_string(), |a| a.channel.clone());
        return Some(ApprovalDecision::Granted {
            by: approvers.into_iter().map(str::to_string).collect(),
            channel,
        });
    }
    None
}

/// Tells a human that a run waits for them (the terminal, a chat message).
pub trait ApprovalNotice: Send + Sync {
    fn waiting(&self, request: &ApprovalRequest);
}

pub struct StoreApprover {
    pub store: Arc<dyn Store>,
    pub groups: Option<BTreeMap<String, Vec<String>>>,
    pub poll_every: Duration,
    pub notice: Box<dyn ApprovalNotice>,
}

impl Approver for StoreApprover {
    fn request<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async move {
            self.notice.waiting(request);
            let deadline = request
                .timeout
                .map(|ms| tokio::time::Instant::now() + Duration::from_millis(ms));
            loop {
                if let Ok(answers) = self.store.answers(&request.run_id, &request.step).await {
                    if let Some(decision) = decide(&answers, request, self.groups.as_ref()) {
                        return decision;
                    }
                }
                if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                    return ApprovalDecision::TimedOut;
                }
                tokio::time::sleep(self.poll_every).await;
            }
        })
    }
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
            digest: "d1".into(),
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

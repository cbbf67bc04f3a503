//! What the stores share: the limit check, status transitions, run id prefixes, the journal
//! event an answer writes and the head read back from two nullable columns.

use super::{ApprovalAnswer, JournalHead, RunLimits, RunRecord, StoreError, FINAL_STATES};
use crate::journal::EventKind;

/// Whether `limits` forbid one more run, given the counts; the reason if so.
pub(crate) fn limit_exceeded(
    limits: &RunLimits,
    active: impl FnOnce() -> Result<i64, StoreError>,
    recent: impl FnOnce(u64) -> Result<i64, StoreError>,
    limit_key: &str,
) -> Result<Option<String>, StoreError> {
    let key = if limit_key.is_empty() {
        String::new()
    } else {
        format!(" for {limit_key:?}")
    };
    if let Some(max) = limits.concurrency {
        let active = active()?;
        if active >= i64::from(max) {
            return Ok(Some(format!(
                "concurrency {max}{key} reached: {active} run(s) still in progress"
            )));
        }
    }
    if let Some((max, window_ms)) = limits.rate {
        let recent = recent(window_ms)?;
        if recent >= i64::from(max) {
            return Ok(Some(format!(
                "rate {max} per {window_ms}ms{key} reached: {recent} run(s) started in the window"
            )));
        }
    }
    Ok(None)
}

/// A run in a final state never changes again; setting the same final status and summary
/// again is allowed (an idempotent retry).
pub(crate) fn check_transition(
    run_id: &str,
    current: Option<(String, String)>,
    status: &str,
    summary: &str,
) -> Result<(), StoreError> {
    match current {
        None => Err(StoreError(format!("no run {run_id}"))),
        Some((current, current_summary))
            if FINAL_STATES.contains(&current.as_str())
                && (current != status || current_summary != summary) =>
        {
            Err(StoreError(format!(
                "run {run_id} is already {current} and cannot become {status}"
            )))
        }
        Some(_) => Ok(()),
    }
}

/// The one run whose id starts with `prefix`, given at most two candidates.
pub(crate) fn unique_prefix(
    prefix: &str,
    mut found: Vec<Result<RunRecord, StoreError>>,
) -> Result<Option<RunRecord>, StoreError> {
    match found.len() {
        0 => Ok(None),
        1 => found.pop().transpose(),
        _ => {
            let ids: Vec<String> = found
                .iter()
                .map(|run| match run {
                    Ok(run) => run.id.clone(),
                    Err(_) => "?".into(),
                })
                .collect();
            Err(StoreError(format!(
                "run id prefix {prefix:?} is ambiguous: it matches more than one run ({}, ...); give more of the id",
                ids.join(", ")
            )))
        }
    }
}

/// The journal event that records `answer`, written with its row.
pub(crate) fn answered_event(answer: &ApprovalAnswer) -> EventKind {
    EventKind::ApprovalAnswered {
        step: answer.step.clone(),
        by: answer.user.clone(),
        approve: answer.approve,
        channel: answer.channel.clone(),
        digest: answer.digest.clone(),
        comment: answer.comment.clone(),
    }
}

/// The anchored head from its two columns; NULL in either (a run recorded before heads were
/// anchored) is no head.
pub(crate) fn head_from_columns(events: Option<i64>, hash: Option<String>) -> Option<JournalHead> {
    match (events, hash) {
        (Some(events), Some(hash)) => Some(JournalHead {
            events: u64::try_from(events).unwrap_or(0),
            hash,
        }),
        _ => None,
    }
}

//! What the stores share: the limit check, taking over a run, status transitions, run id
//! prefixes, the journal event an answer writes and the head read back from two nullable
//! columns.

use super::owner::{holds_slot, Liveness};
use super::{
    ApprovalAnswer, ClaimRefusal, JournalHead, RunLimits, RunOwner, RunRecord, RunState, StoreError,
};
use crate::journal::EventKind;

/// How many of these not-ended, real runs' owners still hold their `concurrency` slot.
pub(crate) fn slot_holders<'r>(owners: impl IntoIterator<Item = Option<&'r RunOwner>>) -> i64 {
    owners.into_iter().filter(|o| holds_slot(*o)).count() as i64
}

/// Whether `record` may be taken over by a new process. `others_holding` counts the other
/// runs of its runbook and key that hold a `concurrency` slot.
pub(crate) fn claim_allowed(
    record: Option<&RunRecord>,
    limits: &RunLimits,
    takeover: bool,
    others_holding: impl FnOnce() -> Result<i64, StoreError>,
) -> Result<Result<(), ClaimRefusal>, StoreError> {
    let Some(record) = record else {
        return Ok(Err(ClaimRefusal::Missing));
    };
    if record.state.is_final() {
        return Ok(Err(ClaimRefusal::Ended(record.state)));
    }
    if record.dry_run {
        return Ok(Err(ClaimRefusal::DryRun));
    }
    match record.owner.as_ref().map(RunOwner::liveness) {
        Some(Liveness::Alive) => {
            return Ok(Err(ClaimRefusal::Alive(
                record.owner.clone().unwrap_or_else(RunOwner::this_process),
            )))
        }
        Some(Liveness::Dead) => {}
        Some(Liveness::Unknown) | None if takeover => {}
        Some(Liveness::Unknown) | None => {
            return Ok(Err(ClaimRefusal::Unknown(record.owner.clone())))
        }
    }
    if let Some(max) = limits.concurrency {
        let holding = others_holding()?;
        if holding >= i64::from(max) {
            let key = if record.limit_key.is_empty() {
                String::new()
            } else {
                format!(" for {:?}", record.limit_key)
            };
            return Ok(Err(ClaimRefusal::SlotTaken(format!(
                "concurrency {max}{key} reached: {holding} other run(s) in progress"
            ))));
        }
    }
    Ok(Ok(()))
}

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

/// A run in a final state never changes again; setting the same final state and summary
/// again is allowed (an idempotent retry).
/// Whether the run may move to `state`, and the summary it keeps: a final state never changes,
/// and setting it again keeps the summary it ended with (the journal's `run_finished` set it,
/// in the same transaction as that event).
pub(crate) fn check_transition(
    run_id: &str,
    current: Option<(RunState, String)>,
    state: RunState,
    summary: &str,
) -> Result<String, StoreError> {
    match current {
        None => Err(StoreError::NoSuchRun {
            backend: None,
            run_id: run_id.to_string(),
        }),
        Some((current, _)) if current.is_final() && current != state => {
            Err(StoreError::AlreadyEnded {
                run_id: run_id.to_string(),
                current,
                wanted: state,
            })
        }
        Some((current, kept)) if current.is_final() => Ok(kept),
        Some(_) => Ok(summary.to_string()),
    }
}

/// The state a journal event ends its run in: `run_finished` records the outcome, and the
/// stores write it to the run record in the event's own transaction, so that no crash can
/// leave a journal that says the run ended beside a record that says it runs.
pub(crate) fn finished_state(kind: &EventKind) -> Option<(RunState, &str)> {
    match kind {
        EventKind::RunFinished { status, summary } => {
            // A status this rbk does not know finishes nothing here; reading the record says why.
            let state = status.parse::<RunState>().ok()?;
            state.is_final().then_some((state, summary.as_str()))
        }
        _ => None,
    }
}

/// When a run that moves to `state` ended: now for a final state, else not yet.
pub(crate) fn ended_at(state: RunState) -> Option<i64> {
    state.is_final().then(super::queue::now_ms)
}

/// Whether a listed run passes the query's filters (for the stores that filter in memory).
pub(crate) fn matches_query(run: &RunRecord, query: &super::RunQuery) -> bool {
    query.state.is_none_or(|state| run.state == state)
        && query.runbook.as_ref().is_none_or(|r| &run.runbook == r)
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
            Err(StoreError::AmbiguousPrefix {
                prefix: prefix.to_string(),
                matches: ids,
            })
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
        from: answer.from.clone(),
        values: answer.values.clone(),
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

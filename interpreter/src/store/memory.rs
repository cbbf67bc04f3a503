//! A store that keeps nothing past the process (`--store memory`): the same rules as the
//! persistent stores, without SQL, for trying runbooks out and for measuring the engine alone.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::common::{
    answered_event, check_transition, claim_allowed, limit_exceeded, slot_holders, unique_prefix,
};
use super::{
    ApprovalAnswer, ClaimRefusal, JournalHead, RunLimits, RunOwner, RunRecord, StartDecision,
    Store, StoreError, FINAL_STATES,
};
use crate::action::BoxFuture;
use crate::journal::{event_hash, Event, EventKind};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    runs: Vec<RunRecord>,
    events: HashMap<String, Vec<Event>>,
    answers: Vec<ApprovalAnswer>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Appends `kind` to the run's journal and moves the run's anchored head with it.
fn append_to(
    state: &mut State,
    run_id: &str,
    at: i64,
    kind: &EventKind,
) -> Result<Event, StoreError> {
    let Some(run) = state.runs.iter_mut().find(|r| r.id == run_id) else {
        return Err(StoreError(format!("memory store: no run {run_id}")));
    };
    let events = state.events.entry(run_id.to_string()).or_default();
    let seq = events.len() as u64;
    let prev_hash = events.last().map(|e| e.hash.clone()).unwrap_or_default();
    let hash = event_hash(&prev_hash, seq, at, kind);
    let event = Event {
        seq,
        at,
        kind: kind.clone(),
        prev_hash,
        hash,
    };
    events.push(event.clone());
    run.head = Some(JournalHead {
        events: seq + 1,
        hash: event.hash.clone(),
    });
    Ok(event)
}

impl Store for MemoryStore {
    fn start_run<'a>(
        &'a self,
        run: &'a RunRecord,
        limits: &'a RunLimits,
    ) -> BoxFuture<'a, Result<StartDecision, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            if state.runs.iter().any(|r| r.id == run.id) {
                return Err(StoreError(format!(
                    "memory store: run {} exists already",
                    run.id
                )));
            }
            let same = |r: &&RunRecord| {
                r.runbook == run.runbook && r.limit_key == run.limit_key && !r.dry_run
            };
            // A dry run acts on nothing: no limit applies to it.
            let no_limits = RunLimits::default();
            let limits = if run.dry_run { &no_limits } else { limits };
            let reason = limit_exceeded(
                limits,
                || {
                    Ok(slot_holders(
                        state
                            .runs
                            .iter()
                            .filter(same)
                            .filter(|r| !FINAL_STATES.contains(&r.status.as_str()))
                            .map(|r| r.owner.as_ref()),
                    ))
                },
                |window_ms| {
                    let since = run
                        .started_at
                        .saturating_sub(i64::try_from(window_ms).unwrap_or(i64::MAX));
                    Ok(state
                        .runs
                        .iter()
                        .filter(same)
                        .filter(|r| r.status != "suppressed" && r.started_at >= since)
                        .count() as i64)
                },
                &run.limit_key,
            )?;
            let mut record = run.clone();
            record.head = Some(JournalHead {
                events: 0,
                hash: String::new(),
            });
            let decision = match reason {
                Some(reason) => {
                    record.status = "suppressed".into();
                    record.summary = reason.clone();
                    StartDecision::Suppressed(reason)
                }
                None => StartDecision::Started,
            };
            state.runs.push(record);
            Ok(decision)
        })
    }

    fn claim_run<'a>(
        &'a self,
        run_id: &'a str,
        owner: &'a RunOwner,
        limits: &'a RunLimits,
        takeover: bool,
    ) -> BoxFuture<'a, Result<Result<(), ClaimRefusal>, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            let record = state.runs.iter().find(|r| r.id == run_id).cloned();
            let allowed = claim_allowed(record.as_ref(), limits, takeover, || {
                Ok(slot_holders(
                    state
                        .runs
                        .iter()
                        .filter(|r| {
                            record.as_ref().is_some_and(|me| {
                                r.id != me.id
                                    && r.runbook == me.runbook
                                    && r.limit_key == me.limit_key
                            })
                        })
                        .filter(|r| !r.dry_run && !FINAL_STATES.contains(&r.status.as_str()))
                        .map(|r| r.owner.as_ref()),
                ))
            })?;
            if allowed.is_ok() {
                if let Some(run) = state.runs.iter_mut().find(|r| r.id == run_id) {
                    run.owner = Some(owner.clone());
                }
            }
            Ok(allowed)
        })
    }

    fn append_event<'a>(
        &'a self,
        run_id: &'a str,
        at: i64,
        kind: &'a EventKind,
    ) -> BoxFuture<'a, Result<Event, StoreError>> {
        Box::pin(async move { append_to(&mut self.lock(), run_id, at, kind) })
    }

    fn events<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<Vec<Event>, StoreError>> {
        Box::pin(async move { Ok(self.lock().events.get(run_id).cloned().unwrap_or_default()) })
    }

    fn set_status<'a>(
        &'a self,
        run_id: &'a str,
        status: &'a str,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            let run = state.runs.iter_mut().find(|r| r.id == run_id);
            check_transition(
                run_id,
                run.as_ref().map(|r| (r.status.clone(), r.summary.clone())),
                status,
                summary,
            )?;
            if let Some(run) = run {
                run.status = status.to_string();
                run.summary = summary.to_string();
            }
            Ok(())
        })
    }

    fn run<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RunRecord>, StoreError>> {
        Box::pin(async move {
            let state = self.lock();
            if let Some(run) = state.runs.iter().find(|r| r.id == id) {
                return Ok(Some(run.clone()));
            }
            let found = state
                .runs
                .iter()
                .filter(|r| r.id.starts_with(id))
                .take(2)
                .cloned()
                .map(Ok)
                .collect();
            unique_prefix(id, found)
        })
    }

    fn runs<'a>(&'a self, limit: usize) -> BoxFuture<'a, Result<Vec<RunRecord>, StoreError>> {
        Box::pin(async move {
            let mut runs = self.lock().runs.clone();
            runs.sort_by(|a, b| {
                b.started_at
                    .cmp(&a.started_at)
                    .then_with(|| b.id.cmp(&a.id))
            });
            runs.truncate(limit);
            Ok(runs)
        })
    }

    fn record_answer<'a>(
        &'a self,
        answer: &'a ApprovalAnswer,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            if !state.runs.iter().any(|r| r.id == answer.run_id) {
                return Err(StoreError(format!(
                    "memory store: no run {}",
                    answer.run_id
                )));
            }
            state.answers.retain(|a| {
                !(a.run_id == answer.run_id && a.step == answer.step && a.user == answer.user)
            });
            append_to(
                &mut state,
                &answer.run_id,
                answer.at,
                &answered_event(answer),
            )?;
            state.answers.push(answer.clone());
            Ok(())
        })
    }

    fn answers<'a>(
        &'a self,
        run_id: &'a str,
        step: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApprovalAnswer>, StoreError>> {
        Box::pin(async move {
            Ok(self
                .lock()
                .answers
                .iter()
                .filter(|a| a.run_id == run_id && a.step == step)
                .cloned()
                .collect())
        })
    }

    fn run_answers<'a>(
        &'a self,
        run_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ApprovalAnswer>, StoreError>> {
        Box::pin(async move {
            Ok(self
                .lock()
                .answers
                .iter()
                .filter(|a| a.run_id == run_id)
                .cloned()
                .collect())
        })
    }
}

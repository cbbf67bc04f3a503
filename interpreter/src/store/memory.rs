//! A store that keeps nothing past the process (`--store memory`): the same rules as the
//! persistent stores, without SQL, for trying runbooks out and for measuring the engine alone.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::common::{
    answered_event, check_transition, claim_allowed, ended_at, finished_state, limit_exceeded,
    matches_query, slot_holders, unique_prefix,
};
use super::queue::{self, cancel_events, expiry, now_ms, plan, StartFacts, RESOLVED_BEFORE_START};
use super::{
    ApprovalAnswer, Backend, ClaimRefusal, HoldDecision, Intake, IntakeReport, JournalHead, Lease,
    RunLimits, RunOwner, RunQuery, RunRecord, RunState, StartDecision, Store, StoreError,
    TriggerKind,
};
use crate::action::BoxFuture;
use crate::journal::{event_hash, Event, EventKind};

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    work: super::queue::WorkSignal,
}

#[derive(Default)]
struct State {
    runs: Vec<RunRecord>,
    events: HashMap<String, Vec<Event>>,
    answers: Vec<ApprovalAnswer>,
    /// (source, fingerprint, starts_at, status) of every alert received.
    alerts: HashSet<(String, String, i64, String)>,
    leases: HashMap<String, LeaseState>,
    /// (run, key) to the value saved with `save_notice`.
    notices: HashMap<(String, String), serde_json::Value>,
}

/// A run's lease columns.
#[derive(Default)]
struct LeaseState {
    owner: Option<String>,
    token: i64,
    expires_at: Option<i64>,
    /// When a parked run is queued again by itself (a gate's deadline).
    wake_at: Option<i64>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether a run counts toward a `rate` limit: it started, or will.
pub(crate) fn counts_for_rate(state: RunState) -> bool {
    !matches!(
        state,
        RunState::Suppressed | RunState::Coalesced | RunState::Cancelled
    )
}

fn set_state_in(
    state: &mut State,
    run_id: &str,
    new: RunState,
    summary: &str,
) -> Result<(), StoreError> {
    let run = state.runs.iter_mut().find(|r| r.id == run_id);
    let summary = check_transition(
        run_id,
        run.as_ref().map(|r| (r.state, r.summary.clone())),
        new,
        summary,
    )
    .map_err(|refusal| StoreError::Refused {
        backend: Backend::Memory,
        refusal: Box::new(refusal),
    })?;
    if let Some(run) = run {
        if run.state != new || run.ended_at.is_none() {
            run.ended_at = ended_at(new);
        }
        run.state = new;
        run.summary = summary;
    }
    if new.is_final() {
        let lease = state.leases.entry(run_id.to_string()).or_default();
        lease.owner = None;
        lease.expires_at = None;
    }
    Ok(())
}

/// Whether `lease` is still the run's lease.
fn holds(state: &State, lease: &Lease) -> bool {
    state.leases.get(&lease.run_id).is_some_and(|l| {
        l.token == lease.token && l.owner.as_deref() == Some(lease.worker.as_str())
    })
}

/// Appends `kind` to the run's journal and moves the run's anchored head with it.
fn append_to(
    state: &mut State,
    run_id: &str,
    at: i64,
    kind: &EventKind,
) -> Result<Event, StoreError> {
    let Some(run) = state.runs.iter_mut().find(|r| r.id == run_id) else {
        return Err(StoreError::NoSuchRun {
            backend: Some(Backend::Memory),
            run_id: run_id.to_string(),
        });
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
    if let Some((state, summary)) = finished_state(kind) {
        // The lease stays until the worker sets the state itself: it still holds the run.
        if !run.state.is_final() {
            run.state = state;
            run.summary = summary.to_string();
            run.ended_at = ended_at(state);
        }
    }
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
                return Err(StoreError::RunExists {
                    backend: Backend::Memory,
                    run_id: run.id.clone(),
                });
            }
            if state.runs.iter().any(|r| {
                r.runbook == run.runbook
                    && !run.trigger.key.is_empty()
                    && r.trigger.key == run.trigger.key
            }) {
                return Err(StoreError::TriggerTaken {
                    backend: Backend::Memory,
                    runbook: run.runbook.clone(),
                    key: run.trigger.key.clone(),
                });
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
                            .filter(|r| r.state.is_active())
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
                        .filter(|r| counts_for_rate(r.state) && r.started_at >= since)
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
                    record.state = RunState::Suppressed;
                    record.summary = reason.clone();
                    record.ended_at = Some(record.started_at);
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
                        .filter(|r| !r.dry_run && r.state.is_active())
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

    fn set_state<'a>(
        &'a self,
        run_id: &'a str,
        new: RunState,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { set_state_in(&mut self.lock(), run_id, new, summary) })
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

    fn list_runs<'a>(
        &'a self,
        query: &'a RunQuery,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>, StoreError>> {
        Box::pin(async move {
            let limit = query.limit;
            let mut runs: Vec<RunRecord> = self
                .lock()
                .runs
                .iter()
                .filter(|r| matches_query(r, query))
                .cloned()
                .collect();
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
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            if !state.runs.iter().any(|r| r.id == answer.run_id) {
                return Err(StoreError::NoSuchRun {
                    backend: Some(Backend::Memory),
                    run_id: answer.run_id.clone(),
                });
            }
            if answer.external_id.is_some()
                && state
                    .answers
                    .iter()
                    .any(|a| a.channel == answer.channel && a.external_id == answer.external_id)
            {
                return Ok(false);
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
            let requeued = requeue_parked_in(&mut state, &answer.run_id);
            drop(state);
            if requeued {
                self.wake();
            }
            Ok(true)
        })
    }

    fn save_notice<'a>(
        &'a self,
        run_id: &'a str,
        key: &'a str,
        value: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            if !state.runs.iter().any(|r| r.id == run_id) {
                return Err(StoreError::NoSuchRun {
                    backend: Some(Backend::Memory),
                    run_id: run_id.to_string(),
                });
            }
            state
                .notices
                .insert((run_id.to_string(), key.to_string()), value.clone());
            Ok(())
        })
    }

    fn notice<'a>(
        &'a self,
        run_id: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, StoreError>> {
        Box::pin(async move {
            Ok(self
                .lock()
                .notices
                .get(&(run_id.to_string(), key.to_string()))
                .cloned())
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

    fn ingest<'a>(&'a self, intake: &'a Intake) -> BoxFuture<'a, Result<IntakeReport, StoreError>> {
        Box::pin(async move {
            let mut guard = self.lock();
            // All or nothing, like the SQL stores' transaction: work on a copy.
            let mut state = State {
                runs: guard.runs.clone(),
                events: guard.events.clone(),
                answers: guard.answers.clone(),
                alerts: guard.alerts.clone(),
                leases: HashMap::new(),
                notices: HashMap::new(),
            };
            let mut report = IntakeReport::default();
            for alert in &intake.alerts {
                let key = (
                    alert.source.clone(),
                    alert.fingerprint.clone(),
                    alert.starts_at,
                    alert.status.clone(),
                );
                if state.alerts.insert(key) {
                    report.new_alerts += 1;
                } else {
                    report.duplicate_alerts += 1;
                }
            }
            let at = now_ms();
            for start in &intake.starts {
                let facts = facts_in(&state, start);
                let planned = plan(start, &facts);
                if let Some(record) = planned.record {
                    if state.runs.iter().any(|r| r.id == record.id) {
                        return Err(StoreError::RunExists {
                            backend: Backend::Memory,
                            run_id: record.id.clone(),
                        });
                    }
                    let id = record.id.clone();
                    let mut record = record;
                    record.head = Some(JournalHead {
                        events: 0,
                        hash: String::new(),
                    });
                    state.runs.push(record);
                    for event in &planned.events {
                        append_to(&mut state, &id, at, event)?;
                    }
                }
                if let Some((onto, event)) = &planned.onto {
                    append_to(&mut state, onto, at, event)?;
                }
                report.starts.push(planned.outcome);
            }
            for (runbook, key) in &intake.resolved {
                let found = state
                    .runs
                    .iter()
                    .find(|r| &r.runbook == runbook && &r.trigger.key == key)
                    .map(|r| (r.id.clone(), r.state));
                match found {
                    Some((id, RunState::Queued)) => {
                        for event in cancel_events(RESOLVED_BEFORE_START) {
                            append_to(&mut state, &id, at, &event)?;
                        }
                        set_state_in(&mut state, &id, RunState::Cancelled, RESOLVED_BEFORE_START)?;
                        report.cancelled.push(id);
                    }
                    Some((id, run_state)) if run_state.is_active() => {
                        let event = EventKind::AlertResolved {
                            trigger_key: key.clone(),
                        };
                        append_to(&mut state, &id, at, &event)?;
                        mark_resolved(&mut state, &id);
                    }
                    _ => {}
                }
            }
            let leases = std::mem::take(&mut guard.leases);
            *guard = state;
            guard.leases = leases;
            drop(guard);
            if report.queued_any() {
                self.wake();
            }
            Ok(report)
        })
    }

    fn claim<'a>(
        &'a self,
        worker: &'a str,
        max: usize,
        lease_ms: u64,
    ) -> BoxFuture<'a, Result<Vec<(RunRecord, Lease)>, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            let mut queued: Vec<usize> = state
                .runs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.state == RunState::Queued)
                .map(|(i, _)| i)
                .collect();
            queued.sort_by(|a, b| {
                let (a, b) = (&state.runs[*a], &state.runs[*b]);
                a.started_at
                    .cmp(&b.started_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
            queued.truncate(max);
            let mut claimed = Vec::new();
            for index in queued {
                let owner = RunOwner::this_process();
                let run = &mut state.runs[index];
                run.state = RunState::Running;
                run.owner = Some(owner);
                let record = run.clone();
                let lease_state = state.leases.entry(record.id.clone()).or_default();
                lease_state.token += 1;
                lease_state.owner = Some(worker.to_string());
                lease_state.expires_at = Some(expiry(lease_ms));
                let lease = Lease {
                    run_id: record.id.clone(),
                    token: lease_state.token,
                    worker: worker.to_string(),
                };
                claimed.push((record, lease));
            }
            Ok(claimed)
        })
    }

    fn heartbeat<'a>(
        &'a self,
        lease: &'a Lease,
        lease_ms: u64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            if !holds(&state, lease) {
                return Ok(false);
            }
            if let Some(l) = state.leases.get_mut(&lease.run_id) {
                l.expires_at = Some(expiry(lease_ms));
            }
            Ok(true)
        })
    }

    fn append_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        at: i64,
        kind: &'a EventKind,
    ) -> BoxFuture<'a, Result<Option<Event>, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            if !holds(&state, lease) {
                return Ok(None);
            }
            append_to(&mut state, &lease.run_id, at, kind).map(Some)
        })
    }

    fn set_state_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        new: RunState,
        summary: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            if !holds(&state, lease) {
                return Ok(false);
            }
            set_state_in(&mut state, &lease.run_id, new, summary)?;
            Ok(true)
        })
    }

    fn requeue_parked<'a>(&'a self, run_id: &'a str) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let requeued = requeue_parked_in(&mut self.lock(), run_id);
            if requeued {
                self.wake();
            }
            Ok(requeued)
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            if !holds(&state, lease) {
                return Ok(());
            }
            let event = EventKind::RunReleased {
                worker: lease.worker.clone(),
            };
            append_to(&mut state, &lease.run_id, now_ms(), &event)?;
            let requeued = match state.runs.iter_mut().find(|r| r.id == lease.run_id) {
                Some(run) if run.state == RunState::Running => {
                    run.state = RunState::Queued;
                    true
                }
                _ => false,
            };
            if let Some(l) = state.leases.get_mut(&lease.run_id) {
                l.owner = None;
                l.expires_at = None;
                l.token += 1;
            }
            drop(state);
            if requeued {
                self.wake();
            }
            Ok(())
        })
    }

    fn park_until<'a>(
        &'a self,
        run_id: &'a str,
        wake_at: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            if !is_parked(&state, run_id) {
                return Ok(false);
            }
            if let Some(lease) = state.leases.get_mut(run_id) {
                lease.wake_at = Some(wake_at);
            }
            Ok(true)
        })
    }

    fn wake_due<'a>(&'a self, now: i64) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            let mut due: Vec<String> = state
                .leases
                .iter()
                .filter(|(_, l)| l.wake_at.is_some_and(|at| at <= now))
                .map(|(id, _)| id.clone())
                .collect();
            due.sort();
            due.retain(|id| requeue_parked_in(&mut state, id));
            drop(state);
            if !due.is_empty() {
                self.wake();
            }
            Ok(due)
        })
    }

    fn decide_hold<'a>(
        &'a self,
        run_id: &'a str,
        decision: &'a HoldDecision,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            let held = state
                .runs
                .iter()
                .any(|r| r.id == run_id && r.held && r.state == RunState::Waiting);
            if !held {
                return Ok(false);
            }
            let (events, summary) = decision.events();
            for event in &events {
                append_to(&mut state, run_id, decision.at, event)?;
            }
            if let Some(run) = state.runs.iter_mut().find(|r| r.id == run_id) {
                run.held = false;
            }
            if decision.release {
                if let Some(run) = state.runs.iter_mut().find(|r| r.id == run_id) {
                    run.state = RunState::Queued;
                }
            } else {
                set_state_in(&mut state, run_id, RunState::Cancelled, &summary)?;
            }
            drop(state);
            if decision.release {
                self.wake();
            }
            Ok(true)
        })
    }

    fn reap<'a>(&'a self, now: i64) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let mut state = self.lock();
            let expired: Vec<(String, String)> = state
                .leases
                .iter()
                .filter_map(|(id, l)| match (&l.owner, l.expires_at) {
                    (Some(owner), Some(at)) if at < now => Some((id.clone(), owner.clone())),
                    _ => None,
                })
                .filter(|(id, _)| {
                    state
                        .runs
                        .iter()
                        .any(|r| &r.id == id && r.state.is_active())
                })
                .collect();
            let mut reaped = Vec::new();
            for (id, from_worker) in expired {
                let event = EventKind::RunTakenOver {
                    from_worker,
                    to_worker: None,
                };
                append_to(&mut state, &id, now_ms(), &event)?;
                if let Some(run) = state.runs.iter_mut().find(|r| r.id == id) {
                    if run.state == RunState::Running {
                        run.state = RunState::Queued;
                    }
                }
                if let Some(l) = state.leases.get_mut(&id) {
                    l.owner = None;
                    l.expires_at = None;
                    l.token += 1;
                }
                reaped.push(id);
            }
            reaped.sort();
            drop(state);
            if !reaped.is_empty() {
                self.wake();
            }
            Ok(reaped)
        })
    }

    fn wait_for_work<'a>(&'a self, max: Duration) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            self.work.wait(max).await;
        })
    }
}

impl MemoryStore {
    /// Wakes a worker waiting in `wait_for_work` (a permit is kept when none waits).
    fn wake(&self) {
        self.work.wake();
    }
}

/// What the rules need to know about one start.
fn facts_in(state: &State, start: &queue::QueuedStart) -> StartFacts {
    let record = &start.record;
    let of_runbook = || state.runs.iter().filter(|r| r.runbook == record.runbook);
    let mut active: Vec<&RunRecord> = of_runbook()
        .filter(|r| r.state.is_active() && !r.dry_run && !r.held)
        .filter(|r| r.coalesce_key == record.coalesce_key)
        .collect();
    active.sort_by(|a, b| {
        a.started_at
            .cmp(&b.started_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    StartFacts {
        existing: of_runbook()
            .find(|r| !record.trigger.key.is_empty() && r.trigger.key == record.trigger.key)
            .map(|r| r.id.clone()),
        active: active.into_iter().map(|r| r.id.clone()).collect(),
        recent: start.rate_since().map_or(0, |since| {
            of_runbook()
                .filter(|r| r.limit_key == start.rate_key() && !r.dry_run)
                .filter(|r| counts_for_rate(r.state) && r.started_at >= since)
                .count() as i64
        }),
        distinct: start.storm_since().map_or(0, |since| {
            of_runbook()
                .filter(|r| r.trigger.kind == TriggerKind::Alert && r.started_at >= since)
                .count() as i64
        }),
        held: of_runbook()
            .find(|r| r.held && r.state == RunState::Waiting)
            .map(|r| r.id.clone()),
    }
}

/// The run's alert now says `resolved`, as a running run reads it.
fn mark_resolved(state: &mut State, run_id: &str) {
    if let Some(run) = state.runs.iter_mut().find(|r| r.id == run_id) {
        if let Some(alert) = &mut run.alert {
            queue::mark_alert_resolved(alert);
        }
    }
}

/// Waits for a human with no worker: claimed before, no lease now.
fn is_parked(state: &State, run_id: &str) -> bool {
    let released = state
        .leases
        .get(run_id)
        .is_some_and(|l| l.owner.is_none() && l.token > 0);
    released
        && state
            .runs
            .iter()
            .any(|r| r.id == run_id && matches!(r.state, RunState::Waiting | RunState::InDoubt))
}

/// Queues a parked run again (see [`Store::requeue_parked`]); `true` when it was one. Its
/// wake-up time goes: the worker that takes it parks it again with the deadline it finds.
fn requeue_parked_in(state: &mut State, run_id: &str) -> bool {
    if let Some(lease) = state.leases.get_mut(run_id) {
        lease.wake_at = None;
    }
    if !is_parked(state, run_id) {
        return false;
    }
    if let Some(run) = state.runs.iter_mut().find(|r| r.id == run_id) {
        run.state = RunState::Queued;
    }
    true
}

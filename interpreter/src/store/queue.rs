//! The queue of `rbk serve`: what a payload asks the store to record, what the store answers,
//! leases, and the rules every store applies the same way (SERVE.md "Storm rules"):
//!
//! - R1 an alert re-delivered (same source, fingerprint, startsAt, status) is a duplicate alert;
//! - R2 one start per occurrence: a second start of a runbook with the same trigger key is a
//!   duplicate (the unique key holds across processes);
//! - R3 `concurrency N per KEY` full: the new run is recorded `coalesced` onto the oldest active
//!   run of that key, whose journal gets a `RunCoalesced` event with the alert;
//! - R4 `rate N per D by KEY` reached: recorded `suppressed`;
//! - R5 more than `max_distinct` distinct alert occurrences of a runbook within the window: the
//!   run is held (`waiting`) for one human decision, and later occurrences coalesce onto it
//!   while it waits;
//! - a `resolved` alert cancels the queued run of its occurrence, and is journaled in a run of
//!   it that is going.
//!
//! Each outcome is a run row and journal events, written in the ingest transaction.

use serde::{Deserialize, Serialize};

use super::{RunLimits, RunRecord, RunState, Store};
use crate::action::BoxFuture;
use crate::journal::{EventKind, Journal, JournalError};

/// One alert as received, kept whatever it causes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    /// Where it came from: `alertmanager`, `webhook/NAME`, `cli`.
    pub source: String,
    pub fingerprint: String,
    /// ms since the epoch.
    pub starts_at: i64,
    /// `firing` or `resolved`.
    pub status: String,
    pub body: serde_json::Value,
    pub received_at: i64,
}

/// A run to queue, with the runbook's limits evaluated for its alert.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedStart {
    /// `trigger.key` must be set; `coalesce_key` is the `concurrency … per` key. The store
    /// sets the state, summary, head and `held`.
    pub record: RunRecord,
    pub limits: RunLimits,
    /// The `rate … by` key.
    pub rate_key: Option<String>,
    pub storm: Option<StormLimit>,
}

/// R5: more than `max_distinct` distinct alert occurrences within `window_ms` is a storm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StormLimit {
    pub max_distinct: u32,
    pub window_ms: u64,
}

/// Everything one payload causes, recorded in one transaction.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Intake {
    pub alerts: Vec<AlertRow>,
    pub starts: Vec<QueuedStart>,
    /// (runbook, trigger key) of occurrences that resolved.
    pub resolved: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartOutcome {
    Queued {
        run_id: String,
    },
    /// That occurrence already has this run: nothing new was recorded.
    Duplicate {
        run_id: String,
    },
    Coalesced {
        run_id: String,
        onto: String,
    },
    Suppressed {
        run_id: String,
        reason: String,
    },
    StormHeld {
        run_id: String,
    },
}

impl StartOutcome {
    /// The run the outcome is about (the existing one for a duplicate).
    pub fn run_id(&self) -> &str {
        match self {
            StartOutcome::Queued { run_id }
            | StartOutcome::Duplicate { run_id }
            | StartOutcome::Coalesced { run_id, .. }
            | StartOutcome::Suppressed { run_id, .. }
            | StartOutcome::StormHeld { run_id } => run_id,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntakeReport {
    pub new_alerts: usize,
    pub duplicate_alerts: usize,
    pub starts: Vec<StartOutcome>,
    /// Runs cancelled because their alert resolved before they started.
    pub cancelled: Vec<String>,
}

impl IntakeReport {
    /// Whether a worker has something new to claim.
    pub fn queued_any(&self) -> bool {
        self.starts
            .iter()
            .any(|s| matches!(s, StartOutcome::Queued { .. }))
    }
}

/// A worker's hold on a running run. `token` grows with every claim and every reap, so a
/// worker whose lease was taken away can no longer write (fencing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub run_id: String,
    pub token: i64,
    pub worker: String,
}

/// A run's journal written under a lease: an append after the lease was lost fails, which
/// stops the run before its next effect.
pub struct FencedJournal<'s> {
    pub store: &'s dyn Store,
    pub lease: Lease,
}

impl Lease {
    /// The error a fenced write gives once this lease is gone.
    pub fn lost(&self) -> JournalError {
        JournalError::LeaseLost {
            run_id: self.run_id.clone(),
            worker: self.worker.clone(),
        }
    }
}

impl Journal for FencedJournal<'_> {
    fn append<'a>(&'a self, at: i64, kind: EventKind) -> BoxFuture<'a, Result<(), JournalError>> {
        Box::pin(async move {
            match self.store.append_fenced(&self.lease, at, &kind).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(self.lease.lost()),
                Err(error) => Err(JournalError::Store(error)),
            }
        })
    }
}

/// What the store found about one start, read inside the ingest transaction.
#[derive(Clone, Debug, Default)]
pub(crate) struct StartFacts {
    /// The run that already has this runbook and trigger key.
    pub existing: Option<String>,
    /// Active, real runs of the runbook with the same `concurrency` key, oldest first.
    pub active: Vec<String>,
    /// Runs of the runbook and rate key that started (or will) within the rate window.
    pub recent: i64,
    /// Alert-started runs of the runbook within the storm window.
    pub distinct: i64,
    /// A run of the runbook held by the storm rule, still waiting.
    pub held: Option<String>,
}

impl QueuedStart {
    /// How far back the rate rule counts, from this start's time.
    pub(crate) fn rate_since(&self) -> Option<i64> {
        self.limits
            .rate
            .map(|(_, window)| since(self.record.started_at, window))
    }

    /// How far back the storm rule counts.
    pub(crate) fn storm_since(&self) -> Option<i64> {
        self.storm
            .map(|storm| since(self.record.started_at, storm.window_ms))
    }

    pub(crate) fn rate_key(&self) -> &str {
        self.rate_key.as_deref().unwrap_or("")
    }
}

fn since(at: i64, window_ms: u64) -> i64 {
    at.saturating_sub(i64::try_from(window_ms).unwrap_or(i64::MAX))
}

/// The row and journal events one start becomes.
pub(crate) struct Planned {
    /// `None` for a duplicate.
    pub record: Option<RunRecord>,
    pub events: Vec<EventKind>,
    /// An event for another run's journal: the active run a coalesced one went to.
    pub onto: Option<(String, EventKind)>,
    pub outcome: StartOutcome,
}

/// Applies the rules to one start.
pub(crate) fn plan(start: &QueuedStart, facts: &StartFacts) -> Planned {
    let record = &start.record;
    let id = record.id.clone();
    if let Some(existing) = &facts.existing {
        return Planned {
            record: None,
            events: Vec::new(),
            onto: None,
            outcome: StartOutcome::Duplicate {
                run_id: existing.clone(),
            },
        };
    }
    let mut row = record.clone();
    row.limit_key = start.rate_key().to_string();
    row.held = false;
    row.ended_at = None;
    row.head = None;
    // A worker's claim makes it someone's.
    row.owner = None;
    let queued = EventKind::RunQueued {
        runbook: row.runbook.clone(),
        started_by: row.started_by.clone(),
        inputs: row.inputs.clone(),
        run_id: id.clone(),
        digest: row.digest.clone(),
        trigger: row.trigger.clone(),
        shadow: row.shadow,
    };
    let key_text = |key: Option<&str>| match key {
        Some(key) if !key.is_empty() => format!(" for {key:?}"),
        _ => String::new(),
    };
    let coalesce_onto = |onto: &str, reason: String| {
        let mut row = row.clone();
        row.state = RunState::Coalesced;
        row.summary = reason.clone();
        row.ended_at = Some(row.started_at);
        let event = EventKind::RunCoalesced {
            run: id.clone(),
            onto: onto.to_string(),
            alert: row.alert.clone(),
        };
        Planned {
            record: Some(row),
            events: vec![
                queued.clone(),
                event.clone(),
                EventKind::RunFinished {
                    status: RunState::Coalesced.as_str().into(),
                    summary: reason,
                },
            ],
            onto: Some((onto.to_string(), event)),
            outcome: StartOutcome::Coalesced {
                run_id: id.clone(),
                onto: onto.to_string(),
            },
        }
    };
    if let (Some(max), Some(onto)) = (start.limits.concurrency, facts.active.first()) {
        if facts.active.len() as i64 >= i64::from(max) {
            let reason = format!(
                "coalesced onto {onto}: concurrency {max}{} reached",
                key_text(row.coalesce_key.as_deref())
            );
            return coalesce_onto(onto, reason);
        }
    }
    if let Some((max, window)) = start.limits.rate {
        if facts.recent >= i64::from(max) {
            let reason = format!(
                "rate {max} per {}{} reached: {} run(s) started in the window",
                crate::value::format_duration(window),
                key_text(start.rate_key.as_deref()),
                facts.recent
            );
            row.state = RunState::Suppressed;
            row.summary = reason.clone();
            row.ended_at = Some(row.started_at);
            return Planned {
                record: Some(row),
                events: vec![
                    queued,
                    EventKind::RunSuppressed {
                        reason: reason.clone(),
                    },
                    EventKind::RunFinished {
                        status: RunState::Suppressed.as_str().into(),
                        summary: reason.clone(),
                    },
                ],
                onto: None,
                outcome: StartOutcome::Suppressed { run_id: id, reason },
            };
        }
    }
    if let Some(storm) = start.storm {
        if let Some(held) = &facts.held {
            let reason = format!(
                "coalesced onto {held}: a storm of alerts holds this runbook until someone decides"
            );
            return coalesce_onto(held, reason);
        }
        if facts.distinct + 1 > i64::from(storm.max_distinct) {
            let reason = format!(
                "storm: {} distinct alerts within {} (more than {}); not started automatically, it waits for a human decision",
                facts.distinct + 1,
                crate::value::format_duration(storm.window_ms),
                storm.max_distinct
            );
            row.state = RunState::Waiting;
            row.summary = reason.clone();
            row.held = true;
            return Planned {
                record: Some(row),
                events: vec![queued, EventKind::RunHeld { reason }],
                onto: None,
                outcome: StartOutcome::StormHeld { run_id: id },
            };
        }
    }
    row.state = RunState::Queued;
    row.summary = String::new();
    Planned {
        record: Some(row),
        events: vec![queued],
        onto: None,
        outcome: StartOutcome::Queued { run_id: id },
    }
}

/// The events that cancel a queued run whose alert resolved.
pub(crate) fn cancel_events(reason: &str) -> Vec<EventKind> {
    vec![
        EventKind::RunCancelled {
            reason: reason.to_string(),
        },
        EventKind::RunFinished {
            status: RunState::Cancelled.as_str().into(),
            summary: reason.to_string(),
        },
    ]
}

/// A person's decision on a run held by the storm rule (see `Store::decide_hold`).
#[derive(Clone, Debug, PartialEq)]
pub struct HoldDecision {
    pub release: bool,
    /// The person deciding, and the channel ("cli", "slack", ...).
    pub by: String,
    pub via: String,
    pub at: i64,
}

impl HoldDecision {
    /// What the store journals for it, and the summary of a cancelled run.
    pub(crate) fn events(&self) -> (Vec<EventKind>, String) {
        if self.release {
            let event = EventKind::StormHoldReleased {
                by: self.by.clone(),
                via: self.via.clone(),
            };
            return (vec![event], String::new());
        }
        let reason = format!(
            "{} ({}) denied the run a storm of alerts held",
            self.by, self.via
        );
        (cancel_events(&reason), reason)
    }
}

pub(crate) const RESOLVED_BEFORE_START: &str = "its alert resolved before the run started";

/// ms since the epoch, for the times the store stamps itself (leases, events).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn expiry(lease_ms: u64) -> i64 {
    now_ms().saturating_add(i64::try_from(lease_ms).unwrap_or(i64::MAX))
}

/// The run's alert (stored typed, as `Value::to_stored` writes it) with its status set to
/// `resolved`, as a running run reads it next.
pub(crate) fn mark_alert_resolved(alert: &mut serde_json::Value) {
    let resolved = serde_json::json!({"t": "string", "v": "resolved"});
    match alert.get_mut("v").and_then(|v| v.as_object_mut()) {
        Some(fields) if fields.contains_key("status") => {
            fields.insert("status".into(), resolved);
        }
        _ => {
            if let Some(fields) = alert.as_object_mut() {
                if fields.contains_key("status") {
                    fields.insert("status".into(), "resolved".into());
                }
            }
        }
    }
}

/// Wakes workers in this process that wait for queued work: every store keeps one (PostgreSQL
/// also wakes it from a NOTIFY by another process); a worker waits at most
/// [`super::POLL_FALLBACK`], so work queued where no signal reaches is still found.
#[derive(Default)]
pub(crate) struct WorkSignal(tokio::sync::Notify);

impl WorkSignal {
    /// Wakes every waiting worker, and keeps a permit for the next when none waits.
    pub(crate) fn wake(&self) {
        self.0.notify_waiters();
        self.0.notify_one();
    }

    pub(crate) async fn wait(&self, max: std::time::Duration) {
        let _ = tokio::time::timeout(max.min(super::POLL_FALLBACK), self.0.notified()).await;
    }
}

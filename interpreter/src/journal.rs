//! The audit trail: an append-only list of events, each hash-chained to the one before so that
//! any edit shows.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::action::BoxFuture;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        runbook: String,
        started_by: String,
        inputs: serde_json::Value,
        /// The run this journal belongs to and the digest of the program it runs: hashed into
        /// the first event, so a journal moved under another run, or a run record edited after
        /// the fact, no longer matches. `None` only in journals written before rbk recorded them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        /// A `--dry-run`. Left out when false, so journals written before it hash the same.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dry_run: bool,
        /// A `mode shadow` run started by an alert or a schedule: it ran like a dry run.
        /// Left out when false, so journals written before it hash the same.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        shadow: bool,
    },
    /// The first event of a run the queue recorded (an alert, a schedule tick, a webhook): who
    /// and what it is for, as `RunStarted` says for a run started at once. A worker that
    /// claims it journals `RunStarted` next.
    RunQueued {
        runbook: String,
        started_by: String,
        inputs: serde_json::Value,
        run_id: String,
        digest: String,
        trigger: crate::store::RunTrigger,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        shadow: bool,
    },
    /// Another occurrence arrived while `concurrency N per KEY` was full: run `run` was
    /// recorded as coalesced onto this run (`onto`), and this is the alert it brought.
    RunCoalesced {
        run: String,
        onto: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alert: Option<serde_json::Value>,
    },
    /// Not started: a `rate` limit was reached.
    RunSuppressed {
        reason: String,
    },
    /// Not started automatically: a storm of distinct alerts; it waits for one human decision.
    RunHeld {
        reason: String,
    },
    /// A person let a run held by a storm start (`rbk approve RUN storm`): it is queued.
    StormHoldReleased {
        by: String,
        via: String,
    },
    /// Not started, or stopped before starting: e.g. its alert resolved while it was queued.
    RunCancelled {
        reason: String,
    },
    /// The worker that held the run's lease stopped renewing it: the run went back to the
    /// queue for another worker, which resumes it (finished steps never run again).
    RunTakenOver {
        from_worker: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to_worker: Option<String>,
    },
    /// A worker gave the run back (shutting down, or the run waits for a human).
    RunReleased {
        worker: String,
    },
    /// The alert that started this run resolved while the run was going: the run goes on.
    AlertResolved {
        trigger_key: String,
    },
    StepStarted {
        step: String,
        attempt: u32,
    },
    StepSucceeded {
        step: String,
    },
    /// The step failed for good: a final state.
    StepFailed {
        step: String,
        error: String,
    },
    /// An attempt failed and the step will be tried again (`retry`): not a final state.
    StepRetrying {
        step: String,
        attempt: u32,
        error: String,
    },
    StepSkipped {
        step: String,
        condition: String,
    },
    StepDenied {
        step: String,
    },
    ApprovalRequested {
        step: String,
        group: Option<String>,
        quorum: u32,
        actions: Vec<String>,
        digest: String,
        /// The gate's `timeout`: its deadline counts from the step's FIRST request, so a
        /// resumed run does not start the clock again. Left out when none, so journals written
        /// before it hash the same.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u64>,
        /// What happens at the deadline (`deny`, `approve`, `escalate`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_timeout: Option<String>,
        /// Each action the step will call with its resolved arguments, for approvers to read.
        /// Left out when empty, so journals written before it hash the same.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        planned: Vec<crate::present::PlannedAction>,
        /// The values the gate asks its approver for (`ask { ... }`). Left out when none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        asks: Vec<crate::asked_values::AskedValue>,
    },
    /// An answer as recorded by `rbk approve`/`deny` or the terminal prompt, written in the
    /// same transaction as the store's answer row: the run counts only answers journaled here.
    ApprovalAnswered {
        step: String,
        by: String,
        approve: bool,
        channel: String,
        digest: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        /// Where the answer came from: "slack U0123ABCD", "web 127.0.0.1 (token)",
        /// "cli alice@host".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// The values an approval gave for the gate's `ask` fields, as typed. Left out when none.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        values: crate::asked_values::GivenValues,
    },
    ApprovalGranted {
        step: String,
        by: Vec<String>,
        channel: String,
        /// The asked values the step runs with (`approval.NAME`). Left out when none.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        values: crate::asked_values::GivenValues,
    },
    ApprovalDenied {
        step: String,
        by: String,
        channel: String,
    },
    ApprovalTimedOut {
        step: String,
        outcome: String,
    },
    ApprovalWaived {
        step: String,
        reason: String,
    },
    ActionCalled {
        step: String,
        call: String,
        effect: String,
    },
    Log {
        step: String,
        message: String,
    },
    NotifyFailed {
        error: String,
    },
    EscalationSent {
        reason: String,
    },
    EscalationFailed {
        error: String,
    },
    /// A value the run will need if it resumes in another process (an input, a step's `let`),
    /// in the typed stored form; secrets by name only.
    Bound {
        step: String,
        name: String,
        value: serde_json::Value,
    },
    RunResumed {
        by: String,
        completed: Vec<String>,
        in_flight: Option<String>,
    },
    StepInDoubt {
        step: String,
        effect: String,
    },
    /// An in-doubt step was answered `done`: its effect is there, so it does not run again.
    StepMarkedDone {
        step: String,
        by: Vec<String>,
    },
    RunFinished {
        status: String,
        summary: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    #[serde(flatten)]
    pub kind: EventKind,
    pub prev_hash: String,
    pub hash: String,
}

/// Where a run's events go. An event that cannot be written stops the run: rbk never acts
/// without an audit trail.
pub trait Journal: Send + Sync {
    fn append<'a>(&'a self, at: i64, kind: EventKind) -> BoxFuture<'a, Result<(), JournalError>>;
}

/// Why an event was not journaled. The kinds matter to the caller: a worker whose lease was
/// lost stops quietly (another worker has the run), any other failure ends the run `failed`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum JournalError {
    /// The run's lease expired or another worker holds it: this worker must not write more.
    #[error(
        "lease lost: run {run_id} was taken from worker {worker} (its lease expired or another \
         worker holds it); this worker stops here"
    )]
    LeaseLost { run_id: String, worker: String },
    /// The store could not write it.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A journal that is not a store refused it (a live display, a test's journal), or the
    /// event could not be made fit to write (masking its secrets failed).
    #[error("{0}")]
    Refused(String),
}

impl JournalError {
    /// The same error with every secret in its text masked: it is shown and stored.
    pub fn masked(self, secrets: &crate::secrets::SecretMask) -> JournalError {
        match self {
            JournalError::LeaseLost { run_id, worker } => JournalError::LeaseLost {
                run_id: secrets.mask(&run_id),
                worker: secrets.mask(&worker),
            },
            JournalError::Store(error) => JournalError::Store(error.masked(secrets)),
            JournalError::Refused(reason) => JournalError::Refused(secrets.mask(&reason)),
        }
    }
}

/// SHA-256 of some text, as hex: how runs record which program text they execute.
pub fn text_digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash of an event: SHA-256 over the previous hash and the event's JSON.
pub fn event_hash(prev_hash: &str, seq: u64, at: i64, kind: &EventKind) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(seq.to_le_bytes());
    hasher.update(at.to_le_bytes());
    hasher.update(serde_json::to_vec(kind).unwrap_or_default());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first event whose chain is broken, if any.
pub fn verify_chain(events: &[Event]) -> Result<(), u64> {
    let mut prev = String::new();
    for event in events {
        if event.prev_hash != prev
            || event.hash != event_hash(&prev, event.seq, event.at, &event.kind)
        {
            return Err(event.seq);
        }
        prev = event.hash.clone();
    }
    Ok(())
}

/// A journal kept in memory: for tests and runs that need no persistence.
#[derive(Default)]
pub struct MemoryJournal {
    events: Mutex<Vec<Event>>,
}

impl MemoryJournal {
    pub fn push(&self, at: i64, kind: EventKind) {
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let seq = events.len() as u64;
        let prev_hash = events.last().map(|e| e.hash.clone()).unwrap_or_default();
        let hash = event_hash(&prev_hash, seq, at, &kind);
        events.push(Event {
            seq,
            at,
            kind,
            prev_hash,
            hash,
        });
    }

    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Journal for MemoryJournal {
    fn append<'a>(&'a self, at: i64, kind: EventKind) -> BoxFuture<'a, Result<(), JournalError>> {
        self.push(at, kind);
        Box::pin(async { Ok(()) })
    }
}

/// Several journals at once: the store and the live display, for example.
pub struct FanOut<'j>(pub Vec<&'j dyn Journal>);

impl Journal for FanOut<'_> {
    fn append<'a>(&'a self, at: i64, kind: EventKind) -> BoxFuture<'a, Result<(), JournalError>> {
        Box::pin(async move {
            for journal in &self.0 {
                journal.append(at, kind.clone()).await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_breaks_the_chain() {
        let journal = MemoryJournal::default();
        journal.push(
            1,
            EventKind::StepStarted {
                step: "a".into(),
                attempt: 1,
            },
        );
        journal.push(2, EventKind::StepSucceeded { step: "a".into() });
        journal.push(
            3,
            EventKind::RunFinished {
                status: "succeeded".into(),
                summary: String::new(),
            },
        );
        let mut events = journal.events();
        assert_eq!(verify_chain(&events), Ok(()));
        events[1].kind = EventKind::StepFailed {
            step: "a".into(),
            error: "edited".into(),
        };
        assert_eq!(verify_chain(&events), Err(1));
    }
}

//! What `rbk log --verify` checks: that a run's journal, its record and its answer rows agree.
//!
//! The hash chain shows an event edited in place. On its own it cannot show a removed tail, an
//! edited run record or a journal copied under another run, so the record anchors the head
//! (event count and last hash, written with each event), the first event names its run,
//! starter, inputs and program digest, the last event names the final status, and every
//! answer row must be an answer the journal recorded. What none of this can show is a journal
//! and record rewritten consistently by someone with write access to the store: for that, a
//! head kept elsewhere ([`ExportedHead`], `rbk log --export`) is compared with the journal.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::journal::{verify_chain, Event, EventKind};
use crate::store::{ApprovalAnswer, RunRecord, RunState};

/// The result of checking one run: problems found (any one means the trail cannot be
/// trusted) and notes (limits of what could be checked).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Audit {
    pub findings: Vec<String>,
    pub notes: Vec<String>,
}

impl Audit {
    pub fn is_intact(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Checks a run's journal against itself, its record and its answer rows.
pub fn verify_run(record: &RunRecord, events: &[Event], answers: &[ApprovalAnswer]) -> Audit {
    let mut audit = Audit::default();
    if let Err(seq) = verify_chain(events) {
        audit.findings.push(format!(
            "the hash chain breaks at event {seq}: the journal was changed after it was written"
        ));
    }
    let anchored = check_start(record, events, &mut audit);
    check_head(record, events, anchored, &mut audit);
    check_status(record, events, &mut audit);
    if anchored {
        check_answers(events, answers, &mut audit);
    } else if !answers.is_empty() {
        audit.notes.push(
            "answers were not journaled by the rbk that recorded this run, so its answer rows cannot be checked"
                .to_string(),
        );
    }
    audit
}

/// The first event must be this run's start (or, for a run the queue recorded, its queueing),
/// as the record describes it. Returns whether the journal was written by an rbk that binds
/// the record (the start names the run).
fn check_start(record: &RunRecord, events: &[Event], audit: &mut Audit) -> bool {
    let Some(first) = events.first() else {
        return record.head.is_some();
    };
    let (runbook, started_by, inputs, run_id, digest, dry_run, shadow) = match &first.kind {
        EventKind::RunStarted {
            runbook,
            started_by,
            inputs,
            run_id,
            digest,
            dry_run,
            shadow,
        } => (
            runbook,
            started_by,
            inputs,
            run_id.as_ref(),
            digest.as_ref(),
            *dry_run,
            *shadow,
        ),
        EventKind::RunQueued {
            runbook,
            started_by,
            inputs,
            run_id,
            digest,
            shadow,
            ..
        } => (
            runbook,
            started_by,
            inputs,
            Some(run_id),
            Some(digest),
            false,
            *shadow,
        ),
        _ => {
            audit.findings.push(
                "the journal does not begin with the run's start: its beginning is missing".into(),
            );
            return record.head.is_some();
        }
    };
    if let Some(run_id) = run_id {
        if run_id != &record.id {
            audit.findings.push(format!(
                "the journal belongs to run {run_id}, not {}: it was copied from another run",
                record.id
            ));
        }
    }
    let mut differs = |field: &str, journaled: String, recorded: String| {
        if journaled != recorded {
            audit.findings.push(format!(
                "the run record's {field} is {recorded} but the journal recorded {journaled}: the record was edited"
            ));
        }
    };
    differs("runbook", quoted(runbook), quoted(&record.runbook));
    differs("starter", quoted(started_by), quoted(&record.started_by));
    differs("inputs", inputs.to_string(), record.inputs.to_string());
    if let Some(digest) = digest {
        differs("program digest", quoted(digest), quoted(&record.digest));
    }
    // A dry run (or a shadow run) flipped to a real one in the record could be resumed into
    // performing what it only reported.
    differs(
        "dry-run flag",
        dry_run.to_string(),
        record.dry_run.to_string(),
    );
    differs("shadow flag", shadow.to_string(), record.shadow.to_string());
    run_id.is_some()
}

fn quoted(text: &str) -> String {
    format!("{text:?}")
}

/// The record's anchored head must be where the journal ends.
fn check_head(record: &RunRecord, events: &[Event], anchored: bool, audit: &mut Audit) {
    let last_hash = events.last().map_or("", |e| e.hash.as_str());
    match &record.head {
        Some(head) if head.events != events.len() as u64 => audit.findings.push(format!(
            "the run record anchors {} event{} but the journal has {}: events were removed (or added) outside rbk",
            head.events,
            if head.events == 1 { "" } else { "s" },
            events.len()
        )),
        Some(head) if head.hash != last_hash => audit.findings.push(
            "the journal's last hash is not the head the run record anchors: its tail was replaced".into(),
        ),
        Some(_) => {}
        None if anchored => audit.findings.push(
            "the run record's anchored head was removed, though the rbk that wrote this journal anchors one: the record was edited"
                .into(),
        ),
        None => audit.notes.push(
            "recorded by an rbk that did not anchor journal heads: a removed tail or an edited record cannot be detected for this run"
                .into(),
        ),
    }
}

/// The record's state must be the one the journal ends with. After the end, only what others
/// told the run may follow (an alert coalesced onto it or resolved just as it finished).
fn check_status(record: &RunRecord, events: &[Event], audit: &mut Audit) {
    let told = |kind: &EventKind| {
        matches!(
            kind,
            EventKind::RunCoalesced { .. } | EventKind::AlertResolved { .. }
        )
    };
    let last = events.iter().rev().find(|e| !told(&e.kind));
    let finished = last.and_then(|e| match &e.kind {
        EventKind::RunFinished { status, .. } => Some(status.as_str()),
        _ => None,
    });
    let state = record.state;
    // `rbk run` records a run its limits refuse with no journal at all.
    if state == RunState::Suppressed && events.is_empty() {
        return;
    }
    let journaled_state = finished.map(|s| (s, RunState::parse(s)));
    match journaled_state {
        Some((journaled, parsed)) if parsed != Some(state) && state.is_final() => {
            audit.findings.push(format!(
                "the run record's state is {state:?} but the journal ends with the run {journaled}: the record was edited",
                state = state.as_str()
            ))
        }
        // A process can die between journaling the end and saving the state; an edit to a
        // non-final state reads the same.
        Some((journaled, parsed)) if parsed != Some(state) => audit.findings.push(format!(
            "the run record's state is {state:?} but the journal ends with the run {journaled}: the record was edited, or the process died before saving the state",
            state = state.as_str()
        )),
        Some(_) => {}
        None if events.is_empty() && state.is_final() => audit.findings.push(format!(
            "the run record's state is {state:?} but the journal is empty: its events were removed",
            state = state.as_str()
        )),
        None if state.is_final() => audit.findings.push(format!(
            "the run record's state is {state:?} but the journal does not end with the run finishing: its tail was removed",
            state = state.as_str()
        )),
        None => {}
    }
}

/// Every answer row must be the last answer its author journaled for that step, and every
/// journaled answer must still have its row.
fn check_answers(events: &[Event], answers: &[ApprovalAnswer], audit: &mut Audit) {
    for row in answers {
        let journaled = events.iter().rev().find_map(|event| match &event.kind {
            EventKind::ApprovalAnswered {
                step,
                by,
                approve,
                channel,
                digest,
                comment,
                ..
            } if step == &row.step && by == &row.user => {
                Some((event.at, *approve, channel, digest, comment))
            }
            _ => None,
        });
        let verb = |approve: bool| if approve { "approve" } else { "deny" };
        match journaled {
            None => audit.findings.push(format!(
                "an answer row from {:?} for step `{}` ({}) is in the store but not in the journal: it was written outside rbk",
                row.user,
                row.step,
                verb(row.approve)
            )),
            Some((_, approve, _, _, _)) if approve != row.approve => audit.findings.push(format!(
                "the answer row from {:?} for step `{}` says {} but the journal recorded {}: the row was edited",
                row.user,
                row.step,
                verb(row.approve),
                verb(approve)
            )),
            Some((at, _, channel, digest, comment))
                if at != row.at
                    || channel != &row.channel
                    || digest != &row.digest
                    || comment != &row.comment =>
            {
                audit.findings.push(format!(
                    "the answer row from {:?} for step `{}` differs from the answer the journal recorded (time, channel, plan or comment): the row was edited",
                    row.user, row.step
                ))
            }
            Some(_) => {}
        }
    }
    for event in events {
        if let EventKind::ApprovalAnswered { step, by, .. } = &event.kind {
            if !answers.iter().any(|a| &a.step == step && &a.user == by) {
                audit.findings.push(format!(
                    "the journal recorded an answer from {by:?} for step `{step}` (event {}) that is no longer in the store: its row was deleted",
                    event.seq
                ));
            }
        }
    }
}

/// A run's head as exported by `rbk log RUN --export`: kept outside the store (a ticket, a
/// chat message, a write-once bucket), it shows a journal rewritten later, consistently,
/// by someone who could write to the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedHead {
    pub format: String,
    pub run: String,
    pub events: u64,
    pub head: String,
    /// HMAC-SHA256 of [`ExportedHead::signed_text`], hex, when a key was configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<String>,
}

pub const HEAD_FORMAT: &str = "rbk-head-v1";

impl ExportedHead {
    /// The head of `events`, signed with `key` when there is one.
    pub fn of(run: &str, events: &[Event], key: Option<&[u8]>) -> ExportedHead {
        let mut head = ExportedHead {
            format: HEAD_FORMAT.to_string(),
            run: run.to_string(),
            events: events.len() as u64,
            head: events.last().map(|e| e.hash.clone()).unwrap_or_default(),
            hmac: None,
        };
        head.hmac = key.map(|key| hmac_sha256(key, head.signed_text().as_bytes()));
        head
    }

    /// What the HMAC covers: the format, the run and its head, one per line.
    pub fn signed_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.format, self.run, self.events, self.head
        )
    }

    /// Compares a journal with this head, exported earlier: the journal may have grown since
    /// (a run still going), but what was there must still be there.
    pub fn check(&self, run: &str, events: &[Event], key: Option<&[u8]>) -> Vec<String> {
        let mut findings = Vec::new();
        if self.format != HEAD_FORMAT {
            findings.push(format!(
                "the anchor's format is {:?}, not {HEAD_FORMAT:?}",
                self.format
            ));
        }
        if self.run != run {
            findings.push(format!("the anchor is for run {}, not {run}", self.run));
        }
        match (&self.hmac, key) {
            (Some(hmac), Some(key)) if *hmac != hmac_sha256(key, self.signed_text().as_bytes()) => {
                findings.push(
                    "the anchor's HMAC does not match its contents: the anchor was edited, or signed with another key"
                        .into(),
                )
            }
            _ => {}
        }
        if (events.len() as u64) < self.events {
            findings.push(format!(
                "the journal has {} events but the anchor exported earlier had {}: events were removed",
                events.len(),
                self.events
            ));
        } else {
            let at_anchor = match self.events {
                0 => "",
                n => events[(n - 1) as usize].hash.as_str(),
            };
            if at_anchor != self.head {
                findings.push(format!(
                    "event {}'s hash is not the one the anchor recorded: the journal was rewritten after the anchor was exported",
                    self.events.saturating_sub(1)
                ));
            }
        }
        findings
    }
}

/// HMAC-SHA256 (RFC 2104) as hex.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut block_key = if key.len() > BLOCK {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    block_key.resize(BLOCK, 0);
    let pad = |byte: u8| -> Vec<u8> { block_key.iter().map(|b| b ^ byte).collect() };
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        assert_eq!(
            hmac_sha256(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

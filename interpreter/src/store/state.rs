//! A run's state and what started it: typed, so that every store, the queue and `rbk runs`
//! agree on the nine states and on which of them are over.

use serde::{Deserialize, Serialize};

/// Where a run is. `Queued`, `Running`, `Waiting` and `InDoubt` are active (the run still holds
/// its `concurrency` slot); the other five are final: a run in one never changes again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Recorded, not yet claimed by a worker.
    Queued,
    Running,
    /// Stopped for a human: an approval, or a storm hold.
    Waiting,
    Succeeded,
    /// Ended without succeeding: a failed step, a denial or an approval that timed out (the
    /// summary says which). Stores written by an older rbk say "denied" or "timed out".
    #[serde(alias = "denied", alias = "timed out")]
    Failed,
    /// The alert resolved (or someone cancelled it) before it started.
    Cancelled,
    /// Not started: a `rate` (or, for `rbk run`, a `concurrency`) limit was reached.
    Suppressed,
    /// Not started: `concurrency N per KEY` was full, so its alert went to the active run.
    Coalesced,
    /// A write or destructive step was running when its process died: a human decides.
    InDoubt,
}

impl RunState {
    pub const ALL: [RunState; 9] = [
        RunState::Queued,
        RunState::Running,
        RunState::Waiting,
        RunState::Succeeded,
        RunState::Failed,
        RunState::Cancelled,
        RunState::Suppressed,
        RunState::Coalesced,
        RunState::InDoubt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Waiting => "waiting",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
            RunState::Suppressed => "suppressed",
            RunState::Coalesced => "coalesced",
            RunState::InDoubt => "in_doubt",
        }
    }

    /// The state a stored or typed name means, including the names older stores and journals
    /// use: "denied" and "timed out" are failures, "in doubt" is `in_doubt`.
    pub fn parse(name: &str) -> Option<RunState> {
        Some(match name.trim() {
            "queued" => RunState::Queued,
            "running" => RunState::Running,
            "waiting" => RunState::Waiting,
            "succeeded" => RunState::Succeeded,
            "failed" | "denied" | "timed out" => RunState::Failed,
            "cancelled" | "canceled" => RunState::Cancelled,
            "suppressed" => RunState::Suppressed,
            "coalesced" => RunState::Coalesced,
            "in_doubt" | "in doubt" | "in-doubt" => RunState::InDoubt,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        !self.is_active()
    }

    /// Still going: it holds its `concurrency` slot and can receive coalesced alerts.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RunState::Queued | RunState::Running | RunState::Waiting | RunState::InDoubt
        )
    }

    /// Every stored name of an active state, older spellings included: what a query for "not
    /// ended yet" must match.
    pub fn active_stored_names() -> Vec<&'static str> {
        RunState::ALL
            .into_iter()
            .filter(|state| state.is_active())
            .flat_map(|state| state.stored_names().iter().copied())
            .collect()
    }

    /// Every name under which this state may be stored, older ones included: what a query for
    /// the state must match.
    pub fn stored_names(self) -> &'static [&'static str] {
        match self {
            RunState::Failed => &["failed", "denied", "timed out"],
            RunState::Queued => &["queued"],
            RunState::Running => &["running"],
            RunState::Waiting => &["waiting"],
            RunState::Succeeded => &["succeeded"],
            RunState::Cancelled => &["cancelled"],
            RunState::Suppressed => &["suppressed"],
            RunState::Coalesced => &["coalesced"],
            RunState::InDoubt => &["in_doubt"],
        }
    }

    /// The names of the active states, for SQL.
    pub fn active_names() -> Vec<&'static str> {
        RunState::ALL
            .iter()
            .filter(|s| s.is_active())
            .map(|s| s.as_str())
            .collect()
    }
}

/// A stored status no [`RunState`] has: written by a newer rbk, or edited by hand. Reading it is
/// an error rather than a guess: a guessed state could let this rbk resume, cancel or finish a
/// run it does not understand.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown run status `{name}` (a newer rbk may have written it)")]
pub struct UnknownRunState {
    pub name: String,
}

impl std::str::FromStr for RunState {
    type Err = UnknownRunState;

    /// The state a stored or typed name means, older spellings included (see [`RunState::parse`]).
    fn from_str(name: &str) -> Result<RunState, UnknownRunState> {
        RunState::parse(name).ok_or_else(|| UnknownRunState {
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What started a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// `rbk run` (or another person's command).
    #[default]
    Manual,
    Alert,
    Schedule,
    Webhook,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Manual => "manual",
            TriggerKind::Alert => "alert",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Webhook => "webhook",
        }
    }

    pub fn parse(name: &str) -> Option<TriggerKind> {
        Some(match name {
            "manual" => TriggerKind::Manual,
            "alert" => TriggerKind::Alert,
            "schedule" => TriggerKind::Schedule,
            "webhook" => TriggerKind::Webhook,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTrigger {
    pub kind: TriggerKind,
    /// The alert or webhook name, or the cron text of a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The alert's fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// What makes two starts the same start: an alert's occurrence key
    /// (`fingerprint|startsAt`), `schedule|<tick RFC 3339>`, or the run id for a manual run.
    /// At most one run per runbook has a given key, across processes. `""` in runs recorded
    /// before rbk had triggers.
    #[serde(default)]
    pub key: String,
}

impl RunTrigger {
    /// A run started by hand: its key is its own id, so it never collides.
    pub fn manual(run_id: &str) -> RunTrigger {
        RunTrigger {
            kind: TriggerKind::Manual,
            name: None,
            fingerprint: None,
            key: run_id.to_string(),
        }
    }

    /// The start of one schedule tick: `schedule|<tick RFC 3339>`.
    pub fn schedule(cron: &str, tick_ms: i64) -> RunTrigger {
        RunTrigger {
            kind: TriggerKind::Schedule,
            name: Some(cron.to_string()),
            fingerprint: None,
            key: format!("schedule|{}", crate::value::format_time(tick_ms)),
        }
    }

    /// How `rbk runs` names it: `alert PoolExhausted 3f2a9c1b`, `schedule */5 * * * *`,
    /// `webhook deploys`, `manual`.
    pub fn describe(&self) -> String {
        let mut text = self.kind.as_str().to_string();
        if let Some(name) = &self.name {
            text.push(' ');
            text.push_str(name);
        }
        if let Some(fingerprint) = &self.fingerprint {
            text.push(' ');
            text.extend(fingerprint.chars().take(8));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_its_name_and_json() {
        for state in RunState::ALL {
            assert_eq!(RunState::parse(state.as_str()), Some(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(serde_json::from_str::<RunState>(&json).unwrap(), state);
            assert!(state.stored_names().contains(&state.as_str()));
        }
    }

    #[test]
    fn names_older_stores_wrote_read_sensibly() {
        assert_eq!(RunState::parse("denied"), Some(RunState::Failed));
        assert_eq!(RunState::parse("timed out"), Some(RunState::Failed));
        assert_eq!("running".parse(), Ok(RunState::Running));
        assert_eq!("waiting".parse(), Ok(RunState::Waiting));
        assert_eq!(
            serde_json::from_str::<RunState>("\"timed out\"").unwrap(),
            RunState::Failed
        );
        let unknown = "exploded".parse::<RunState>().unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown run status `exploded` (a newer rbk may have written it)"
        );
    }

    #[test]
    fn exactly_four_states_are_active() {
        // The stores' SQL (the `rbk_runs_active` partial index and the queries that use it)
        // writes these four out.
        assert_eq!(
            RunState::active_names(),
            ["queued", "running", "waiting", "in_doubt"]
        );
        let active: Vec<_> = RunState::ALL.iter().filter(|s| s.is_active()).collect();
        assert_eq!(active.len(), 4);
        assert!(RunState::Coalesced.is_final() && RunState::Cancelled.is_final());
    }

    #[test]
    fn triggers_describe_themselves_briefly() {
        let alert = RunTrigger {
            kind: TriggerKind::Alert,
            name: Some("PoolExhausted".into()),
            fingerprint: Some("3f2a9c1b77aa".into()),
            key: "3f2a9c1b77aa|2026-12-02T01:00:00Z".into(),
        };
        assert_eq!(alert.describe(), "alert PoolExhausted 3f2a9c1b");
        assert_eq!(RunTrigger::manual("r-1").describe(), "manual");
    }
}

//! The alerts a `test` block delivers, decided the way `rbk serve` decides them, in memory: a
//! repeated occurrence is a duplicate; an alert the trigger's name or `where` turns away starts
//! nothing; `concurrency N [per KEY]` full → the alert joins (is coalesced onto) the active
//! run; `rate N per D [by KEY]` used up → suppressed; otherwise a run starts.
//!
//! Alerts of one `run NAME alerts [...]` arrive together (one webhook payload), so the runs
//! they start are all active while the later ones are decided. A `run` line after another
//! comes once the earlier runs have finished.

use std::collections::{BTreeMap, HashSet};

use crate::alerts::{label_fingerprint, TriggerMatch};
use crate::store::RunLimits;
use crate::value::{format_time, Value};

/// When a test's first alert started firing; the n-th alert of a test starts n seconds later,
/// so two alerts the test does not tell apart are two occurrences, not a re-delivery.
pub(super) const FIRST_ALERT_AT: i64 = 1_764_072_000_000;

/// What became of one alert.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Decision {
    Start,
    Coalesced,
    Suppressed(String),
    Rejected(String),
    Duplicate,
}

/// Every alert a test delivered and what became of it.
#[derive(Default)]
pub(super) struct Ledger {
    delivered: usize,
    occurrences: HashSet<String>,
    /// Runs started: runbook, test-clock time, rate key.
    starts: Vec<(String, i64, Option<String>)>,
    pub triggered: u64,
    pub coalesced: u64,
    pub suppressed: u64,
    /// One line per alert, for failure messages: "alert 2 (db=orders): coalesced".
    pub log: Vec<String>,
}

impl Ledger {
    /// The alert a test's run sees: what the test gave, over defaults (the trigger's name, no
    /// labels or annotations, firing, a start one second after the previous alert's, the
    /// fingerprint Alertmanager would compute from the labels).
    pub fn alert_value(&mut self, trigger: &str, given: Option<Value>) -> Value {
        let index = self.delivered;
        self.delivered += 1;
        let mut alert = BTreeMap::new();
        alert.insert("name".to_string(), Value::str(trigger));
        alert.insert("labels".to_string(), Value::Map(BTreeMap::new()));
        alert.insert("annotations".to_string(), Value::Map(BTreeMap::new()));
        alert.insert("status".to_string(), Value::str("firing"));
        alert.insert(
            "starts_at".to_string(),
            Value::Time(FIRST_ALERT_AT + index as i64 * 1000),
        );
        alert.insert("ends_at".to_string(), Value::None);
        if let Some(Value::Record(fields) | Value::Map(fields)) = given {
            alert.extend(fields);
        }
        if !alert.contains_key("fingerprint") {
            let labels: BTreeMap<String, String> = match alert.get("labels") {
                Some(Value::Map(labels) | Value::Record(labels)) => labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
                _ => BTreeMap::new(),
            };
            alert.insert(
                "fingerprint".to_string(),
                Value::str(label_fingerprint(&labels)),
            );
        }
        Value::Record(alert)
    }

    /// Whether this occurrence (fingerprint, starts_at) was delivered before in this test.
    pub fn is_duplicate(&mut self, runbook: &str, alert: &Value) -> bool {
        let field = |name: &str| match alert {
            Value::Record(fields) => fields.get(name).map(Value::to_string).unwrap_or_default(),
            _ => String::new(),
        };
        let key = format!("{runbook}|{}|{}", field("fingerprint"), field("starts_at"));
        !self.occurrences.insert(key)
    }

    /// Concurrency, then rate, for an alert the trigger took. `active` holds the concurrency
    /// keys of the runs started by earlier alerts of the same delivery (still running).
    pub fn admit(
        &mut self,
        runbook: &str,
        found: &TriggerMatch,
        limits: &RunLimits,
        active: &[Option<String>],
        now: i64,
    ) -> Decision {
        if let Some(limit) = limits.concurrency {
            let running = active
                .iter()
                .filter(|key| **key == found.concurrency_key)
                .count();
            if running >= limit as usize {
                return Decision::Coalesced;
            }
        }
        if let Some((limit, window)) = limits.rate {
            let since = now - window as i64;
            let started = self
                .starts
                .iter()
                .filter(|(r, at, key)| r == runbook && *at > since && *key == found.rate_key)
                .count();
            if started >= limit as usize {
                let key = found
                    .rate_key
                    .as_deref()
                    .map(|k| format!(" for `{k}`"))
                    .unwrap_or_default();
                return Decision::Suppressed(format!(
                    "{started} run{} already started{key} within {}",
                    if started == 1 { "" } else { "s" },
                    crate::value::format_duration(window)
                ));
            }
        }
        self.starts
            .push((runbook.to_string(), now, found.rate_key.clone()));
        Decision::Start
    }

    /// Counts the decision and logs it for failure messages.
    pub fn record(&mut self, alert: &Value, decision: &Decision) {
        let what = match decision {
            Decision::Start => {
                self.triggered += 1;
                "started a run".to_string()
            }
            Decision::Coalesced => {
                self.coalesced += 1;
                "coalesced onto the active run (`concurrency` is full)".to_string()
            }
            Decision::Suppressed(why) => {
                self.suppressed += 1;
                format!("suppressed by `rate`: {why}")
            }
            Decision::Rejected(why) => format!("not triggered: {why}"),
            Decision::Duplicate => {
                "a re-delivery of an earlier alert (same fingerprint and starts_at): ignored"
                    .to_string()
            }
        };
        self.log.push(format!(
            "alert {} ({}): {what}",
            self.log.len() + 1,
            describe(alert)
        ));
    }
}

/// `PostgresConnectionsHigh db=orders, starts_at 2025-11-25T12:00:00Z`.
fn describe(alert: &Value) -> String {
    let Value::Record(fields) = alert else {
        return alert.to_string();
    };
    let mut text = fields.get("name").map(Value::to_string).unwrap_or_default();
    if let Some(Value::Map(labels) | Value::Record(labels)) = fields.get("labels") {
        for (k, v) in labels {
            text.push_str(&format!(" {k}={v}"));
        }
    }
    if let Some(Value::Time(at)) = fields.get("starts_at") {
        text.push_str(&format!(", starts_at {}", format_time(*at)));
    }
    text
}

//! One payload in, one store transaction out: every alert recorded, every runbook it concerns
//! asked, every start, duplicate, coalescing, suppression and cancellation decided by the store
//! in one `ingest`. The HTTP answer is given only after that commit.

use rbk_interpreter::alerts::{AlertPayload, AlertStatus};
use rbk_interpreter::start::{self, InputSource, StartSpec};
use rbk_interpreter::store::{
    AlertRow, Intake, IntakeReport, QueuedStart, RunTrigger, StartOutcome, TriggerKind,
};
use serde_json::{json, Value};

use crate::log;
use crate::matching::{self, Verdict};
use crate::metrics::Metrics;
use crate::state::Server;

/// Where a payload came from.
pub struct Source {
    /// `alertmanager` or `webhook:NAME`: the alert rows' source.
    pub name: String,
    /// Who the runs it starts are started by.
    pub started_by: String,
    pub kind: TriggerKind,
}

/// Why nothing was committed: the store failed (the sender should retry: 503).
pub struct StoreTrouble(pub String);

/// Decides what the payload causes and commits it; the answer says what happened to each alert.
pub async fn take_in(
    server: &Server,
    source: &Source,
    payload: &AlertPayload,
) -> Result<Value, StoreTrouble> {
    let catalog = server.catalog();
    let now = log::now_ms();
    let mut intake = Intake {
        alerts: Vec::new(),
        starts: Vec::new(),
        resolved: Vec::new(),
    };
    // Beside `intake.starts`: which runbook and alert each start is for.
    let mut start_of: Vec<(String, String)> = Vec::new();
    let mut not_started: Vec<Value> = Vec::new();
    let no_inputs = json!({});
    for alert in &payload.alerts {
        let mut body = serde_json::to_value(alert).unwrap_or(Value::Null);
        if payload.truncated_alerts > 0 {
            // The store keeps what was cut with each alert of the payload that said so.
            body["truncatedAlerts"] = payload.truncated_alerts.into();
        }
        if let Some(group_key) = &payload.group_key {
            body["groupKey"] = group_key.clone().into();
        }
        intake.alerts.push(AlertRow {
            source: source.name.clone(),
            fingerprint: alert.fingerprint.clone(),
            starts_at: alert.starts_at,
            status: status_text(alert.status).into(),
            body,
            received_at: now,
        });
        if alert.status == AlertStatus::Resolved {
            for entry in matching::named(&catalog, alert) {
                intake
                    .resolved
                    .push((entry.name.clone(), alert.occurrence_key()));
            }
            continue;
        }
        for verdict in matching::verdicts(&catalog, alert).await {
            let (entry, matched) = match verdict {
                Verdict::Start(entry, matched) => (entry, matched),
                Verdict::Error(entry, reason) => {
                    let reason = reason.to_string();
                    log::warn(
                        "trigger_error",
                        json!({"runbook": entry.name, "alert": alert.name, "fingerprint": alert.fingerprint, "reason": reason}),
                    );
                    not_started.push(json!({"runbook": entry.name, "fingerprint": alert.fingerprint, "reason": reason}));
                    continue;
                }
            };
            let file = catalog.file(entry);
            let spec = StartSpec {
                program: &file.program,
                file: &file.path,
                runbook: Some(&entry.name),
                inputs: InputSource::Json(&no_inputs),
                trigger: RunTrigger {
                    kind: source.kind,
                    name: Some(alert.name.clone()),
                    fingerprint: Some(alert.fingerprint.clone()),
                    key: alert.occurrence_key(),
                },
                alert: Some(alert.to_value()),
                started_by: source.started_by.clone(),
                dry_run: false,
                shadow: entry.shadow,
            };
            let prepared = match start::prepare(spec) {
                Ok(prepared) => prepared,
                Err(error) => {
                    let reason = error.to_string();
                    log::warn(
                        "start_refused",
                        json!({"runbook": entry.name, "alert": alert.name, "fingerprint": alert.fingerprint, "reason": reason}),
                    );
                    not_started.push(json!({"runbook": entry.name, "fingerprint": alert.fingerprint, "reason": reason}));
                    continue;
                }
            };
            let mut record = prepared.record;
            if record.alert.is_none() {
                record.alert = serde_json::to_value(alert).ok();
            }
            if record.coalesce_key.is_none() {
                record.coalesce_key = matched.concurrency_key.clone();
            }
            start_of.push((entry.name.clone(), alert.fingerprint.clone()));
            intake.starts.push(QueuedStart {
                record,
                limits: prepared.limits,
                rate_key: matched.rate_key,
                storm: server.settings.storm,
            });
        }
    }
    if payload.truncated_alerts > 0 {
        log::warn(
            "alerts_truncated",
            json!({"source": source.name, "truncatedAlerts": payload.truncated_alerts, "groupKey": payload.group_key, "received": payload.alerts.len()}),
        );
    }
    let report = match server.store.ingest(&intake).await {
        Ok(report) => report,
        Err(error) => {
            log::error(
                "intake_failed",
                json!({"source": source.name, "alerts": payload.alerts.len(), "error": error.to_string()}),
            );
            return Err(StoreTrouble(error.to_string()));
        }
    };
    count(&server.metrics, payload.alerts.len(), &report);
    let starts: Vec<Value> = report
        .starts
        .iter()
        .enumerate()
        .map(|(i, outcome)| {
            let (runbook, fingerprint) = start_of.get(i).cloned().unwrap_or_default();
            let mut line = describe(outcome);
            line["runbook"] = runbook.into();
            line["fingerprint"] = fingerprint.into();
            log::info("start_decided", line.clone());
            line
        })
        .collect();
    for run in &report.cancelled {
        log::info(
            "run_cancelled",
            json!({"run": run, "reason": "its alert resolved", "source": source.name}),
        );
    }
    let answer = json!({
        "alerts": payload.alerts.len(),
        "new_alerts": report.new_alerts,
        "duplicate_alerts": report.duplicate_alerts,
        "truncated_alerts": payload.truncated_alerts,
        "starts": starts,
        "not_started": not_started,
        "cancelled": report.cancelled,
    });
    log::info(
        "intake",
        json!({"source": source.name, "alerts": payload.alerts.len(), "new": report.new_alerts, "duplicates": report.duplicate_alerts, "starts": report.starts.len(), "cancelled": report.cancelled.len()}),
    );
    Ok(answer)
}

fn status_text(status: AlertStatus) -> &'static str {
    match status {
        AlertStatus::Firing => "firing",
        AlertStatus::Resolved => "resolved",
    }
}

fn count(metrics: &Metrics, received: usize, report: &IntakeReport) {
    Metrics::add(&metrics.alerts_received, received as u64);
    Metrics::add(&metrics.alerts_duplicate, report.duplicate_alerts as u64);
    for outcome in &report.starts {
        match outcome {
            StartOutcome::Coalesced { .. } => Metrics::add(&metrics.runs_coalesced, 1),
            StartOutcome::Suppressed { .. } => Metrics::add(&metrics.runs_suppressed, 1),
            _ => {}
        }
    }
}

fn describe(outcome: &StartOutcome) -> Value {
    match outcome {
        StartOutcome::Queued { run_id } => json!({"outcome": "queued", "run": run_id}),
        StartOutcome::Duplicate { run_id } => json!({"outcome": "duplicate", "run": run_id}),
        StartOutcome::Coalesced { run_id, onto } => {
            json!({"outcome": "coalesced", "run": run_id, "onto": onto})
        }
        StartOutcome::Suppressed { run_id, reason } => {
            json!({"outcome": "suppressed", "run": run_id, "reason": reason})
        }
        StartOutcome::StormHeld { run_id } => json!({"outcome": "storm_held", "run": run_id}),
    }
}

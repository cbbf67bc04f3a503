use rbk_interpreter::journal::{verify_chain, EventKind};
use rbk_interpreter::value::format_time;

use super::check::usage_error;
use super::session;
use crate::{exit, Format};

/// `rbk runs`: the most recent runs in the store.
pub fn list(store: Option<&str>, limit: usize) -> u8 {
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    runtime.block_on(async {
        let store = match session::store_here(store).await {
            Ok(store) => store,
            Err(message) => return usage_error(&message),
        };
        let runs = match store.runs(limit).await {
            Ok(runs) => runs,
            Err(error) => return usage_error(&error.to_string()),
        };
        if runs.is_empty() {
            println!("no runs yet");
            return exit::OK;
        }
        println!(
            "{:<24} {:<22} {:<11} {:<12} {:<20} summary",
            "run", "runbook", "status", "started by", "started at"
        );
        for run in runs {
            let dry = if run.dry_run { "(dry run) " } else { "" };
            println!(
                "{:<24} {:<22} {:<11} {:<12} {:<20} {dry}{}",
                run.id,
                run.runbook,
                run.shown_status(),
                run.started_by,
                format_time(run.started_at),
                run.summary
            );
        }
        exit::OK
    })
}

/// `rbk log RUN`: the run's journal; `--verify` checks its hash chain.
pub fn log(run: &str, store: Option<&str>, format: Format, verify: bool) -> u8 {
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    runtime.block_on(async {
        let (store, record) = match session::find_run(store, run).await {
            Ok(found) => found,
            Err(message) => return usage_error(&message),
        };
        let events = match store.events(&record.id).await {
            Ok(events) => events,
            Err(error) => return usage_error(&error.to_string()),
        };
        let chain = verify_chain(&events);
        if format == Format::Json {
            let document = serde_json::json!({ "run": record, "events": events, "chain_intact": chain.is_ok() });
            println!("{}", serde_json::to_string_pretty(&document).unwrap_or_default());
        } else {
            println!("run {} — {} ({})", record.id, record.runbook, record.file);
            let dry = if record.dry_run { " (a dry run)" } else { "" };
            println!("started by {} at {}; status {}{dry}", record.started_by, format_time(record.started_at), record.shown_status());
            if !record.summary.is_empty() {
                println!("summary: {}", record.summary);
            }
            println!();
            for event in &events {
                println!("{:>4}  {}  {}", event.seq, format_time(event.at), line(&event.kind));
            }
        }
        match chain {
            Ok(()) => {
                if verify {
                    println!("journal intact: {} events, hash chain verified", events.len());
                }
                exit::OK
            }
            Err(seq) => {
                println!("TAMPERED: the hash chain breaks at event {seq}; the journal was changed after it was written");
                exit::FINDINGS
            }
        }
    })
}

fn line(kind: &EventKind) -> String {
    let json = serde_json::to_value(kind).unwrap_or_default();
    let name = json
        .get("event")
        .and_then(|v| v.as_str())
        .unwrap_or("event")
        .replace('_', " ");
    let details: Vec<String> = json
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.as_str() != "event")
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    format!("{name:<18} {}", details.join("  "))
}

use std::path::Path;

use rbk_interpreter::audit::ExportedHead;
use rbk_interpreter::journal::{verify_chain, EventKind};
use rbk_interpreter::value::format_time;

use super::check::usage_error;
use super::{head, session};
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

/// `rbk log RUN`: the run's journal; `--verify` checks it against itself, its record, its
/// answers, and (`--anchor`) a head exported earlier.
pub fn log(
    run: &str,
    store: Option<&str>,
    format: Format,
    verify: bool,
    anchor: Option<&Path>,
) -> u8 {
    let anchor = match anchor.map(read_anchor).transpose() {
        Ok(anchor) => anchor,
        Err(message) => return usage_error(&message),
    };
    let key = match anchor.as_ref().map(|_| head::head_key()).transpose() {
        Ok(key) => key.flatten(),
        Err(message) => return usage_error(&message),
    };
    if anchor.as_ref().is_some_and(|a| a.hmac.is_some()) && key.is_none() {
        return usage_error("the anchor is signed, but no key to check it is configured\n  help: name the key's environment variable in rbk.toml: [audit] head_key_env = \"NAME\"");
    }
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    runtime.block_on(async {
        let (store, record) = match session::find_run(store, run).await {
            Ok(found) => found,
            Err(message) => return usage_error(&message),
        };
        let (events, mut audit) = match session::audited_journal(store.as_ref(), &record).await {
            Ok(journal) => journal,
            Err(message) => return usage_error(&message),
        };
        if let Some(anchor) = &anchor {
            audit.findings.extend(anchor.check(&record.id, &events, key.as_deref()));
        }
        if format == Format::Json {
            let document = serde_json::json!({
                "run": record,
                "events": events,
                "chain_intact": verify_chain(&events).is_ok(),
                "intact": audit.is_intact(),
                "findings": audit.findings,
                "notes": audit.notes,
            });
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
            for note in &audit.notes {
                println!("note: {note}");
            }
            for finding in &audit.findings {
                println!("TAMPERED: {finding}");
            }
        }
        if !audit.is_intact() {
            return exit::FINDINGS;
        }
        if verify && format == Format::Human {
            let anchored = if anchor.is_some() { ", the exported anchor" } else { "" };
            println!(
                "journal intact: {} events, hash chain verified; it agrees with the run record, its answers{anchored} and its anchored head",
                events.len()
            );
        }
        exit::OK
    })
}

fn read_anchor(path: &Path) -> Result<ExportedHead, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--anchor {}: {e}", path.display()))?;
    serde_json::from_str(text.trim()).map_err(|e| {
        format!(
            "--anchor {}: not a head printed by `rbk log RUN --export`: {e}",
            path.display()
        )
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

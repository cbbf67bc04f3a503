use std::path::Path;

use rbk_interpreter::audit::ExportedHead;
use rbk_interpreter::journal::{verify_chain, EventKind};
use rbk_interpreter::store::{RunQuery, RunRecord, RunState};
use rbk_interpreter::value::format_time;

use super::check::usage_error;
use super::{head, session};
use crate::{exit, Format};

pub struct RunsArgs<'a> {
    pub store: Option<&'a str>,
    pub limit: usize,
    pub format: Format,
    /// `queued`, `running`, … `in_doubt`.
    pub state: Option<&'a str>,
    pub runbook: Option<&'a str>,
}

/// `rbk runs`: the most recent runs in the store, with their state and what started them.
pub fn list(args: RunsArgs<'_>) -> u8 {
    let state = match args.state.map(parse_state).transpose() {
        Ok(state) => state,
        Err(message) => return usage_error(&message),
    };
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    runtime.block_on(async {
        let store = match session::store_here(args.store).await {
            Ok(store) => store,
            Err(message) => return usage_error(&message),
        };
        let query = RunQuery {
            limit: args.limit,
            state,
            runbook: args.runbook.map(str::to_string),
        };
        let runs = match store.list_runs(&query).await {
            Ok(runs) => runs,
            Err(error) => return usage_error(error.to_string()),
        };
        if args.format == Format::Json {
            let rows: Vec<serde_json::Value> = runs.iter().map(run_json).collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            );
            return exit::OK;
        }
        if runs.is_empty() {
            println!(
                "{}",
                if state.is_some() || args.runbook.is_some() {
                    "no runs match"
                } else {
                    "no runs yet"
                }
            );
            return exit::OK;
        }
        println!(
            "{:<26} {:<11} {:<22} {:<30} {:<12} {:<20} {:<20} summary",
            "run", "state", "runbook", "trigger", "started by", "started", "ended"
        );
        for run in runs {
            let mode = match (run.dry_run, run.shadow) {
                (true, _) => "(dry run) ",
                (false, true) => "(shadow) ",
                _ => "",
            };
            let line = format!(
                "{:<26} {:<11} {:<22} {:<30} {:<12} {:<20} {:<20} {mode}{}",
                run.id,
                run.shown_status(),
                run.runbook,
                run.trigger.describe(),
                run.started_by,
                format_time(run.started_at),
                run.ended_at.map(format_time).unwrap_or_else(|| "-".into()),
                run.summary
            );
            println!("{}", line.trim_end());
        }
        exit::OK
    })
}

fn parse_state(name: &str) -> Result<RunState, UnknownState> {
    RunState::parse(name).ok_or_else(|| UnknownState(name.to_string()))
}

/// `--state NAME` that is not a run state.
#[derive(Debug, thiserror::Error)]
#[error(
    "--state `{0}` is not a run state; the states are: {states}",
    states = RunState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
)]
struct UnknownState(String);

/// A run for `rbk runs --format json`: its record, and the state as shown (`interrupted` for a
/// running run whose process died).
fn run_json(run: &RunRecord) -> serde_json::Value {
    let mut value = serde_json::to_value(run).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        // The alert as the runbook reads it, not in the store's typed form (secrets by name).
        if let Some(alert) = &run.alert {
            let plain = rbk_interpreter::Value::from_stored(alert, &|name| {
                Some(format!("<secret {name}>"))
            })
            .map(|value| value.to_json())
            .unwrap_or_else(|_| alert.clone());
            object.insert("alert".into(), plain);
        }
        object.insert("shown_state".into(), run.shown_status().into());
        object.insert("trigger_text".into(), run.trigger.describe().into());
    }
    value
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
            println!("started by {} at {}; state {}{dry}", record.started_by, format_time(record.started_at), record.shown_status());
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

fn read_anchor(path: &Path) -> Result<ExportedHead, AnchorError> {
    let text = std::fs::read_to_string(path).map_err(|source| AnchorError::Unreadable {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(text.trim()).map_err(|source| AnchorError::NotAHead {
        path: path.to_path_buf(),
        source,
    })
}

/// Why `--anchor FILE` gives no head.
#[derive(Debug, thiserror::Error)]
enum AnchorError {
    #[error("--anchor {}: {source}", path.display())]
    Unreadable {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--anchor {}: not a head printed by `rbk log RUN --export`: {source}", path.display())]
    NotAHead {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
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

//! `rbk run --alert PAYLOAD.json`: read the payload, and pick the alert the run starts from
//! through the same trigger matching `rbk serve` uses.

use std::io::Read;
use std::path::Path;

use rbk_compiler::resolve::ModuleId;
use rbk_compiler::Analysis;
use rbk_interpreter::alerts::{self, Alert, AlertPayload, Selection};
use rbk_interpreter::{Actions, ProcessEnvironment};

use crate::exit;

/// The payload at `path` (`-`: standard input), for a runbook an alert can start. Err: a
/// usage error's message.
pub fn read(
    path: &Path,
    program: &Analysis,
    module: ModuleId,
    item: usize,
    runbook: &str,
) -> Result<AlertPayload, AlertArgError> {
    if alerts::alert_trigger(program, module, item).is_none() {
        return Err(AlertArgError::NoAlertTrigger {
            runbook: runbook.to_string(),
        });
    }
    let body = if path == Path::new("-") {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(AlertArgError::Stdin)?;
        body
    } else {
        std::fs::read(path).map_err(|source| AlertArgError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?
    };
    let payload = alerts::parse_payload(&body).map_err(|source| AlertArgError::NotAPayload {
        path: path.to_path_buf(),
        source,
    })?;
    if payload.truncated_alerts > 0 {
        eprintln!(
            "warning: Alertmanager left {} alert{} out of this payload (truncatedAlerts)",
            payload.truncated_alerts,
            if payload.truncated_alerts == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    Ok(payload)
}

/// Why `--alert PATH` gives no payload: a usage error.
#[derive(Debug, thiserror::Error)]
pub enum AlertArgError {
    #[error(
        "runbook `{runbook}` has no `trigger alert \"...\"`, so no alert starts it: run it without --alert"
    )]
    NoAlertTrigger { runbook: String },
    #[error("--alert -: standard input could not be read: {0}")]
    Stdin(#[source] std::io::Error),
    #[error("--alert {}: {source}", path.display())]
    Unreadable {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--alert {}: {source}", path.display())]
    NotAPayload {
        path: std::path::PathBuf,
        #[source]
        source: alerts::PayloadError,
    },
}

/// The `alert` value of the run; Err: the exit code after saying why no run starts.
pub async fn select(
    program: &Analysis,
    module: ModuleId,
    item: usize,
    payload: &AlertPayload,
    actions: &dyn Actions,
) -> Result<Alert, u8> {
    match alerts::select_for_run(program, module, item, payload, actions, &ProcessEnvironment).await
    {
        Ok(Selection::Chosen {
            alert,
            also_matching,
        }) => {
            // On standard error: with `--format json`, standard output is one event per line.
            if also_matching > 0 {
                eprintln!(
                    "note: {also_matching} more alert{} of the payload match{} this runbook; this run takes the first. \
                     `rbk serve` would start, coalesce or suppress each under the runbook's concurrency and rate; \
                     to run one of them by hand, give it alone with --alert",
                    if also_matching == 1 { "" } else { "s" },
                    if also_matching == 1 { "es" } else { "" },
                );
            }
            Ok(alert)
        }
        Ok(Selection::NoneMatch(reasons)) => {
            println!("not started: no alert of the payload starts this runbook:");
            for reason in reasons {
                println!("  {reason}");
            }
            Err(exit::FINDINGS)
        }
        Err(message) => {
            println!("not started: {message}");
            Err(exit::FINDINGS)
        }
    }
}

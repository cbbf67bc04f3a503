//! `trigger schedule "CRON"`: every tick of every scheduled runbook queues one run. Several
//! processes may all see a tick; the store's `schedule_tick` queues it once (the trigger key
//! `schedule|TICK` is unique per runbook). Times are UTC. Ticks missed while no process ran
//! are not made up: a schedule says "from now on".

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use croner::Cron;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use rbk_interpreter::start::{self, InputSource, StartSpec};
use rbk_interpreter::store::{RunTrigger, TriggerKind};
use serde_json::json;

use crate::catalog::Catalog;
use crate::log;
use crate::state::Server;

/// Every schedule of the catalog parses as a cron pattern; otherwise why not, per runbook.
pub fn validate(catalog: &Catalog) -> Result<(), BadSchedules> {
    let problems: Vec<BadSchedule> = catalog
        .scheduled_runbooks()
        .filter_map(|(entry, pattern)| {
            Cron::from_str(pattern).err().map(|error| BadSchedule {
                file: catalog.file(entry).path.clone(),
                runbook: entry.name.clone(),
                pattern: pattern.to_string(),
                error,
            })
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(BadSchedules(problems))
    }
}

/// The runbooks whose `trigger schedule` is not a cron pattern, one line each.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct BadSchedules(pub Vec<BadSchedule>);

/// One runbook whose `trigger schedule` is not a cron pattern.
#[derive(Debug, thiserror::Error)]
#[error(
    "{}: runbook `{runbook}`: trigger schedule \"{pattern}\" is not a cron pattern: {error}",
    file.display()
)]
pub struct BadSchedule {
    pub file: std::path::PathBuf,
    pub runbook: String,
    pub pattern: String,
    #[source]
    pub error: croner::errors::CronError,
}

/// Why the ticks of a pattern cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error(transparent)]
    Cron(#[from] croner::errors::CronError),
    #[error(transparent)]
    Time(#[from] jiff::Error),
}

/// The ticks of `pattern` after `after_ms` and up to `until_ms`, in milliseconds.
pub fn ticks(pattern: &str, after_ms: i64, until_ms: i64) -> Result<Vec<i64>, TickError> {
    let cron = Cron::from_str(pattern)?;
    let start = Timestamp::from_millisecond(after_ms)?.to_zoned(TimeZone::UTC);
    let mut found = Vec::new();
    let mut cursor: Zoned = start;
    loop {
        let next = cron.find_next_occurrence(&cursor, false)?;
        let at = next.timestamp().as_millisecond();
        if at > until_ms {
            return Ok(found);
        }
        found.push(at);
        cursor = next;
    }
}

/// Fires the ticks that pass while the server runs, checking once a second.
pub async fn run(server: Arc<Server>) {
    let mut checked_until = log::now_ms();
    while !server.stopping() {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = server.stopped() => return,
        }
        let now = log::now_ms();
        let catalog = server.catalog();
        for (entry, pattern) in catalog.scheduled_runbooks() {
            let Ok(due) = ticks(pattern, checked_until, now) else {
                continue;
            };
            for tick in due {
                fire(&server, &catalog, entry, pattern, tick).await;
            }
        }
        checked_until = now;
    }
}

async fn fire(
    server: &Server,
    catalog: &Catalog,
    entry: &crate::catalog::RunbookEntry,
    pattern: &str,
    tick: i64,
) {
    let file = catalog.file(entry);
    let tick_text = rbk_interpreter::value::format_time(tick);
    let no_inputs = json!({});
    let prepared = start::prepare(StartSpec {
        program: &file.program,
        file: &file.path,
        runbook: Some(&entry.name),
        inputs: InputSource::Json(&no_inputs),
        trigger: RunTrigger {
            kind: TriggerKind::Schedule,
            name: Some(pattern.to_string()),
            fingerprint: None,
            key: format!("schedule|{tick_text}"),
        },
        alert: None,
        started_by: "schedule".into(),
        dry_run: false,
        shadow: entry.shadow,
    });
    let record = match prepared {
        Ok(prepared) => prepared.record,
        Err(error) => {
            log::warn(
                "schedule_refused",
                json!({"runbook": entry.name, "tick": tick_text, "reason": error.to_string()}),
            );
            return;
        }
    };
    match server.store.schedule_tick(&record).await {
        Ok(true) => log::info(
            "scheduled",
            json!({"run": record.id, "runbook": entry.name, "tick": tick_text}),
        ),
        Ok(false) => log::info(
            "schedule_tick_taken",
            json!({"runbook": entry.name, "tick": tick_text, "reason": "another process queued this tick"}),
        ),
        Err(error) => log::error(
            "schedule_failed",
            json!({"runbook": entry.name, "tick": tick_text, "error": error.to_string()}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_minute_ticks_on_the_minute() {
        // 2026-01-01T00:00:30Z .. 00:03:00Z
        let start = 1_767_225_630_000;
        let ticks = ticks("* * * * *", start, start + 150_000).unwrap();
        assert_eq!(ticks, vec![start + 30_000, start + 90_000, start + 150_000]);
    }

    #[test]
    fn a_bad_pattern_says_why() {
        assert!(ticks("every tuesday", 0, 1).is_err());
    }
}

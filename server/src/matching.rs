//! Which runbooks an alert concerns: every runbook whose `trigger alert "NAME"` names it, and
//! whose `where` accepts it. A `where` runs with read actions only.

use rbk_compiler::syntax::Effect;
use rbk_interpreter::alerts::{match_alert, Alert, TriggerMatch};
use rbk_interpreter::{ActionCall, ActionError, Actions, BoxFuture, Value};

use crate::catalog::{Catalog, RunbookEntry};

/// Lets a `where` read the world but never change it (the checker already refuses a `where`
/// that writes; this holds even if a later language change let one through).
pub struct ReadOnly<'a>(pub &'a dyn Actions);

impl Actions for ReadOnly<'_> {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            if call.effect > Effect::Read {
                return Err(ActionError::fatal(format!(
                    "a trigger's `where` may not call {} ({})",
                    call.action, call.effect
                )));
            }
            self.0.call(call).await
        })
    }
}

/// What one alert means to one runbook.
pub enum Verdict<'c> {
    /// The trigger accepts it: start (or coalesce, or suppress) a run.
    Start(&'c RunbookEntry, TriggerMatch),
    /// The `where` could not be decided; nothing starts and the answer says why.
    Error(&'c RunbookEntry, rbk_interpreter::alerts::JudgeError),
}

/// Every runbook the alert concerns, with what its trigger said.
pub async fn verdicts<'c>(catalog: &'c Catalog, alert: &Alert) -> Vec<Verdict<'c>> {
    let mut found = Vec::new();
    for (entry, name) in catalog.alert_runbooks() {
        if name != alert.name {
            continue;
        }
        let file = catalog.file(entry);
        let actions = ReadOnly(catalog.natives(entry));
        match match_alert(&file.program, entry.module, entry.item, alert, &actions).await {
            Ok(Some(matched)) => found.push(Verdict::Start(entry, matched)),
            Ok(None) => {}
            Err(reason) => found.push(Verdict::Error(entry, reason)),
        }
    }
    found
}

/// The runbooks whose trigger names the alert, whatever their `where` says: a resolved alert
/// cancels queued runs of its occurrence in each of them.
pub fn named<'c>(catalog: &'c Catalog, alert: &Alert) -> Vec<&'c RunbookEntry> {
    catalog
        .alert_runbooks()
        .filter(|(_, name)| *name == alert.name)
        .map(|(entry, _)| entry)
        .collect()
}

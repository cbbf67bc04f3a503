use std::collections::HashMap;
use std::path::PathBuf;

use rbk_compiler::{check, CheckOptions};
use rbk_interpreter::engine::{self, Resume, StepState};
use rbk_interpreter::journal::{Event, EventKind};
use rbk_interpreter::store::FINAL_STATES;
use rbk_interpreter::{Environment, ProcessEnvironment, Value};

use super::check::usage_error;
use super::run::{digest, Execution};
use super::{render, session};
use crate::workspace::{self, FileLoader};
use crate::{exit, Format};

/// `rbk resume RUN`: continues a run whose process died. Finished steps never run again; the
/// step that was running runs again if it only reads, and otherwise waits for an approval of
/// `STEP#retry`.
pub fn run(run: &str, store: Option<&str>, as_user: Option<&str>, format: Format) -> u8 {
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    let user = session::acting_user(as_user);
    runtime.block_on(async {
        let (store, record) = match session::find_run(store, run).await {
            Ok(found) => found,
            Err(message) => return usage_error(&message),
        };
        if FINAL_STATES.contains(&record.status.as_str()) {
            println!("run {} already ended ({}): nothing to resume", record.id, record.status);
            return exit::FINDINGS;
        }
        let events = match store.events(&record.id).await {
            Ok(events) => events,
            Err(error) => return usage_error(&error.to_string()),
        };
        let mut resume = match read_back(&events, &ProcessEnvironment) {
            Ok(resume) => resume,
            Err(message) => return usage_error(&message),
        };
        resume.resumed_by = user;

        let file = PathBuf::from(&record.file);
        let text = match workspace::read_source(&file) {
            Ok(text) => text,
            Err(message) => return usage_error(&format!("the run's runbook cannot be read: {message}")),
        };
        if digest(&text) != record.digest {
            println!("warning: {} changed since the run started; approvals given before do not carry over", file.display());
        }
        let (project_file, config) = match session::project(&file) {
            Ok(found) => found,
            Err(message) => return usage_error(&message),
        };
        let groups = project_file.as_ref().map(|_| config.approvers.clone());
        let analysis = check(vec![(file.clone(), text)], &FileLoader, &CheckOptions { approver_groups: groups.clone() });
        if analysis.has_errors() {
            for diagnostic in analysis.diagnostics.iter().filter(|d| d.is_error()) {
                print!("{}", render::human(&analysis, diagnostic));
                println!();
            }
            println!("error: {} no longer checks; the run cannot resume", file.display());
            return exit::FINDINGS;
        }
        let request = engine::RunRequest {
            module: analysis.roots[0],
            runbook: record.runbook.clone(),
            inputs: Default::default(),
            alert: None,
            started_by: record.started_by.clone(),
            run_id: record.id.clone(),
            started_at: record.started_at,
            resume: Some(resume),
        };
        let execution = Execution { analysis: &analysis, store, groups, integrations: &config.integrations, format, dry_run: false };
        execution.run(request).await
    })
}

/// What the journal says the dead process had done.
fn read_back(events: &[Event], environment: &dyn Environment) -> Result<Resume, String> {
    let mut resume = Resume::default();
    let mut started: Vec<String> = Vec::new();
    let mut bindings: HashMap<String, Value> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for event in events {
        let ended = match &event.kind {
            EventKind::StepStarted { step, .. } => {
                started.push(step.clone());
                None
            }
            EventKind::StepSucceeded { step } => Some((step, StepState::Succeeded)),
            EventKind::StepSkipped { step, .. } => Some((step, StepState::Skipped)),
            EventKind::StepDenied { step } => Some((step, StepState::Denied)),
            EventKind::StepFailed { step, error } if !error.ends_with("retrying)") => {
                Some((step, StepState::Failed))
            }
            EventKind::Bound { name, value, .. } => {
                let value = Value::from_stored(value, &|secret| environment.secret(secret))?;
                if !bindings.contains_key(name) {
                    order.push(name.clone());
                }
                bindings.insert(name.clone(), value);
                None
            }
            _ => None,
        };
        if let Some((step, state)) = ended {
            if !resume.completed.iter().any(|(n, _)| n == step) {
                resume.completed.push((step.clone(), state));
            }
        }
    }
    resume.in_flight = started
        .into_iter()
        .rev()
        .find(|s| !resume.completed.iter().any(|(n, _)| n == s));
    resume.bindings = order
        .into_iter()
        .filter_map(|name| bindings.remove(&name).map(|v| (name, v)))
        .collect();
    Ok(resume)
}

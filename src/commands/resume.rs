use std::path::PathBuf;

use rbk_compiler::{check, CheckOptions};
use rbk_interpreter::audit::verify_run;
use rbk_interpreter::engine::{self, Resume};
use rbk_interpreter::store::FINAL_STATES;
use rbk_interpreter::ProcessEnvironment;

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
        // What a resumed run skips comes from the journal: one that does not verify (a
        // removed tail would make a finished step run again) is not resumed.
        let answers = match store.run_answers(&record.id).await {
            Ok(answers) => answers,
            Err(error) => return usage_error(&error.to_string()),
        };
        let audit = verify_run(&record, &events, &answers);
        if !audit.is_intact() {
            for finding in &audit.findings {
                println!("TAMPERED: {finding}");
            }
            println!("run {} is not resumed: its journal does not verify (see rbk log {} --verify)", record.id, record.id);
            return exit::FINDINGS;
        }
        let mut resume = match Resume::from_journal(&events, &ProcessEnvironment) {
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

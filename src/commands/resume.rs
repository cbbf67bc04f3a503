use std::path::PathBuf;
use std::sync::Arc;

use rbk_compiler::check;
use rbk_compiler::syntax::ItemKind;
use rbk_interpreter::journal::EventKind;
use rbk_interpreter::secret_sources::ProjectEnvironment;
use rbk_interpreter::start;
use rbk_interpreter::store::{ClaimRefusal, RunLimits, RunOwner, RunRecord};

use super::check::usage_error;
use super::run::Execution;
use super::{render, session};
use crate::workspace::{self, FileLoader};
use crate::{exit, Format};

pub struct ResumeArgs<'a> {
    pub run: &'a str,
    pub store: Option<&'a str>,
    pub as_user: Option<&'a str>,
    /// Resume even though the run's process is on another host (or unrecorded) and rbk cannot
    /// check that it is gone.
    pub takeover: bool,
    pub format: Format,
}

/// `rbk resume RUN`: continues a run whose process died. A run whose process is alive, a dry
/// run, or a run whose `concurrency` slot another run took is refused. Finished steps never run
/// again; the step that was running runs again if it only reads, and otherwise waits for an
/// answer: `STEP#retry`, `STEP#done`, or a denial.
pub fn run(args: ResumeArgs<'_>) -> u8 {
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    let user = session::acting_user(args.as_user);
    runtime.block_on(async {
        let (store, record) = match session::find_run(args.store, args.run).await {
            Ok(found) => found,
            Err(message) => return usage_error(&message),
        };
        if record.state.is_final() {
            return refuse(&record, ClaimRefusal::Ended(record.state));
        }
        if record.dry_run {
            return refuse(&record, ClaimRefusal::DryRun);
        }
        // What a resumed run skips comes from the journal: one that does not verify (a
        // removed tail would make a finished step run again) is not resumed.
        let (events, audit) = match session::audited_journal(store.as_ref(), &record).await {
            Ok(journal) => journal,
            Err(message) => return usage_error(&message),
        };
        if !audit.is_intact() {
            for finding in &audit.findings {
                println!("TAMPERED: {finding}");
            }
            println!("run {} is not resumed: its journal does not verify (see rbk log {} --verify)", record.id, record.id);
            return exit::FINDINGS;
        }
        if events.iter().any(|e| matches!(e.kind, EventKind::RunStarted { dry_run: true, .. })) {
            return refuse(&record, ClaimRefusal::DryRun);
        }

        let file = PathBuf::from(&record.file);
        let text = match workspace::read_source(&file) {
            Ok(text) => text,
            Err(message) => return usage_error(format!("the run's runbook cannot be read: {message}")),
        };
        let (project_file, config) = match session::project(&file) {
            Ok(found) => found,
            Err(message) => return usage_error(&message),
        };
        let groups = project_file.as_ref().map(|_| config.approvers.clone());
        let analysis = check(vec![(file.clone(), text)], &FileLoader, &rbk_stdlib::check_options(project_file.as_ref().map(|_| &config)));
        if analysis.has_errors() {
            for diagnostic in analysis.diagnostics.iter().filter(|d| d.is_error()) {
                print!("{}", render::human(&analysis, diagnostic));
                println!();
            }
            println!("error: {} no longer checks; the run cannot resume", file.display());
            return exit::FINDINGS;
        }
        if start::program_digest(&analysis) != record.digest {
            println!("warning: {} (or a module it uses) changed since the run started; approvals given before do not carry over", file.display());
        }
        let root = analysis.roots[0];
        let limits = analysis
            .module(root)
            .ast
            .items
            .iter()
            .position(|item| matches!(&item.kind, ItemKind::Runbook(r) if r.name.name == record.runbook))
            .map(|item| RunLimits::of(&analysis, root, item))
            .unwrap_or_default();
        // From here on this process is the run's: a second `rbk resume` is refused like any
        // resume of a live run.
        match store.claim_run(&record.id, &RunOwner::this_process(), &limits, args.takeover).await {
            Ok(Ok(())) => {}
            Ok(Err(refusal)) => return refuse(&record, refusal),
            Err(error) => return usage_error(error.to_string()),
        }

        // Its previous process is dead (or the claim was refused), so nothing was appended
        // since the journal was verified above; the rules are the queue's takeover rules.
        let environment = Arc::new(ProjectEnvironment::of_project(project_file.as_deref(), &config));
        let resume = match start::resume_request(store.as_ref(), &record, &user, environment.as_ref()).await {
            Ok(resume) => resume,
            Err(message) => return usage_error(&message),
        };
        let request = match start::request_for(&analysis, &record, resume) {
            Ok(request) => request,
            Err(error) => return usage_error(error.to_string()),
        };
        let execution = Execution { analysis: &analysis, store, groups, integrations: &config.integrations, environment, format: args.format, dry_run: false };
        execution.run(request).await
    })
}

/// Says why the run cannot be resumed and what to do instead; exit 1.
fn refuse(record: &RunRecord, refusal: ClaimRefusal) -> u8 {
    let id = &record.id;
    let (problem, help) = match refusal {
        ClaimRefusal::Missing => return usage_error(format!("there is no run `{id}` in this store (see `rbk runs`)")),
        ClaimRefusal::Ended(state) => {
            println!("run {id} already ended ({state}): nothing to resume");
            return exit::FINDINGS;
        }
        ClaimRefusal::DryRun => (
            format!("run {id} was a dry run: it performed no write or destructive action, and resuming it would perform them"),
            format!("a dry run is never resumed; start a real run with `rbk run {}`", record.file),
        ),
        ClaimRefusal::Alive(owner) => (
            format!("run {id} is still running ({owner} is alive): resuming it would run its steps a second time"),
            "wait for it to end; `rbk resume` is for a run whose process died (`rbk runs` shows it as interrupted)".to_string(),
        ),
        ClaimRefusal::Unknown(Some(owner)) => (
            format!("run {id} belongs to {owner}, and rbk cannot check from this machine whether that process still runs"),
            format!("resume it on {}; if you know that process is gone, `rbk resume {id} --takeover`", owner.host),
        ),
        ClaimRefusal::Unknown(None) => (
            format!("run {id} did not record which process runs it (it was started by an older rbk), so rbk cannot tell whether it still runs"),
            format!("if you know that process is gone, `rbk resume {id} --takeover`"),
        ),
        ClaimRefusal::SlotTaken(reason) => (
            format!("run {id} cannot resume: {reason}; another run took its slot while it was interrupted"),
            "wait for that run to end, then resume this one".to_string(),
        ),
    };
    println!("error: {problem}");
    println!("  help: {help}");
    exit::FINDINGS
}

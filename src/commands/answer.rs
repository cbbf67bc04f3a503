use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rbk_compiler::syntax::TimeoutOutcome;
use rbk_interpreter::approval::ApprovalRequest;
use rbk_interpreter::approvals::answer_counts;
use rbk_interpreter::identity::normalize_person;
use rbk_interpreter::journal::EventKind;
use rbk_interpreter::store::ApprovalAnswer;

use super::check::usage_error;
use super::session;
use crate::exit;

pub struct AnswerArgs {
    pub run: String,
    pub step: String,
    pub as_user: Option<String>,
    pub comment: Option<String>,
    pub store: Option<String>,
    pub approve: bool,
}

/// `rbk approve|deny RUN STEP`: records an answer in the store, where the waiting run reads it.
/// The same rules as the run applies are checked here first, so the person answering learns at
/// once that their answer cannot count.
pub fn run(args: AnswerArgs) -> u8 {
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    if args
        .as_user
        .as_deref()
        .is_some_and(|u| normalize_person(u).is_empty())
    {
        return usage_error("--as needs a name: it was blank");
    }
    let user = session::acting_user(args.as_user.as_deref());
    runtime.block_on(async {
        let (store, record) = match session::find_run(args.store.as_deref(), &args.run).await {
            Ok(found) => found,
            Err(message) => return usage_error(&message),
        };
        // The groups the run itself counts answers by: those of the rbk.toml that governs its
        // runbook (the current directory's when the runbook file is gone).
        let runbook_file = Path::new(&record.file);
        let near = if runbook_file.exists() { runbook_file } else { Path::new(".") };
        let (project_file, config) = match session::project(near) {
            Ok(found) => found,
            Err(message) => return usage_error(&message),
        };
        if project_file.is_none() {
            return usage_error(&format!(
                "no rbk.toml governs run {} ({}), so nobody is known to be an approver and no answer can count\n  \
                 help: define the approver groups in an rbk.toml beside the runbook or in a directory above it (see docs/trust.md)",
                record.id, record.file
            ));
        }
        let events = match store.events(&record.id).await {
            Ok(events) => events,
            Err(error) => return usage_error(&error.to_string()),
        };
        let pending = events.iter().rev().find_map(|e| match &e.kind {
            EventKind::ApprovalRequested { step, group, quorum, digest, .. } if step == &args.step => Some((group.clone(), *quorum, digest.clone())),
            _ => None,
        });
        let Some((group, quorum, digest)) = pending else {
            return usage_error(&format!("run {} has not asked for approval of step `{}`", record.id, args.step));
        };
        let decided = events.iter().rev().any(|e| matches!(&e.kind,
            EventKind::ApprovalGranted { step, .. } | EventKind::ApprovalDenied { step, .. } | EventKind::ApprovalTimedOut { step, .. } if step == &args.step));
        if decided || record.state.is_final() {
            println!("run {} no longer waits for `{}` (state: {})", record.id, args.step, record.state);
            return exit::FINDINGS;
        }
        let answer = ApprovalAnswer {
            run_id: record.id.clone(),
            step: args.step.clone(),
            user: user.clone(),
            approve: args.approve,
            comment: args.comment.clone(),
            channel: "cli".into(),
            at: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64),
            digest: digest.clone(),
        };
        let request = ApprovalRequest {
            run_id: record.id.clone(),
            step: args.step.clone(),
            group,
            quorum,
            timeout: None,
            on_timeout: TimeoutOutcome::Deny,
            started_by: record.started_by.clone(),
            actions: Vec::new(),
            planned: Vec::new(),
            digest,
        };
        if let Err(reason) = answer_counts(&answer, &request, Some(&config.approvers)) {
            println!("refused: {reason}");
            return exit::FINDINGS;
        }
        if let Err(error) = store.record_answer(&answer).await {
            return usage_error(&format!("the answer could not be recorded: {error}"));
        }
        let verb = if args.approve { "approved" } else { "denied" };
        println!("{verb} step `{}` of run {} as {user}", args.step, record.id);
        exit::OK
    })
}

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use rbk_interpreter::approval::ApprovalDecision;
use rbk_interpreter::decisions::{
    decide, Approvers, Outcome, RefusalKind, Via, Vote, Voter, STORM,
};
use rbk_interpreter::identity::normalize_person;
use rbk_interpreter::store::RunOwner;

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
    /// `--value NAME=VALUE`: what the step's approval asks for.
    pub values: std::collections::BTreeMap<String, String>,
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
            return usage_error(format!(
                "no rbk.toml governs run {} ({}), so nobody is known to be an approver and no answer can count\n  \
                 help: define the approver groups in an rbk.toml beside the runbook or in a directory above it (see docs/trust.md)",
                record.id, record.file
            ));
        }
        let vote = Vote {
            run_id: record.id.clone(),
            step: args.step.clone(),
            approve: args.approve,
            voter: Voter {
                person: user.clone(),
                via: Via::Cli,
                from: format!("cli {user}@{}", RunOwner::this_process().host),
            },
            comment: args.comment.clone(),
            digest_seen: None,
            external_id: None,
            values: args.values.clone(),
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let approvers = Approvers::from_config(Some(&config));
        match decide(store.as_ref(), &approvers, &vote, now).await {
            Err(error) => usage_error(format!("the answer could not be recorded: {error}")),
            Ok(Ok(outcome)) => {
                let released = matches!(outcome, Outcome::Decided(ApprovalDecision::Granted { .. }));
                recorded(&args.step, args.approve, &record.id, &user, released)
            }
            Ok(Err(refusal)) => refused(refusal.kind, &args.step, &refusal.message),
        }
    })
}

/// What the person is told when their vote was recorded, here or by `rbk serve` (`--server`).
/// `released`: a storm hold's vote released the run.
pub fn recorded(step: &str, approve: bool, run_id: &str, person: &str, released: bool) -> u8 {
    if step == STORM {
        let done = if released {
            "released the storm hold of"
        } else {
            "cancelled the held"
        };
        println!("{done} run {run_id} as {person}");
        return exit::OK;
    }
    let verb = if approve { "approved" } else { "denied" };
    println!("{verb} step `{step}` of run {run_id} as {person}");
    exit::OK
}

/// What a refused vote prints and exits with, here or from `rbk serve` (`--server`).
pub fn refused(kind: RefusalKind, step: &str, message: &str) -> u8 {
    match kind {
        // Naming a question the run never asked is a usage error, as it always was.
        RefusalKind::NotWaiting if step != STORM => usage_error(message),
        RefusalKind::NoConfig => usage_error(message),
        RefusalKind::AlreadyDecided => {
            println!("{message}");
            exit::FINDINGS
        }
        _ => {
            println!("refused: {message}");
            exit::FINDINGS
        }
    }
}

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rbk_compiler::check;
use rbk_interpreter::approval::ApprovalRequest;
use rbk_interpreter::approvals::{describe_outcome, ApprovalNotice, StoreApprover};
use rbk_interpreter::decisions::{decide, Approvers, Via, Vote, Voter};
use rbk_interpreter::dry_run::DryRunActions;
use rbk_interpreter::identity::normalize_person;
use rbk_interpreter::journal::{EventKind, JournalError};
use rbk_interpreter::present::arguments_text;
use rbk_interpreter::secret_sources::ProjectEnvironment;
use rbk_interpreter::start::{self, InputSource, PreparedRun, StartSpec};
use rbk_interpreter::store::{
    JournalHead, RunOwner, RunTrigger, StartDecision, Store, TriggerKind,
};
use rbk_interpreter::Actions;
use rbk_interpreter::{engine, BoxFuture, Journal};
use rbk_stdlib::natives::NativeActions;

use super::check::usage_error;
use super::{alert_arg, render, session};
use crate::workspace::{self, FileLoader};
use crate::{exit, Format};

pub struct RunArgs {
    pub target: String,
    pub inputs: Vec<String>,
    pub dry_run: bool,
    /// `--alert PAYLOAD.json` (`-` = standard input).
    pub alert: Option<PathBuf>,
    pub store: Option<String>,
    pub as_user: Option<String>,
    pub format: Format,
}

/// `rbk run FILE[::RUNBOOK]`: check, start under the runbook's limits, run with a live display,
/// journal everything to the store.
pub fn run(args: RunArgs) -> u8 {
    let (file, wanted) = match args.target.split_once("::") {
        Some((file, runbook)) => (PathBuf::from(file), Some(runbook.to_string())),
        None => (PathBuf::from(&args.target), None),
    };
    let text = match workspace::read_source(&file) {
        Ok(text) => text,
        Err(message) => return usage_error(&message),
    };
    let (project_file, config) = match session::project(&file) {
        Ok(found) => found,
        Err(message) => return usage_error(&message),
    };
    let groups = project_file.as_ref().map(|_| config.approvers.clone());
    let analysis = check(
        vec![(file.clone(), text)],
        &FileLoader,
        &rbk_stdlib::check_options(project_file.as_ref().map(|_| &config)),
    );
    if analysis.has_errors() {
        for diagnostic in analysis.diagnostics.iter().filter(|d| d.is_error()) {
            print!("{}", render::human(&analysis, diagnostic));
            println!();
        }
        println!("error: {} does not check; nothing was run", file.display());
        return exit::FINDINGS;
    }
    let (module, item, runbook_name) =
        match start::choose_runbook(&analysis, &file, wanted.as_deref()) {
            Ok(chosen) => chosen,
            Err(error) => return usage_error(error.to_string()),
        };
    let payload = match &args.alert {
        Some(path) => match alert_arg::read(path, &analysis, module, item, &runbook_name) {
            Ok(payload) => Some(payload),
            Err(message) => return usage_error(&message),
        },
        None => None,
    };
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    let user = session::acting_user(args.as_user.as_deref());
    let environment = Arc::new(ProjectEnvironment::of_project(
        project_file.as_deref(),
        &config,
    ));
    runtime.block_on(async {
        // The alert is chosen first, so the run is recorded as the alert's from its first row.
        let (trigger, alert) = match &payload {
            Some(payload) => {
                let natives = NativeActions::for_project(&config.integrations, environment.clone());
                match alert_arg::select(&analysis, module, item, payload, &natives).await {
                    Ok(alert) => (
                        RunTrigger {
                            kind: TriggerKind::Alert,
                            name: Some(alert.name.clone()),
                            fingerprint: Some(alert.fingerprint.clone()),
                            key: String::new(),
                        },
                        Some(alert.to_value()),
                    ),
                    Err(code) => return code,
                }
            }
            None => (RunTrigger::default(), None),
        };
        let prepared = start::prepare(StartSpec {
            program: &analysis,
            file: &file,
            runbook: Some(&runbook_name),
            inputs: InputSource::Pairs(&args.inputs),
            trigger,
            alert,
            started_by: user,
            dry_run: args.dry_run,
            shadow: false,
        });
        let PreparedRun {
            record,
            request,
            limits,
        } = match prepared {
            Ok(prepared) => prepared,
            Err(error) => return usage_error(error.to_string()),
        };
        let store = match session::open_store(args.store.as_deref(), project_file.as_deref()).await
        {
            Ok(store) => store,
            Err(message) => return usage_error(&message),
        };
        match store.start_run(&record, &limits).await {
            Ok(StartDecision::Started) => {}
            Ok(StartDecision::Suppressed(reason)) => {
                println!(
                    "not started: {reason} (recorded as {}, suppressed)",
                    record.id
                );
                return exit::FINDINGS;
            }
            Err(error) => return usage_error(format!("the store refused the run: {error}")),
        }
        let execution = Execution {
            analysis: &analysis,
            store,
            groups,
            integrations: &config.integrations,
            environment,
            format: args.format,
            dry_run: args.dry_run,
        };
        execution.run(request).await
    })
}

/// Everything a run needs besides its request; shared by `rbk run` and `rbk resume`.
pub struct Execution<'a> {
    pub analysis: &'a rbk_compiler::Analysis,
    pub store: Arc<dyn Store>,
    pub groups: Option<BTreeMap<String, Vec<String>>>,
    pub integrations: &'a rbk_compiler::config::Integrations,
    /// Where `env()` and `secret()` read (the project's secret files too).
    pub environment: Arc<ProjectEnvironment>,
    pub format: Format,
    pub dry_run: bool,
}

impl Execution<'_> {
    /// Runs with the live display, the store's journal and approvals; saves the final state.
    pub async fn run(self, request: engine::RunRequest) -> u8 {
        let Execution {
            analysis,
            store,
            groups,
            integrations,
            environment,
            format,
            dry_run,
        } = self;
        let run_id = request.run_id.clone();
        let display = LiveDisplay::new(format, run_id.clone());
        let approver = StoreApprover {
            store: store.clone(),
            groups: groups.clone(),
            poll_every: Duration::from_millis(500),
            notice: Box::new(TerminalNotice {
                approvers: Approvers::from_groups(groups.clone()),
                store: store.clone(),
                handle: tokio::runtime::Handle::current(),
            }),
        };
        let natives = NativeActions::for_project(integrations, environment.clone());
        let dry = DryRunActions::new(&natives, &analysis.types.named_types);
        let actions: &dyn Actions = if dry_run { &dry } else { &natives };
        let report = match start::execute(
            analysis,
            store.clone(),
            request,
            None,
            actions,
            &approver,
            environment.as_ref(),
            Some(&display),
        )
        .await
        {
            Ok(report) => report,
            Err(message) => return usage_error(&message),
        };
        print_head(store.as_ref(), &run_id, format).await;
        if dry_run {
            let withheld = dry.withheld.lock().map(|w| w.clone()).unwrap_or_default();
            println!();
            println!(
                "dry run: {} write or destructive action{} not executed:",
                withheld.len(),
                if withheld.len() == 1 {
                    " was"
                } else {
                    "s were"
                }
            );
            for call in withheld {
                println!("{}", indented(&arguments_text(&call, text_width(2)), 2));
            }
        }
        if report.status == engine::RunStatus::Succeeded {
            exit::OK
        } else {
            exit::FINDINGS
        }
    }
}

/// The journal's head as the store anchored it, for the operator to keep outside the store:
/// with it, `rbk log RUN --verify --anchor` shows a journal rewritten later.
async fn print_head(store: &dyn Store, run_id: &str, format: Format) {
    let Ok(Some(JournalHead { events, hash })) =
        store.run(run_id).await.map(|run| run.and_then(|r| r.head))
    else {
        return;
    };
    if format == Format::Json {
        let line = serde_json::json!({ "event": "journal_head", "run": run_id, "events": events, "head": hash });
        println!("{line}");
    } else {
        println!("journal: {events} events, head {hash} (keep it: rbk log {run_id} --export)");
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Prints each journal event as it happens. On a terminal the running step is a live spinner
/// with its elapsed time (indicatif); otherwise a plain line per event; `--format json`, one
/// JSON event per line. Ends with a one-line summary of every step's outcome.
struct LiveDisplay {
    format: Format,
    run_id: String,
    started: tokio::time::Instant,
    /// Set when standard output is a terminal.
    bars: Option<indicatif::MultiProgress>,
    running: Mutex<HashMap<String, (tokio::time::Instant, Option<indicatif::ProgressBar>)>>,
    outcomes: Mutex<Vec<(String, &'static str)>>,
}

impl LiveDisplay {
    fn new(format: Format, run_id: String) -> Self {
        let bars = (format == Format::Human && std::io::stdout().is_terminal())
            .then(indicatif::MultiProgress::new);
        LiveDisplay {
            format,
            run_id,
            started: tokio::time::Instant::now(),
            bars,
            running: Mutex::new(HashMap::new()),
            outcomes: Mutex::new(Vec::new()),
        }
    }

    fn line(&self, text: String) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => println!("{text}"),
        }
    }

    fn step_started(&self, step: &str, text: String) {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(indicatif::ProgressBar::new_spinner());
            bar.set_style(
                indicatif::ProgressStyle::with_template("  {spinner} {msg}  [{elapsed}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message(step.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if bar.is_none() {
            println!("{text}");
        }
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(step.to_string(), (tokio::time::Instant::now(), bar));
    }

    fn step_ended(&self, step: &str, mark: &'static str, text: String) {
        let started = self
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(step);
        let elapsed = started
            .as_ref()
            .map(|(at, _)| format!("  [{:.1}s]", at.elapsed().as_secs_f64()))
            .unwrap_or_default();
        // The spinner goes; the step's final line stays, above any later spinner.
        if let Some(bar) = started.and_then(|(_, bar)| bar) {
            bar.finish_and_clear();
        }
        self.line(format!("{text}{elapsed}"));
        self.outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((step.to_string(), mark));
    }
}

impl Journal for LiveDisplay {
    fn append<'a>(&'a self, at: i64, kind: EventKind) -> BoxFuture<'a, Result<(), JournalError>> {
        Box::pin(async move {
            if self.format == Format::Json {
                let mut event = serde_json::to_value(&kind).unwrap_or_default();
                if let Some(object) = event.as_object_mut() {
                    object.insert("run".into(), self.run_id.clone().into());
                    object.insert("at".into(), rbk_interpreter::value::format_time(at).into());
                }
                println!("{event}");
                let _ = std::io::stdout().flush();
                return Ok(());
            }
            let text = describe(&kind, &self.run_id, self.started.elapsed());
            match (&kind, text) {
                (EventKind::StepStarted { step, .. }, Some(text)) => self.step_started(step, text),
                (EventKind::StepSucceeded { step }, Some(text)) => self.step_ended(step, "✓", text),
                (EventKind::StepFailed { step, .. }, Some(text)) => {
                    self.step_ended(step, "✗", text)
                }
                (EventKind::StepMarkedDone { step, .. }, Some(text)) => {
                    self.step_ended(step, "✓", text)
                }
                (EventKind::StepDenied { step }, Some(text)) => self.step_ended(step, "✗", text),
                (EventKind::StepSkipped { step, .. }, Some(text)) => {
                    self.outcomes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((step.clone(), "–"));
                    self.line(text)
                }
                (EventKind::RunFinished { .. }, Some(text)) => {
                    let outcomes = self
                        .outcomes
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .clone();
                    if !outcomes.is_empty() {
                        let steps: Vec<String> = outcomes
                            .iter()
                            .map(|(step, mark)| format!("{mark} {step}"))
                            .collect();
                        self.line(format!("steps: {}", steps.join("  ")));
                    }
                    self.line(text)
                }
                (_, Some(text)) => self.line(text),
                (_, None) => {}
            }
            let _ = std::io::stdout().flush();
            Ok(())
        })
    }
}

fn describe(kind: &EventKind, run_id: &str, elapsed: Duration) -> Option<String> {
    let secs = elapsed.as_secs_f64();
    Some(match kind {
        EventKind::RunStarted {
            runbook,
            started_by,
            dry_run,
            shadow,
            ..
        } => format!(
            "run {run_id}: {runbook}, started by {started_by}{}",
            if *dry_run {
                " (dry run: write and destructive actions are not performed)"
            } else if *shadow {
                " (shadow mode: write and destructive actions are only reported)"
            } else {
                ""
            }
        ),
        EventKind::RunQueued { runbook, trigger, .. } => {
            format!("run {run_id}: {runbook} queued ({})", trigger.describe())
        }
        EventKind::RunCoalesced { run, onto, .. } => {
            format!("  + run {run} coalesced onto {onto}")
        }
        EventKind::RunSuppressed { reason } => format!("run {run_id} suppressed: {reason}"),
        EventKind::RunHeld { reason } => format!("run {run_id} held: {reason}"),
        EventKind::RunCancelled { reason } => format!("run {run_id} cancelled: {reason}"),
        EventKind::StormHoldReleased { by, via } => {
            format!("run {run_id} released from its storm hold by {by} ({via})")
        }
        EventKind::RunTakenOver { from_worker, .. } => {
            format!("run {run_id} taken over from worker {from_worker}")
        }
        EventKind::RunReleased { worker } => format!("run {run_id} released by worker {worker}"),
        EventKind::AlertResolved { .. } => format!("  ✓ the alert of run {run_id} resolved"),
        EventKind::StepStarted { step, attempt } if *attempt > 1 => {
            format!("  ▸ {step} (attempt {attempt})")
        }
        EventKind::StepStarted { step, .. } => format!("  ▸ {step}"),
        EventKind::StepSucceeded { step } => format!("  ✓ {step}"),
        EventKind::StepFailed { step, error } => format!("  ✗ {step}: {error}"),
        EventKind::StepRetrying {
            step,
            attempt,
            error,
        } => format!("  ✗ {step}: {error} (attempt {attempt}, retrying)"),
        EventKind::StepMarkedDone { step, by } => format!(
            "  ✓ {step} marked done by {}: its effect was there, it does not run again",
            by.join(", ")
        ),
        EventKind::StepSkipped { step, condition } => format!("  – {step} skipped ({condition})"),
        EventKind::StepDenied { step } => format!("  ✗ {step} not approved"),
        EventKind::ApprovalRequested { .. }
        | EventKind::ApprovalAnswered { .. }
        | EventKind::Bound { .. } => return None,
        EventKind::RunResumed {
            by,
            completed,
            in_flight,
        } => format!(
            "run {run_id} resumed by {by}: {} step{} done{}",
            completed.len(),
            if completed.len() == 1 { "" } else { "s" },
            in_flight
                .as_ref()
                .map(|s| format!(", `{s}` was running"))
                .unwrap_or_default()
        ),
        EventKind::StepInDoubt { step, effect } => format!(
            "  ? {step} was running when the process died and is {effect}: it may have done part of its work\n    \
             someone other than the run's starter answers: approve `{step}#retry` to run it again, \
             approve `{step}#done` if its effect is there (it does not run again; the run goes on), \
             or deny either to stop the run"
        ),
        EventKind::ApprovalGranted {
            step,
            by,
            channel,
            values,
        } => {
            let given = if values.is_empty() {
                String::new()
            } else {
                format!(" with {}", rbk_interpreter::asked_values::render(values))
            };
            format!("  ✓ {step} approved by {} ({channel}){given}", by.join(", "))
        }
        EventKind::ApprovalDenied { step, by, channel } => {
            format!("  ✗ {step} denied by {by} ({channel})")
        }
        EventKind::ApprovalTimedOut { step, outcome } => {
            format!("  ⌛ approval of {step} timed out: {outcome}")
        }
        EventKind::ApprovalWaived { step, reason } => {
            format!("    approval waived for {step}: {reason}")
        }
        EventKind::ActionCalled { call, effect, .. } => format!("    {effect}: {call}"),
        EventKind::Log { message, .. } => format!("    log: {message}"),
        EventKind::NotifyFailed { error } => format!("  ! notify failed (not fatal): {error}"),
        EventKind::EscalationSent { reason } => format!("  ↑ escalated: {reason}"),
        EventKind::EscalationFailed { error } => format!("  ! escalation failed: {error}"),
        EventKind::RunFinished { status, summary } => {
            format!("run {status} in {secs:.1}s: {summary}")
        }
    })
}

/// Says how to answer an approval; on a terminal, also asks right here.
struct TerminalNotice {
    /// Who may answer; no groups when no rbk.toml governs the runbook: then no answer can count.
    approvers: Approvers,
    store: Arc<dyn Store>,
    handle: tokio::runtime::Handle,
}

impl ApprovalNotice for TerminalNotice {
    fn waiting(&self, request: &ApprovalRequest) {
        let group = request
            .group
            .as_deref()
            .map(|g| format!(" from \"{g}\""))
            .unwrap_or_default();
        let quorum = if request.quorum > 1 {
            format!("{} approvals", request.quorum)
        } else {
            "approval".to_string()
        };
        println!(
            "  ? {} needs {quorum}{group} (not {}):",
            request.step, request.started_by
        );
        for action in &request.planned {
            println!("{}", indented(&arguments_text(action, text_width(6)), 6));
        }
        if request.planned.is_empty() {
            for action in &request.actions {
                println!("      {action}");
            }
        }
        if let Some(ms) = request.timeout {
            println!(
                "    if nobody answers within {}, {}",
                rbk_interpreter::value::format_duration(ms),
                describe_outcome(request.on_timeout)
            );
        }
        if self.approvers.groups().is_none() {
            println!(
                "    no rbk.toml governs this runbook, so nobody is known to be an approver: no answer can count"
            );
        }
        if !request.asks.is_empty() {
            println!(
                "    the approval gives: {}",
                rbk_interpreter::asked_values::describe(&request.asks)
            );
        }
        let values: String = request
            .asks
            .iter()
            .map(|a| format!(" --value {}=...", a.name))
            .collect();
        println!(
            "    answer with: rbk approve {} {} --as USER{values}   (or: rbk deny ...)",
            request.run_id, request.step
        );
        let _ = std::io::stdout().flush();
        // An in-doubt step asks two questions at once (`#retry`, `#done`): answered with
        // `rbk approve`, not at a prompt that would ask twice.
        if std::io::stdin().is_terminal() && !request.step.contains('#') {
            let store = self.store.clone();
            let handle = self.handle.clone();
            let request = request.clone();
            let approvers = self.approvers.clone();
            std::thread::spawn(move || prompt(store, approvers, handle, request));
        }
    }
}

/// Asks at the terminal: who is approving, and yes or no. The answer goes through the one
/// decision path like any other, so the same rules apply.
fn prompt(
    store: Arc<dyn Store>,
    approvers: Approvers,
    handle: tokio::runtime::Handle,
    request: ApprovalRequest,
) {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    print!("    approver name (or Enter to wait for `rbk approve`): ");
    let _ = std::io::stdout().flush();
    let Some(Ok(user)) = lines.next() else { return };
    let user = normalize_person(&user);
    if user.is_empty() {
        return;
    }
    print!("    {user}, approve {}? [y/N] ", request.step);
    let _ = std::io::stdout().flush();
    let Some(Ok(answer)) = lines.next() else {
        return;
    };
    let approve = matches!(answer.trim(), "y" | "Y" | "yes");
    let mut values = std::collections::BTreeMap::new();
    if approve {
        for asked in &request.asks {
            print!("    {} ({}): ", asked.name, asked.ty);
            let _ = std::io::stdout().flush();
            let Some(Ok(text)) = lines.next() else {
                return;
            };
            values.insert(asked.name.clone(), text.trim().to_string());
        }
    }
    let vote = Vote {
        run_id: request.run_id.clone(),
        step: request.step.clone(),
        approve,
        voter: Voter {
            person: user.clone(),
            via: Via::Terminal,
            from: format!("terminal {user}@{}", RunOwner::this_process().host),
        },
        comment: None,
        digest_seen: Some(request.digest.clone()),
        external_id: None,
        values,
    };
    match handle.block_on(decide(store.as_ref(), &approvers, &vote, now_ms())) {
        Ok(Ok(_)) => {}
        Ok(Err(refusal)) => println!("    refused: {}", refusal.message),
        Err(error) => eprintln!("    the answer could not be recorded: {error}"),
    }
}

/// `text` with every line indented by `by` spaces.
fn indented(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|line| format!("{pad}{line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The columns left for text indented by `indent`: the terminal's width when standard output
/// is one (`COLUMNS` when set), else 100 so that logs and tests read the same everywhere.
fn text_width(indent: usize) -> usize {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .or_else(terminal_columns)
        .unwrap_or(100);
    columns.saturating_sub(indent).max(40)
}

#[cfg(unix)]
fn terminal_columns() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we pass, on a descriptor that is
    // open (standard output) for the whole call.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn terminal_columns() -> Option<usize> {
    None
}

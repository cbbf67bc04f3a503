//! Workers: claim a queued run from the store, execute it under a lease renewed by heartbeats,
//! and stop its effects the moment the lease is lost (another process took the run over).
//! A reaper hands runs whose lease expired back to the queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rbk_interpreter::approval::{ApprovalDecision, ApprovalRequest, Approver};
use rbk_interpreter::approvals::{ApprovalNotice, StoreApprover};
use rbk_interpreter::dry_run::DryRunActions;
use rbk_interpreter::engine::RunRequest;
use rbk_interpreter::journal::EventKind;
use rbk_interpreter::start;
use rbk_interpreter::store::{Lease, RunOwner, RunRecord, RunState};
use rbk_interpreter::{Actions, BoxFuture};
use serde_json::json;
use tokio::sync::Notify;

use crate::catalog::{LoadedFile, RunbookEntry};
use crate::config::{HEARTBEAT_MS, LEASE_MS, REAP_EVERY_MS};
use crate::log;
use crate::metrics::Metrics;
use crate::slack;
use crate::slack::notice::{RunContext, SlackNotice};
use crate::state::Server;

/// This process's name for its `index`th worker: host, pid and index, unique across machines.
pub fn worker_name(index: usize) -> String {
    let owner = RunOwner::this_process();
    format!("{}:{}:{index}", owner.host, owner.pid)
}

/// Claims and runs until the server stops; then finishes (or, past the grace period, releases)
/// the run in hand.
pub async fn work(server: Arc<Server>, index: usize) {
    let worker = worker_name(index);
    while !server.stopping() {
        let asked = Instant::now();
        let claimed = server.store.claim(&worker, 1, LEASE_MS).await;
        server.metrics.observe_claim(asked.elapsed().as_secs_f64());
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(error) => {
                log::error(
                    "claim_failed",
                    json!({"worker": worker, "error": error.to_string()}),
                );
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = server.stopped() => {}
                }
                continue;
            }
        };
        if claimed.is_empty() {
            tokio::select! {
                _ = server.store.wait_for_work(Duration::from_secs(1)) => {}
                _ = server.stopped() => {}
            }
            continue;
        }
        for (record, lease) in claimed {
            log::info(
                "claimed",
                json!({"run": record.id, "runbook": record.runbook, "worker": worker, "lease_token": lease.token}),
            );
            execute(&server, record, lease).await;
        }
    }
}

enum Ending {
    Finished(Result<rbk_interpreter::RunReport, start::ExecuteError>),
    LeaseLost,
    /// It waits for a human: the worker lets it go (see [`ParkingApprover`]).
    Parked,
    Released,
}

async fn execute(server: &Arc<Server>, record: RunRecord, lease: Lease) {
    let catalog = server.catalog();
    let Some((file, entry)) = catalog.find(&record.file, &record.runbook) else {
        let summary = format!(
            "runbook `{}` of {} is not among the files this rbk serve loaded (removed or renamed?)",
            record.runbook, record.file
        );
        fail_before_start(server, &record, &lease, &summary).await;
        return;
    };
    let request = match request_for(server, file, &record, &lease).await {
        Ok(request) => request,
        Err(why) => {
            fail_before_start(server, &record, &lease, &why.to_string()).await;
            return;
        }
    };
    let lost = Arc::new(Notify::new());
    let heartbeat = tokio::spawn(heartbeat(server.clone(), lease.clone(), lost.clone()));
    let natives = catalog.natives(entry);
    let withheld = DryRunActions::new(natives, &file.program.types.named_types);
    // A shadow run's writes are withheld by `start::execute` itself.
    let actions: &dyn Actions = if record.dry_run { &withheld } else { natives };
    let approver = ParkingApprover {
        store: StoreApprover {
            store: server.store.clone(),
            groups: file.approver_groups.clone(),
            poll_every: Duration::from_secs(1),
            notice: notice_for(server, file, entry, &record),
        },
        parked: Notify::new(),
        waiting_on: std::sync::Mutex::new(Vec::new()),
        checking: AtomicUsize::new(0),
    };
    let grace = Duration::from_millis(server.settings.shutdown_grace_ms);
    let ending = tokio::select! {
        report = start::execute(
            &file.program,
            server.store.clone(),
            request,
            Some(lease.clone()),
            actions,
            &approver,
            file.environment.as_ref(),
            None,
        ) => Ending::Finished(report),
        _ = lost.notified() => Ending::LeaseLost,
        _ = approver.parked.notified() => Ending::Parked,
        _ = async { server.stopped().await; tokio::time::sleep(grace).await } => Ending::Released,
    };
    heartbeat.abort();
    match ending {
        Ending::Finished(Ok(report)) => {
            log::info(
                "run_finished",
                json!({"run": record.id, "runbook": record.runbook, "status": report.status.as_str(), "summary": report.summary, "shadow": record.shadow}),
            );
            if let Some(slack) = server.slack.clone() {
                let steps = step_names(file, entry);
                let (store, run) = (server.store.clone(), record.id.clone());
                tokio::spawn(async move {
                    slack::notice::run_finished(&slack, store.as_ref(), &run, &steps, &report)
                        .await;
                });
            }
        }
        Ending::Finished(Err(error)) => log::error(
            "run_failed",
            json!({"run": record.id, "runbook": record.runbook, "error": error.to_string()}),
        ),
        Ending::LeaseLost => lease_ended(server, &record, &lease).await,
        Ending::Parked => park(server, &record, &lease, &approver).await,
        Ending::Released => {
            // The store keeps a released `waiting` run waiting with no lease, and nothing
            // queues it again yet when it is answered: hand it back as running, so that it is
            // queued and the next worker asks again (answers already given still count).
            let state = server
                .store
                .run(&record.id)
                .await
                .ok()
                .flatten()
                .map(|r| r.state);
            if matches!(state, Some(RunState::Waiting) | Some(RunState::InDoubt)) {
                let _ = server
                    .store
                    .set_state_fenced(&lease, RunState::Running, "")
                    .await;
            }
            match server.store.release(&lease).await {
                Ok(()) => log::info(
                    "released",
                    json!({"run": record.id, "worker": lease.worker, "reason": "shutting down; another process continues it"}),
                ),
                Err(error) => log::error(
                    "release_failed",
                    json!({"run": record.id, "error": error.to_string(), "reason": "its lease expires and the reaper re-queues it"}),
                ),
            }
        }
    }
}

/// Lets a run that waits for a human go: the store keeps it `waiting` (or `in_doubt`) with no
/// lease, and an answer queues it again for any worker, which goes on by `rbk resume`'s rules
/// (the gate's step had not started, so nothing runs twice). An answer that came in while
/// this worker still held the lease found nothing to queue: it is looked at once more here.
async fn park(server: &Server, record: &RunRecord, lease: &Lease, approver: &ParkingApprover) {
    if let Err(error) = server.store.release(lease).await {
        log::error(
            "release_failed",
            json!({"run": record.id, "error": error.to_string(), "reason": "its lease expires and the reaper re-queues it"}),
        );
        return;
    }
    let waiting_on = approver
        .waiting_on
        .lock()
        .map(|w| w.clone())
        .unwrap_or_default();
    let mut answered = false;
    for (request, deadline) in &waiting_on {
        answered |= approver
            .store
            .decided_by(request, *deadline)
            .await
            .is_some();
    }
    let requeued = answered
        && server
            .store
            .requeue_parked(&record.id)
            .await
            .unwrap_or(false);
    // The earliest deadline among the questions: the reaper queues the run then, and the
    // worker that takes it finds the gate timed out.
    let wake_at = waiting_on.iter().filter_map(|(_, d)| *d).min();
    if let (false, Some(wake_at)) = (requeued, wake_at) {
        if let Err(error) = server.store.park_until(&record.id, wake_at).await {
            log::error(
                "park_failed",
                json!({"run": record.id, "error": error.to_string(), "reason": "its gate's timeout will not fire until it is answered"}),
            );
        }
    }
    let waiting_on: Vec<ApprovalRequest> = waiting_on.into_iter().map(|(r, _)| r).collect();
    log::info(
        "parked",
        json!({"run": record.id, "worker": lease.worker, "steps": waiting_on.iter().map(|r| r.step.clone()).collect::<Vec<_>>(), "requeued": requeued, "wake_at": wake_at, "reason": "it waits for a human and holds no lease; an answer (or its gate's timeout) queues it again"}),
    );
}

/// The store says this worker no longer holds the run: a run that waits for a human holds no
/// lease (an answer queues it again), anything else was taken over.
async fn lease_ended(server: &Server, record: &RunRecord, lease: &Lease) {
    let now = server.store.run(&record.id).await.ok().flatten();
    match now.map(|r| r.state) {
        Some(RunState::Waiting) | Some(RunState::InDoubt) => log::info(
            "parked",
            json!({"run": record.id, "worker": lease.worker, "reason": "it waits for a human and holds no lease; an answer queues it again"}),
        ),
        state => log::warn(
            "lease_lost",
            json!({"run": record.id, "worker": lease.worker, "lease_token": lease.token, "state": state.map(|s| s.as_str()), "reason": "another process holds the run now; this one stopped before its next effect"}),
        ),
    }
}

/// The engine's request for a claimed run: its inputs and alert as recorded, bound against
/// the loaded program; a run that had begun (its worker died, or it was released) continues
/// with `rbk resume`'s rules.
async fn request_for(
    server: &Server,
    file: &LoadedFile,
    record: &RunRecord,
    lease: &Lease,
) -> Result<RunRequest, NotStartable> {
    let resume = start::resume_request(
        server.store.as_ref(),
        record,
        &lease.worker,
        file.environment.as_ref(),
    )
    .await?;
    Ok(start::request_for(&file.program, record, resume)?)
}

/// Why a claimed run cannot start.
#[derive(Debug, thiserror::Error)]
enum NotStartable {
    #[error(transparent)]
    Resume(#[from] start::ResumeError),
    #[error(transparent)]
    Request(#[from] start::StartError),
}

async fn fail_before_start(server: &Server, record: &RunRecord, lease: &Lease, summary: &str) {
    log::error(
        "run_not_startable",
        json!({"run": record.id, "runbook": record.runbook, "reason": summary}),
    );
    let _ = server
        .store
        .append_fenced(
            lease,
            log::now_ms(),
            &EventKind::RunFinished {
                status: RunState::Failed.as_str().into(),
                summary: summary.into(),
            },
        )
        .await;
    let _ = server
        .store
        .set_state_fenced(lease, RunState::Failed, summary)
        .await;
}

/// Renews the lease every 10 s; says so through `lost` when the store answers that another
/// process holds it, or when the store could not be reached for as long as the lease lasts.
async fn heartbeat(server: Arc<Server>, lease: Lease, lost: Arc<Notify>) {
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(HEARTBEAT_MS)).await;
        match server.store.heartbeat(&lease, LEASE_MS).await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => {
                lost.notify_one();
                return;
            }
            Err(error) => {
                log::warn(
                    "heartbeat_failed",
                    json!({"run": lease.run_id, "error": error.to_string()}),
                );
                if renewed.elapsed() >= Duration::from_millis(LEASE_MS) {
                    lost.notify_one();
                    return;
                }
            }
        }
    }
}

/// Hands runs whose lease expired (their process died or hung) back to the queue, and parked
/// runs whose gate's deadline came, so that the gate times out.
pub async fn reap(server: Arc<Server>) {
    while !server.stopping() {
        match server.store.wake_due(log::now_ms()).await {
            Ok(runs) => {
                for run in runs {
                    log::info(
                        "woken",
                        json!({"run": run, "reason": "the deadline of the gate it waits on came; it is queued to time out"}),
                    );
                }
            }
            Err(error) => log::error("wake_failed", json!({"error": error.to_string()})),
        }
        match server.store.reap(log::now_ms()).await {
            Ok(runs) => {
                Metrics::add(&server.metrics.takeovers, runs.len() as u64);
                for run in runs {
                    log::warn(
                        "takeover",
                        json!({"run": run, "reason": "its lease expired; it is queued again for another worker"}),
                    );
                }
            }
            Err(error) => log::error("reap_failed", json!({"error": error.to_string()})),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(REAP_EVERY_MS)) => {}
            _ = server.stopped() => {}
        }
    }
}

/// Approvals for a worker: decided by the store's answers like everywhere else; a gate
/// nobody has answered yet parks the run (the worker and its lease go to other runs) instead
/// of waiting in this process. A gate with a `timeout` parks with its deadline (`wake_at`,
/// counted from the step's first request): the reaper queues the run then, and the worker
/// that takes it finds the gate timed out.
struct ParkingApprover {
    store: StoreApprover,
    /// Told when a request parks: the worker then releases the run.
    parked: Notify,
    /// The requests the run waits on (two for a step in doubt: `#retry` and `#done`), each
    /// with its deadline.
    waiting_on: std::sync::Mutex<Vec<(ApprovalRequest, Option<i64>)>>,
    /// How many requests are still reading the store for an answer.
    checking: AtomicUsize,
}

/// One request reading the store for its answer; counted until it drops.
struct Checking<'a>(&'a AtomicUsize);

impl<'a> Checking<'a> {
    fn start(count: &'a AtomicUsize) -> Checking<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        Checking(count)
    }
}

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Approver for ParkingApprover {
    fn request<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async move {
            // A step in doubt asks two questions at once (`#retry`, `#done`): the run parks only
            // once every question asked together has found no answer, or it could park with
            // the answer to the other one already there.
            let checking = Checking::start(&self.checking);
            let deadline = self.store.deadline(request).await;
            if let Some(decision) = self.store.decided_by(request, deadline).await {
                self.store.notice.decided(request, &decision);
                return decision;
            }
            self.store.notice.waiting(request);
            if let Ok(mut waiting_on) = self.waiting_on.lock() {
                waiting_on.push((request.clone(), deadline));
            }
            drop(checking);
            // Lets a question asked in the same breath start its check first.
            tokio::task::yield_now().await;
            if self.checking.load(Ordering::SeqCst) == 0 {
                self.parked.notify_one();
            }
            // The worker drops this run's future once it has released it.
            std::future::pending().await
        })
    }
}

/// Where a waiting run is announced: the log, and Slack when it posts approval messages.
fn notice_for(
    server: &Server,
    file: &LoadedFile,
    entry: &RunbookEntry,
    record: &RunRecord,
) -> Box<dyn ApprovalNotice> {
    let Some(slack) = server
        .slack
        .clone()
        .filter(|s| s.posts_approvals().is_some())
    else {
        return Box::new(LogNotice);
    };
    let plans = rbk_compiler::plan::build(&file.program, file.program.module(entry.module));
    let plan = plans.iter().find(|plan| plan.name == entry.name);
    Box::new(SlackNotice {
        slack,
        store: server.store.clone(),
        context: RunContext::from_plan(plan, &record.runbook, plain_alert(record)),
        also: Box::new(LogNotice),
    })
}

/// The run's alert as the runbook reads it (the store keeps it typed); secrets by name only.
fn plain_alert(record: &RunRecord) -> Option<serde_json::Value> {
    let stored = record.alert.as_ref()?;
    let plain =
        rbk_interpreter::Value::from_stored(stored, &|name| Some(format!("<secret {name}>")))
            .map(|value| value.to_json())
            .unwrap_or_else(|_| stored.clone());
    Some(plain)
}

/// The runbook's step names, for finding the messages posted about them.
fn step_names(file: &LoadedFile, entry: &RunbookEntry) -> Vec<String> {
    rbk_compiler::plan::build(&file.program, file.program.module(entry.module))
        .into_iter()
        .find(|plan| plan.name == entry.name)
        .map(|plan| plan.steps.into_iter().map(|step| step.name).collect())
        .unwrap_or_default()
}

/// A run waits at an approval gate: said in the log, answered with `rbk approve`.
struct LogNotice;

impl ApprovalNotice for LogNotice {
    fn waiting(&self, request: &ApprovalRequest) {
        log::info(
            "approval_waiting",
            json!({
                "run": request.run_id,
                "step": request.step,
                "group": request.group,
                "quorum": request.quorum,
                "actions": request.actions,
                "answer_with": format!("rbk approve {} {} --as USER", request.run_id, request.step),
            }),
        );
    }
}

//! Integration tests of the engine's semantics through its public API: each test checks a
//! small runbook, runs it against scripted actions, a scripted approver, a map-backed
//! environment and a `MemoryJournal`, on tokio's paused clock (sleeps auto-advance, so
//! `within 30s every 5s` finishes instantly), and asserts on the `RunReport` and the journal.
//!
//! The runbooks declare their own `extern action`s, so no standard-library module is needed;
//! the file is checked as `rb.rbk`, so the actions are named `rb.NAME` at run time.

mod support;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rbk_compiler::project::StdOnly;
use rbk_compiler::syntax::TimeoutOutcome;
use rbk_compiler::{check, Analysis, CheckOptions};
use rbk_interpreter::journal::verify_chain;
use rbk_interpreter::test_runner::run_tests;
use rbk_interpreter::{
    run, ActionCall, ActionError, Actions, ApprovalDecision, ApprovalRequest, Approver, BoxFuture,
    Environment, Event, EventKind, MemoryJournal, RunReport, RunRequest, RunStatus, Services,
    StepState, Value,
};
use support::compile;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// Records every call and answers from a per-action queue; when the queue is empty, from the
/// action's default (else `none`). An action may be made slow (it sleeps before answering).
#[derive(Default)]
struct ScriptedActions {
    calls: Mutex<Vec<ActionCall>>,
    queues: Mutex<HashMap<String, VecDeque<Result<Value, ActionError>>>>,
    defaults: HashMap<String, Result<Value, ActionError>>,
    delays: HashMap<String, Duration>,
}

impl ScriptedActions {
    /// Queue successive answers for `rb.NAME`.
    fn answer(&mut self, name: &str, results: Vec<Result<Value, ActionError>>) {
        self.queues
            .get_mut()
            .unwrap()
            .entry(format!("rb.{name}"))
            .or_default()
            .extend(results);
    }

    /// What `rb.NAME` answers once its queue is empty.
    fn always(&mut self, name: &str, result: Result<Value, ActionError>) {
        self.defaults.insert(format!("rb.{name}"), result);
    }

    fn slow(&mut self, name: &str, delay: Duration) {
        self.delays.insert(format!("rb.{name}"), delay);
    }

    fn calls(&self) -> Vec<ActionCall> {
        self.calls.lock().unwrap().clone()
    }

    fn calls_of(&self, name: &str) -> Vec<ActionCall> {
        let action = format!("rb.{name}");
        self.calls()
            .into_iter()
            .filter(|c| c.action == action)
            .collect()
    }

    fn names(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.action).collect()
    }
}

impl Actions for ScriptedActions {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(call.clone());
            if let Some(delay) = self.delays.get(&call.action) {
                tokio::time::sleep(*delay).await;
            }
            let queued = self
                .queues
                .lock()
                .unwrap()
                .get_mut(&call.action)
                .and_then(VecDeque::pop_front);
            match queued {
                Some(result) => result,
                None => self
                    .defaults
                    .get(&call.action)
                    .cloned()
                    .unwrap_or(Ok(Value::None)),
            }
        })
    }
}

/// Answers each step's approval from a table (unlisted steps are denied), recording requests.
#[derive(Default)]
struct ScriptedApprover {
    answers: HashMap<String, ApprovalDecision>,
    requests: Mutex<Vec<ApprovalRequest>>,
}

impl ScriptedApprover {
    fn answer(&mut self, step: &str, decision: ApprovalDecision) {
        self.answers.insert(step.to_string(), decision);
    }

    fn requests(&self) -> Vec<ApprovalRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Approver for ScriptedApprover {
    fn request<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async move {
            self.requests.lock().unwrap().push(request.clone());
            self.answers
                .get(&request.step)
                .cloned()
                .unwrap_or(ApprovalDecision::Denied {
                    by: "nobody".into(),
                    channel: "script".into(),
                })
        })
    }
}

#[derive(Default)]
struct MapEnvironment {
    env: HashMap<String, String>,
    secrets: HashMap<String, String>,
}

impl Environment for MapEnvironment {
    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
    fn secret(&self, name: &str) -> Option<String> {
        self.secrets.get(name).cloned()
    }
}

#[derive(Default)]
struct World {
    actions: ScriptedActions,
    approver: ScriptedApprover,
    environment: MapEnvironment,
    journal: MemoryJournal,
}

const STARTED_AT: i64 = 1_764_072_000_000;

impl World {
    async fn run(&self, program: &Analysis, runbook: &str) -> RunReport {
        self.run_with(program, runbook, BTreeMap::new()).await
    }

    async fn run_with(
        &self,
        program: &Analysis,
        runbook: &str,
        inputs: BTreeMap<String, Value>,
    ) -> RunReport {
        let services = Services {
            actions: &self.actions,
            approver: &self.approver,
            journal: &self.journal,
            environment: &self.environment,
        };
        let request = RunRequest {
            module: program.roots[0],
            runbook: runbook.to_string(),
            inputs,
            alert: None,
            started_by: "tester".into(),
            run_id: "run-1".into(),
            started_at: STARTED_AT,
            resume: None,
            dry_run: false,
            shadow: false,
        };
        let report = run(program, services, request)
            .await
            .expect("the run should start");
        assert_eq!(
            verify_chain(&self.journal.events()),
            Ok(()),
            "the journal's hash chain must be intact"
        );
        report
    }

    fn events(&self) -> Vec<Event> {
        self.journal.events()
    }

    /// Every event but `bound` (the values kept for `rbk resume`), in order.
    fn kinds(&self) -> Vec<EventKind> {
        self.events()
            .into_iter()
            .map(|e| e.kind)
            .filter(|k| !matches!(k, EventKind::Bound { .. }))
            .collect()
    }

    /// The `event` tag of every journal event but `bound`, in order.
    fn tags(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| !matches!(e.kind, EventKind::Bound { .. }))
            .map(|e| {
                serde_json::to_value(&e.kind).unwrap()["event"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
}

fn steps(list: &[(&str, StepState)]) -> Vec<(String, StepState)> {
    list.iter().map(|(n, s)| (n.to_string(), *s)).collect()
}

fn text(value: &str) -> Value {
    Value::Str(value.to_string())
}

fn arg(call: &ActionCall, name: &str) -> Value {
    call.arg(name)
        .unwrap_or_else(|| panic!("{} has no argument `{name}`", call.action))
        .clone()
}

fn boom(message: &str) -> Result<Value, ActionError> {
    Err(ActionError::new(message))
}

/// Externs shared by most runbooks below.
const EXTERNS: &str = r#"
/// Reads a level.
extern action level() -> percent effect read
/// Calls an API.
extern action call_api() -> int effect read
/// Posts a message.
extern action post(text: string) effect write
/// Announces something (used by `notify`).
extern action announce(text: string) effect write
/// Pages a human.
extern action page(summary: string, step: string) effect write
/// Restarts a service.
extern action restart(name: string) effect destructive
/// Drains a node: destructive, but safe to do when nobody answers.
extern action drain(name: string) effect destructive safe_to_auto_approve
/// Uses a token.
extern action call_with(token: secret) -> int effect read
"#;

fn program(runbook: &str) -> Analysis {
    compile(&format!("{EXTERNS}\n{runbook}"))
}

const ESCALATE: &str = r#"escalate page(summary: run.summary, step: run.failed_step ?? "-")"#;

// ---------------------------------------------------------------------------------------------
// Steps, let, when, if/else, for, log
// ---------------------------------------------------------------------------------------------

fn basics() -> Analysis {
    program(&format!(
        r#"
runbook basics {{
  title "Basics"
  {ESCALATE}

  step first "Read the level" {{
    let current = level()
    log "level is {{current}}"
  }}

  step second "React to it" {{
    if current > 50% {{
      post(text: "high {{current}}")
    }} else {{
      post(text: "low {{current}}")
    }}
    for item in ["a", "b", "c"] {{
      post(text: "item {{item}}")
    }}
  }}

  step only_low "Only when low" when current < 10% {{
    post(text: "very low")
  }}

  step last "Last" {{
    post(text: "done")
  }}
}}
"#
    ))
}

#[tokio::test(start_paused = true)]
async fn steps_run_in_order_with_let_when_if_for_and_log() {
    let program = basics();
    let mut world = World::default();
    world
        .actions
        .answer("level", vec![Ok(Value::Percent(80.0))]);
    let report = world.run(&program, "basics").await;

    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(
        report.steps,
        steps(&[
            ("first", StepState::Succeeded),
            ("second", StepState::Succeeded),
            ("only_low", StepState::Skipped),
            ("last", StepState::Succeeded),
        ])
    );
    assert!(!report.escalated);
    assert_eq!(report.failed_step, None);
    assert_eq!(report.fatal, None);
    assert_eq!(report.summary, "basics succeeded (4 steps)");

    // `let current` from `first` is read by `second`; the `then` branch and every `for` item.
    let posted: Vec<Value> = world
        .actions
        .calls_of("post")
        .iter()
        .map(|c| arg(c, "text"))
        .collect();
    assert_eq!(
        posted,
        vec![
            text("high 80%"),
            text("item a"),
            text("item b"),
            text("item c"),
            text("done")
        ]
    );
    assert_eq!(
        world.actions.names(),
        ["rb.level", "rb.post", "rb.post", "rb.post", "rb.post", "rb.post"]
    );

    assert_eq!(
        world.tags(),
        [
            "run_started",
            "step_started",
            "action_called",
            "log",
            "step_succeeded",
            "step_started",
            "action_called",
            "action_called",
            "action_called",
            "action_called",
            "step_succeeded",
            "step_skipped",
            "step_started",
            "action_called",
            "step_succeeded",
            "run_finished",
        ]
    );
    let kinds = world.kinds();
    assert!(kinds.contains(&EventKind::Log {
        step: "first".into(),
        message: "level is 80%".into()
    }));
    assert!(kinds.contains(&EventKind::StepSkipped {
        step: "only_low".into(),
        condition: "current < 10% was false".into()
    }));
    assert!(kinds.contains(&EventKind::StepStarted {
        step: "first".into(),
        attempt: 1
    }));
    assert!(kinds.contains(&EventKind::ActionCalled {
        step: "second".into(),
        call: "rb.post(text: high 80%)".into(),
        effect: "write".into()
    }));
    assert_eq!(
        kinds.last(),
        Some(&EventKind::RunFinished {
            status: "succeeded".into(),
            summary: "basics succeeded (4 steps)".into()
        })
    );
    // Event times come from the (paused) clock, counted from `started_at`.
    assert!(world.events().iter().all(|e| e.at == STARTED_AT));
}

#[tokio::test(start_paused = true)]
async fn else_branch_and_a_true_when() {
    let program = basics();
    let mut world = World::default();
    world.actions.answer("level", vec![Ok(Value::Percent(5.0))]);
    let report = world.run(&program, "basics").await;

    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(
        report.steps,
        steps(&[
            ("first", StepState::Succeeded),
            ("second", StepState::Succeeded),
            ("only_low", StepState::Succeeded),
            ("last", StepState::Succeeded),
        ])
    );
    let posted: Vec<Value> = world
        .actions
        .calls_of("post")
        .iter()
        .map(|c| arg(c, "text"))
        .collect();
    assert_eq!(
        posted,
        vec![
            text("low 5%"),
            text("item a"),
            text("item b"),
            text("item c"),
            text("very low"),
            text("done")
        ]
    );
    assert!(!world.tags().contains(&"step_skipped".to_string()));
}

// ---------------------------------------------------------------------------------------------
// expect, fail, on failure, escalation
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn failed_expect_fails_the_step_with_its_message_aborts_and_escalates() {
    let program = program(&format!(
        r#"
runbook expects {{
  {ESCALATE}
  step check "Check" {{
    let current = level()
    expect current < 50% else "level {{current}} is too high"
    post(text: "not reached")
  }}
  step after "After" {{
    post(text: "after")
  }}
}}
"#
    ));
    let mut world = World::default();
    world
        .actions
        .answer("level", vec![Ok(Value::Percent(80.0))]);
    let report = world.run(&program, "expects").await;

    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.steps, steps(&[("check", StepState::Failed)]));
    assert_eq!(report.failed_step.as_deref(), Some("check"));
    assert!(report.escalated);
    assert_eq!(report.summary, "expects: step `check` failed");
    assert!(world.actions.calls_of("post").is_empty());

    // The escalation sees `run.summary` and `run.failed_step`.
    let pages = world.actions.calls_of("page");
    assert_eq!(pages.len(), 1);
    assert_eq!(
        arg(&pages[0], "summary"),
        text("expects: step `check` failed")
    );
    assert_eq!(arg(&pages[0], "step"), text("check"));

    assert_eq!(
        world.tags(),
        [
            "run_started",
            "step_started",
            "action_called",
            "step_failed",
            "action_called",
            "escalation_sent",
            "run_finished",
        ]
    );
    let kinds = world.kinds();
    assert!(kinds.contains(&EventKind::StepFailed {
        step: "check".into(),
        error: "level 80% is too high".into()
    }));
    assert!(kinds.contains(&EventKind::ActionCalled {
        step: "escalate".into(),
        call: "rb.page(summary: expects: step `check` failed, step: check)".into(),
        effect: "write".into()
    }));
    assert!(kinds.contains(&EventKind::EscalationSent {
        reason: "expects: step `check` failed".into()
    }));
    assert_eq!(
        kinds.last(),
        Some(&EventKind::RunFinished {
            status: "failed".into(),
            summary: "expects: step `check` failed".into()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn expect_without_else_names_the_condition() {
    let program = program(&format!(
        r#"
runbook expects {{
  {ESCALATE}
  step check "Check" {{
    expect level() < 50%
  }}
}}
"#
    ));
    let mut world = World::default();
    world.actions.always("level", Ok(Value::Percent(80.0)));
    let report = world.run(&program, "expects").await;
    assert_eq!(report.status, RunStatus::Failed);
    // Without `within`, the condition is checked exactly once.
    assert_eq!(world.actions.calls_of("level").len(), 1);
    assert!(world.kinds().contains(&EventKind::StepFailed {
        step: "check".into(),
        error: "`level() < 50%` was false".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn fail_statement_with_on_failure_continue_goes_on() {
    let program = program(&format!(
        r#"
runbook continues {{
  {ESCALATE}
  step flaky "Flaky" {{
    on failure continue
    fail "the flaky step gave up"
  }}
  step after "After" {{
    post(text: "after")
  }}
}}
"#
    ));
    let world = World::default();
    let report = world.run(&program, "continues").await;

    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(
        report.steps,
        steps(&[
            ("flaky", StepState::Failed),
            ("after", StepState::Succeeded)
        ])
    );
    assert!(!report.escalated);
    assert_eq!(report.failed_step, None);
    assert!(world.actions.calls_of("page").is_empty());
    assert_eq!(world.actions.calls_of("post").len(), 1);
    assert!(world.kinds().contains(&EventKind::StepFailed {
        step: "flaky".into(),
        error: "the flaky step gave up".into()
    }));
    assert_eq!(
        world.tags(),
        [
            "run_started",
            "step_started",
            "step_failed",
            "step_started",
            "action_called",
            "step_succeeded",
            "run_finished",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn fail_statement_aborts_by_default() {
    let program = program(&format!(
        r#"
runbook aborts {{
  {ESCALATE}
  step flaky "Flaky" {{
    on failure abort
    fail "gave up on {{1 + 1}} tries"
  }}
  step after "After" {{
    post(text: "after")
  }}
}}
"#
    ));
    let world = World::default();
    let report = world.run(&program, "aborts").await;
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.steps, steps(&[("flaky", StepState::Failed)]));
    assert_eq!(report.failed_step.as_deref(), Some("flaky"));
    assert!(report.escalated);
    assert!(world.actions.calls_of("post").is_empty());
    assert!(world.kinds().contains(&EventKind::StepFailed {
        step: "flaky".into(),
        error: "gave up on 2 tries".into()
    }));
    let pages = world.actions.calls_of("page");
    assert_eq!(pages.len(), 1);
    assert_eq!(
        arg(&pages[0], "summary"),
        text("aborts: step `flaky` failed")
    );
    assert_eq!(arg(&pages[0], "step"), text("flaky"));
}

#[tokio::test(start_paused = true)]
async fn failing_action_fails_the_step_with_the_action_name() {
    let program = program(&format!(
        r#"
runbook acting {{
  {ESCALATE}
  step call "Call" {{
    call_api()
  }}
}}
"#
    ));
    let mut world = World::default();
    world
        .actions
        .answer("call_api", vec![boom("503 from upstream")]);
    let report = world.run(&program, "acting").await;
    assert_eq!(report.status, RunStatus::Failed);
    assert!(report.escalated);
    assert!(world.kinds().contains(&EventKind::StepFailed {
        step: "call".into(),
        error: "rb.call_api failed: 503 from upstream".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn fatal_action_error_stops_the_run_without_escalating_even_with_continue() {
    let program = program(&format!(
        r#"
runbook fatal {{
  {ESCALATE}
  step call "Call" {{
    on failure continue
    call_api()
  }}
  step after "After" {{
    post(text: "after")
  }}
}}
"#
    ));
    let mut world = World::default();
    world
        .actions
        .answer("call_api", vec![Err(ActionError::fatal("harness broke"))]);
    let report = world.run(&program, "fatal").await;
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.fatal.as_deref(), Some("harness broke"));
    assert_eq!(report.steps, steps(&[("call", StepState::Failed)]));
    assert_eq!(report.failed_step.as_deref(), Some("call"));
    assert!(!report.escalated);
    assert!(world.actions.calls_of("post").is_empty());
    assert!(world.actions.calls_of("page").is_empty());
    assert_eq!(
        world.tags().last().map(String::as_str),
        Some("run_finished")
    );
}

// ---------------------------------------------------------------------------------------------
// verify polling
// ---------------------------------------------------------------------------------------------

fn verifying() -> Analysis {
    program(&format!(
        r#"
runbook verifies {{
  {ESCALATE}
  verify settled "Level below 70%" {{
    expect level() < 70% within 30s every 5s
  }}
  step after "After" {{
    post(text: "after")
  }}
}}
"#
    ))
}

fn step_times(world: &World, step: &str) -> (i64, i64) {
    let events = world.events();
    let started = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::StepStarted { step: s, .. } if s == step))
        .expect("started")
        .at;
    let ended = events
        .iter()
        .find(|e| {
            matches!(&e.kind,
                EventKind::StepSucceeded { step: s } | EventKind::StepFailed { step: s, .. } if s == step)
        })
        .expect("ended")
        .at;
    (started, ended)
}

#[tokio::test(start_paused = true)]
async fn verify_polls_until_the_condition_holds() {
    let program = verifying();
    let mut world = World::default();
    world.actions.answer(
        "level",
        vec![
            Ok(Value::Percent(95.0)),
            Ok(Value::Percent(90.0)),
            Ok(Value::Percent(60.0)),
        ],
    );
    world.actions.always("level", Ok(Value::Percent(99.0)));
    let started = tokio::time::Instant::now();
    let report = world.run(&program, "verifies").await;

    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(
        report.steps,
        steps(&[
            ("settled", StepState::Succeeded),
            ("after", StepState::Succeeded)
        ])
    );
    // Checked at once, then every 5 seconds: true on the third check, at 10s.
    assert_eq!(world.actions.calls_of("level").len(), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    let (from, to) = step_times(&world, "settled");
    assert_eq!(to - from, 10_000);
    // Every poll is an action call in the journal.
    let polls = world
        .kinds()
        .iter()
        .filter(|k| matches!(k, EventKind::ActionCalled { step, .. } if step == "settled"))
        .count();
    assert_eq!(polls, 3);
}

#[tokio::test(start_paused = true)]
async fn verify_fails_the_run_when_never_true_within_the_limit() {
    let program = verifying();
    let mut world = World::default();
    world.actions.always("level", Ok(Value::Percent(95.0)));
    let started = tokio::time::Instant::now();
    let report = world.run(&program, "verifies").await;

    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.steps, steps(&[("settled", StepState::Failed)]));
    assert_eq!(report.failed_step.as_deref(), Some("settled"));
    assert!(report.escalated);
    // Checks at 0, 5, 10, 15, 20, 25 and 30 seconds: within / every + 1.
    assert_eq!(world.actions.calls_of("level").len(), 30 / 5 + 1);
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert!(world.actions.calls_of("post").is_empty());
    assert!(world.kinds().contains(&EventKind::StepFailed {
        step: "settled".into(),
        error: "`level() < 70%` was still false after 30s".into()
    }));
    let pages = world.actions.calls_of("page");
    assert_eq!(
        arg(&pages[0], "summary"),
        text("verifies: step `settled` failed")
    );
    assert_eq!(arg(&pages[0], "step"), text("settled"));
}

#[tokio::test(start_paused = true)]
async fn verify_polling_with_an_uneven_interval_never_overshoots_the_limit() {
    let program = program(&format!(
        r#"
runbook verifies {{
  {ESCALATE}
  verify settled "Level below 70%" {{
    expect level() < 70% within 10s every 4s
  }}
}}
"#
    ));
    let mut world = World::default();
    world.actions.always("level", Ok(Value::Percent(95.0)));
    let started = tokio::time::Instant::now();
    let report = world.run(&program, "verifies").await;
    assert_eq!(report.status, RunStatus::Failed);
    // Checks at 0, 4 and 8 seconds, and a last one at the limit itself (10s).
    assert_eq!(world.actions.calls_of("level").len(), 4);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert!(world.kinds().contains(&EventKind::StepFailed {
        step: "settled".into(),
        error: "`level() < 70%` was still false after 10s".into()
    }));
}

// ---------------------------------------------------------------------------------------------
// retry and timeouts
// ---------------------------------------------------------------------------------------------

fn retrying() -> Analysis {
    program(&format!(
        r#"
runbook retries {{
  {ESCALATE}
  step flaky "Flaky call" {{
    retry 2 every 10s backoff exponential
    let answer = call_api()
    post(text: "answer {{answer}}")
  }}
}}
"#
    ))
}

fn attempts(world: &World, step: &str) -> Vec<(u32, i64)> {
    world
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepStarted { step: s, attempt } if s == step => Some((*attempt, e.at)),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn retry_with_exponential_backoff_succeeds_on_the_third_attempt() {
    let program = retrying();
    let mut world = World::default();
    world.actions.answer(
        "call_api",
        vec![boom("503"), boom("503"), Ok(Value::Int(42))],
    );
    let started = tokio::time::Instant::now();
    let report = world.run(&program, "retries").await;

    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.steps, steps(&[("flaky", StepState::Succeeded)]));
    assert!(!report.escalated);
    assert_eq!(world.actions.calls_of("call_api").len(), 3);
    let posted = world.actions.calls_of("post");
    assert_eq!(posted.len(), 1);
    assert_eq!(arg(&posted[0], "text"), text("answer 42"));

    // Attempts 1..3, waiting 10s then 20s (doubling).
    let tries = attempts(&world, "flaky");
    assert_eq!(
        tries.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(tries[1].1 - tries[0].1, 10_000);
    assert_eq!(tries[2].1 - tries[1].1, 20_000);
    assert_eq!(started.elapsed(), Duration::from_secs(30));

    let kinds = world.kinds();
    assert!(kinds.contains(&EventKind::StepRetrying {
        step: "flaky".into(),
        attempt: 1,
        error: "rb.call_api failed: 503".into()
    }));
    assert!(kinds.contains(&EventKind::StepRetrying {
        step: "flaky".into(),
        attempt: 2,
        error: "rb.call_api failed: 503".into()
    }));
    assert_eq!(
        world.tags(),
        [
            "run_started",
            "step_started",
            "action_called",
            "step_retrying",
            "step_started",
            "action_called",
            "step_retrying",
            "step_started",
            "action_called",
            "action_called",
            "step_succeeded",
            "run_finished",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn retry_gives_up_after_the_last_attempt() {
    let program = retrying();
    let mut world = World::default();
    world.actions.always("call_api", boom("503"));
    let report = world.run(&program, "retries").await;

    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.steps, steps(&[("flaky", StepState::Failed)]));
    assert!(report.escalated);
    assert_eq!(world.actions.calls_of("call_api").len(), 3);
    assert_eq!(
        attempts(&world, "flaky")
            .iter()
            .map(|(a, _)| *a)
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // The attempts that will be retried are journaled as such, not as failures: only the
    // last one ends the step.
    let failures: Vec<(String, Option<u32>)> = world
        .kinds()
        .into_iter()
        .filter_map(|k| match k {
            EventKind::StepFailed { error, .. } => Some((error, None)),
            EventKind::StepRetrying { error, attempt, .. } => Some((error, Some(attempt))),
            _ => None,
        })
        .collect();
    assert_eq!(
        failures,
        [
            ("rb.call_api failed: 503".to_string(), Some(1)),
            ("rb.call_api failed: 503".to_string(), Some(2)),
            ("rb.call_api failed: 503".to_string(), None),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn step_timeout_fails_a_step_whose_action_is_too_slow() {
    let program = program(&format!(
        r#"
runbook slow_step {{
  {ESCALATE}
  step slow "Slow" {{
    timeout 5s
    call_api()
    post(text: "not reached")
  }}
}}
"#
    ));
    let mut world = World::default();
    world.actions.slow("call_api", Duration::from_secs(60));
    world.actions.always("call_api", Ok(Value::Int(1)));
    let started = tokio::time::Instant::now();
    let report = world.run(&program, "slow_step").await;

    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.steps, steps(&[("slow", StepState::Failed)]));
    assert_eq!(report.failed_step.as_deref(), Some("slow"));
    assert!(report.escalated);
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(world.actions.calls_of("post").is_empty());
    let kinds = world.kinds();
    assert!(kinds.contains(&EventKind::StepFailed {
        step: "slow".into(),
        error: "step timed out after 5s".into()
    }));
    let (from, to) = step_times(&world, "slow");
    assert_eq!(to - from, 5_000);
}

#[tokio::test(start_paused = true)]
async fn step_timeout_applies_to_each_retry_attempt() {
    let program = program(&format!(
        r#"
runbook slow_step {{
  {ESCALATE}
  step slow "Slow" {{
    retry 1 every 1s
    timeout 5s
    call_api()
  }}
}}
"#
    ));
    let mut world = World::default();
    world.actions.slow("call_api", Duration::from_secs(60));
    let started = tokio::time::Instant::now();
    let report = world.run(&program, "slow_step").await;
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(world.actions.calls_of("call_api").len(), 2);
    // 5s, a 1s pause, 5s.
    assert_eq!(started.elapsed(), Duration::from_secs(11));
    assert!(world.kinds().contains(&EventKind::StepRetrying {
        step: "slow".into(),
        attempt: 1,
        error: "step timed out after 5s".into()
    }));
}

fn slow_run() -> Analysis {
    program(&format!(
        r#"
runbook slow_run {{
  timeout 1m
  {ESCALATE}
  step fast "Fast" {{
    post(text: "fast")
  }}
  step slow "Slow" {{
    call_api()
  }}
  step after "After" {{
    post(text: "after")
  }}
}}
"#
    ))
}

#[tokio::test(start_paused = true)]
async fn runbook_timeout_stops_the_run_and_escalates() {
    let program = slow_run();
    let mut world = World::default();
    world.actions.slow("call_api", Duration::from_secs(600));
    let started = tokio::time::Instant::now();
    let report = world.run(&program, "slow_run").await;

    assert_eq!(report.status, RunStatus::TimedOut);
    assert_eq!(report.summary, "slow_run timed out after 1m");
    assert!(report.escalated);
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    assert_eq!(report.steps[0], ("fast".to_string(), StepState::Succeeded));
    // `after` never runs.
    assert_eq!(world.actions.calls_of("post").len(), 1);
    let pages = world.actions.calls_of("page");
    assert_eq!(pages.len(), 1);
    assert_eq!(
        arg(&pages[0], "summary"),
        text("slow_run timed out after 1m")
    );
    let kinds = world.kinds();
    assert!(kinds.contains(&EventKind::EscalationSent {
        reason: "slow_run timed out after 1m".into()
    }));
    assert_eq!(
        kinds.last(),
        Some(&EventKind::RunFinished {
            status: "timed out".into(),
            summary: "slow_run timed out after 1m".into()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn runbook_timeout_records_the_interrupted_step() {
    let program = slow_run();
    let mut world = World::default();
    world.actions.slow("call_api", Duration::from_secs(600));
    let report = world.run(&program, "slow_run").await;
    assert_eq!(report.status, RunStatus::TimedOut);
    assert_eq!(
        report.steps,
        steps(&[("fast", StepState::Succeeded), ("slow", StepState::Failed)])
    );
    assert_eq!(report.failed_step.as_deref(), Some("slow"));
    let pages = world.actions.calls_of("page");
    assert_eq!(arg(&pages[0], "step"), text("slow"));
    assert!(world
        .kinds()
        .iter()
        .any(|k| matches!(k, EventKind::StepFailed { step, .. } if step == "slow")));
}

// ---------------------------------------------------------------------------------------------
// Approvals
// ---------------------------------------------------------------------------------------------

fn gated() -> Analysis {
    program(&format!(
        r#"
runbook gated {{
  {ESCALATE}
  step restart_it "Restart the API" {{
    approval required from "oncall" timeout 5m on timeout deny
    restart(name: "api")
  }}
  step after "After" {{
    post(text: "after")
  }}
}}
"#
    ))
}

#[tokio::test(start_paused = true)]
async fn granted_approval_runs_the_step() {
    let program = gated();
    let mut world = World::default();
    world.approver.answer(
        "restart_it",
        ApprovalDecision::Granted {
            by: vec!["alice".into()],
            channel: "slack".into(),
            values: Default::default(),
        },
    );
    let report = world.run(&program, "gated").await;

    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(
        report.steps,
        steps(&[
            ("restart_it", StepState::Succeeded),
            ("after", StepState::Succeeded)
        ])
    );
    assert!(!report.escalated);
    let restarts = world.actions.calls_of("restart");
    assert_eq!(restarts.len(), 1);
    assert_eq!(arg(&restarts[0], "name"), text("api"));

    let requests = world.approver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.run_id, "run-1");
    assert_eq!(request.step, "restart_it");
    assert_eq!(request.group.as_deref(), Some("oncall"));
    assert_eq!(request.quorum, 1);
    assert_eq!(request.timeout, Some(300_000));
    assert_eq!(request.on_timeout, TimeoutOutcome::Deny);
    assert_eq!(request.started_by, "tester");
    // The prompt shows the call with its arguments resolved to values.
    assert_eq!(request.actions, vec!["rb.restart(name: api)".to_string()]);

    assert_eq!(
        world.tags()[..6],
        [
            "run_started",
            "approval_requested",
            "approval_granted",
            "step_started",
            "action_called",
            "step_succeeded",
        ]
    );
    let kinds = world.kinds();
    assert!(
        kinds.iter().any(|k| matches!(k,
            EventKind::ApprovalRequested { step, group, quorum: 1, actions, .. }
                if step == "restart_it"
                    && group.as_deref() == Some("oncall")
                    && actions == &["rb.restart(name: api)".to_string()])),
        "{kinds:#?}"
    );
    assert!(kinds.contains(&EventKind::ApprovalGranted {
        step: "restart_it".into(),
        by: vec!["alice".into()],
        channel: "slack".into(),
        values: Default::default(),
    }));
    assert!(kinds.contains(&EventKind::ActionCalled {
        step: "restart_it".into(),
        call: "rb.restart(name: api)".into(),
        effect: "destructive".into(),
    }));
}

#[tokio::test(start_paused = true)]
async fn denied_approval_denies_the_step_and_escalates() {
    let program = gated();
    let mut world = World::default();
    world.approver.answer(
        "restart_it",
        ApprovalDecision::Denied {
            by: "bob".into(),
            channel: "slack".into(),
        },
    );
    let report = world.run(&program, "gated").await;

    assert_eq!(report.status, RunStatus::Denied);
    assert_eq!(report.steps, steps(&[("restart_it", StepState::Denied)]));
    assert_eq!(report.failed_step.as_deref(), Some("restart_it"));
    assert!(report.escalated);
    assert_eq!(
        report.summary,
        "gated: approval for step `restart_it` was not given"
    );
    assert!(world.actions.calls_of("restart").is_empty());
    assert!(world.actions.calls_of("post").is_empty());
    let pages = world.actions.calls_of("page");
    assert_eq!(pages.len(), 1);
    assert_eq!(
        arg(&pages[0], "summary"),
        text("gated: approval for step `restart_it` was not given")
    );
    assert_eq!(arg(&pages[0], "step"), text("restart_it"));

    assert_eq!(
        world.tags(),
        [
            "run_started",
            "approval_requested",
            "approval_denied",
            "step_denied",
            "action_called",
            "escalation_sent",
            "run_finished",
        ]
    );
    let kinds = world.kinds();
    assert!(kinds.contains(&EventKind::ApprovalDenied {
        step: "restart_it".into(),
        by: "bob".into(),
        channel: "slack".into(),
    }));
    assert!(kinds.contains(&EventKind::StepDenied {
        step: "restart_it".into()
    }));
    assert_eq!(
        kinds.last(),
        Some(&EventKind::RunFinished {
            status: "denied".into(),
            summary: "gated: approval for step `restart_it` was not given".into()
        })
    );
}

#[tokio::test(start_paused = true)]
async fn approval_timeout_with_on_timeout_deny_denies() {
    let program = gated();
    let mut world = World::default();
    world
        .approver
        .answer("restart_it", ApprovalDecision::TimedOut);
    let report = world.run(&program, "gated").await;

    assert_eq!(report.status, RunStatus::Denied);
    assert_eq!(report.steps, steps(&[("restart_it", StepState::Denied)]));
    assert!(report.escalated);
    assert!(world.actions.calls_of("restart").is_empty());
    assert_eq!(
        world.tags(),
        [
            "run_started",
            "approval_requested",
            "approval_timed_out",
            "step_denied",
            "action_called",
            "escalation_sent",
            "run_finished",
        ]
    );
    assert!(world.kinds().contains(&EventKind::ApprovalTimedOut {
        step: "restart_it".into(),
        outcome: "deny".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn approval_timeout_with_on_timeout_escalate_denies_and_escalates() {
    let program = program(&format!(
        r#"
runbook gated {{
  {ESCALATE}
  step restart_it "Restart the API" {{
    approval required 2 from "oncall" timeout 10m on timeout escalate reason "it drops connections"
    restart(name: "api")
  }}
}}
"#
    ));
    let mut world = World::default();
    world
        .approver
        .answer("restart_it", ApprovalDecision::TimedOut);
    let report = world.run(&program, "gated").await;
    assert_eq!(report.status, RunStatus::Denied);
    assert!(report.escalated);
    assert!(world.actions.calls_of("restart").is_empty());
    let request = &world.approver.requests()[0];
    assert_eq!(request.quorum, 2);
    assert_eq!(request.timeout, Some(600_000));
    assert_eq!(request.on_timeout, TimeoutOutcome::Escalate);
    assert!(world.kinds().contains(&EventKind::ApprovalTimedOut {
        step: "restart_it".into(),
        outcome: "escalate".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn approval_timeout_with_on_timeout_approve_runs_a_safe_action() {
    let program = program(&format!(
        r#"
runbook auto {{
  {ESCALATE}
  step drain_it "Drain the node" {{
    approval required from "oncall" timeout 5m on timeout approve
    drain(name: "node-1")
  }}
}}
"#
    ));
    let mut world = World::default();
    world
        .approver
        .answer("drain_it", ApprovalDecision::TimedOut);
    let report = world.run(&program, "auto").await;

    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.steps, steps(&[("drain_it", StepState::Succeeded)]));
    assert!(!report.escalated);
    assert_eq!(world.actions.calls_of("drain").len(), 1);
    assert_eq!(
        world.approver.requests()[0].on_timeout,
        TimeoutOutcome::Approve
    );
    assert_eq!(
        world.tags(),
        [
            "run_started",
            "approval_requested",
            "approval_timed_out",
            "step_started",
            "action_called",
            "step_succeeded",
            "run_finished",
        ]
    );
    assert!(world.kinds().contains(&EventKind::ApprovalTimedOut {
        step: "drain_it".into(),
        outcome: "approve".into()
    }));
}

#[test]
fn on_timeout_approve_of_an_unsafe_action_does_not_check() {
    let analysis = check(
        vec![(
            PathBuf::from("rb.rbk"),
            format!(
                r#"{EXTERNS}
runbook auto {{
  {ESCALATE}
  step restart_it "Restart" {{
    approval required timeout 5m on timeout approve
    restart(name: "api")
  }}
}}
"#
            ),
        )],
        &StdOnly(&[]),
        &CheckOptions::default(),
    );
    assert!(analysis.has_errors(), "on timeout approve must be refused");
}

#[tokio::test(start_paused = true)]
async fn approval_none_is_journaled_as_a_waiver() {
    let program = program(&format!(
        r#"
runbook waived {{
  {ESCALATE}
  step restart_it "Restart the API" {{
    approval none reason "the API restarts without dropping requests"
    restart(name: "api")
  }}
}}
"#
    ));
    let world = World::default();
    let report = world.run(&program, "waived").await;

    assert_eq!(report.status, RunStatus::Succeeded);
    assert!(world.approver.requests().is_empty());
    assert_eq!(world.actions.calls_of("restart").len(), 1);
    assert_eq!(
        world.tags(),
        [
            "run_started",
            "approval_waived",
            "step_started",
            "action_called",
            "step_succeeded",
            "run_finished",
        ]
    );
    assert!(world.kinds().contains(&EventKind::ApprovalWaived {
        step: "restart_it".into(),
        reason: "the API restarts without dropping requests".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn a_skipped_gated_step_asks_nobody() {
    let program = program(&format!(
        r#"
runbook gated {{
  {ESCALATE}
  step restart_it "Restart the API" when level() > 90% {{
    approval required from "oncall" timeout 5m on timeout deny
    restart(name: "api")
  }}
}}
"#
    ));
    let mut world = World::default();
    world.actions.always("level", Ok(Value::Percent(10.0)));
    let report = world.run(&program, "gated").await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.steps, steps(&[("restart_it", StepState::Skipped)]));
    assert!(world.approver.requests().is_empty());
    assert!(world.kinds().contains(&EventKind::StepSkipped {
        step: "restart_it".into(),
        condition: "level() > 90% was false".into()
    }));
}

// ---------------------------------------------------------------------------------------------
// notify and escalation failures
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn notify_failure_is_journaled_and_the_run_still_succeeds() {
    let program = program(&format!(
        r#"
runbook notifies {{
  {ESCALATE}
  step work "Work" {{
    let current = level()
  }}
  notify announce(text: "level was {{current}}")
  step after "After" {{
    post(text: "after")
  }}
}}
"#
    ));
    let mut world = World::default();
    world.actions.always("level", Ok(Value::Percent(42.0)));
    world
        .actions
        .answer("announce", vec![boom("slack is down")]);
    let report = world.run(&program, "notifies").await;

    assert_eq!(report.status, RunStatus::Succeeded);
    assert!(!report.escalated);
    assert_eq!(
        report.steps,
        steps(&[
            ("work", StepState::Succeeded),
            ("after", StepState::Succeeded)
        ])
    );
    let announced = world.actions.calls_of("announce");
    assert_eq!(announced.len(), 1);
    assert_eq!(arg(&announced[0], "text"), text("level was 42%"));
    assert!(world.actions.calls_of("page").is_empty());
    assert_eq!(
        world.tags(),
        [
            "run_started",
            "step_started",
            "action_called",
            "step_succeeded",
            "action_called",
            "notify_failed",
            "step_started",
            "action_called",
            "step_succeeded",
            "run_finished",
        ]
    );
    assert!(world.kinds().contains(&EventKind::NotifyFailed {
        error: "rb.announce failed: slack is down".into()
    }));
    assert!(world.kinds().contains(&EventKind::ActionCalled {
        step: "notify".into(),
        call: "rb.announce(text: level was 42%)".into(),
        effect: "write".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn escalation_failure_is_journaled() {
    let program = program(&format!(
        r#"
runbook pages {{
  {ESCALATE}
  step broken "Broken" {{
    fail "nothing works"
  }}
}}
"#
    ));
    let mut world = World::default();
    world.actions.answer("page", vec![boom("pager is down")]);
    let report = world.run(&program, "pages").await;

    assert_eq!(report.status, RunStatus::Failed);
    assert!(
        !report.escalated,
        "a failed escalation is not an escalation"
    );
    assert_eq!(world.actions.calls_of("page").len(), 1);
    assert_eq!(
        world.tags(),
        [
            "run_started",
            "step_started",
            "step_failed",
            "action_called",
            "escalation_failed",
            "run_finished",
        ]
    );
    assert!(world.kinds().contains(&EventKind::EscalationFailed {
        error: "rb.page failed: pager is down".into()
    }));
}

#[tokio::test(start_paused = true)]
async fn a_failed_run_without_escalate_is_not_escalated() {
    let program = program(
        r#"
runbook quiet {
  step broken "Broken" {
    fail "nothing works"
  }
}
"#,
    );
    let world = World::default();
    let report = world.run(&program, "quiet").await;
    assert_eq!(report.status, RunStatus::Failed);
    assert!(!report.escalated);
    assert!(!world.tags().iter().any(|t| t.starts_with("escalation")));
}

#[tokio::test(start_paused = true)]
async fn escalation_sees_inputs_but_the_run_value_reflects_the_failure() {
    let program = program(
        r#"
runbook with_input {
  input {
    service: string = "orders"
  }
  escalate page(summary: "{service}: {run.summary}", step: run.failed_step ?? "-")
  step broken "Broken" {
    fail "nothing works"
  }
}
"#,
    );
    let world = World::default();
    let report = world.run(&program, "with_input").await;
    assert!(report.escalated);
    let pages = world.actions.calls_of("page");
    assert_eq!(
        arg(&pages[0], "summary"),
        text("orders: with_input: step `broken` failed")
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

const SECRET: &str = "hunter2-very-secret";

fn secretive() -> Analysis {
    program(&format!(
        r#"
runbook secretive {{
  input {{
    token: secret = secret("API_TOKEN")
  }}
  {ESCALATE}
  step use_it "Use the API token" {{
    log "calling the API with the API token"
    let answer = call_with(token: token)
    log "the API answered {{answer}}"
  }}
  step fails_after "Fail after using it" {{
    call_with(token: token)
    fail "the API refused the token"
  }}
}}
"#
    ))
}

fn assert_no_leak(world: &World, report: &RunReport) {
    for event in world.events() {
        let json = serde_json::to_string(&event).unwrap();
        assert!(!json.contains(SECRET), "the secret leaked into {json}");
        let kind = serde_json::to_string(&event.kind).unwrap();
        assert!(!kind.contains(SECRET), "the secret leaked into {kind}");
        assert!(!format!("{event:?}").contains(SECRET));
    }
    let debug = format!("{report:?}");
    assert!(!debug.contains(SECRET), "the secret leaked into {debug}");
    // Nor into what other actions (the pager) were told.
    for call in world.actions.calls() {
        if call.action != "rb.call_with" {
            assert!(!format!("{:?}", call.args).contains(SECRET));
            assert!(!call.describe().contains(SECRET));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_secret_reaches_the_action_but_never_the_journal_or_report() {
    let program = secretive();
    let mut world = World::default();
    world
        .environment
        .secrets
        .insert("API_TOKEN".into(), SECRET.into());
    world.actions.always("call_with", Ok(Value::Int(200)));
    let report = world.run(&program, "secretive").await;

    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.failed_step.as_deref(), Some("fails_after"));
    assert!(report.escalated);

    let calls = world.actions.calls_of("call_with");
    assert_eq!(calls.len(), 2);
    for call in &calls {
        match arg(call, "token") {
            Value::Secret(secret) => {
                assert_eq!(secret.expose(), SECRET);
                assert_eq!(secret.name, "API_TOKEN");
            }
            other => panic!("the action got {other:?}, not a secret"),
        }
        assert!(!call.describe().contains(SECRET));
    }
    let kinds = world.kinds();
    assert!(kinds.contains(&EventKind::Log {
        step: "use_it".into(),
        message: "calling the API with the API token".into()
    }));
    assert!(kinds.contains(&EventKind::Log {
        step: "use_it".into(),
        message: "the API answered 200".into()
    }));
    assert!(kinds.contains(&EventKind::ActionCalled {
        step: "use_it".into(),
        call: "rb.call_with(token: <secret API_TOKEN>)".into(),
        effect: "read".into()
    }));
    assert_no_leak(&world, &report);
}

#[tokio::test(start_paused = true)]
async fn a_secret_given_as_an_input_is_masked_in_run_started() {
    let program = secretive();
    let mut world = World::default();
    world.actions.always("call_with", Ok(Value::Int(200)));
    let mut inputs = BTreeMap::new();
    inputs.insert(
        "token".to_string(),
        Value::Secret(rbk_interpreter::value::Secret::new("API_TOKEN", SECRET)),
    );
    let report = world.run_with(&program, "secretive", inputs).await;
    assert_eq!(report.status, RunStatus::Failed);
    match &world.kinds()[0] {
        EventKind::RunStarted { inputs, .. } => {
            assert_eq!(inputs["token"], serde_json::json!("<secret API_TOKEN>"));
        }
        other => panic!("the first event is {other:?}"),
    }
    let calls = world.actions.calls_of("call_with");
    match arg(&calls[0], "token") {
        Value::Secret(secret) => assert_eq!(secret.expose(), SECRET),
        other => panic!("the action got {other:?}"),
    }
    assert_no_leak(&world, &report);
}

#[tokio::test(start_paused = true)]
async fn a_secret_an_action_echoes_back_is_masked_in_its_result_its_error_and_the_escalation() {
    let program = secretive();
    let mut world = World::default();
    world
        .environment
        .secrets
        .insert("API_TOKEN".into(), SECRET.into());
    // The first call echoes the token (in base64 too); the second fails quoting it.
    world.actions.answer(
        "call_with",
        vec![
            Ok(Value::str(format!(
                "you sent {SECRET}, or aHVudGVyMi12ZXJ5LXNlY3JldA=="
            ))),
            Err(ActionError::new(format!("token {SECRET} was revoked"))),
        ],
    );
    let report = world.run(&program, "secretive").await;

    assert_eq!(report.status, RunStatus::Failed);
    let kinds = world.kinds();
    assert!(
        kinds.contains(&EventKind::Log {
            step: "use_it".into(),
            message: "the API answered you sent <secret API_TOKEN>, or <secret API_TOKEN>dA=="
                .into()
        }),
        "{kinds:#?}"
    );
    assert!(
        kinds.contains(&EventKind::StepFailed {
            step: "fails_after".into(),
            error: "rb.call_with failed: token <secret API_TOKEN> was revoked".into()
        }),
        "{kinds:#?}"
    );
    assert!(report.escalated);
    assert_no_leak(&world, &report);
}

#[tokio::test(start_paused = true)]
async fn a_resumed_run_masks_the_secrets_its_dead_process_had_read() {
    let program = secretive();
    let mut world = World::default();
    world.actions.answer(
        "call_with",
        vec![Err(ActionError::new(format!("token {SECRET} was revoked")))],
    );
    // The input was bound before the crash: the resumed run never calls `secret()` itself.
    let resume = rbk_interpreter::engine::Resume {
        completed: vec![("use_it".into(), StepState::Succeeded)],
        bindings: vec![(
            "token".into(),
            Value::Secret(rbk_interpreter::value::Secret::new("API_TOKEN", SECRET)),
        )],
        in_flight: None,
        resumed_by: "tester".into(),
    };
    let services = Services {
        actions: &world.actions,
        approver: &world.approver,
        journal: &world.journal,
        environment: &world.environment,
    };
    let request = RunRequest {
        module: program.roots[0],
        runbook: "secretive".into(),
        inputs: BTreeMap::new(),
        alert: None,
        started_by: "tester".into(),
        run_id: "run-1".into(),
        started_at: STARTED_AT,
        resume: Some(resume),
        dry_run: false,
        shadow: false,
    };
    let report = run(&program, services, request).await.expect("it resumes");
    assert_eq!(report.status, RunStatus::Failed);
    assert!(
        world.kinds().contains(&EventKind::StepFailed {
            step: "fails_after".into(),
            error: "rb.call_with failed: token <secret API_TOKEN> was revoked".into()
        }),
        "{:#?}",
        world.kinds()
    );
    assert_no_leak(&world, &report);
}

#[tokio::test(start_paused = true)]
async fn a_secret_too_short_to_mask_is_named_in_the_journal() {
    let program = secretive();
    let mut world = World::default();
    world
        .environment
        .secrets
        .insert("API_TOKEN".into(), "abc".into());
    world.actions.always("call_with", Ok(Value::Int(200)));
    world.run(&program, "secretive").await;
    let warnings: Vec<String> = world
        .kinds()
        .into_iter()
        .filter_map(|kind| match kind {
            EventKind::Log { message, .. } if message.starts_with("warning: secret") => {
                Some(message)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        warnings,
        ["warning: secret API_TOKEN (or the password in it) is shorter than 4 characters, so rbk \
          does not mask it where a program echoes it; use a longer secret"],
    );
}

#[tokio::test(start_paused = true)]
async fn a_missing_secret_fails_the_run_before_any_step() {
    let program = secretive();
    let world = World::default();
    let report = world.run(&program, "secretive").await;
    assert_eq!(report.status, RunStatus::Failed);
    assert!(report.steps.is_empty());
    assert!(
        report
            .summary
            .contains("input `token` could not be computed")
            && report.summary.contains("API_TOKEN"),
        "{}",
        report.summary
    );
    // Nothing ran but the escalation: a run that cannot even start still reaches a human.
    assert!(
        world
            .actions
            .calls()
            .iter()
            .all(|c| c.action.ends_with(".page")),
        "{:?}",
        world.actions.calls()
    );
    assert!(report.escalated);
    assert_eq!(
        world.tags(),
        [
            "run_started",
            "action_called",
            "escalation_sent",
            "run_finished"
        ]
    );
}

#[test]
fn interpolating_a_secret_does_not_check() {
    let analysis = check(
        vec![(
            PathBuf::from("rb.rbk"),
            format!(
                r#"{EXTERNS}
runbook leaky {{
  input {{
    token: secret = secret("API_TOKEN")
  }}
  step leak "Leak" {{
    log "the token is {{token}}"
  }}
}}
"#
            ),
        )],
        &StdOnly(&[]),
        &CheckOptions::default(),
    );
    assert!(analysis.has_errors(), "logging a secret must be refused");
}

// ---------------------------------------------------------------------------------------------
// Unknown runbooks and missing inputs
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn unknown_runbook_and_missing_input_do_not_start() {
    let program = program(
        r#"
runbook needs_input {
  input {
    service: string
  }
  step s "S" {
    post(text: service)
  }
}
"#,
    );
    let world = World::default();
    let request = |runbook: &str| RunRequest {
        module: program.roots[0],
        runbook: runbook.to_string(),
        inputs: BTreeMap::new(),
        alert: None,
        started_by: "tester".into(),
        run_id: "run-1".into(),
        started_at: STARTED_AT,
        resume: None,
        dry_run: false,
        shadow: false,
    };
    let services = || Services {
        actions: &world.actions,
        approver: &world.approver,
        journal: &world.journal,
        environment: &world.environment,
    };
    let error = run(&program, services(), request("nope"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, rbk_interpreter::RunError::NoSuchRunbook { runbook, .. } if runbook == "nope"),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("there is no runbook `nope`"),
        "{error}"
    );
    let error = run(&program, services(), request("needs_input"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        rbk_interpreter::RunError::MissingInput {
            name: "service".into()
        }
    );
    assert!(
        error.to_string().contains("input `service` is required"),
        "{error}"
    );
    assert!(world.actions.calls().is_empty());
}

// ---------------------------------------------------------------------------------------------
// `test` blocks through run_tests
// ---------------------------------------------------------------------------------------------

const TESTED: &str = r#"
/// Reads a level.
extern action level() -> percent effect read
/// Lists service names.
extern action names() -> list<string> effect read
/// Posts a message.
extern action post(text: string) effect write
/// Restarts a service.
extern action restart(name: string) effect destructive
/// Pages a human.
extern action page(summary: string) effect write

runbook rb {
  title "Tested"
  escalate page(summary: run.summary)

  step measure "Measure" {
    let first_level = level()
    let second_level = level()
    let found = names()
    expect len(found) == 1 else "expected one name, got {len(found)}"
    post(text: "{first_level} then {second_level} for {first(found)}")
  }

  step fix "Fix" when second_level > 50% {
    approval required timeout 5m on timeout deny
    restart(name: first(found))
  }
}

test "passes" {
  mock level returns [90%, 60%]
  mock names returns ["api"]
  mock post returns none
  mock restart returns none
  approve fix
  run rb
  expect step measure succeeded
  expect step fix succeeded
  expect called level times 2
  expect called post times 1
  expect called restart
  expect not called page
  expect not escalated
}

test "fails on expect step" {
  mock level returns [90%, 20%]
  mock names returns ["api"]
  mock post returns none
  run rb
  expect step fix succeeded
}

test "calls an unmocked action" {
  mock level returns [90%, 60%]
  mock names returns ["api"]
  run rb
  expect step measure succeeded
}

test "leaves an approval unanswered" {
  mock level returns [90%, 60%]
  mock names returns ["api"]
  mock post returns none
  mock restart returns none
  mock page returns none
  run rb
  expect step fix succeeded
}

test "a failing mock fails the step" {
  mock level fails "boom"
  mock page returns none
  run rb
  expect step measure failed
  expect escalated
  expect not called post
  expect called level times 1
}

test "counts calls wrongly" {
  mock level returns [90%, 20%]
  mock names returns ["api"]
  mock post returns none
  run rb
  expect step fix skipped
  expect called level times 3
}

test "runs out of mocked values" {
  mock level returns [90%]
  mock names returns ["api"]
  mock post returns none
  run rb
}

test "a denied approval escalates" {
  mock level returns [90%, 60%]
  mock names returns ["api"]
  mock post returns none
  mock page returns none
  deny fix
  run rb
  expect step fix denied
  expect not called restart
  expect escalated
}
"#;

#[test]
fn run_tests_reports_each_test_block() {
    let program = compile(TESTED);
    let outcomes = run_tests(&program, program.roots[0]);
    let by_name: HashMap<&str, &rbk_interpreter::test_runner::TestOutcome> =
        outcomes.iter().map(|o| (o.name.as_str(), o)).collect();
    assert_eq!(outcomes.len(), 8);

    // Successive values for a percent-returning action; `["api"]` is the whole list for a
    // list-returning one (else `len(found) == 1` would fail and `fix` would restart "a").
    let passes = by_name["passes"];
    assert!(passes.passed(), "{:?}", passes.failures);
    let report = passes.report.as_ref().unwrap();
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(
        report.steps,
        steps(&[
            ("measure", StepState::Succeeded),
            ("fix", StepState::Succeeded)
        ])
    );
    assert_eq!(passes.approvals, vec![("fix".to_string(), true)]);
    assert_eq!(passes.runbook.as_deref(), Some("rb"));

    let failing = by_name["fails on expect step"];
    assert_eq!(
        failing.failures,
        vec![
            "expected step `fix` to be succeeded, but it skipped (second_level > 50% was false)"
                .to_string()
        ]
    );

    let unmocked = by_name["calls an unmocked action"];
    assert_eq!(unmocked.failures.len(), 1, "{:?}", unmocked.failures);
    assert!(
        unmocked.failures[0].contains("`rb.post` was called but is not mocked"),
        "{:?}",
        unmocked.failures
    );
    let report = unmocked.report.as_ref().unwrap();
    assert!(report.fatal.is_some());
    assert!(!report.escalated);

    let unanswered = by_name["leaves an approval unanswered"];
    assert_eq!(unanswered.failures.len(), 1, "{:?}", unanswered.failures);
    assert!(
        unanswered.failures[0]
            .contains("step `fix` asked for approval, but the test neither approves nor denies it"),
        "{:?}",
        unanswered.failures
    );

    let failing_mock = by_name["a failing mock fails the step"];
    assert!(failing_mock.passed(), "{:?}", failing_mock.failures);
    let report = failing_mock.report.as_ref().unwrap();
    assert_eq!(report.steps, steps(&[("measure", StepState::Failed)]));
    assert!(report.escalated);

    let counts = by_name["counts calls wrongly"];
    assert_eq!(
        counts.failures,
        vec![
            "expected `level` to be called 3 times, but it was called 2 times; the calls made: rb.level(), rb.level()"
                .to_string()
        ]
    );

    let exhausted = by_name["runs out of mocked values"];
    assert_eq!(exhausted.failures.len(), 1, "{:?}", exhausted.failures);
    assert!(
        exhausted.failures[0].contains("`rb.level` was called 2 times but the mock gives only 1"),
        "{:?}",
        exhausted.failures
    );

    let denied = by_name["a denied approval escalates"];
    assert!(denied.passed(), "{:?}", denied.failures);
    assert_eq!(denied.approvals, vec![("fix".to_string(), false)]);
    assert_eq!(denied.report.as_ref().unwrap().status, RunStatus::Denied);
}

#[test]
fn run_tests_polls_on_a_virtual_clock_and_keeps_secrets_placeholder() {
    let program = compile(
        r#"
/// Reads a level.
extern action level() -> percent effect read
/// Uses a token.
extern action call_with(token: secret) -> int effect read

runbook polls {
  input {
    token: secret = secret("API_TOKEN")
  }
  step use_it "Use" {
    call_with(token: token)
  }
  verify settled "Settled" {
    expect level() < 70% within 10m every 30s
  }
}

test "settles on the fourth poll" {
  set secret API_TOKEN = "from-the-test"
  mock call_with returns 1
  mock level returns [99%, 98%, 97%, 50%]
  run polls
  expect step settled succeeded
  expect called level times 4
}

test "never settles" {
  mock call_with returns 1
  mock level returns 99%
  run polls
  expect step settled failed
  expect called level times 21
}
"#,
    );
    let started = std::time::Instant::now();
    let outcomes = run_tests(&program, program.roots[0]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the clock is virtual"
    );
    assert_eq!(outcomes.len(), 2);
    for outcome in &outcomes {
        assert!(outcome.passed(), "{}: {:?}", outcome.name, outcome.failures);
    }
}

// ---------------------------------------------------------------------------------------------
// Edge cases: escalation scope, timeouts inside `fn`s, the journal as a precondition
// ---------------------------------------------------------------------------------------------

/// docs/language.md's statement table says a `let` is visible in "later steps, `notify` and
/// `escalate` of the same run", but the checker refuses a `let` name in `escalate` (and the
/// engine gives `escalate` only the inputs, `alert` and `run`): checker and engine agree, the
/// documentation does not.
#[test]
fn escalate_cannot_read_lets_of_steps() {
    let analysis = check(
        vec![(
            PathBuf::from("rb.rbk"),
            format!(
                r#"{EXTERNS}
runbook escalates_with_let {{
  escalate page(summary: "level {{current}}: {{run.summary}}", step: run.failed_step ?? "-")
  step measure "Measure" {{
    let current = level()
  }}
}}
"#
            ),
        )],
        &StdOnly(&[]),
        &CheckOptions::default(),
    );
    assert!(analysis
        .diagnostics
        .iter()
        .any(|d| d.is_error() && d.message == "unknown name `current`"));
}

const FN_TIMEOUTS: &str = r#"
fn call_slowly() -> int {
  let answer = call_api()
  return answer
}

runbook fn_step_timeout {
  input {
    service: string = "orders"
  }
  escalate page(summary: "{service}: {run.summary}", step: run.failed_step ?? "-")
  step measure "Measure" {
    let current = level()
  }
  step slow "Slow" {
    on failure continue
    timeout 5s
    call_slowly()
  }
  step after "After" {
    post(text: "{service} at {current}")
  }
}

runbook fn_run_timeout {
  input {
    service: string = "orders"
  }
  timeout 1m
  escalate page(summary: "{service}: {run.summary}", step: run.failed_step ?? "-")
  step slow "Slow" {
    call_slowly()
  }
}
"#;

#[tokio::test(start_paused = true)]
async fn step_timeout_inside_a_fn_keeps_the_runbook_scope() {
    let program = program(FN_TIMEOUTS);
    let mut world = World::default();
    world.actions.always("level", Ok(Value::Percent(30.0)));
    world.actions.slow("call_api", Duration::from_secs(60));
    let report = world.run(&program, "fn_step_timeout").await;
    assert_eq!(
        report.steps,
        steps(&[
            ("measure", StepState::Succeeded),
            ("slow", StepState::Failed),
            ("after", StepState::Succeeded),
        ]),
        "{:#?}",
        world.kinds()
    );
    assert_eq!(report.status, RunStatus::Succeeded);
    let posted = world.actions.calls_of("post");
    assert_eq!(arg(&posted[0], "text"), text("orders at 30%"));
}

#[tokio::test(start_paused = true)]
async fn runbook_timeout_inside_a_fn_still_escalates_with_the_inputs() {
    let program = program(FN_TIMEOUTS);
    let mut world = World::default();
    world.actions.slow("call_api", Duration::from_secs(600));
    let report = world.run(&program, "fn_run_timeout").await;
    assert_eq!(report.status, RunStatus::TimedOut);
    assert!(
        !world.tags().contains(&"escalation_failed".to_string()),
        "{:#?}",
        world.kinds()
    );
    assert!(report.escalated);
    let pages = world.actions.calls_of("page");
    assert_eq!(
        arg(&pages[0], "summary"),
        text("orders: fn_run_timeout timed out after 1m")
    );
}

#[tokio::test(start_paused = true)]
async fn step_timeout_outside_a_fn_keeps_the_runbook_scope() {
    let program = program(
        r#"
runbook plain_step_timeout {
  input {
    service: string = "orders"
  }
  step measure "Measure" {
    let current = level()
  }
  step slow "Slow" {
    on failure continue
    timeout 5s
    call_api()
  }
  step after "After" {
    post(text: "{service} at {current}")
  }
}
"#,
    );
    let mut world = World::default();
    world.actions.always("level", Ok(Value::Percent(30.0)));
    world.actions.slow("call_api", Duration::from_secs(60));
    let report = world.run(&program, "plain_step_timeout").await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(
        report.steps,
        steps(&[
            ("measure", StepState::Succeeded),
            ("slow", StepState::Failed),
            ("after", StepState::Succeeded),
        ])
    );
    let posted = world.actions.calls_of("post");
    assert_eq!(arg(&posted[0], "text"), text("orders at 30%"));
}

#[tokio::test(start_paused = true)]
async fn fn_calls_run_and_return_values() {
    let program = program(
        r#"
fn doubled_label(x: int, suffix: string = "!") -> string {
  if x > 10 {
    return "big {x * 2}{suffix}"
  }
  return "small {x}{suffix}"
}

runbook with_fn {
  step a "A" {
    let answer = call_api()
    post(text: doubled_label(answer))
    post(text: doubled_label(3, suffix: "?"))
  }
}
"#,
    );
    let mut world = World::default();
    world.actions.always("call_api", Ok(Value::Int(21)));
    let report = world.run(&program, "with_fn").await;
    assert_eq!(report.status, RunStatus::Succeeded);
    let posted: Vec<Value> = world
        .actions
        .calls_of("post")
        .iter()
        .map(|c| arg(c, "text"))
        .collect();
    assert_eq!(posted, vec![text("big 42!"), text("small 3?")]);
}

#[tokio::test(start_paused = true)]
async fn runbook_timeout_covers_waiting_for_an_approval() {
    struct SlowApprover;
    impl Approver for SlowApprover {
        fn request<'a>(&'a self, _: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                ApprovalDecision::Granted {
                    by: vec!["late".into()],
                    channel: "slack".into(),
                    values: Default::default(),
                }
            })
        }
    }
    let program = program(&format!(
        r#"
runbook waits {{
  timeout 10m
  {ESCALATE}
  step restart_it "Restart" {{
    approval required from "oncall"
    restart(name: "api")
  }}
}}
"#
    ));
    let world = World::default();
    let services = Services {
        actions: &world.actions,
        approver: &SlowApprover,
        journal: &world.journal,
        environment: &world.environment,
    };
    let request = RunRequest {
        module: program.roots[0],
        runbook: "waits".into(),
        inputs: BTreeMap::new(),
        alert: None,
        started_by: "tester".into(),
        run_id: "run-1".into(),
        started_at: STARTED_AT,
        resume: None,
        dry_run: false,
        shadow: false,
    };
    let started = tokio::time::Instant::now();
    let report = run(&program, services, request).await.unwrap();
    assert_eq!(report.status, RunStatus::TimedOut);
    assert_eq!(started.elapsed(), Duration::from_secs(600));
    assert!(report.escalated);
    assert!(world.actions.calls_of("restart").is_empty());
    assert_eq!(verify_chain(&world.events()), Ok(()));
}

/// A journal that refuses one kind of event, after passing everything before it on.
struct RefusingJournal {
    inner: MemoryJournal,
    refuse: &'static str,
}

impl rbk_interpreter::Journal for RefusingJournal {
    fn append<'a>(
        &'a self,
        at: i64,
        kind: EventKind,
    ) -> BoxFuture<'a, Result<(), rbk_interpreter::JournalError>> {
        let tag = serde_json::to_value(&kind).unwrap()["event"]
            .as_str()
            .unwrap()
            .to_string();
        let refuse = tag == self.refuse;
        if !refuse {
            self.inner.push(at, kind);
        }
        Box::pin(async move {
            if refuse {
                Err(rbk_interpreter::JournalError::Refused("disk full".into()))
            } else {
                Ok(())
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn no_action_runs_without_an_audit_record() {
    let program = program(&format!(
        r#"
runbook audited {{
  {ESCALATE}
  step restart_it "Restart" {{
    approval none reason "safe"
    on failure continue
    restart(name: "api")
  }}
  step after "After" {{
    post(text: "after")
  }}
}}
"#
    ));
    let world = World::default();
    let journal = RefusingJournal {
        inner: MemoryJournal::default(),
        refuse: "action_called",
    };
    let services = Services {
        actions: &world.actions,
        approver: &world.approver,
        journal: &journal,
        environment: &world.environment,
    };
    let request = RunRequest {
        module: program.roots[0],
        runbook: "audited".into(),
        inputs: BTreeMap::new(),
        alert: None,
        started_by: "tester".into(),
        run_id: "run-1".into(),
        started_at: STARTED_AT,
        resume: None,
        dry_run: false,
        shadow: false,
    };
    let report = run(&program, services, request).await.unwrap();
    assert!(
        world.actions.calls().is_empty(),
        "an unjournaled action ran"
    );
    assert_eq!(report.status, RunStatus::Failed);
    let fatal = report.fatal.clone().unwrap_or_default();
    assert!(
        fatal.contains("the journal could not be written"),
        "{fatal}"
    );
    assert!(fatal.contains("disk full"), "{fatal}");
    assert_eq!(verify_chain(&journal.inner.events()), Ok(()));
}

#[tokio::test(start_paused = true)]
async fn a_journal_that_cannot_start_the_run_stops_it() {
    let program = program(
        r#"
runbook audited {
  step a "A" {
    post(text: "a")
  }
}
"#,
    );
    let world = World::default();
    let journal = RefusingJournal {
        inner: MemoryJournal::default(),
        refuse: "run_started",
    };
    let services = Services {
        actions: &world.actions,
        approver: &world.approver,
        journal: &journal,
        environment: &world.environment,
    };
    let request = RunRequest {
        module: program.roots[0],
        runbook: "audited".into(),
        inputs: BTreeMap::new(),
        alert: None,
        started_by: "tester".into(),
        run_id: "run-1".into(),
        started_at: STARTED_AT,
        resume: None,
        dry_run: false,
        shadow: false,
    };
    let error = run(&program, services, request).await.unwrap_err();
    assert_eq!(
        error,
        rbk_interpreter::RunError::Journal(rbk_interpreter::JournalError::Refused(
            "disk full".into()
        ))
    );
    assert_eq!(
        error.to_string(),
        "the journal could not be written, so the run stops: disk full"
    );
    assert!(world.actions.calls().is_empty());
}

// ---------------------------------------------------------------------------------------------
// what a resume reads back from the journal
// ---------------------------------------------------------------------------------------------

fn journal_of(kinds: Vec<EventKind>) -> Vec<Event> {
    let journal = MemoryJournal::default();
    for (at, kind) in kinds.into_iter().enumerate() {
        journal.push(at as i64, kind);
    }
    journal.events()
}

/// Whether a step was retrying is a journaled event, never read from an error's wording: a
/// final failure whose message happens to end in "retrying)" is still final.
#[test]
fn a_failure_worded_like_a_retry_is_final_on_resume() {
    let events = journal_of(vec![
        EventKind::StepStarted {
            step: "push".into(),
            attempt: 1,
        },
        EventKind::StepFailed {
            step: "push".into(),
            error: "shell.run failed: upstream busy (attempt 3, retrying)".into(),
        },
    ]);
    let resume =
        rbk_interpreter::engine::Resume::from_journal(&events, &MapEnvironment::default()).unwrap();
    assert_eq!(
        resume.in_flight, None,
        "the step ended: it must not run again"
    );
    assert_eq!(
        resume.completed,
        vec![("push".to_string(), StepState::Failed)]
    );
}

/// A process that died between two attempts left its step in flight.
#[test]
fn a_step_between_retries_is_in_flight_on_resume() {
    let events = journal_of(vec![
        EventKind::StepStarted {
            step: "push".into(),
            attempt: 1,
        },
        EventKind::StepRetrying {
            step: "push".into(),
            attempt: 1,
            error: "503".into(),
        },
    ]);
    let resume =
        rbk_interpreter::engine::Resume::from_journal(&events, &MapEnvironment::default()).unwrap();
    assert_eq!(resume.in_flight.as_deref(), Some("push"));
    assert!(resume.completed.is_empty());
}

/// The dead process had journaled the end of a step that ended the run (it failed, with no
/// `on failure continue`), but not the run's end: the resumed run ends there too, instead of
/// going on to the destructive step after it.
#[tokio::test(start_paused = true)]
async fn a_resumed_run_whose_step_had_failed_does_not_go_on() {
    let program = program(&format!(
        r#"
runbook failing_then_restart {{
  {ESCALATE}
  step check "Check" {{
    call_api()
  }}
  step act "Restart" {{
    approval none reason "test"
    restart(name: "web")
  }}
}}
"#
    ));
    let mut world = World::default();
    world.actions.always("restart", Ok(Value::None));
    let services = Services {
        actions: &world.actions,
        approver: &world.approver,
        journal: &world.journal,
        environment: &world.environment,
    };
    let request = RunRequest {
        module: program.roots[0],
        runbook: "failing_then_restart".into(),
        inputs: BTreeMap::new(),
        alert: None,
        started_by: "tester".into(),
        run_id: "run-1".into(),
        started_at: STARTED_AT,
        resume: Some(rbk_interpreter::engine::Resume {
            completed: vec![("check".into(), StepState::Failed)],
            resumed_by: "dave".into(),
            ..Default::default()
        }),
        dry_run: false,
        shadow: false,
    };
    let report = run(&program, services, request).await.unwrap();
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.failed_step.as_deref(), Some("check"));
    assert!(
        world.actions.calls_of("restart").is_empty(),
        "the step after the failure must not run"
    );
}

// ---------------------------------------------------------------------------------------------
// What an approver is shown
// ---------------------------------------------------------------------------------------------

/// The request and the `approval_requested` event carry each planned call: resolved values
/// (a string holding a secret masked, as in the journal) where they are known before the step
/// runs, the arguments as written (and said so) where the step computes them itself.
#[tokio::test(start_paused = true)]
async fn a_gate_plans_each_call_with_resolved_masked_arguments_or_as_written() {
    let program = program(&format!(
        r#"
runbook planned {{
  {ESCALATE}
  input {{
    token: secret = secret("API_TOKEN")
    service: string = "api {{env("API_TOKEN")}}"
  }}
  step restart_it "Restart" {{
    approval required from "oncall" timeout 5m on timeout deny
    restart(name: service)
    let answered = call_api()
    post(text: "answered {{answered}}")
  }}
}}
"#
    ));
    let mut world = World::default();
    world
        .environment
        .env
        .insert("API_TOKEN".into(), "tok-123456789".into());
    world
        .environment
        .secrets
        .insert("API_TOKEN".into(), "tok-123456789".into());
    world.approver.answer(
        "restart_it",
        ApprovalDecision::Denied {
            by: "alice".into(),
            channel: "cli".into(),
        },
    );
    world.run(&program, "planned").await;

    let request = &world.approver.requests()[0];
    let planned: Vec<(String, String, bool)> = request
        .planned
        .iter()
        .map(|p| (p.call.clone(), p.effect.clone(), p.resolved))
        .collect();
    assert_eq!(
        planned,
        [
            ("rb.restart".to_string(), "destructive".to_string(), true),
            ("rb.call_api".to_string(), "read".to_string(), true),
            ("rb.post".to_string(), "write".to_string(), false),
        ]
    );
    // The token was read as a secret: a string holding its value is masked.
    assert_eq!(
        request.planned[0].arguments,
        vec![(
            "name".to_string(),
            serde_json::json!("api <secret API_TOKEN>")
        )]
    );
    assert_eq!(
        request.planned[2].arguments,
        vec![(
            "text".to_string(),
            serde_json::json!("\"answered {answered}\"")
        )]
    );
    let journaled = world
        .events()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::ApprovalRequested { planned, .. } => Some(planned),
            _ => None,
        })
        .expect("an approval_requested event");
    assert_eq!(journaled, request.planned);
}

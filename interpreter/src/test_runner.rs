//! The runner of `test` blocks: runs a runbook against mocked actions, pre-answered approvals
//! and a virtual clock, then checks the assertions. (Production code behind `rbk test`.)

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rbk_compiler::resolve::{Member, Module, ModuleId};
use rbk_compiler::syntax::*;
use rbk_compiler::types::{assignable, Ty};
use rbk_compiler::Analysis;

use crate::action::{Actions, BoxFuture};
use crate::alerts::{judge_alert, runbook_alert_trigger, Verdict};
use crate::approval::{ApprovalDecision, ApprovalRequest, Approver, Environment};
use crate::engine::{evaluate, run, RunReport, RunRequest, Services, StepState};
use crate::journal::MemoryJournal;
use crate::store::RunLimits;
use crate::value::Value;

mod mocks;
mod triggers;

use mocks::{describe_args, CallMatcher, Mock, MockActions};
use triggers::{Decision, Ledger, FIRST_ALERT_AT};

#[derive(Debug)]
pub struct TestOutcome {
    pub name: String,
    pub failures: Vec<String>,
    pub report: Option<RunReport>,
    /// Steps whose approval was granted or denied in this test.
    pub approvals: Vec<(String, bool)>,
    pub runbook: Option<String>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

#[derive(Default)]
struct TestApprover {
    answers: HashMap<String, TestAnswer>,
    asked: Mutex<Vec<(String, Option<bool>)>>,
    /// Approvals whose values do not answer the gate: each fails the test.
    refused: Mutex<Vec<String>>,
}

/// `approve STEP [as "who"] [with { ... }]` or `deny STEP [as "who"]`.
#[derive(Clone)]
struct TestAnswer {
    approve: bool,
    who: Option<String>,
    /// The values as an approver would type them, checked by the decision path's rules.
    values: crate::asked_values::GivenValues,
}

impl Approver for TestApprover {
    fn request<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async move {
            let answer = self.answers.get(&request.step).cloned();
            self.asked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((request.step.clone(), answer.as_ref().map(|a| a.approve)));
            match answer {
                Some(TestAnswer {
                    approve: true,
                    who,
                    values,
                }) => match crate::asked_values::check_given(&request.asks, &values) {
                    Ok(values) => ApprovalDecision::Granted {
                        by: vec![who.unwrap_or_else(|| "tester".into())],
                        channel: "test".into(),
                        values,
                    },
                    Err(why) => {
                        self.refused
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(format!(
                                "`approve {}` is refused as a real approver would be: {why}; give the values with `approve {} with {{ ... }}`",
                                request.step, request.step
                            ));
                        ApprovalDecision::Denied {
                            by: "nobody (the test's approval was refused)".into(),
                            channel: "test".into(),
                        }
                    }
                },
                Some(TestAnswer { who, .. }) => ApprovalDecision::Denied {
                    by: who.unwrap_or_else(|| "tester".into()),
                    channel: "test".into(),
                },
                None => ApprovalDecision::Denied {
                    by: "nobody (unanswered in the test)".into(),
                    channel: "test".into(),
                },
            }
        })
    }
}

/// `env()` and `secret()` in tests: what the test set, else a placeholder; never the process.
#[derive(Clone, Default)]
struct TestEnvironment {
    env: HashMap<String, String>,
    secrets: HashMap<String, String>,
}

impl Environment for TestEnvironment {
    fn env(&self, name: &str) -> Option<String> {
        Some(
            self.env
                .get(name)
                .cloned()
                .unwrap_or_else(|| format!("<env {name}>")),
        )
    }

    fn secret(&self, name: &str) -> Option<String> {
        Some(
            self.secrets
                .get(name)
                .cloned()
                .unwrap_or_else(|| format!("<secret {name}>")),
        )
    }
}

/// Runs every `test` block of the module, each on its own virtual clock.
pub fn run_tests(program: &Analysis, module: ModuleId) -> Vec<TestOutcome> {
    let module = program.module(module);
    module
        .ast
        .items
        .iter()
        .filter_map(|item| match &item.kind {
            ItemKind::Test(test) => Some(test),
            _ => None,
        })
        .map(|test| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build();
            match runtime {
                Ok(runtime) => runtime.block_on(run_test(program, module, test)),
                Err(error) => TestOutcome {
                    name: test.name.value.clone(),
                    failures: vec![format!("could not start the test runtime: {error}")],
                    report: None,
                    approvals: Vec::new(),
                    runbook: None,
                },
            }
        })
        .collect()
}

/// The extern a mock or `expect called` names, as `module.action`, with its return type.
fn action_of(program: &Analysis, module: &Module, path: &Path) -> Option<(String, Ty)> {
    let (target, name) = match path.segments.as_slice() {
        [name] => (module.id, name),
        [qualifier, name] => (module.names.imports.get(&qualifier.name)?.module?, name),
        _ => return None,
    };
    let target_module = program.module(target);
    match target_module.names.member(&name.name)? {
        Member::Extern(item) => {
            let ret = program
                .types
                .signatures
                .get(&(target, item))
                .map_or(Ty::Unknown, |s| s.ret.clone());
            Some((
                format!("{}.{}", target_module.display_name(), name.name),
                ret,
            ))
        }
        _ => None,
    }
}

async fn run_test(program: &Analysis, module: &Module, test: &TestItem) -> TestOutcome {
    let mut outcome = TestOutcome {
        name: test.name.value.clone(),
        failures: Vec::new(),
        report: None,
        approvals: Vec::new(),
        runbook: None,
    };
    let mut actions = MockActions::new(program, module.id);
    let mut approver = TestApprover::default();
    let mut environment = TestEnvironment::default();
    let journal = MemoryJournal::default();
    let setup_actions = MockActions::new(program, module.id);
    let mut bindings: HashMap<String, Value> = HashMap::new();
    let mut ledger = Ledger::default();
    // Why the last `run` started nothing (every alert rejected, coalesced or suppressed).
    let mut no_run: Option<String> = None;
    let mut runs = 0;
    let clock_origin = tokio::time::Instant::now();

    // Setup values (mocks, inputs) are computed with no actions available but the harmless ones.
    macro_rules! eval_setup {
        ($expr:expr) => {{
            let services = Services {
                actions: &setup_actions,
                approver: &approver,
                journal: &journal,
                environment: &environment,
            };
            evaluate(program, services, module.id, bindings.clone(), $expr).await
        }};
    }

    for stmt in &test.body {
        match &stmt.kind {
            TestStmtKind::Mock {
                target,
                pattern,
                outcome: mock,
            } => {
                let Some((action, ret)) = action_of(program, module, target) else {
                    outcome
                        .failures
                        .push(format!("`{target}` is not an extern action"));
                    continue;
                };
                let behaviour = match mock {
                    MockOutcome::Fails(message) => match eval_setup!(message) {
                        Ok(value) => Mock::Fails(value.to_string()),
                        Err(e) => {
                            outcome.failures.push(format!("mock {target}: {e}"));
                            continue;
                        }
                    },
                    MockOutcome::Returns(value_expr) => {
                        let value = match eval_setup!(value_expr) {
                            Ok(value) => value,
                            Err(e) => {
                                outcome.failures.push(format!("mock {target}: {e}"));
                                continue;
                            }
                        };
                        let value_ty = program.types.type_of(module.id, value_expr.id);
                        match value {
                            Value::List(items) if !assignable(value_ty, &ret) => {
                                Mock::Sequence(items)
                            }
                            other => Mock::Always(other),
                        }
                    }
                };
                let matcher = match pattern {
                    Some(pattern) => {
                        let mut literals = HashMap::new();
                        for expr in pattern.literals() {
                            match eval_setup!(expr) {
                                Ok(value) => {
                                    literals.insert(expr.id, value);
                                }
                                Err(e) => outcome.failures.push(format!("mock {target}: {e}")),
                            }
                        }
                        Some(CallMatcher::new(
                            pattern,
                            &literals,
                            bindings.clone(),
                            environment.clone(),
                            format!("{target}{}", source(program, module, pattern.span)),
                        ))
                    }
                    None => None,
                };
                actions.add(action, matcher, behaviour);
            }
            TestStmtKind::Set { kind, name, value } => match eval_setup!(value) {
                Ok(value) => {
                    let table = if *kind == SetKind::Env {
                        &mut environment.env
                    } else {
                        &mut environment.secrets
                    };
                    table.insert(name.name.clone(), value.to_string());
                }
                Err(e) => outcome.failures.push(format!("set {}: {e}", name.name)),
            },
            TestStmtKind::Approve {
                step,
                as_user,
                values,
            } => {
                let mut given = crate::asked_values::GivenValues::new();
                if let Some(values) = values {
                    match eval_setup!(values) {
                        Ok(Value::Record(fields)) => {
                            for (name, value) in fields {
                                given.insert(name, value.to_string());
                            }
                        }
                        Ok(other) => outcome.failures.push(format!(
                            "approve {}: values must be a record, not {other}",
                            step.name
                        )),
                        Err(e) => outcome.failures.push(format!("approve {}: {e}", step.name)),
                    }
                }
                approver.answers.insert(
                    step.name.clone(),
                    TestAnswer {
                        approve: true,
                        who: as_user.as_ref().map(|u| u.value.clone()),
                        values: given,
                    },
                );
            }
            TestStmtKind::Deny { step, as_user } => {
                approver.answers.insert(
                    step.name.clone(),
                    TestAnswer {
                        approve: false,
                        who: as_user.as_ref().map(|u| u.value.clone()),
                        values: Default::default(),
                    },
                );
            }
            TestStmtKind::Let { name, value, .. } => match eval_setup!(value) {
                Ok(value) => {
                    bindings.insert(name.name.clone(), value);
                }
                Err(e) => outcome.failures.push(format!("let {}: {e}", name.name)),
            },
            TestStmtKind::Run {
                runbook,
                inputs,
                alert,
                alerts,
            } => {
                outcome.runbook = Some(runbook.name.clone());
                let mut input_values = BTreeMap::new();
                if let Some(Expr {
                    kind: ExprKind::Record(fields),
                    ..
                }) = inputs
                {
                    for field in fields {
                        let key = match &field.key {
                            RecordKey::Name(n) => n.name.clone(),
                            RecordKey::Str(s) => s.value.clone(),
                        };
                        match eval_setup!(&field.value) {
                            Ok(value) => {
                                input_values.insert(key, value);
                            }
                            Err(e) => outcome.failures.push(format!("input {key}: {e}")),
                        }
                    }
                }
                let mut given = Vec::new();
                for expr in alert.iter().chain(alerts) {
                    match eval_setup!(expr) {
                        Ok(value) => given.push(value),
                        Err(e) => outcome.failures.push(format!("alert: {e}")),
                    }
                }
                if !outcome.failures.is_empty() {
                    return outcome;
                }
                let logged = ledger.log.len();
                let starts = match deliver(
                    program,
                    module,
                    &runbook.name,
                    given,
                    &mut ledger,
                    &actions,
                    &environment,
                    test_clock(clock_origin),
                )
                .await
                {
                    Ok(starts) => starts,
                    Err(message) => {
                        outcome.failures.push(message.to_string());
                        return outcome;
                    }
                };
                if starts.is_empty() {
                    outcome.report = None;
                    no_run = Some(ledger.log[logged..].join("; "));
                    continue;
                }
                for alert_value in starts {
                    runs += 1;
                    let services = Services {
                        actions: &actions,
                        approver: &approver,
                        journal: &journal,
                        environment: &environment,
                    };
                    let request = RunRequest {
                        module: module.id,
                        runbook: runbook.name.clone(),
                        inputs: input_values.clone(),
                        alert: alert_value,
                        started_by: "test".into(),
                        run_id: if runs == 1 {
                            "test-run".into()
                        } else {
                            format!("test-run-{runs}")
                        },
                        started_at: test_clock(clock_origin),
                        resume: None,
                        dry_run: false,
                        shadow: false,
                    };
                    match run(program, services, request).await {
                        Ok(report) => {
                            if let Some(message) = &report.fatal {
                                outcome.failures.push(message.clone());
                            }
                            outcome.report = Some(report);
                        }
                        Err(error) => outcome.failures.push(error.to_string()),
                    }
                    let asked = std::mem::take(
                        &mut *approver.asked.lock().unwrap_or_else(|e| e.into_inner()),
                    );
                    outcome.failures.extend(std::mem::take(
                        &mut *approver.refused.lock().unwrap_or_else(|e| e.into_inner()),
                    ));
                    for (step, answer) in asked {
                        match answer {
                            Some(granted) => outcome.approvals.push((step, granted)),
                            None => outcome.failures.push(format!(
                                "step `{step}` asked for approval, but the test neither approves nor denies it: add `approve {step}` or `deny {step}` before `run`"
                            )),
                        }
                    }
                    if !outcome.failures.is_empty() {
                        return outcome;
                    }
                }
            }
            TestStmtKind::ExpectStep {
                step,
                outcome: wanted,
            } => {
                let state = outcome.report.as_ref().and_then(|r| {
                    r.steps
                        .iter()
                        .find(|(name, _)| name == &step.name)
                        .map(|(_, s)| *s)
                });
                let wanted_state = match wanted {
                    StepOutcome::Succeeded => StepState::Succeeded,
                    StepOutcome::Failed => StepState::Failed,
                    StepOutcome::Skipped => StepState::Skipped,
                    StepOutcome::Denied => StepState::Denied,
                };
                match state {
                    Some(state) if state == wanted_state => {}
                    Some(state) => outcome.failures.push(format!(
                        "expected step `{}` to be {wanted}, but it {}{}",
                        step.name,
                        state.as_str(),
                        failure_detail(&journal, &step.name)
                    )),
                    None => outcome.failures.push(format!(
                        "expected step `{}` to be {wanted}, but it never ran{}",
                        step.name,
                        stop_detail(&outcome.report, &no_run)
                    )),
                }
            }
            TestStmtKind::ExpectTrigger {
                negated,
                outcome: what,
                times,
            } => {
                let count = match what {
                    TriggerOutcome::Triggered => ledger.triggered,
                    TriggerOutcome::Coalesced => ledger.coalesced,
                    TriggerOutcome::Suppressed => ledger.suppressed,
                };
                let ok = match (negated, times) {
                    (true, _) => count == 0,
                    (false, Some((n, _))) => count == *n,
                    (false, None) => count > 0,
                };
                if !ok {
                    let wanted = match (negated, times) {
                        (true, _) => format!("no alert to be {what}"),
                        (false, Some((n, _))) => {
                            format!("{n} alert{} to be {what}", if *n == 1 { "" } else { "s" })
                        }
                        (false, None) => format!("an alert to be {what}"),
                    };
                    let history = if ledger.log.is_empty() {
                        "the test delivered no alert".to_string()
                    } else {
                        ledger.log.join("; ")
                    };
                    outcome.failures.push(format!(
                        "expected {wanted}, but {count} {} ({history})",
                        if count == 1 { "was" } else { "were" }
                    ));
                }
            }
            TestStmtKind::ExpectEscalated { negated } => {
                let escalated = outcome.report.as_ref().is_some_and(|r| r.escalated);
                if escalated == *negated {
                    let summary = match (&outcome.report, &no_run) {
                        (Some(report), _) => report.summary.clone(),
                        (None, Some(why)) => format!("no run started: {why}"),
                        (None, None) => "no `run` before this expectation".to_string(),
                    };
                    outcome.failures.push(if *negated {
                        format!("expected no escalation, but the run escalated: {summary}")
                    } else {
                        format!("expected an escalation, but none happened ({summary})")
                    });
                }
            }
            TestStmtKind::ExpectCalled {
                negated,
                target,
                pattern,
                times,
            } => {
                let Some((action, _)) = action_of(program, module, target) else {
                    continue;
                };
                let calls = actions.calls_of(&action);
                let mut count = 0;
                let mut described = target.to_string();
                match pattern {
                    None => count = calls.len(),
                    Some(pattern) => {
                        let mut literals = HashMap::new();
                        for expr in pattern.literals() {
                            match eval_setup!(expr) {
                                Ok(value) => {
                                    literals.insert(expr.id, value);
                                }
                                Err(e) => outcome
                                    .failures
                                    .push(format!("expect called {target}: {e}")),
                            }
                        }
                        let written = format!("{target}{}", source(program, module, pattern.span));
                        described = written.clone();
                        let matcher = CallMatcher::new(
                            pattern,
                            &literals,
                            bindings.clone(),
                            environment.clone(),
                            written,
                        );
                        for args in &calls {
                            match matcher.matches(program, module.id, args).await {
                                Ok(true) => count += 1,
                                Ok(false) => {}
                                Err(e) => outcome.failures.push(e.to_string()),
                            }
                        }
                    }
                }
                let ok = match (negated, times) {
                    (true, _) => count == 0,
                    (false, Some((n, _))) => count as u64 == *n,
                    (false, None) => count > 0,
                };
                if !ok {
                    let wanted = match (negated, times) {
                        (true, _) => "not to be called".to_string(),
                        (false, Some((n, _))) => {
                            format!("to be called {n} time{}", if *n == 1 { "" } else { "s" })
                        }
                        (false, None) => "to be called".to_string(),
                    };
                    let made = if calls.is_empty() {
                        String::new()
                    } else {
                        let list: Vec<String> = calls
                            .iter()
                            .map(|args| describe_args(&action, args))
                            .collect();
                        format!("; the calls made: {}", list.join(", "))
                    };
                    outcome.failures.push(format!(
                        "expected `{described}` {wanted}, but it was called {count} time{}{made}",
                        if count == 1 { "" } else { "s" }
                    ));
                }
            }
            TestStmtKind::Expect(cond) => match eval_setup!(cond) {
                Ok(Value::Bool(true)) => {}
                Ok(_) => outcome.failures.push(format!(
                    "expectation failed: `{}`",
                    source(program, module, cond.span)
                )),
                Err(e) => outcome
                    .failures
                    .push(format!("expectation could not be evaluated: {e}")),
            },
        }
    }
    outcome
}

fn source(program: &Analysis, module: &Module, span: Span) -> String {
    program
        .file(module.file)
        .text
        .get(span.start..span.end)
        .unwrap_or("")
        .to_string()
}

/// Why a step ended as it did, from the journal.
fn failure_detail(journal: &MemoryJournal, step: &str) -> String {
    use crate::journal::EventKind;
    journal
        .events()
        .iter()
        .rev()
        .find_map(|e| match &e.kind {
            EventKind::StepFailed { step: s, error } if s == step => Some(format!(": {error}")),
            EventKind::StepSkipped { step: s, condition } if s == step => {
                Some(format!(" ({condition})"))
            }
            _ => None,
        })
        .unwrap_or_default()
}

fn stop_detail(report: &Option<RunReport>, no_run: &Option<String>) -> String {
    match (report, no_run) {
        (Some(report), _) => format!(" (the run stopped: {})", report.summary),
        (None, Some(why)) => format!(" (no run started: {why})"),
        (None, None) => " (no `run` before this expectation)".to_string(),
    }
}

/// The test's virtual clock, in milliseconds since the epoch: runs take (virtual) time, so a
/// later `run` line is later for `rate` windows.
fn test_clock(origin: tokio::time::Instant) -> i64 {
    FIRST_ALERT_AT + origin.elapsed().as_millis() as i64
}

/// Delivers a `run` line's alerts to `runbook`: the alert each run that starts sees (`None`
/// for a runbook no alert triggers). `run NAME` with no alert runs an alert runbook on a
/// placeholder alert without asking its trigger: the steps are under test, not the trigger.
/// Err: the test cannot be run as written.
#[allow(clippy::too_many_arguments)]
async fn deliver(
    program: &Analysis,
    module: &Module,
    runbook: &str,
    given: Vec<Value>,
    ledger: &mut Ledger,
    actions: &dyn Actions,
    environment: &dyn Environment,
    now: i64,
) -> Result<Vec<Option<Value>>, DeliveryError> {
    let Some((item, found)) = module
        .ast
        .items
        .iter()
        .enumerate()
        .find_map(|(i, item)| match &item.kind {
            ItemKind::Runbook(r) if r.name.name == runbook => Some((i, r)),
            _ => None,
        })
    else {
        return Err(DeliveryError::NoSuchRunbook(runbook.to_string()));
    };
    let Some((trigger, _)) = runbook_alert_trigger(found) else {
        if !given.is_empty() {
            return Err(DeliveryError::NoAlertTrigger(runbook.to_string()));
        }
        return Ok(vec![None]);
    };
    if given.is_empty() {
        let alert = ledger.alert_value(trigger, None);
        ledger.record(&alert, &Decision::Start);
        return Ok(vec![Some(alert)]);
    }
    let limits = RunLimits::of(program, module.id, item);
    let mut active: Vec<Option<String>> = Vec::new();
    let mut starts = Vec::new();
    for value in given {
        let alert = ledger.alert_value(trigger, Some(value));
        let decision = if ledger.is_duplicate(runbook, &alert) {
            Decision::Duplicate
        } else {
            match judge_alert(program, module.id, item, &alert, actions, environment).await? {
                Verdict::Rejected(why) => Decision::Rejected(why),
                Verdict::Matched(_) if is_resolved(&alert) => {
                    Decision::Rejected("it is resolved, and a resolved alert starts no run".into())
                }
                Verdict::Matched(keys) => {
                    let decision = ledger.admit(runbook, &keys, &limits, &active, now);
                    if decision == Decision::Start {
                        active.push(keys.concurrency_key);
                    }
                    decision
                }
            }
        };
        ledger.record(&alert, &decision);
        if decision == Decision::Start {
            starts.push(Some(alert));
        }
    }
    Ok(starts)
}

/// Why a `run` line cannot be run as written.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("there is no runbook `{0}` in this file")]
    NoSuchRunbook(String),
    #[error(
        "runbook `{0}` has no `trigger alert \"...\"`, so no alert can start it: \
         run it without `alert`"
    )]
    NoAlertTrigger(String),
    #[error(transparent)]
    Judge(#[from] crate::alerts::JudgeError),
}

fn is_resolved(alert: &Value) -> bool {
    matches!(alert, Value::Record(fields) if fields.get("status") == Some(&Value::str("resolved")))
}

/// What no test reached, per runbook of the module: steps that never ran, conditions never
/// true or never false, approvals never granted or never denied.
pub fn coverage_gaps(
    program: &Analysis,
    module: ModuleId,
    outcomes: &[TestOutcome],
) -> Vec<String> {
    let module = program.module(module);
    let mut gaps = Vec::new();
    for item in &module.ast.items {
        let ItemKind::Runbook(runbook) = &item.kind else {
            continue;
        };
        let reports: Vec<&RunReport> = outcomes
            .iter()
            .filter(|o| o.runbook.as_deref() == Some(runbook.name.name.as_str()))
            .filter_map(|o| o.report.as_ref())
            .collect();
        if reports.is_empty() {
            gaps.push(format!("{}: no test runs this runbook", runbook.name.name));
            continue;
        }
        for clause in &runbook.clauses {
            let ClauseKind::Step(step) = &clause.kind else {
                continue;
            };
            let name = step.name.name.as_str();
            let states: Vec<StepState> = reports
                .iter()
                .flat_map(|r| r.steps.iter().filter(|(n, _)| n == name).map(|(_, s)| *s))
                .collect();
            let ran = states
                .iter()
                .any(|s| matches!(s, StepState::Succeeded | StepState::Failed));
            if !ran && !states.contains(&StepState::Denied) {
                gaps.push(format!("{}: step `{name}` never runs", runbook.name.name));
            }
            if step.when.is_some() && !states.contains(&StepState::Skipped) {
                gaps.push(format!(
                    "{}: step `{name}` is never skipped (its `when` is never false)",
                    runbook.name.name
                ));
            }
            let gated = step
                .options
                .iter()
                .any(|o| matches!(o.kind, StepOptionKind::ApprovalRequired { .. }));
            if gated {
                let answers: Vec<bool> = outcomes
                    .iter()
                    .flat_map(|o| {
                        o.approvals
                            .iter()
                            .filter(|(s, _)| s == name)
                            .map(|(_, g)| *g)
                    })
                    .collect();
                if !answers.contains(&true) {
                    gaps.push(format!(
                        "{}: approval of step `{name}` is never granted",
                        runbook.name.name
                    ));
                }
                if !answers.contains(&false) {
                    gaps.push(format!(
                        "{}: approval of step `{name}` is never denied",
                        runbook.name.name
                    ));
                }
            }
            if ran {
                let lines = &program.file(module.file).lines;
                for offset in if_statements(&step.body) {
                    let seen: Vec<bool> = reports
                        .iter()
                        .flat_map(|r| {
                            r.branches
                                .iter()
                                .filter(|(o, _)| *o == offset)
                                .map(|(_, t)| *t)
                        })
                        .collect();
                    let line = lines.line_of(offset) + 1;
                    for (branch, word) in [(true, "true"), (false, "false")] {
                        if !seen.contains(&branch) {
                            gaps.push(format!(
                                "{}: step `{name}`: the `if` on line {line} is never {word}",
                                runbook.name.name
                            ));
                        }
                    }
                }
            }
            if !states.contains(&StepState::Failed) && ran {
                gaps.push(format!("{}: step `{name}` never fails", runbook.name.name));
            }
        }
    }
    gaps
}

/// The `if` statements of a block, nested ones too, by the byte offset where each starts.
fn if_statements(stmts: &[Stmt]) -> Vec<usize> {
    let mut found = Vec::new();
    for stmt in stmts {
        if matches!(stmt.kind, StmtKind::If { .. }) {
            found.push(stmt.span.start);
        }
        for block in rbk_compiler::syntax::visit::stmt_blocks(stmt) {
            found.extend(if_statements(block));
        }
    }
    found
}

//! `test` blocks: run a runbook against mocked actions, pre-answered approvals and a virtual
//! clock, then check the assertions.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rbk_compiler::resolve::{Member, Module, ModuleId};
use rbk_compiler::syntax::*;
use rbk_compiler::types::{assignable, Ty};
use rbk_compiler::Analysis;

use crate::action::{ActionCall, ActionError, Actions, BoxFuture};
use crate::approval::{ApprovalDecision, ApprovalRequest, Approver, Environment};
use crate::engine::{evaluate, run, RunReport, RunRequest, Services, StepState};
use crate::journal::MemoryJournal;
use crate::value::Value;

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

enum Mock {
    Always(Value),
    Sequence(Vec<Value>),
    Fails(String),
}

#[derive(Default)]
struct MockActions {
    mocks: HashMap<String, Mock>,
    calls: Mutex<HashMap<String, usize>>,
}

impl Actions for MockActions {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let count = {
                let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
                let count = calls.entry(call.action.clone()).or_default();
                *count += 1;
                *count
            };
            match self.mocks.get(&call.action) {
                Some(Mock::Always(value)) => Ok(value.clone()),
                Some(Mock::Sequence(values)) => values.get(count - 1).cloned().ok_or_else(|| {
                    ActionError::fatal(format!(
                        "`{}` was called {count} times but the mock gives only {} values",
                        call.action,
                        values.len()
                    ))
                }),
                Some(Mock::Fails(message)) => Err(ActionError::new(message.clone())),
                None => match &call.returns_handle {
                    Some(type_name) => Ok(Value::Handle { type_name: type_name.clone(), id: "test".into() }),
                    None => Err(ActionError::fatal(format!(
                        "`{}` was called but is not mocked: add a `mock ... returns ...` for it (tests never reach real systems)",
                        call.action
                    ))),
                },
            }
        })
    }
}

#[derive(Default)]
struct TestApprover {
    answers: HashMap<String, (bool, Option<String>)>,
    asked: Mutex<Vec<(String, Option<bool>)>>,
}

impl Approver for TestApprover {
    fn request<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async move {
            let answer = self.answers.get(&request.step).cloned();
            self.asked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((request.step.clone(), answer.as_ref().map(|a| a.0)));
            match answer {
                Some((true, who)) => ApprovalDecision::Granted {
                    by: vec![who.unwrap_or_else(|| "tester".into())],
                    channel: "test".into(),
                },
                Some((false, who)) => ApprovalDecision::Denied {
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
#[derive(Default)]
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
    let mut actions = MockActions::default();
    let mut approver = TestApprover::default();
    let mut environment = TestEnvironment::default();
    let journal = MemoryJournal::default();
    let setup_actions = MockActions::default();
    let mut bindings: HashMap<String, Value> = HashMap::new();

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
                actions.mocks.insert(action, behaviour);
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
            TestStmtKind::Approve { step, as_user } => {
                approver.answers.insert(
                    step.name.clone(),
                    (true, as_user.as_ref().map(|u| u.value.clone())),
                );
            }
            TestStmtKind::Deny { step, as_user } => {
                approver.answers.insert(
                    step.name.clone(),
                    (false, as_user.as_ref().map(|u| u.value.clone())),
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
                let alert_value = match alert {
                    Some(expr) => match eval_setup!(expr) {
                        Ok(value) => Some(value),
                        Err(e) => {
                            outcome.failures.push(format!("alert: {e}"));
                            None
                        }
                    },
                    None => None,
                };
                let alert_value = default_alert(module, &runbook.name, alert_value);
                if !outcome.failures.is_empty() {
                    return outcome;
                }
                let services = Services {
                    actions: &actions,
                    approver: &approver,
                    journal: &journal,
                    environment: &environment,
                };
                let request = RunRequest {
                    module: module.id,
                    runbook: runbook.name.clone(),
                    inputs: input_values,
                    alert: alert_value,
                    started_by: "test".into(),
                    run_id: "test-run".into(),
                    started_at: 1_764_072_000_000,
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
                    Err(message) => outcome.failures.push(message),
                }
                let asked = approver
                    .asked
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
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
                        stop_detail(&outcome.report)
                    )),
                }
            }
            TestStmtKind::ExpectEscalated { negated } => {
                let escalated = outcome.report.as_ref().is_some_and(|r| r.escalated);
                if escalated == *negated {
                    let summary = outcome
                        .report
                        .as_ref()
                        .map(|r| r.summary.clone())
                        .unwrap_or_default();
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
                times,
            } => {
                let Some((action, _)) = action_of(program, module, target) else {
                    continue;
                };
                let count = actions
                    .calls
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&action)
                    .copied()
                    .unwrap_or(0);
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
                    outcome.failures.push(format!(
                        "expected `{target}` {wanted}, but it was called {count} time{}",
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

fn stop_detail(report: &Option<RunReport>) -> String {
    match report {
        Some(report) => format!(" (the run stopped: {})", report.summary),
        None => " (no `run` before this expectation)".to_string(),
    }
}

/// The alert a test's run sees: what the test gave, over sensible defaults.
fn default_alert(module: &Module, runbook: &str, given: Option<Value>) -> Option<Value> {
    let trigger = module.ast.items.iter().find_map(|item| match &item.kind {
        ItemKind::Runbook(r) if r.name.name == runbook => {
            r.clauses.iter().find_map(|c| match &c.kind {
                ClauseKind::Trigger(Trigger::Alert { name, .. }) => Some(name.value.clone()),
                _ => None,
            })
        }
        _ => None,
    })?;
    let mut alert = BTreeMap::new();
    alert.insert("name".to_string(), Value::str(trigger));
    alert.insert("labels".to_string(), Value::Map(BTreeMap::new()));
    alert.insert("annotations".to_string(), Value::Map(BTreeMap::new()));
    alert.insert("status".to_string(), Value::str("firing"));
    alert.insert("starts_at".to_string(), Value::Time(1_764_072_000_000));
    alert.insert("fingerprint".to_string(), Value::str("test"));
    if let Some(Value::Record(fields) | Value::Map(fields)) = given {
        alert.extend(fields);
    }
    Some(Value::Record(alert))
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

//! Starting a run the one way (`start::prepare`) and executing it (`start::execute`) as
//! `rbk run` and `rbk serve`'s workers do: typed inputs from `--input` pairs and from JSON, the
//! digest over every module, a worker executing a claimed run under its lease, a worker whose
//! lease was lost stopping before its next effect, and the run it lost resumed by `rbk resume`'s
//! rules (finished steps never run again; the step in flight, destructive, waits for a human).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rbk_compiler::{check, Analysis, CheckOptions, ModuleLoader};
use rbk_interpreter::audit::verify_run;
use rbk_interpreter::journal::{text_digest, EventKind};
use rbk_interpreter::start::{self, InputSource, StartError, StartSpec};
use rbk_interpreter::store::{
    Intake, MemoryStore, QueuedStart, RunState, RunTrigger, SqliteStore, Store, TriggerKind,
};
use rbk_interpreter::{
    ActionCall, ActionError, Actions, ApprovalDecision, ApprovalRequest, Approver, BoxFuture,
    ProcessEnvironment, Value,
};

const SOURCE: &str = r#"
/// Reads the pool.
extern action level() -> percent effect read
/// Posts a message.
extern action post(text: string) effect write
/// Restarts a service.
extern action restart(name: string) effect destructive

runbook relieve {
  title "Relieve the pool"
  input {
    service: string
    attempts: int = 2
  }

  step look "Look" {
    let current = level()
    log "level {current}"
  }

  step tell "Tell" {
    post(text: "restarting {service}")
  }

  step act "Act" {
    approval required timeout 10m on timeout deny
    restart(name: service)
  }
}
"#;

struct Modules(HashMap<String, String>);

impl ModuleLoader for Modules {
    fn std_module(&self, _name: &str) -> Option<String> {
        None
    }
    fn std_module_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn local_module(
        &self,
        from: &Path,
        relative: &str,
    ) -> Result<(PathBuf, String), rbk_compiler::ModuleUnavailable> {
        let text = self
            .0
            .get(relative)
            .ok_or(rbk_compiler::ModuleUnavailable::NotFound)?;
        let dir = from.parent().unwrap_or(Path::new(""));
        Ok((dir.join(relative), text.clone()))
    }
}

fn compile_with(source: &str, modules: &[(&str, &str)]) -> Analysis {
    let loader = Modules(
        modules
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect(),
    );
    let analysis = check(
        vec![(PathBuf::from("rb.rbk"), source.to_string())],
        &loader,
        &CheckOptions::default(),
    );
    let errors: Vec<_> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "does not check: {errors:#?}");
    analysis
}

fn program() -> Analysis {
    compile_with(SOURCE, &[])
}

fn spec<'a>(program: &'a Analysis, inputs: InputSource<'a>, trigger: RunTrigger) -> StartSpec<'a> {
    StartSpec {
        program,
        file: Path::new("rb.rbk"),
        runbook: Some("relieve"),
        inputs,
        trigger,
        alert: None,
        started_by: "alice".into(),
        dry_run: false,
        shadow: false,
    }
}

fn input_error(result: Result<start::PreparedRun, StartError>) -> String {
    match result {
        Err(StartError::Input(message)) => message,
        Err(other) => panic!("not an input error: {other}"),
        Ok(_) => panic!("bound"),
    }
}

#[test]
fn inputs_bind_by_type_from_pairs_and_from_json_with_the_same_errors() {
    let program = program();
    let pairs = ["service=api".to_string(), "attempts=3".to_string()];
    let prepared = start::prepare(spec(
        &program,
        InputSource::Pairs(&pairs),
        RunTrigger::default(),
    ))
    .unwrap();
    assert_eq!(prepared.request.inputs["service"], Value::str("api"));
    assert_eq!(prepared.request.inputs["attempts"], Value::Int(3));
    assert_eq!(
        prepared.record.inputs,
        serde_json::json!({"service": "api", "attempts": 3})
    );
    // A manual run: its own id is its trigger key, and this process runs it.
    assert_eq!(prepared.record.trigger.key, prepared.record.id);
    assert_eq!(prepared.record.state, RunState::Running);
    assert!(prepared.record.owner.is_some());
    assert_eq!(prepared.request.run_id, prepared.record.id);

    let json = serde_json::json!({"service": "api", "attempts": 3});
    let alert = RunTrigger {
        kind: TriggerKind::Alert,
        name: Some("PoolExhausted".into()),
        fingerprint: Some("fp".into()),
        key: "fp|1".into(),
    };
    let from_json =
        start::prepare(spec(&program, InputSource::Json(&json), alert.clone())).unwrap();
    assert_eq!(from_json.request.inputs, prepared.request.inputs);
    assert_eq!(from_json.record.trigger, alert);
    assert_eq!(from_json.record.state, RunState::Running);

    let bad = ["attempts=many".to_string(), "service=api".to_string()];
    assert_eq!(
        input_error(start::prepare(spec(
            &program,
            InputSource::Pairs(&bad),
            RunTrigger::default()
        ))),
        "--input attempts: `many` is not a whole number"
    );
    let missing = ["attempts=1".to_string()];
    assert_eq!(
        input_error(start::prepare(spec(
            &program,
            InputSource::Pairs(&missing),
            RunTrigger::default()
        ))),
        "input `service` (string) is required: give it with --input service=VALUE"
    );
    let unknown = ["nope=1".to_string()];
    assert_eq!(
        input_error(start::prepare(spec(
            &program,
            InputSource::Pairs(&unknown),
            RunTrigger::default()
        ))),
        "runbook `relieve` has no input `nope`; its inputs are: service, attempts"
    );
    let wrong = serde_json::json!({"service": "api", "attempts": "many"});
    assert_eq!(
        input_error(start::prepare(spec(
            &program,
            InputSource::Json(&wrong),
            RunTrigger::default()
        ))),
        "input attempts: `many` is not a whole number"
    );
    let not_object = serde_json::json!(["api"]);
    assert!(input_error(start::prepare(spec(
        &program,
        InputSource::Json(&not_object),
        RunTrigger::default()
    )))
    .contains("must be a JSON object"));
    let mut other = spec(&program, InputSource::Pairs(&pairs), RunTrigger::default());
    other.runbook = Some("nothing");
    assert!(matches!(
        start::prepare(other),
        Err(StartError::NoSuchRunbook(message)) if message == "rb.rbk has no runbook `nothing`; it has: relieve"
    ));
}

#[test]
fn the_digest_covers_every_module_the_runbook_uses() {
    let alone = program();
    assert_eq!(start::program_digest(&alone), text_digest(SOURCE));
    let root = format!("use \"helpers.rbk\" as helpers\n{SOURCE}");
    let helpers = "/// Pages.\nextern action page(text: string) effect write\n";
    let with = compile_with(&root, &[("helpers.rbk", helpers)]);
    let changed = compile_with(
        &root,
        &[("helpers.rbk", &format!("{helpers}\n// edited\n"))],
    );
    assert_ne!(start::program_digest(&with), text_digest(&root));
    assert_ne!(
        start::program_digest(&with),
        start::program_digest(&changed),
        "a change to a module it uses changes the digest"
    );
    assert_eq!(start::program_digest(&with), start::program_digest(&with));
}

/// Answers the plain approval of `act` (granted by bob) and, after a takeover, says `act`'s
/// effect is there (`act#done`); counts what it was asked.
#[derive(Default)]
struct Answers {
    asked: Mutex<Vec<String>>,
}

impl Approver for Answers {
    fn request<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async move {
            self.asked.lock().unwrap().push(request.step.clone());
            if request.step.ends_with("#retry") {
                return std::future::pending().await;
            }
            ApprovalDecision::Granted {
                by: vec!["bob".into()],
                channel: "test".into(),
                values: Default::default(),
            }
        })
    }
}

/// Records calls; `restart` never returns when `hang` (the process dies in it).
#[derive(Default)]
struct Calls {
    calls: Mutex<Vec<String>>,
    hang: bool,
}

impl Actions for Calls {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(call.action.clone());
            match call.action.as_str() {
                "rb.level" => Ok(Value::Percent(95.0)),
                "rb.restart" if self.hang => std::future::pending().await,
                _ => Ok(Value::None),
            }
        })
    }
}

async fn queue_one(store: &dyn Store, program: &Analysis) -> String {
    let json = serde_json::json!({"service": "api"});
    let prepared = start::prepare(spec(
        program,
        InputSource::Json(&json),
        RunTrigger::schedule("*/5 * * * *", 300_000),
    ))
    .unwrap();
    let id = prepared.record.id.clone();
    let report = store
        .ingest(&Intake {
            starts: vec![QueuedStart {
                record: prepared.record,
                limits: prepared.limits,
                rate_key: None,
                storm: None,
            }],
            ..Intake::default()
        })
        .await
        .unwrap();
    assert!(report.queued_any());
    id
}

async fn verified(store: &dyn Store, id: &str) {
    let record = store.run(id).await.unwrap().unwrap();
    let events = store.events(id).await.unwrap();
    let answers = store.run_answers(id).await.unwrap();
    let audit = verify_run(&record, &events, &answers);
    assert!(audit.is_intact(), "{audit:?}\n{events:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_executes_a_claimed_run_under_its_lease() {
    let program = program();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let id = queue_one(&*store, &program).await;
    let (record, lease) = store.claim("worker-a", 1, 60_000).await.unwrap().remove(0);
    assert_eq!(record.id, id);
    assert!(
        start::resume_request(&*store, &record, "worker-a", &ProcessEnvironment)
            .await
            .unwrap()
            .is_none()
    );
    let request = start::request_for(&program, &record, None).unwrap();
    assert_eq!(request.inputs["service"], Value::str("api"));
    let actions = Calls::default();
    let approver = Answers::default();
    let report = start::execute(
        &program,
        store.clone(),
        request,
        Some(lease.clone()),
        &actions,
        &approver,
        &ProcessEnvironment,
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.status, rbk_interpreter::RunStatus::Succeeded);
    let done = store.run(&id).await.unwrap().unwrap();
    assert_eq!(done.state, RunState::Succeeded);
    assert_eq!(
        *actions.calls.lock().unwrap(),
        ["rb.level", "rb.post", "rb.restart"]
    );
    verified(&*store, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_over_run_resumes_by_the_resume_rules_and_the_old_worker_is_fenced_out() {
    let program = Arc::new(program());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let id = queue_one(&*store, &program).await;
    let (record, old_lease) = store.claim("worker-a", 1, 60_000).await.unwrap().remove(0);

    // Worker a dies inside `restart`, the destructive step.
    let dying = {
        let (program, store, lease) = (program.clone(), store.clone(), old_lease.clone());
        let request = start::request_for(&program, &record, None).unwrap();
        tokio::spawn(async move {
            let actions = Calls {
                hang: true,
                ..Calls::default()
            };
            let approver = Answers::default();
            let _ = start::execute(
                &program,
                store,
                request,
                Some(lease),
                &actions,
                &approver,
                &ProcessEnvironment,
                None,
            )
            .await;
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let events = store.events(&id).await.unwrap();
        let acting = events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::StepStarted { step, .. } if step == "act"));
        let approved = events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::ApprovalGranted { step, .. } if step == "act"));
        if acting && approved {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{events:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    dying.abort();
    let _ = dying.await;

    // Its lease expires; the reaper hands the run to worker b.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 3_600_000;
    assert_eq!(store.reap(later).await.unwrap(), std::slice::from_ref(&id));
    let (record, lease) = store.claim("worker-b", 1, 60_000).await.unwrap().remove(0);
    let resume = start::resume_request(&*store, &record, "worker-b", &ProcessEnvironment)
        .await
        .unwrap()
        .expect("it had begun");
    assert_eq!(resume.in_flight.as_deref(), Some("act"));
    let resumed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let request = start::request_for(&program, &record, Some(resume)).unwrap();
    let actions = Calls::default();
    let approver = Answers::default();
    let report = start::execute(
        &program,
        store.clone(),
        request,
        Some(lease),
        &actions,
        &approver,
        &ProcessEnvironment,
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.status, rbk_interpreter::RunStatus::Succeeded);
    // Nothing ran again: `look` and `tell` were done, `act` was in doubt and a human said its
    // effect is there.
    assert!(
        actions.calls.lock().unwrap().is_empty(),
        "{:?}",
        actions.calls
    );
    assert!(approver
        .asked
        .lock()
        .unwrap()
        .contains(&"act#done".to_string()));
    let events = store.events(&id).await.unwrap();
    let taken_over = events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::RunTakenOver { from_worker, .. } if from_worker == "worker-a"));
    assert!(taken_over);
    // Worker b's events are dated from when it went on, not from the run's first start.
    let resumed = events
        .iter()
        .position(|e| matches!(e.kind, EventKind::RunResumed { .. }))
        .expect("a run_resumed event");
    for event in &events[resumed..] {
        assert!(
            event.at >= resumed_at,
            "{event:?} is dated before the takeover"
        );
    }
    assert!(events
        .iter()
        .any(|e| matches!(&e.kind, EventKind::StepInDoubt { step, .. } if step == "act")));
    assert_eq!(
        store.run(&id).await.unwrap().unwrap().state,
        RunState::Succeeded
    );
    verified(&*store, &id).await;

    // The dead worker's lease writes nothing any more.
    let request = start::request_for(&program, &record, None).unwrap();
    let late = start::execute(
        &program,
        store.clone(),
        request,
        Some(old_lease),
        &Calls::default(),
        &Answers::default(),
        &ProcessEnvironment,
        None,
    )
    .await;
    let late = late.unwrap_err();
    assert!(late.is_lease_lost(), "{late}");
    assert!(late.to_string().contains("lease lost"));
    assert_eq!(store.events(&id).await.unwrap().len(), events.len());
}

/// `hold_lease` renews the lease while it holds, and returns once the lease is taken away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_lease_renews_and_returns_once_the_lease_is_lost() {
    let program = program();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let id = queue_one(&*store, &program).await;
    let (_, lease) = store.claim("worker-a", 1, 300).await.unwrap().remove(0);
    let reaper = async {
        // Renewed a few times meanwhile; then the lease is taken away as a reaper would.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(store.heartbeat(&lease, 300).await.unwrap(), "still held");
        let later = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            + 3_600_000;
        assert_eq!(store.reap(later).await.unwrap(), std::slice::from_ref(&id));
    };
    tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(start::hold_lease(&*store, &lease, 300), reaper)
    })
    .await
    .expect("hold_lease returns once the lease is lost");
}

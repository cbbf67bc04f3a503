//! The queue of `rbk serve`, on every backend: one start per occurrence under concurrent
//! deliveries, claims that never overlap, leases that fence a worker out once lost, the reaper,
//! coalescing, suppression, the storm hold, cancellation by a resolved alert, and schedule ticks
//! that start once. Every journal the queue writes verifies.

use std::collections::HashSet;
use std::sync::Arc;

use rbk_interpreter::audit::verify_run;
use rbk_interpreter::journal::EventKind;
use rbk_interpreter::store::{
    AlertRow, Intake, IntakeReport, Lease, QueuedStart, RunLimits, RunQuery, RunRecord, RunState,
    RunTrigger, StartOutcome, Store, StormLimit, TriggerKind,
};
use rbk_interpreter::Value;
use serde_json::json;

/// The typed alert a run of this occurrence sees, as the store keeps it.
fn alert_value(fingerprint: &str, status: &str) -> serde_json::Value {
    let mut fields = std::collections::BTreeMap::new();
    fields.insert("fingerprint".to_string(), Value::str(fingerprint));
    fields.insert("status".to_string(), Value::str(status));
    Value::Record(fields).to_stored()
}

fn occurrence(fingerprint: &str, starts_at: i64) -> String {
    format!("{fingerprint}|{starts_at}")
}

/// A run an alert asks for, as `start::prepare` makes it (running here; the queue records it
/// queued and unowned).
fn queued(id: &str, runbook: &str, fingerprint: &str, at: i64) -> RunRecord {
    RunRecord {
        id: id.into(),
        file: "/srv/runbooks/db.rbk".into(),
        runbook: runbook.into(),
        started_by: "alertmanager".into(),
        started_at: at,
        state: RunState::Running,
        summary: String::new(),
        digest: "sha256:0123".into(),
        inputs: json!({"cluster": "db1"}),
        limit_key: String::new(),
        head: None,
        owner: Some(rbk_interpreter::store::RunOwner::this_process()),
        dry_run: false,
        trigger: RunTrigger {
            kind: TriggerKind::Alert,
            name: Some("PoolExhausted".into()),
            fingerprint: Some(fingerprint.into()),
            key: occurrence(fingerprint, 1_000),
        },
        alert: Some(alert_value(fingerprint, "firing")),
        shadow: false,
        coalesce_key: None,
        held: false,
        ended_at: None,
    }
}

fn start(record: RunRecord) -> QueuedStart {
    QueuedStart {
        record,
        limits: RunLimits::default(),
        rate_key: None,
        storm: None,
    }
}

fn alert_row(fingerprint: &str, status: &str) -> AlertRow {
    AlertRow {
        source: "alertmanager".into(),
        fingerprint: fingerprint.into(),
        starts_at: 1_000,
        status: status.into(),
        body: json!({"labels": {"alertname": "PoolExhausted"}, "fingerprint": fingerprint}),
        received_at: 2_000,
    }
}

async fn ingest(store: &dyn Store, intake: Intake) -> IntakeReport {
    store.ingest(&intake).await.expect("ingest")
}

async fn ingest_one(store: &dyn Store, queued_start: QueuedStart) -> StartOutcome {
    let report = ingest(
        store,
        Intake {
            starts: vec![queued_start],
            ..Intake::default()
        },
    )
    .await;
    report.starts.into_iter().next().expect("one outcome")
}

async fn record(store: &dyn Store, id: &str) -> RunRecord {
    store
        .run(id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no run {id}"))
}

/// Every run's journal verifies against its record and answers.
async fn every_journal_verifies(store: &dyn Store) {
    let runs = store.runs(10_000).await.unwrap();
    for run in runs {
        let events = store.events(&run.id).await.unwrap();
        let answers = store.run_answers(&run.id).await.unwrap();
        let audit = verify_run(&run, &events, &answers);
        assert!(
            audit.is_intact(),
            "run {} ({}): {:?}\n{events:#?}",
            run.id,
            run.state,
            audit.findings
        );
    }
}

fn kinds(events: &[rbk_interpreter::journal::Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::to_value(&e.kind).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The same payload delivered 100 times, 20 at once, through separate handles (separate
/// connections): one alert row, one queued run, 99 duplicates.
pub async fn one_start_per_occurrence_under_concurrent_deliveries(handles: Vec<Arc<dyn Store>>) {
    let mut tasks = Vec::new();
    for task in 0..20 {
        let store = handles[task % handles.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut reports = Vec::new();
            for delivery in 0..5 {
                // Each delivery is prepared anew, with a run id of its own.
                let id = format!("r-dup-{task:02}-{delivery}");
                let intake = Intake {
                    alerts: vec![alert_row("fp-dup", "firing")],
                    starts: vec![start(queued(&id, "relieve", "fp-dup", 1_000))],
                    resolved: vec![],
                };
                reports.push(store.ingest(&intake).await.expect("ingest"));
            }
            reports
        }));
    }
    let mut reports = Vec::new();
    for task in tasks {
        reports.extend(task.await.unwrap());
    }
    assert_eq!(reports.len(), 100);
    let new_alerts: usize = reports.iter().map(|r| r.new_alerts).sum();
    let duplicate_alerts: usize = reports.iter().map(|r| r.duplicate_alerts).sum();
    assert_eq!((new_alerts, duplicate_alerts), (1, 99));
    let queued: Vec<&StartOutcome> = reports
        .iter()
        .flat_map(|r| &r.starts)
        .filter(|s| matches!(s, StartOutcome::Queued { .. }))
        .collect();
    assert_eq!(queued.len(), 1, "{reports:#?}");
    let winner = queued[0].run_id().to_string();
    for outcome in reports.iter().flat_map(|r| &r.starts) {
        match outcome {
            StartOutcome::Queued { .. } => {}
            StartOutcome::Duplicate { run_id } => assert_eq!(run_id, &winner),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let store = &*handles[0];
    let runs = store.runs(1_000).await.unwrap();
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].state, RunState::Queued);
    assert_eq!(runs[0].owner, None, "no process owns a queued run");
    assert_eq!(runs[0].trigger.key, occurrence("fp-dup", 1_000));
    assert_eq!(kinds(&store.events(&winner).await.unwrap()), ["run_queued"]);
    every_journal_verifies(store).await;
}

/// Claimers racing through separate handles never get the same run, and together they get all.
pub async fn two_claimers_never_get_the_same_run(handles: Vec<Arc<dyn Store>>) {
    let store = &*handles[0];
    let starts = (0..30)
        .map(|i| {
            start(queued(
                &format!("r-claim-{i:02}"),
                "relieve",
                &format!("fp-{i}"),
                1_000 + i,
            ))
        })
        .collect();
    let report = ingest(
        store,
        Intake {
            starts,
            ..Intake::default()
        },
    )
    .await;
    assert!(report
        .starts
        .iter()
        .all(|s| matches!(s, StartOutcome::Queued { .. })));
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let store = handles[worker % handles.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = store
                    .claim(&format!("worker-{worker}"), 3, 60_000)
                    .await
                    .expect("claim");
                if claimed.is_empty() {
                    return mine;
                }
                for (record, lease) in claimed {
                    assert_eq!(record.state, RunState::Running);
                    assert_eq!(record.id, lease.run_id);
                    mine.push(lease);
                }
            }
        }));
    }
    let mut seen = HashSet::new();
    for task in tasks {
        for lease in task.await.unwrap() {
            assert!(
                seen.insert(lease.run_id.clone()),
                "{} claimed twice",
                lease.run_id
            );
        }
    }
    assert_eq!(seen.len(), 30);
    assert!(store.claim("late", 10, 60_000).await.unwrap().is_empty());
    every_journal_verifies(store).await;
}

/// A worker whose lease expired and was reaped can no longer heartbeat, append or change the
/// run's state; the reaper journals the takeover and the next claimer goes on with a higher
/// token. A lease that has not expired is not reaped.
pub async fn a_stale_lease_is_fenced_out_and_reap_hands_the_run_on(store: &dyn Store) {
    ingest_one(
        store,
        start(queued("r-lease", "relieve", "fp-lease", 1_000)),
    )
    .await;
    let (_, old) = claim_one(store, "worker-a", 60_000).await;
    assert!(store.heartbeat(&old, 60_000).await.unwrap());
    let started = EventKind::StepStarted {
        step: "terminate".into(),
        attempt: 1,
    };
    assert!(store
        .append_fenced(&old, 10, &started)
        .await
        .unwrap()
        .is_some());
    // Not expired: not reaped.
    assert!(store.reap(now_ms()).await.unwrap().is_empty());

    // Expired (seen from a clock past the lease): reaped, and its run is queued again.
    let later = now_ms() + 3_600_000;
    assert_eq!(store.reap(later).await.unwrap(), ["r-lease"]);
    assert_eq!(record(store, "r-lease").await.state, RunState::Queued);
    assert!(store.reap(later).await.unwrap().is_empty(), "reaped once");

    // The old worker is fenced out of everything.
    assert!(!store.heartbeat(&old, 60_000).await.unwrap());
    let late = EventKind::StepSucceeded {
        step: "terminate".into(),
    };
    assert_eq!(store.append_fenced(&old, 11, &late).await.unwrap(), None);
    assert!(!store
        .set_state_fenced(&old, RunState::Succeeded, "done")
        .await
        .unwrap());
    store.release(&old).await.unwrap();
    assert_eq!(record(store, "r-lease").await.state, RunState::Queued);

    // The next worker takes it with a higher token; the old one still cannot write.
    let (_, new) = claim_one(store, "worker-b", 60_000).await;
    assert!(new.token > old.token, "{new:?} after {old:?}");
    assert_eq!(store.append_fenced(&old, 12, &late).await.unwrap(), None);
    assert!(store
        .append_fenced(&new, 12, &late)
        .await
        .unwrap()
        .is_some());
    let finished = EventKind::RunFinished {
        status: "succeeded".into(),
        summary: "done".into(),
    };
    assert!(store
        .append_fenced(&new, 13, &finished)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .set_state_fenced(&new, RunState::Succeeded, "done")
        .await
        .unwrap());
    let done = record(store, "r-lease").await;
    assert_eq!(done.state, RunState::Succeeded);
    assert!(done.ended_at.is_some());
    // A final state gives the lease up.
    assert!(!store.heartbeat(&new, 60_000).await.unwrap());
    let events = store.events("r-lease").await.unwrap();
    assert_eq!(
        kinds(&events),
        [
            "run_queued",
            "step_started",
            "run_taken_over",
            "step_succeeded",
            "run_finished"
        ]
    );
    assert!(matches!(
        &events[2].kind,
        EventKind::RunTakenOver { from_worker, .. } if from_worker == "worker-a"
    ));
    every_journal_verifies(store).await;
}

/// Released on shutdown, a running run is queued again (journaled); a second release with the
/// same lease does nothing.
pub async fn release_requeues_a_running_run(store: &dyn Store) {
    ingest_one(store, start(queued("r-rel", "relieve", "fp-rel", 1_000))).await;
    let (_, lease) = claim_one(store, "worker-a", 60_000).await;
    store.release(&lease).await.unwrap();
    assert_eq!(record(store, "r-rel").await.state, RunState::Queued);
    store.release(&lease).await.unwrap();
    assert_eq!(
        kinds(&store.events("r-rel").await.unwrap()),
        ["run_queued", "run_released"]
    );
    let (_, again) = claim_one(store, "worker-b", 60_000).await;
    assert!(again.token > lease.token);
    every_journal_verifies(store).await;
}

/// A run a worker let go while it waited for a human is queued again by an answer; one a
/// worker still holds, or one a CLI process runs (never claimed), is not.
pub async fn an_answer_queues_a_parked_run_and_no_other(store: &dyn Store) {
    let answer = |run: &str, user: &str| rbk_interpreter::store::ApprovalAnswer {
        run_id: run.into(),
        step: "restart".into(),
        user: user.into(),
        approve: true,
        comment: None,
        channel: "cli".into(),
        at: 2_000,
        digest: "d".into(),
        external_id: None,
        from: None,
        values: Default::default(),
    };
    ingest_one(store, start(queued("r-park", "relieve", "fp-park", 1_000))).await;
    let (_, lease) = claim_one(store, "worker-a", 60_000).await;
    assert!(store
        .set_state_fenced(&lease, RunState::Waiting, "")
        .await
        .unwrap());
    // Held by its worker, which reads the answer itself.
    store
        .record_answer(&answer("r-park", "alice"))
        .await
        .unwrap();
    assert_eq!(record(store, "r-park").await.state, RunState::Waiting);
    assert!(!store.requeue_parked("r-park").await.unwrap());
    // Let go: it waits with no lease, and the next answer queues it for any worker.
    store.release(&lease).await.unwrap();
    assert_eq!(record(store, "r-park").await.state, RunState::Waiting);
    store.record_answer(&answer("r-park", "bob")).await.unwrap();
    assert_eq!(record(store, "r-park").await.state, RunState::Queued);
    assert!(!store.requeue_parked("r-park").await.unwrap());
    let (claimed, again) = claim_one(store, "worker-b", 60_000).await;
    assert_eq!(claimed.id, "r-park");
    assert!(again.token > lease.token);
    every_journal_verifies(store).await;

    // A run `rbk run` executes and that waits in its own process stays with it.
    let mut by_hand = queued("r-hand", "relieve", "fp-hand", 1_000);
    by_hand.trigger = RunTrigger {
        kind: TriggerKind::Manual,
        name: None,
        fingerprint: None,
        key: "r-hand".into(),
    };
    by_hand.alert = None;
    store
        .start_run(&by_hand, &RunLimits::default())
        .await
        .unwrap();
    store
        .set_state("r-hand", RunState::Waiting, "")
        .await
        .unwrap();
    store
        .record_answer(&answer("r-hand", "alice"))
        .await
        .unwrap();
    assert!(!store.requeue_parked("r-hand").await.unwrap());
    assert_eq!(record(store, "r-hand").await.state, RunState::Waiting);
}

/// `concurrency 1 per KEY` full: the next occurrence of that key is coalesced onto the active
/// run, whose journal shows the alert it brought; another key starts.
pub async fn coalesce_onto_the_active_run(store: &dyn Store) {
    let keyed = |id: &str, fingerprint: &str, key: &str| {
        let mut record = queued(id, "relieve", fingerprint, 1_000);
        record.coalesce_key = Some(key.into());
        QueuedStart {
            record,
            limits: RunLimits {
                concurrency: Some(1),
                rate: None,
            },
            rate_key: None,
            storm: None,
        }
    };
    assert_eq!(
        ingest_one(store, keyed("r-co-a", "fp-a", "db1")).await,
        StartOutcome::Queued {
            run_id: "r-co-a".into()
        }
    );
    // Running now: still the active one.
    claim_one(store, "worker-a", 60_000).await;
    assert_eq!(
        ingest_one(store, keyed("r-co-b", "fp-b", "db1")).await,
        StartOutcome::Coalesced {
            run_id: "r-co-b".into(),
            onto: "r-co-a".into()
        }
    );
    let b = record(store, "r-co-b").await;
    assert_eq!(b.state, RunState::Coalesced);
    assert!(b.summary.contains("r-co-a"), "{}", b.summary);
    let onto = store.events("r-co-a").await.unwrap();
    let told = onto
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::RunCoalesced { run, alert, .. } => Some((run.clone(), alert.clone())),
            _ => None,
        })
        .expect("the active run hears of the coalesced alert");
    assert_eq!(told, ("r-co-b".into(), Some(alert_value("fp-b", "firing"))));
    assert_eq!(
        ingest_one(store, keyed("r-co-c", "fp-c", "db2")).await,
        StartOutcome::Queued {
            run_id: "r-co-c".into()
        }
    );
    every_journal_verifies(store).await;
}

/// `rate 2 per 1h by KEY`: the third start of the key within the hour is suppressed.
pub async fn rate_suppresses_past_the_limit(store: &dyn Store) {
    let rated = |id: &str, fingerprint: &str, at: i64| QueuedStart {
        record: queued(id, "relieve", fingerprint, at),
        limits: RunLimits {
            concurrency: None,
            rate: Some((2, 3_600_000)),
        },
        rate_key: Some("db1".into()),
        storm: None,
    };
    for (id, fp, at) in [("r-rate-1", "fp-1", 1_000), ("r-rate-2", "fp-2", 2_000)] {
        assert!(matches!(
            ingest_one(store, rated(id, fp, at)).await,
            StartOutcome::Queued { .. }
        ));
    }
    let StartOutcome::Suppressed { run_id, reason } =
        ingest_one(store, rated("r-rate-3", "fp-3", 3_000)).await
    else {
        panic!("the third start within the hour must be suppressed");
    };
    assert_eq!(run_id, "r-rate-3");
    assert!(reason.contains("rate 2"), "{reason}");
    let suppressed = record(store, "r-rate-3").await;
    assert_eq!(suppressed.state, RunState::Suppressed);
    assert_eq!(
        kinds(&store.events("r-rate-3").await.unwrap()),
        ["run_queued", "run_suppressed", "run_finished"]
    );
    // Past the window, the key starts again.
    assert!(matches!(
        ingest_one(store, rated("r-rate-4", "fp-4", 3_700_000)).await,
        StartOutcome::Queued { .. }
    ));
    every_journal_verifies(store).await;
}

/// More than 3 distinct occurrences within the window: the 4th is held (waiting, for a human)
/// and later ones coalesce onto it; nothing held is claimed.
pub async fn a_storm_is_held_for_one_decision(store: &dyn Store) {
    let stormy = |i: i64| QueuedStart {
        record: queued(
            &format!("r-storm-{i}"),
            "relieve",
            &format!("fp-{i}"),
            1_000 + i,
        ),
        limits: RunLimits::default(),
        rate_key: None,
        storm: Some(StormLimit {
            max_distinct: 3,
            window_ms: 600_000,
        }),
    };
    for i in 1..=3 {
        assert!(matches!(
            ingest_one(store, stormy(i)).await,
            StartOutcome::Queued { .. }
        ));
    }
    assert_eq!(
        ingest_one(store, stormy(4)).await,
        StartOutcome::StormHeld {
            run_id: "r-storm-4".into()
        }
    );
    let held = record(store, "r-storm-4").await;
    assert_eq!((held.state, held.held), (RunState::Waiting, true));
    assert!(held.summary.contains("storm"), "{}", held.summary);
    // One decision: the 5th goes to the held run.
    assert_eq!(
        ingest_one(store, stormy(5)).await,
        StartOutcome::Coalesced {
            run_id: "r-storm-5".into(),
            onto: "r-storm-4".into()
        }
    );
    let claimed: Vec<String> = store
        .claim("worker", 100, 60_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(r, _)| r.id)
        .collect();
    assert_eq!(claimed, ["r-storm-1", "r-storm-2", "r-storm-3"]);
    let waiting = store
        .list_runs(&RunQuery {
            limit: 10,
            state: Some(RunState::Waiting),
            runbook: Some("relieve".into()),
        })
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    every_journal_verifies(store).await;
}

/// A resolved alert cancels the queued run of its occurrence and is journaled in (and visible
/// to) a run of another occurrence that is going; other runbooks are untouched.
pub async fn resolved_cancels_the_queued_run(store: &dyn Store) {
    ingest_one(
        store,
        start(queued("r-res-run", "relieve", "fp-run", 1_000)),
    )
    .await;
    claim_one(store, "worker", 60_000).await;
    ingest_one(store, start(queued("r-res-q", "relieve", "fp-q", 1_000))).await;
    ingest_one(store, start(queued("r-res-other", "page", "fp-q", 1_000))).await;
    let report = ingest(
        store,
        Intake {
            alerts: vec![
                alert_row("fp-q", "resolved"),
                alert_row("fp-run", "resolved"),
            ],
            starts: vec![],
            resolved: vec![
                ("relieve".into(), occurrence("fp-q", 1_000)),
                ("relieve".into(), occurrence("fp-run", 1_000)),
                ("relieve".into(), occurrence("fp-never", 1_000)),
            ],
        },
    )
    .await;
    assert_eq!(report.cancelled, ["r-res-q"]);
    assert_eq!(report.new_alerts, 2);
    let cancelled = record(store, "r-res-q").await;
    assert_eq!(cancelled.state, RunState::Cancelled);
    assert_eq!(
        kinds(&store.events("r-res-q").await.unwrap()),
        ["run_queued", "run_cancelled", "run_finished"]
    );
    let going = record(store, "r-res-run").await;
    assert_eq!(going.state, RunState::Running);
    assert_eq!(going.alert, Some(alert_value("fp-run", "resolved")));
    assert!(kinds(&store.events("r-res-run").await.unwrap()).contains(&"alert_resolved".into()));
    assert_eq!(record(store, "r-res-other").await.state, RunState::Queued);
    // Nothing cancelled is claimed.
    let claimed: Vec<String> = store
        .claim("worker", 10, 60_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(r, _)| r.id)
        .collect();
    assert_eq!(claimed, ["r-res-other"]);
    every_journal_verifies(store).await;
}

/// Two processes ticking the same schedule at once: one run.
pub async fn a_schedule_tick_starts_once(handles: Vec<Arc<dyn Store>>) {
    let tick = |id: &str| {
        let mut record = queued(id, "vacuum", "", 60_000);
        record.trigger = RunTrigger::schedule("*/5 * * * *", 60_000);
        record.alert = None;
        record.started_by = "schedule".into();
        record
    };
    let mut tasks = Vec::new();
    for i in 0..4 {
        let store = handles[i % handles.len()].clone();
        let record = tick(&format!("r-tick-{i}"));
        tasks.push(tokio::spawn(async move {
            store.schedule_tick(&record).await.expect("tick")
        }));
    }
    let mut queued_by = 0;
    for task in tasks {
        if task.await.unwrap() {
            queued_by += 1;
        }
    }
    assert_eq!(queued_by, 1);
    let store = &*handles[0];
    assert!(!store.schedule_tick(&tick("r-tick-again")).await.unwrap());
    let runs = store.runs(10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger.kind, TriggerKind::Schedule);
    assert_eq!(runs[0].trigger.key, "schedule|1970-01-01T00:01:00Z");
    every_journal_verifies(store).await;
}

async fn claim_one(store: &dyn Store, worker: &str, lease_ms: u64) -> (RunRecord, Lease) {
    let mut claimed = store.claim(worker, 1, lease_ms).await.expect("claim");
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    claimed.pop().unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

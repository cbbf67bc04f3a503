//! What the one decision path needs from every backend: an answer's external id recorded once
//! per channel (whatever run it names), notices kept per run, a parked run woken at its gate's
//! deadline, and a storm hold released or cancelled once.

use std::sync::Arc;

use rbk_interpreter::store::{
    ApprovalAnswer, HoldDecision, Intake, QueuedStart, RunLimits, RunRecord, RunState, RunTrigger,
    StartOutcome, Store, StormLimit, TriggerKind,
};
use serde_json::json;

fn record(id: &str) -> RunRecord {
    RunRecord {
        id: id.into(),
        file: "/srv/runbooks/db.rbk".into(),
        runbook: "relieve".into(),
        started_by: "alertmanager".into(),
        started_at: 1_000,
        state: RunState::Running,
        summary: String::new(),
        digest: "sha256:0123".into(),
        inputs: json!({}),
        limit_key: String::new(),
        head: None,
        owner: Some(rbk_interpreter::store::RunOwner::this_process()),
        dry_run: false,
        trigger: RunTrigger {
            kind: TriggerKind::Alert,
            name: Some("PoolExhausted".into()),
            fingerprint: Some(format!("fp-{id}")),
            key: format!("fp-{id}|1000"),
        },
        alert: None,
        shadow: false,
        coalesce_key: None,
        held: false,
        ended_at: None,
    }
}

async fn queue(store: &dyn Store, id: &str, storm: Option<StormLimit>) -> StartOutcome {
    let intake = Intake {
        starts: vec![QueuedStart {
            record: record(id),
            limits: RunLimits::default(),
            rate_key: None,
            storm,
        }],
        ..Intake::default()
    };
    let report = store.ingest(&intake).await.unwrap();
    report.starts.into_iter().next().unwrap()
}

fn answer(run: &str, user: &str, channel: &str, external_id: Option<&str>) -> ApprovalAnswer {
    ApprovalAnswer {
        run_id: run.into(),
        step: "restart".into(),
        user: user.into(),
        approve: true,
        comment: None,
        channel: channel.into(),
        at: 2_000,
        digest: "d".into(),
        external_id: external_id.map(Into::into),
        from: Some(format!("{channel} {user}")),
        values: Default::default(),
    }
}

async fn answered(store: &dyn Store, run: &str) -> Vec<String> {
    store
        .events(run)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            rbk_interpreter::journal::EventKind::ApprovalAnswered { by, from, .. } => {
                Some(format!("{by} {}", from.unwrap_or_default()))
            }
            _ => None,
        })
        .collect()
}

/// A Slack click delivered twice (or replayed against another run) is recorded once; the same
/// id from another channel is another answer.
pub async fn an_external_id_is_recorded_once_per_channel(store: &dyn Store) {
    queue(store, "r-x1", None).await;
    queue(store, "r-x2", None).await;
    assert!(store
        .record_answer(&answer("r-x1", "alice", "slack", Some("ts-1")))
        .await
        .unwrap());
    assert!(!store
        .record_answer(&answer("r-x1", "alice", "slack", Some("ts-1")))
        .await
        .unwrap());
    assert!(!store
        .record_answer(&answer("r-x2", "bob", "slack", Some("ts-1")))
        .await
        .unwrap());
    assert!(store
        .record_answer(&answer("r-x1", "bob", "web", Some("ts-1")))
        .await
        .unwrap());
    assert!(store
        .record_answer(&answer("r-x2", "carol", "cli", None))
        .await
        .unwrap());
    assert_eq!(
        answered(store, "r-x1").await,
        ["alice slack alice", "bob web bob"]
    );
    assert_eq!(answered(store, "r-x2").await, ["carol cli carol"]);
    let rows = store.answers("r-x1", "restart").await.unwrap();
    assert_eq!(rows[0].external_id.as_deref(), Some("ts-1"));
}

/// Many handles recording the same click at once: exactly one records it.
pub async fn concurrent_deliveries_of_one_click_record_one_answer(handles: Vec<Arc<dyn Store>>) {
    queue(&*handles[0], "r-race", None).await;
    let tasks: Vec<_> = handles
        .iter()
        .enumerate()
        .map(|(i, store)| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .record_answer(&answer(
                        "r-race",
                        &format!("p{i}"),
                        "slack",
                        Some("ts-race"),
                    ))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut recorded = 0;
    for task in tasks {
        recorded += usize::from(task.await.unwrap());
    }
    assert_eq!(recorded, 1);
    assert_eq!(answered(&*handles[0], "r-race").await.len(), 1);
}

/// A notice is kept per run and key, replaced by the next; a run that does not exist has none.
pub async fn notices_are_kept_per_run_and_key(store: &dyn Store) {
    queue(store, "r-n", None).await;
    assert_eq!(store.notice("r-n", "slack:restart").await.unwrap(), None);
    let posted = json!({"channel": "C1", "ts": "1700.1"});
    store
        .save_notice("r-n", "slack:restart", &posted)
        .await
        .unwrap();
    assert_eq!(
        store.notice("r-n", "slack:restart").await.unwrap(),
        Some(posted)
    );
    let updated = json!({"channel": "C1", "ts": "1700.2"});
    store
        .save_notice("r-n", "slack:restart", &updated)
        .await
        .unwrap();
    assert_eq!(
        store.notice("r-n", "slack:restart").await.unwrap(),
        Some(updated)
    );
    assert_eq!(store.notice("r-n", "slack:other").await.unwrap(), None);
    assert!(store
        .save_notice("r-none", "slack:restart", &json!(1))
        .await
        .is_err());
}

/// A parked run with a deadline is queued by `wake_due` once the deadline came, not before; a
/// run a worker holds cannot be given a wake-up time.
pub async fn a_parked_run_wakes_at_its_deadline(store: &dyn Store) {
    queue(store, "r-wake", None).await;
    let (_, lease) = store
        .claim("worker-a", 1, 60_000)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert!(store
        .set_state_fenced(&lease, RunState::Waiting, "")
        .await
        .unwrap());
    assert!(
        !store.park_until("r-wake", 5_000).await.unwrap(),
        "its worker still holds it"
    );
    store.release(&lease).await.unwrap();
    assert!(store.park_until("r-wake", 5_000).await.unwrap());
    assert!(store.wake_due(4_999).await.unwrap().is_empty());
    assert_eq!(state(store, "r-wake").await, RunState::Waiting);
    assert_eq!(store.wake_due(5_000).await.unwrap(), ["r-wake"]);
    assert_eq!(state(store, "r-wake").await, RunState::Queued);
    assert!(
        store.wake_due(9_000).await.unwrap().is_empty(),
        "woken once"
    );
    let claimed = store.claim("worker-b", 1, 60_000).await.unwrap();
    assert_eq!(claimed[0].0.id, "r-wake");
}

async fn state(store: &dyn Store, id: &str) -> RunState {
    store.run(id).await.unwrap().unwrap().state
}

fn storm() -> Option<StormLimit> {
    Some(StormLimit {
        max_distinct: 1,
        window_ms: 600_000,
    })
}

/// A held run is released (queued, journaled) or cancelled (journaled) once; a run that is not
/// held is neither.
pub async fn a_storm_hold_is_released_or_cancelled_once(store: &dyn Store) {
    assert!(matches!(
        queue(store, "r-s1", storm()).await,
        StartOutcome::Queued { .. }
    ));
    assert!(matches!(
        queue(store, "r-s2", storm()).await,
        StartOutcome::StormHeld { .. }
    ));
    let release = HoldDecision {
        release: true,
        by: "alice".into(),
        via: "cli".into(),
        at: 3_000,
    };
    assert!(
        !store.decide_hold("r-s1", &release).await.unwrap(),
        "not held"
    );
    assert!(store.decide_hold("r-s2", &release).await.unwrap());
    let released = store.run("r-s2").await.unwrap().unwrap();
    assert_eq!((released.state, released.held), (RunState::Queued, false));
    assert!(
        !store.decide_hold("r-s2", &release).await.unwrap(),
        "decided once"
    );
    let events = store.events("r-s2").await.unwrap();
    assert!(events.iter().any(|e| matches!(&e.kind,
        rbk_interpreter::journal::EventKind::StormHoldReleased { by, via } if by == "alice" && via == "cli")));

    // A later storm holds another run; this one is denied.
    let claimed = store.claim("worker", 10, 60_000).await.unwrap();
    for (_, lease) in &claimed {
        store
            .set_state_fenced(lease, RunState::Succeeded, "done")
            .await
            .unwrap();
    }
    assert!(matches!(
        queue(store, "r-s3", storm()).await,
        StartOutcome::StormHeld { .. }
    ));
    let deny = HoldDecision {
        release: false,
        by: "bob".into(),
        via: "slack".into(),
        at: 4_000,
    };
    assert!(store.decide_hold("r-s3", &deny).await.unwrap());
    let cancelled = store.run("r-s3").await.unwrap().unwrap();
    assert_eq!(cancelled.state, RunState::Cancelled);
    assert!(cancelled.summary.contains("bob"), "{}", cancelled.summary);
    assert!(!store.decide_hold("r-s3", &release).await.unwrap());
    let kinds: Vec<String> = store
        .events("r-s3")
        .await
        .unwrap()
        .iter()
        .map(|e| {
            serde_json::to_value(&e.kind).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        kinds.ends_with(&["run_cancelled".to_string(), "run_finished".to_string()]),
        "{kinds:?}"
    );
    for id in ["r-s2", "r-s3"] {
        let events = store.events(id).await.unwrap();
        assert_eq!(rbk_interpreter::journal::verify_chain(&events), Ok(()));
    }
}

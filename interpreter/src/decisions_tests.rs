//! Attacks on the decision path, against the in-memory and SQLite stores.

use std::collections::BTreeMap;

use rbk_compiler::config::ProjectConfig;
use serde_json::json;

use super::*;
use crate::store::{JournalHead, MemoryStore, RunTrigger, SqliteStore};

const RUN: &str = "r-gate";
const REQUESTED_AT: i64 = 10_000;

fn config() -> ProjectConfig {
    ProjectConfig::parse(
        "[approvers]\ndba = [\"alice\", \"bob\", \"carol\", \"dave\"]\nops = [\"olga\"]\n\n\
         [people.alice]\nslack = \"UALICE\"\n\n[people.bob]\nslack = \"UBOB\"\n\n\
         [people.mallory]\nslack = \"UMAL\"\n",
    )
    .unwrap()
}

fn approvers() -> Approvers {
    Approvers::from_config(Some(&config()))
}

fn record(id: &str) -> RunRecord {
    RunRecord {
        id: id.into(),
        file: "ops/db.rbk".into(),
        runbook: "failover".into(),
        started_by: "carol".into(),
        started_at: 1_000,
        state: RunState::Running,
        summary: String::new(),
        digest: "sha256:program".into(),
        inputs: json!({}),
        limit_key: String::new(),
        head: Some(JournalHead {
            events: 0,
            hash: String::new(),
        }),
        owner: None,
        dry_run: false,
        trigger: RunTrigger::manual(id),
        alert: None,
        shadow: false,
        coalesce_key: None,
        held: false,
        ended_at: None,
    }
}

/// A run waiting at `restart`: `quorum` approvals from "dba", a 60 s timeout.
async fn waiting_run(store: &dyn Store, quorum: u32) {
    store
        .start_run(&record(RUN), &crate::store::RunLimits::default())
        .await
        .unwrap();
    store
        .append_event(
            RUN,
            REQUESTED_AT,
            &EventKind::ApprovalRequested {
                step: "restart".into(),
                group: Some("dba".into()),
                quorum,
                actions: vec!["pg.restart(cluster)".into()],
                digest: "plan-1".into(),
                timeout_ms: Some(60_000),
                on_timeout: Some("deny".into()),
                planned: vec![crate::present::PlannedAction {
                    call: "pg.restart".into(),
                    effect: "destructive".into(),
                    arguments: vec![("cluster".into(), json!("db1"))],
                    resolved: true,
                }],
                asks: Vec::new(),
            },
        )
        .await
        .unwrap();
    store.set_state(RUN, RunState::Waiting, "").await.unwrap();
}

fn vote(person: &str, via: Via, approve: bool) -> Vote {
    Vote {
        run_id: RUN.into(),
        step: "restart".into(),
        approve,
        voter: Voter {
            person: person.into(),
            via,
            from: format!("{} {person}", via.as_str()),
        },
        comment: None,
        digest_seen: None,
        external_id: None,
        values: Default::default(),
    }
}

async fn cast(store: &dyn Store, vote: &Vote, now: i64) -> Result<Outcome, Refusal> {
    decide(store, &approvers(), vote, now).await.unwrap()
}

fn refused(result: Result<Outcome, Refusal>) -> RefusalKind {
    match result {
        Err(refusal) => {
            assert!(!refusal.message.is_empty());
            refusal.kind
        }
        Ok(outcome) => panic!("expected a refusal, got {outcome:?}"),
    }
}

async fn answered(store: &dyn Store) -> usize {
    store
        .events(RUN)
        .await
        .unwrap()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ApprovalAnswered { .. }))
        .count()
}

/// Runs `check` against a fresh in-memory store and a fresh SQLite store.
macro_rules! on_both_stores {
    ($name:ident, $check:ident) => {
        #[tokio::test]
        async fn $name() {
            $check(&MemoryStore::new()).await;
            $check(&SqliteStore::in_memory().unwrap()).await;
        }
    };
}

async fn quorum_is_reached_by_distinct_members_and_journaled_with_where_from(store: &dyn Store) {
    waiting_run(store, 2).await;
    let now = REQUESTED_AT + 1_000;
    assert_eq!(
        cast(store, &vote("alice", Via::Cli, true), now).await,
        Ok(Outcome::Recorded {
            approvals: 1,
            quorum: 2
        })
    );
    let decided = cast(store, &vote("bob", Via::Slack, true), now).await;
    assert!(
        matches!(&decided, Ok(Outcome::Decided(ApprovalDecision::Granted { by, .. })) if by == &["alice", "bob"]),
        "{decided:?}"
    );
    let events = store.events(RUN).await.unwrap();
    let from: Vec<Option<String>> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ApprovalAnswered { from, channel, .. } => {
                Some(from.clone().map(|f| format!("{channel}: {f}")))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        from,
        [
            Some("cli: cli alice".to_string()),
            Some("slack: slack bob".to_string())
        ]
    );
    assert!(crate::journal::verify_chain(&events).is_ok());
}
on_both_stores!(
    quorum_is_reached_by_distinct_members,
    quorum_is_reached_by_distinct_members_and_journaled_with_where_from
);

async fn a_second_vote_by_the_same_person_is_refused(store: &dyn Store) {
    waiting_run(store, 2).await;
    let now = REQUESTED_AT + 1_000;
    assert!(cast(store, &vote("alice", Via::Cli, true), now)
        .await
        .is_ok());
    for again in ["alice", " Alice ", "ALICE"] {
        assert_eq!(
            refused(cast(store, &vote(again, Via::Cli, false), now).await),
            RefusalKind::AlreadyVoted,
            "{again:?}"
        );
    }
    assert_eq!(
        refused(cast(store, &vote("alice", Via::Slack, true), now).await),
        RefusalKind::AlreadyVoted,
        "another channel is the same person"
    );
    assert_eq!(answered(store).await, 1);
}
on_both_stores!(second_vote, a_second_vote_by_the_same_person_is_refused);

async fn the_starter_an_outsider_and_an_unknown_person_are_refused(store: &dyn Store) {
    waiting_run(store, 1).await;
    let now = REQUESTED_AT + 1_000;
    assert_eq!(
        refused(cast(store, &vote("carol", Via::Cli, true), now).await),
        RefusalKind::Starter
    );
    assert_eq!(
        refused(cast(store, &vote("olga", Via::Cli, true), now).await),
        RefusalKind::NotInGroup
    );
    assert_eq!(
        refused(cast(store, &vote("mallory", Via::Slack, true), now).await),
        RefusalKind::NotInGroup,
        "a known person outside the group"
    );
    assert_eq!(
        refused(cast(store, &vote("U0STRANGER", Via::Slack, true), now).await),
        RefusalKind::UnknownPerson,
        "a Slack user rbk.toml does not name"
    );
    assert_eq!(
        refused(cast(store, &vote("eve", Via::Web, true), now).await),
        RefusalKind::UnknownPerson
    );
    assert_eq!(
        refused(cast(store, &vote(" \u{200b}", Via::Cli, true), now).await),
        RefusalKind::UnknownPerson
    );
    assert_eq!(answered(store).await, 0);
    // A group member with no [people] entry (a plain CLI name, a proxy's header) counts.
    assert!(matches!(
        cast(store, &vote("dave", Via::Web, true), now).await,
        Ok(Outcome::Decided(_))
    ));
}
on_both_stores!(
    who_may_not_vote,
    the_starter_an_outsider_and_an_unknown_person_are_refused
);

async fn an_expired_or_decided_request_is_refused(store: &dyn Store) {
    waiting_run(store, 1).await;
    assert_eq!(
        refused(cast(store, &vote("alice", Via::Cli, true), REQUESTED_AT + 60_000).await),
        RefusalKind::Expired
    );
    assert_eq!(answered(store).await, 0);
    // Just before the deadline it still counts.
    assert!(matches!(
        cast(store, &vote("bob", Via::Web, false), REQUESTED_AT + 59_999).await,
        Ok(Outcome::Decided(ApprovalDecision::Denied { .. }))
    ));
}
on_both_stores!(expired, an_expired_or_decided_request_is_refused);

async fn a_vote_after_the_decision_is_refused(store: &dyn Store) {
    waiting_run(store, 1).await;
    let now = REQUESTED_AT + 1;
    assert!(matches!(
        cast(store, &vote("alice", Via::Slack, false), now).await,
        Ok(Outcome::Decided(ApprovalDecision::Denied { .. }))
    ));
    // What the engine journals next.
    store
        .append_event(
            RUN,
            now,
            &EventKind::ApprovalDenied {
                step: "restart".into(),
                by: "alice".into(),
                channel: "slack".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        refused(cast(store, &vote("bob", Via::Slack, true), now).await),
        RefusalKind::AlreadyDecided
    );
    assert_eq!(answered(store).await, 1);
}
on_both_stores!(decided, a_vote_after_the_decision_is_refused);

async fn a_stale_digest_is_refused(store: &dyn Store) {
    waiting_run(store, 1).await;
    let mut stale = vote("alice", Via::Slack, true);
    stale.digest_seen = Some("plan-0".into());
    assert_eq!(
        refused(cast(store, &stale, REQUESTED_AT + 1).await),
        RefusalKind::PlanChanged
    );
    stale.digest_seen = Some("plan-1".into());
    assert!(matches!(
        cast(store, &stale, REQUESTED_AT + 1).await,
        Ok(Outcome::Decided(_))
    ));
}
on_both_stores!(stale_digest, a_stale_digest_is_refused);

async fn a_redelivered_click_is_a_duplicate(store: &dyn Store) {
    waiting_run(store, 2).await;
    let now = REQUESTED_AT + 1;
    let mut click = vote("alice", Via::Slack, true);
    click.external_id = Some("1700000000.000100".into());
    assert!(matches!(
        cast(store, &click, now).await,
        Ok(Outcome::Recorded { .. })
    ));
    assert_eq!(cast(store, &click, now).await, Ok(Outcome::Duplicate));
    // The same id from another person (a forged replay) is the same delivery.
    let mut replay = vote("bob", Via::Slack, true);
    replay.external_id = click.external_id.clone();
    assert_eq!(cast(store, &replay, now).await, Ok(Outcome::Duplicate));
    assert_eq!(answered(store).await, 1);
    // Another channel's ids are its own.
    let mut cli = vote("bob", Via::Cli, true);
    cli.external_id = click.external_id.clone();
    assert!(matches!(
        cast(store, &cli, now).await,
        Ok(Outcome::Decided(_))
    ));
}
on_both_stores!(duplicate_external_id, a_redelivered_click_is_a_duplicate);

async fn storm_without_a_hold_and_unknown_runs_are_refused(store: &dyn Store) {
    waiting_run(store, 1).await;
    let mut storm = vote("alice", Via::Cli, true);
    storm.step = STORM.into();
    assert_eq!(
        refused(cast(store, &storm, REQUESTED_AT + 1).await),
        RefusalKind::NotWaiting
    );
    let mut nowhere = vote("alice", Via::Cli, true);
    nowhere.run_id = "r-missing".into();
    assert_eq!(
        refused(cast(store, &nowhere, REQUESTED_AT + 1).await),
        RefusalKind::NotWaiting
    );
    let mut other_step = vote("alice", Via::Cli, true);
    other_step.step = "drop".into();
    assert_eq!(
        refused(cast(store, &other_step, REQUESTED_AT + 1).await),
        RefusalKind::NotWaiting
    );
}
on_both_stores!(
    storm_without_hold,
    storm_without_a_hold_and_unknown_runs_are_refused
);

async fn without_rbk_toml_nothing_is_recorded(store: &dyn Store) {
    waiting_run(store, 1).await;
    let none = Approvers::from_config(None);
    let result = decide(
        store,
        &none,
        &vote("alice", Via::Cli, true),
        REQUESTED_AT + 1,
    )
    .await
    .unwrap();
    assert_eq!(refused(result), RefusalKind::NoConfig);
    assert_eq!(answered(store).await, 0);
}
on_both_stores!(no_config, without_rbk_toml_nothing_is_recorded);

async fn open_requests_show_the_waiting_gate_and_its_votes(store: &dyn Store) {
    waiting_run(store, 2).await;
    assert!(
        cast(store, &vote("alice", Via::Cli, true), REQUESTED_AT + 5)
            .await
            .is_ok()
    );
    let open = open_requests(store, RUN).await.unwrap();
    assert_eq!(open.len(), 1);
    let gate = &open[0];
    assert_eq!(
        (gate.step.as_str(), gate.group.as_deref(), gate.quorum),
        ("restart", Some("dba"), 2)
    );
    assert_eq!(gate.deadline, Some(REQUESTED_AT + 60_000));
    assert_eq!(gate.on_timeout, "deny");
    assert_eq!(gate.votes.len(), 1);
    assert_eq!(gate.planned[0].call, "pg.restart");
    assert!(!gate.storm);
}
on_both_stores!(
    open_requests_list,
    open_requests_show_the_waiting_gate_and_its_votes
);

#[test]
fn storm_approvers_come_from_serve_storm() {
    let config = ProjectConfig::parse(
        "[approvers]\noncall = [\"alice\"]\n\n[serve.storm]\napprovers = \"oncall\"\n",
    )
    .unwrap();
    let approvers = Approvers::from_config(Some(&config));
    assert_eq!(approvers.storm_group(), Some("oncall"));
    assert_eq!(
        approvers.groups(),
        Some(&BTreeMap::from([(
            "oncall".to_string(),
            vec!["alice".to_string()]
        )]))
    );
    assert_eq!(Approvers::from_config(None).groups(), None);
}

/// A run a storm held, in a store that saw two distinct alerts with a threshold of one.
async fn held_run(store: &dyn Store) -> String {
    use crate::store::{Intake, QueuedStart, StartOutcome, StormLimit, TriggerKind};
    let mut held = None;
    for n in 1..=2 {
        let mut run = record(&format!("r-storm-{n}"));
        run.started_by = "alertmanager".into();
        run.trigger = RunTrigger {
            kind: TriggerKind::Alert,
            name: Some("Stormy".into()),
            fingerprint: Some(format!("fp{n}")),
            key: format!("fp{n}|1000"),
        };
        let intake = Intake {
            starts: vec![QueuedStart {
                record: run,
                limits: crate::store::RunLimits::default(),
                rate_key: None,
                storm: Some(StormLimit {
                    max_distinct: 1,
                    window_ms: 3_600_000,
                }),
            }],
            ..Intake::default()
        };
        let report = store.ingest(&intake).await.unwrap();
        if let Some(StartOutcome::StormHeld { run_id }) = report.starts.into_iter().next() {
            held = Some(run_id);
        }
    }
    held.expect("the second distinct alert is held")
}

async fn only_the_storm_group_decides_a_hold_once(store: &dyn Store) {
    let held = held_run(store).await;
    let config = ProjectConfig::parse(
        "[approvers]\ndba = [\"alice\"]\noncall = [\"olga\"]\n\n[serve.storm]\napprovers = \"oncall\"\n",
    )
    .unwrap();
    let approvers = Approvers::from_config(Some(&config));
    let storm = |person: &str, approve: bool| Vote {
        run_id: held.clone(),
        step: STORM.into(),
        approve,
        voter: Voter {
            person: person.into(),
            via: Via::Cli,
            from: format!("cli {person}"),
        },
        comment: None,
        digest_seen: None,
        external_id: None,
        values: Default::default(),
    };
    let alice = decide(store, &approvers, &storm("alice", true), 5_000)
        .await
        .unwrap();
    assert_eq!(
        refused(alice),
        RefusalKind::NotInGroup,
        "dba does not decide storms"
    );
    let olga = decide(store, &approvers, &storm("olga", false), 5_000)
        .await
        .unwrap();
    assert!(
        matches!(&olga, Ok(Outcome::Decided(ApprovalDecision::Denied { by, .. })) if by == "olga"),
        "{olga:?}"
    );
    assert_eq!(
        store.run(&held).await.unwrap().unwrap().state,
        RunState::Cancelled
    );
    let again = decide(store, &approvers, &storm("olga", true), 5_001)
        .await
        .unwrap();
    assert_eq!(refused(again), RefusalKind::NotWaiting);
    assert!(open_requests(store, &held).await.unwrap().is_empty());
}
on_both_stores!(storm_group, only_the_storm_group_decides_a_hold_once);

async fn a_held_run_is_an_open_storm_request(store: &dyn Store) {
    let held = held_run(store).await;
    let open = open_requests(store, &held).await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(open[0].storm);
    assert_eq!(open[0].step, STORM);
}
on_both_stores!(storm_open_request, a_held_run_is_an_open_storm_request);

/// A run waiting at `resize`, whose gate asks `new_size: int` and `wait: duration`.
async fn run_asking_values(store: &dyn Store, quorum: u32) {
    store
        .start_run(&record(RUN), &crate::store::RunLimits::default())
        .await
        .unwrap();
    store
        .append_event(
            RUN,
            REQUESTED_AT,
            &EventKind::ApprovalRequested {
                step: "resize".into(),
                group: Some("dba".into()),
                quorum,
                actions: vec!["k8s.scale(deploy, approval.new_size)".into()],
                digest: "plan-1".into(),
                timeout_ms: None,
                on_timeout: None,
                planned: Vec::new(),
                asks: vec![
                    AskedValue {
                        name: "new_size".into(),
                        ty: "int".into(),
                    },
                    AskedValue {
                        name: "wait".into(),
                        ty: "duration".into(),
                    },
                ],
            },
        )
        .await
        .unwrap();
    store.set_state(RUN, RunState::Waiting, "").await.unwrap();
}

fn vote_with(person: &str, approve: bool, values: &[(&str, &str)]) -> Vote {
    Vote {
        step: "resize".into(),
        values: values
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..vote(person, Via::Cli, approve)
    }
}

async fn bad_values_are_refused_and_nothing_is_recorded(store: &dyn Store) {
    run_asking_values(store, 1).await;
    let now = REQUESTED_AT + 1_000;
    // (what, the values given, what the refusal says)
    type Attack<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let attacks: [Attack; 5] = [
        (
            "ill-typed",
            &[("new_size", "five"), ("wait", "1m")],
            "`new_size` must be of type `int`",
        ),
        (
            "missing",
            &[("new_size", "5")],
            "needs a value for `wait` (duration)",
        ),
        (
            "blank",
            &[("new_size", "5"), ("wait", " ")],
            "needs a value for `wait`",
        ),
        (
            "unknown",
            &[("new_size", "5"), ("wait", "1m"), ("force", "yes")],
            "does not ask for `force`",
        ),
        ("none at all", &[], "needs a value for `new_size`"),
    ];
    for (what, values, expected) in attacks {
        match cast(store, &vote_with("alice", true, values), now).await {
            Err(refusal) => {
                assert_eq!(refusal.kind, RefusalKind::BadValues, "{what}");
                assert!(
                    refusal.message.contains(expected),
                    "{what}: {}",
                    refusal.message
                );
            }
            Ok(outcome) => panic!("{what}: expected a refusal, got {outcome:?}"),
        }
    }
    assert_eq!(
        refused(cast(store, &vote_with("alice", false, &[("new_size", "5")]), now).await),
        RefusalKind::BadValues,
        "a denial carries no values"
    );
    assert_eq!(
        refused(
            cast(
                store,
                &vote_with("olga", true, &[("new_size", "5"), ("wait", "1m")]),
                now
            )
            .await
        ),
        RefusalKind::NotInGroup,
        "a person outside the group is refused whatever the values"
    );
    assert_eq!(
        refused(
            cast(
                store,
                &vote_with("carol", true, &[("new_size", "5"), ("wait", "1m")]),
                now
            )
            .await
        ),
        RefusalKind::Starter
    );
    assert_eq!(answered(store).await, 0, "no refused vote is recorded");
}
on_both_stores!(bad_values, bad_values_are_refused_and_nothing_is_recorded);

async fn values_given_to_a_gate_that_asks_none_are_refused(store: &dyn Store) {
    waiting_run(store, 1).await;
    let now = REQUESTED_AT + 1_000;
    let mut attack = vote("alice", Via::Cli, true);
    attack.values.insert("new_size".into(), "5".into());
    assert_eq!(
        refused(cast(store, &attack, now).await),
        RefusalKind::BadValues
    );
    assert_eq!(answered(store).await, 0);
}
on_both_stores!(
    values_to_no_ask,
    values_given_to_a_gate_that_asks_none_are_refused
);

async fn granted_values_are_journaled_and_a_quorum_agrees_on_them(store: &dyn Store) {
    run_asking_values(store, 2).await;
    let now = REQUESTED_AT + 1_000;
    assert!(cast(
        store,
        &vote_with("alice", true, &[("new_size", " 5 "), ("wait", "2m")]),
        now
    )
    .await
    .is_ok());
    let open = open_requests(store, RUN).await.unwrap();
    let asks: Vec<&str> = open[0].asks.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        (open[0].step.as_str(), asks),
        ("resize", vec!["new_size", "wait"])
    );
    assert_eq!(
        refused(
            cast(
                store,
                &vote_with("bob", true, &[("new_size", "50"), ("wait", "2m")]),
                now
            )
            .await
        ),
        RefusalKind::BadValues,
        "a second approver cannot change what the first approved"
    );
    let decided = cast(
        store,
        &vote_with("bob", true, &[("new_size", "5"), ("wait", "2m")]),
        now,
    )
    .await;
    let Ok(Outcome::Decided(ApprovalDecision::Granted { values, .. })) = decided else {
        panic!("expected a grant, got {decided:?}");
    };
    assert_eq!(values.get("new_size").map(String::as_str), Some("5"));
    assert_eq!(values.get("wait").map(String::as_str), Some("2m"));
    let journaled: Vec<_> = store
        .events(RUN)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::ApprovalAnswered { values, .. } => Some(values),
            _ => None,
        })
        .collect();
    assert_eq!(journaled.len(), 2);
    assert!(journaled
        .iter()
        .all(|v| v.get("new_size").map(String::as_str) == Some("5")));
}
on_both_stores!(
    granted_values,
    granted_values_are_journaled_and_a_quorum_agrees_on_them
);

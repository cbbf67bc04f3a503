//! The seed's incident for real: PostgreSQL, Debian's postgres_exporter, Prometheus and
//! Alertmanager (tests/support/alerting.rs), and `rbk serve` running
//! `examples/db_pool_exhaustion.rbk` when Alertmanager calls it.

mod support;

use std::time::Duration;

use support::alerting::{AlertingStack, ConnectionsRule, Webhook, ALERT_NAME};
use support::echo_server::EchoServer;
use support::pg::{self, TestDatabase};
use support::waiting::until;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The chain without rbk: a condition in PostgreSQL reaches a plain webhook receiver, firing
/// and then resolved, with the bearer token Alertmanager was configured with. When this fails,
/// the problem is in the environment (packages, ports), not in `rbk serve`.
#[test]
fn the_connections_alert_reaches_a_webhook_with_its_token_and_resolves() {
    let runtime = runtime();
    let db = runtime.block_on(TestDatabase::create("chain"));
    let receiver = EchoServer::start("ok");
    let stack = AlertingStack::start(
        &pg::base_url(),
        &ConnectionsRule {
            database: db.name.clone(),
            idle_above: 2,
            for_seconds: 1,
        },
        &Webhook {
            url: format!("{}/v1/alertmanager", receiver.url),
            bearer_token: "chain-token".into(),
        },
    );
    let idle = runtime.block_on(async {
        let mut idle = Vec::new();
        for i in 0..4 {
            idle.push(pg::session(&db.url(), &format!("rbk-chain-{i}")).await);
        }
        idle
    });

    let firing = until(
        "Alertmanager to deliver the firing alert",
        Duration::from_secs(90),
        || {
            receiver
                .requests()
                .into_iter()
                .find(|r| r.contains(r#""status":"firing""#))
        },
        || stack.logs(),
    );
    assert!(firing.starts_with("POST /v1/alertmanager "), "{firing}");
    assert!(
        firing
            .to_ascii_lowercase()
            .contains("authorization: bearer chain-token"),
        "{firing}"
    );
    let body: serde_json::Value =
        serde_json::from_str(firing.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["version"], "4");
    assert_eq!(body["alerts"][0]["labels"]["alertname"], ALERT_NAME);
    assert_eq!(body["alerts"][0]["labels"]["db"], "orders");
    assert_eq!(stack.active_alerts(ALERT_NAME).len(), 1);

    drop(idle);
    until(
        "Alertmanager to deliver the resolved alert",
        Duration::from_secs(90),
        || {
            receiver
                .requests()
                .into_iter()
                .find(|r| r.contains(r#""status":"resolved""#))
        },
        || stack.logs(),
    );
    until(
        "Alertmanager's API to show the alert resolved",
        Duration::from_secs(30),
        || stack.active_alerts(ALERT_NAME).is_empty().then_some(()),
        || stack.logs(),
    );
    drop(stack);
    runtime.block_on(db.drop());
}

//! Against the real server of `RBK_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Every test touches only sessions it opened.

use super::*;

fn base_url() -> String {
    std::env::var("RBK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn our_client() -> Client {
    open(&base_url()).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable ({}). These tests need a running server: start one \
             (e.g. `pg_ctlcluster 15 main start`) or point RBK_TEST_POSTGRES_URL at one.",
            e.message
        )
    })
}

/// A second session, marked by its application_name, as the victim.
async fn victim(tag: &str) -> (Client, i32, i64) {
    let client = our_client().await;
    client
        .batch_execute(&format!("SET application_name = 'rbk-unit-{tag}'"))
        .await
        .unwrap();
    let row = client
        .query_one(
            &format!(
                "SELECT a.pid, {BACKEND_START_MS} FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()"
            ),
            &[],
        )
        .await
        .unwrap();
    (client, row.get(0), row.get(1))
}

async fn alive(observer: &Client, pid: i32) -> bool {
    observer
        .query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&pid])
        .await
        .unwrap()
        .is_some()
}

fn session(pid: i64, backend_start: i64, state: &str) -> Value {
    let mut fields = BTreeMap::new();
    fields.insert("pid".into(), Value::Int(pid));
    fields.insert("user".into(), Value::str("postgres"));
    fields.insert("application".into(), Value::str(""));
    fields.insert("client_addr".into(), Value::str(""));
    fields.insert("state".into(), Value::str(state));
    fields.insert("idle".into(), Value::Duration(0));
    fields.insert("backend_start".into(), Value::Time(backend_start));
    fields.insert("query".into(), Value::str(""));
    Value::Record(fields)
}

#[test]
fn more_sessions_than_max_are_refused_before_anything_happens() {
    let sessions = Value::List((1..=3).map(|pid| session(pid, 0, "idle")).collect());
    let error = targets(&sessions, &Value::Int(2), Signal::Terminate).unwrap_err();
    assert!(
        error
            .message
            .contains("refusing to terminate 3 sessions: more than max 2"),
        "{}",
        error.message
    );
    assert_eq!(
        targets(&sessions, &Value::Int(3), Signal::Terminate)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn a_session_without_backend_start_is_refused() {
    let mut broken = session(7, 0, "idle");
    if let Value::Record(fields) = &mut broken {
        fields.remove("backend_start");
    }
    let error = targets(
        &Value::List(vec![broken]),
        &Value::Int(5),
        Signal::Terminate,
    )
    .unwrap_err();
    assert!(
        error.message.contains("no backend_start"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn terminate_rechecks_backend_start_so_a_reused_pid_is_never_hit() {
    let observer = our_client().await;
    let (_victim, pid, started) = victim("reused-pid").await;
    // Wait until the victim is idle, as a listed idle session would be.
    for _ in 0..50 {
        let state: Option<String> = observer
            .query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .get(0);
        if state.as_deref() == Some("idle") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wrong_start = Target {
        pid,
        backend_start_ms: started - 1,
        user: "postgres".into(),
        state: "idle".into(),
        transaction_start_ms: None,
    };
    assert_eq!(
        signal_targets(&observer, &[wrong_start], Signal::Terminate).await,
        Ok(0)
    );
    assert!(
        alive(&observer, pid).await,
        "a different backend_start must not be hit"
    );

    let listed_active = Target {
        pid,
        backend_start_ms: started,
        user: "postgres".into(),
        state: "active".into(),
        transaction_start_ms: None,
    };
    assert_eq!(
        signal_targets(&observer, &[listed_active], Signal::Terminate).await,
        Ok(0)
    );
    assert!(
        alive(&observer, pid).await,
        "a session no longer in its listed state is skipped"
    );

    let right = Target {
        pid,
        backend_start_ms: started,
        user: "postgres".into(),
        state: "idle".into(),
        transaction_start_ms: None,
    };
    assert_eq!(
        signal_targets(&observer, std::slice::from_ref(&right), Signal::Terminate).await,
        Ok(1)
    );
    assert!(!alive(&observer, pid).await);
    // Already gone: skipped, not an error.
    assert_eq!(
        signal_targets(&observer, &[right], Signal::Terminate).await,
        Ok(0)
    );
}

#[tokio::test]
async fn idle_sessions_are_listed_with_every_session_field_but_never_our_own() {
    let observer = our_client().await;
    let (_victim, pid, started) = victim("listed").await;
    let own_pid: i32 = observer
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Value::List(listed) = list_sessions(&observer, IDLE, 100).await.unwrap() else {
        panic!("a list")
    };
    let ours: Vec<&Value> = listed
        .iter()
        .filter(
            |s| matches!(s, Value::Record(f) if f.get("pid") == Some(&Value::Int(i64::from(pid)))),
        )
        .collect();
    assert_eq!(ours.len(), 1, "{listed:?}");
    let Value::Record(fields) = ours[0] else {
        unreachable!()
    };
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "application",
            "backend_start",
            "client_addr",
            "idle",
            "pid",
            "query",
            "state",
            "user"
        ]
    );
    assert_eq!(fields["application"], Value::str("rbk-unit-listed"));
    assert_eq!(fields["state"], Value::str("idle"));
    assert_eq!(fields["backend_start"], Value::Time(started));
    assert_eq!(fields["client_addr"], Value::str("127.0.0.1"));
    assert!(matches!(fields["idle"], Value::Duration(ms) if ms >= 100));
    assert!(!listed.iter().any(
        |s| matches!(s, Value::Record(f) if f.get("pid") == Some(&Value::Int(i64::from(own_pid))))
    ));
}

#[tokio::test]
async fn query_is_read_only_and_renders_every_column_as_text() {
    let mut client = our_client().await;
    let rows = read_only_query(
        &mut client,
        "SELECT 1 AS n, NULL::int AS missing, ARRAY[1,2] AS xs, true AS yes, 'a;b' AS s;",
        &[],
    )
    .await
    .unwrap();
    let Value::List(rows) = rows else {
        panic!("a list")
    };
    let Value::Map(row) = &rows[0] else {
        panic!("a map")
    };
    assert_eq!(row["n"], Value::str("1"));
    assert_eq!(row["missing"], Value::str(""));
    assert_eq!(row["xs"], Value::str("{1,2}"));
    assert_eq!(row["yes"], Value::str("true"));
    assert_eq!(row["s"], Value::str("a;b"));

    let table = format!("rbk_unit_ro_{}", std::process::id());
    client
        .batch_execute(&format!("CREATE TEMP TABLE {table} (x int)"))
        .await
        .unwrap();
    for sql in [
        format!("WITH d AS (INSERT INTO {table} VALUES (1) RETURNING x) SELECT * FROM d"),
        format!("SELECT 1; INSERT INTO {table} VALUES (1)"),
        format!("SELECT 1) q; INSERT INTO {table} VALUES (1); SELECT (1"),
        format!("INSERT INTO {table} VALUES (1) RETURNING x"),
    ] {
        assert!(
            read_only_query(&mut client, &sql, &[]).await.is_err(),
            "{sql} must fail"
        );
    }
    let count: i64 = client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0);
}

#[tokio::test]
async fn tls_is_used_when_the_url_requires_it() {
    let url = format!(
        "{}{}sslmode=require",
        base_url(),
        if base_url().contains('?') { '&' } else { '?' }
    );
    let client = open(&url).await.expect("sslmode=require connects over TLS");
    let ssl: bool = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl);
    let plain = our_client().await;
    let ssl: bool = plain
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!ssl, "no sslmode means a plain connection");
}

#[tokio::test]
async fn a_refused_connection_names_the_target_but_not_the_password() {
    let Err(error) = open("postgres://app:hunter2@127.0.0.1:1/orders").await else {
        panic!("nothing listens on port 1")
    };
    assert!(
        error
            .message
            .contains("cannot connect to PostgreSQL at app@127.0.0.1:1/orders"),
        "{}",
        error.message
    );
    assert!(!error.message.contains("hunter2"));
}

/// Waits (up to 5s) until the session `pid` is in `state`.
async fn wait_for_state(observer: &Client, pid: i32, state: &str) {
    for _ in 0..250 {
        let now: Option<String> = observer
            .query_one("SELECT state FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .await
            .unwrap()
            .get(0);
        if now.as_deref() == Some(state) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("session {pid} never reached state {state}");
}

/// The session `pid` in a listing, as its fields.
fn listed(listing: &Value, pid: i32) -> Option<BTreeMap<String, Value>> {
    let Value::List(sessions) = listing else {
        panic!("a list")
    };
    sessions.iter().find_map(|s| match s {
        Value::Record(fields) if fields.get("pid") == Some(&Value::Int(i64::from(pid))) => {
            Some(fields.clone())
        }
        _ => None,
    })
}

#[test]
fn cancel_refuses_more_sessions_than_max_before_anything_happens() {
    let sessions = Value::List((1..=3).map(|pid| session(pid, 0, "active")).collect());
    let error = targets(&sessions, &Value::Int(2), Signal::Cancel).unwrap_err();
    assert_eq!(
        error.message,
        "refusing to cancel 3 sessions: more than max 2; nothing was cancelled"
    );
}

#[tokio::test]
async fn a_long_transaction_is_listed_oldest_first_with_its_start_and_age() {
    let observer = our_client().await;
    let (older, older_pid, _) = victim("xact-older").await;
    older.batch_execute("BEGIN; SELECT 1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (newer, newer_pid, _) = victim("xact-newer").await;
    newer.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let (_outside, outside_pid, _) = victim("xact-none").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let listing = list_sessions(&observer, LONG_TRANSACTION, 200)
        .await
        .unwrap();
    let older_fields = listed(&listing, older_pid).expect("the older transaction is listed");
    assert!(listed(&listing, newer_pid).is_some());
    assert!(
        listed(&listing, outside_pid).is_none(),
        "a session outside a transaction is not listed"
    );
    let Value::List(sessions) = &listing else {
        unreachable!()
    };
    let position = |pid: i32| {
        sessions
            .iter()
            .position(|s| matches!(s, Value::Record(f) if f["pid"] == Value::Int(i64::from(pid))))
            .unwrap()
    };
    assert!(position(older_pid) < position(newer_pid), "oldest first");

    assert_eq!(older_fields["state"], Value::str("idle in transaction"));
    assert_eq!(
        older_fields["application"],
        Value::str("rbk-unit-xact-older")
    );
    let xact_start: i64 = observer
        .query_one(
            &format!("SELECT {XACT_START_MS} FROM pg_stat_activity a WHERE a.pid = $1"),
            &[&older_pid],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(older_fields["transaction_start"], Value::Time(xact_start));
    assert!(
        matches!(older_fields["transaction_age"], Value::Duration(ms) if (350..60_000).contains(&ms)),
        "{:?}",
        older_fields["transaction_age"]
    );

    let young = list_sessions(&observer, LONG_TRANSACTION, 60_000)
        .await
        .unwrap();
    assert!(
        listed(&young, older_pid).is_none(),
        "younger than the bound"
    );

    // Other listings keep their sessions free of transaction fields.
    let idle = list_sessions(&observer, IDLE, 0).await.unwrap();
    let outside = listed(&idle, outside_pid).expect("the idle session");
    assert!(!outside.contains_key("transaction_start"));
}

#[tokio::test]
async fn cancel_stops_the_query_of_a_long_transaction_and_leaves_the_session() {
    let observer = our_client().await;
    let (holder, pid, _) = victim("xact-cancel").await;
    holder.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let sleeping = tokio::spawn(async move {
        let outcome = holder.query("SELECT pg_sleep(30)", &[]).await;
        (holder, outcome)
    });
    wait_for_state(&observer, pid, "active").await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let listing = list_sessions(&observer, LONG_TRANSACTION, 100)
        .await
        .unwrap();
    let found = listed(&listing, pid).expect("the long transaction is listed");
    assert_eq!(found["state"], Value::str("active"));
    let targets = targets(
        &Value::List(vec![Value::Record(found)]),
        &Value::Int(1),
        Signal::Cancel,
    )
    .unwrap();
    assert_eq!(
        signal_targets(&observer, &targets, Signal::Cancel).await,
        Ok(1)
    );

    let (holder, outcome) = tokio::time::timeout(Duration::from_secs(10), sleeping)
        .await
        .expect("the query stops well before its 30s")
        .unwrap();
    let error = outcome.expect_err("the query was cancelled");
    assert_eq!(error.code(), Some(&SqlState::QUERY_CANCELED));
    assert!(alive(&observer, pid).await, "cancel leaves the session");
    wait_for_state(&observer, pid, "idle in transaction (aborted)").await;
    // The aborted transaction holds nothing any more: it is no longer a long transaction.
    let after = list_sessions(&observer, LONG_TRANSACTION, 0).await.unwrap();
    assert!(listed(&after, pid).is_none(), "{after:?}");
    // Nothing runs now, so a second cancel has nothing to do.
    assert_eq!(
        signal_targets(&observer, &targets, Signal::Cancel).await,
        Ok(0)
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
}

#[tokio::test]
async fn terminate_ends_a_long_transaction_whatever_its_state_but_never_a_newer_one() {
    let observer = our_client().await;
    let (holder, pid, _) = victim("xact-terminate").await;
    holder.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let sleeping = tokio::spawn(async move {
        holder.query("SELECT pg_sleep(0.5)", &[]).await.unwrap();
        holder
    });
    wait_for_state(&observer, pid, "active").await;
    let listing = list_sessions(&observer, LONG_TRANSACTION, 0).await.unwrap();
    let found = listed(&listing, pid).expect("listed while its query runs");
    assert_eq!(found["state"], Value::str("active"));
    let listed_targets = targets(
        &Value::List(vec![Value::Record(found)]),
        &Value::Int(1),
        Signal::Terminate,
    )
    .unwrap();
    let holder = sleeping.await.unwrap();
    wait_for_state(&observer, pid, "idle in transaction").await;

    // The transaction it was listed in has ended and another begun: not the one listed.
    holder
        .batch_execute("COMMIT; BEGIN; SELECT 1")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        signal_targets(&observer, &listed_targets, Signal::Terminate).await,
        Ok(0)
    );
    assert!(
        alive(&observer, pid).await,
        "a newer transaction is left alone"
    );

    // Listed again, it is ended though its state changed from `active` to idle.
    let again = list_sessions(&observer, LONG_TRANSACTION, 0).await.unwrap();
    let found = listed(&again, pid).unwrap();
    let mut as_listed = found.clone();
    as_listed.insert("state".into(), Value::str("active"));
    let targets = targets(
        &Value::List(vec![Value::Record(as_listed)]),
        &Value::Int(1),
        Signal::Terminate,
    )
    .unwrap();
    assert_eq!(
        signal_targets(&observer, &targets, Signal::Terminate).await,
        Ok(1)
    );
    assert!(!alive(&observer, pid).await);
    drop(holder);
}

#[tokio::test]
async fn bind_parameters_are_data_never_sql() {
    const HOSTILE: &str = "'; drop table x; --";
    let mut client = our_client().await;
    client
        .batch_execute("CREATE TEMP TABLE x (id int PRIMARY KEY, name text)")
        .await
        .unwrap();
    let text = |s: &str| params::TextParam(Some(s.to_string()));

    let inserted = execute_statement(
        &client,
        "INSERT INTO x (id, name) VALUES ($1, $2);",
        &[text("1"), text(HOSTILE)],
    )
    .await
    .unwrap();
    assert_eq!(inserted, 1);

    let Value::List(rows) = read_only_query(
        &mut client,
        "SELECT id, name, $2 AS echoed FROM x WHERE name = $1",
        &[text(HOSTILE), text("it's $1")],
    )
    .await
    .unwrap() else {
        panic!("a list")
    };
    assert_eq!(rows.len(), 1, "the value matched as data");
    let Value::Map(row) = &rows[0] else {
        panic!("a map")
    };
    assert_eq!(row["id"], Value::str("1"));
    assert_eq!(row["name"], Value::str(HOSTILE));
    assert_eq!(row["echoed"], Value::str("it's $1"));

    // The table is still there, with the one row.
    let count: i64 = client
        .query_one("SELECT count(*) FROM x", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);

    // Text is parsed as the type the statement gives the parameter; NULL is NULL.
    let Value::List(rows) = read_only_query(
        &mut client,
        "SELECT $1::interval AS span, $2::int + 1 AS next, $3::text IS NULL AS missing",
        &[text("90 minutes"), text("41"), params::TextParam(None)],
    )
    .await
    .unwrap() else {
        panic!("a list")
    };
    let Value::Map(row) = &rows[0] else {
        panic!("a map")
    };
    assert_eq!(row["span"], Value::str("01:30:00"));
    assert_eq!(row["next"], Value::str("42"));
    assert_eq!(row["missing"], Value::str("true"));
}

#[tokio::test]
async fn wrong_parameters_fail_before_or_by_the_server_with_its_reason() {
    let mut client = our_client().await;
    let text = |s: &str| params::TextParam(Some(s.to_string()));
    let error = read_only_query(&mut client, "SELECT $1::int AS n", &[])
        .await
        .unwrap_err();
    assert_eq!(
        error.message,
        "the SQL takes 1 parameter ($1) but params has 0 values; nothing was run"
    );
    let error = execute_statement(&client, "SELECT 1", &[text("x")])
        .await
        .unwrap_err();
    assert!(
        error.message.contains("the SQL takes no parameters"),
        "{}",
        error.message
    );
    let error = read_only_query(&mut client, "SELECT $1::int AS n", &[text("abc")])
        .await
        .unwrap_err();
    assert!(
        error
            .message
            .contains("invalid input syntax for type integer: \"abc\""),
        "{}",
        error.message
    );
    // A parameter never turns a read into a write.
    let error = read_only_query(
        &mut client,
        "SELECT $1::text AS t",
        &[text("x'); CREATE TABLE rbk_never (i int); --")],
    )
    .await;
    assert!(error.is_ok());
    let exists: bool = client
        .query_one("SELECT to_regclass('rbk_never') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!exists);
}

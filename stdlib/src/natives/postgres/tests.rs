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
    let error = targets(&sessions, &Value::Int(2)).unwrap_err();
    assert!(
        error
            .message
            .contains("refusing to terminate 3 sessions: more than max 2"),
        "{}",
        error.message
    );
    assert_eq!(targets(&sessions, &Value::Int(3)).unwrap().len(), 3);
}

#[test]
fn a_session_without_backend_start_is_refused() {
    let mut broken = session(7, 0, "idle");
    if let Value::Record(fields) = &mut broken {
        fields.remove("backend_start");
    }
    let error = targets(&Value::List(vec![broken]), &Value::Int(5)).unwrap_err();
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
    };
    assert_eq!(terminate_targets(&observer, &[wrong_start]).await, Ok(0));
    assert!(
        alive(&observer, pid).await,
        "a different backend_start must not be hit"
    );

    let listed_active = Target {
        pid,
        backend_start_ms: started,
        user: "postgres".into(),
        state: "active".into(),
    };
    assert_eq!(terminate_targets(&observer, &[listed_active]).await, Ok(0));
    assert!(
        alive(&observer, pid).await,
        "a session no longer in its listed state is skipped"
    );

    let right = Target {
        pid,
        backend_start_ms: started,
        user: "postgres".into(),
        state: "idle".into(),
    };
    assert_eq!(
        terminate_targets(&observer, std::slice::from_ref(&right)).await,
        Ok(1)
    );
    assert!(!alive(&observer, pid).await);
    // Already gone: skipped, not an error.
    assert_eq!(terminate_targets(&observer, &[right]).await, Ok(0));
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
    let Value::List(listed) = list_sessions(&observer, IDLE, "a.pid", 100).await.unwrap() else {
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
            read_only_query(&mut client, &sql).await.is_err(),
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

//! PostgreSQL for end-to-end tests: a database of one's own on the server of
//! `RBK_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`), and sessions
//! in it that a test keeps open, idle or busy.

use tokio_postgres::{Client, NoTls};

pub fn base_url() -> String {
    std::env::var("RBK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The base URL pointed at another database (query parameters dropped).
pub fn url_for(database: &str) -> String {
    let base = base_url();
    let without_query = base.split('?').next().unwrap_or(&base);
    let server = without_query
        .rsplit_once('/')
        .filter(|(server, _)| !server.ends_with('/'))
        .map_or(without_query, |(server, _)| server);
    format!("{server}/{database}")
}

/// The base URL's user at 127.0.0.1:`port` (a proxy in front of the server), database `database`.
pub fn url_via_port(port: u16, database: &str) -> String {
    let base = base_url();
    let user = base
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map_or("postgres", |(user, _)| user);
    format!("postgres://{user}@127.0.0.1:{port}/{database}")
}

pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {url} ({e}). These tests need a running server: \
                 start one (e.g. `pg_ctlcluster 15 main start`) or point RBK_TEST_POSTGRES_URL at one."
            )
        });
    tokio::spawn(connection);
    client
}

/// A database for one test (`rbk_e2e_TAG_PID`), dropped with whatever is still connected.
pub struct TestDatabase {
    pub name: String,
    admin: Client,
}

impl TestDatabase {
    pub async fn create(tag: &str) -> TestDatabase {
        let name = format!("rbk_e2e_{tag}_{}", std::process::id());
        let admin = connect(&base_url()).await;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        TestDatabase { name, admin }
    }

    pub fn url(&self) -> String {
        url_for(&self.name)
    }

    pub async fn drop(self) {
        let _ = self
            .admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await;
    }
}

/// A session named by its application_name; keep the client to keep the session. Returns its
/// backend pid too.
pub async fn session(url: &str, application: &str) -> (Client, i32) {
    let client = connect(url).await;
    client
        .batch_execute(&format!("SET application_name = '{application}'"))
        .await
        .unwrap();
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    (client, pid)
}

/// The state (`idle`, `active`, ...) of backend `pid`, None when it is gone.
pub async fn state_of(observer: &Client, pid: i32) -> Option<String> {
    observer
        .query_opt(
            "SELECT coalesce(state, '') FROM pg_stat_activity WHERE pid = $1",
            &[&pid],
        )
        .await
        .unwrap()
        .map(|row| row.get(0))
}

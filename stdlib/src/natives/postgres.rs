//! `std.postgres`: observing PostgreSQL sessions, cancelling their queries and ending them, with
//! tokio-postgres.
//!
//! `connect` opens one connection and returns a `postgres.Database` handle whose id indexes a
//! process-wide registry; every other action looks the client up there. The connection task
//! runs on the tokio runtime of the run. A connection that drops (server restart) is opened
//! again, with the same URL, the next time an action uses the handle.

mod params;
mod tls;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls, Row};

use super::NativeAction;

/// How long `pg_terminate_backend` waits for each session to exit.
const TERMINATE_WAIT_MS: i64 = 5_000;
/// Used when the URL sets no `connect_timeout`, so a dead host fails the step quickly.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Run = for<'a> fn(&'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>>;

/// One `std.postgres` action: its declaration facts and the function that performs it.
struct PgAction {
    name: &'static str,
    arity: usize,
    effect: Effect,
    run: Run,
}

impl NativeAction for PgAction {
    fn name(&self) -> &'static str {
        self.name
    }

    fn arity(&self) -> usize {
        self.arity
    }

    fn effect(&self) -> Effect {
        self.effect
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        (self.run)(call)
    }
}

/// Every `std.postgres` action.
pub fn actions() -> Vec<Box<dyn NativeAction>> {
    let action = |name, arity, effect, run: Run| -> Box<dyn NativeAction> {
        Box::new(PgAction {
            name,
            arity,
            effect,
            run,
        })
    };
    vec![
        action("postgres.connect", 1, Effect::Read, |c| {
            Box::pin(connect(c))
        }),
        action("postgres.pool_usage", 1, Effect::Read, |c| {
            Box::pin(pool_usage(c))
        }),
        action("postgres.active_connections", 1, Effect::Read, |c| {
            Box::pin(active_connections(c))
        }),
        action("postgres.idle_connections", 2, Effect::Read, |c| {
            Box::pin(idle_connections(c))
        }),
        action("postgres.active_queries", 2, Effect::Read, |c| {
            Box::pin(active_queries(c))
        }),
        action("postgres.replication_lag", 1, Effect::Read, |c| {
            Box::pin(replication_lag(c))
        }),
        action("postgres.long_transactions", 2, Effect::Read, |c| {
            Box::pin(long_transactions(c))
        }),
        action("postgres.terminate", 3, Effect::Destructive, |c| {
            Box::pin(terminate(c))
        }),
        action("postgres.cancel", 3, Effect::Destructive, |c| {
            Box::pin(cancel(c))
        }),
        action("postgres.query", 3, Effect::Read, |c| Box::pin(query(c))),
        action("postgres.execute", 3, Effect::Destructive, |c| {
            Box::pin(execute(c))
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Connections

/// A connected database: the client, and the URL to open it again if it drops.
struct Connection {
    conninfo: String,
    client: Arc<tokio::sync::Mutex<Client>>,
}

fn registry() -> &'static Mutex<HashMap<String, Connection>> {
    static REGISTRY: OnceLock<Mutex<HashMap<String, Connection>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Opens a connection; the error names host, port, database and user, never the password.
async fn open(conninfo: &str) -> Result<Client, ActionError> {
    let (rest, mode) = tls::split_tls_options(conninfo)
        .map_err(|e| ActionError::new(format!("the database URL is not valid: {e}")))?;
    let mut config: Config = rest.parse().map_err(|e: tokio_postgres::Error| {
        // The parse error never echoes the string, so the password stays out of the log.
        ActionError::new(format!("the database URL is not valid: {e}"))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let tls_config = tls::client_config(&mode).map_err(|e| ActionError::new(e.to_string()))?;
    if tls_config.is_some() && mode != tls::TlsMode::Prefer {
        config.ssl_mode(tokio_postgres::config::SslMode::Require);
    }
    let target = describe_target(&config);
    let failed = |e: tokio_postgres::Error| {
        ActionError::new(format!(
            "cannot connect to PostgreSQL at {target}: {}",
            error_text(&e)
        ))
    };
    let client = match tls_config {
        None => {
            let (client, connection) = config.connect(NoTls).await.map_err(failed)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
        }
        Some(tls_config) => {
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config);
            let (client, connection) = config.connect(connector).await.map_err(failed)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            client
        }
    };
    Ok(client)
}

/// `user@host:port/dbname`, for messages.
fn describe_target(config: &Config) -> String {
    let host = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .next()
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("(default user)");
    let db = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{db}")
}

/// The server's own message (and detail) when there is one: tokio-postgres's `Display` says
/// only "db error".
fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" ({detail})"));
            }
            text
        }
        None => {
            use std::error::Error;
            match e.source() {
                Some(source) => format!("{e}: {source}"),
                None => e.to_string(),
            }
        }
    }
}

fn sql_error(what: &str, e: tokio_postgres::Error) -> ActionError {
    ActionError::new(format!("{what}: {}", error_text(&e)))
}

async fn connect(call: &ActionCall) -> Result<Value, ActionError> {
    let conninfo = match call.arg("url") {
        Some(Value::Secret(secret)) => secret.expose().to_string(),
        Some(Value::Str(text)) => text.clone(),
        _ => {
            return Err(ActionError::new(
                "url must be a secret holding a postgres:// URL",
            ))
        }
    };
    let client = open(&conninfo).await?;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed).to_string();
    registry().lock().unwrap_or_else(|e| e.into_inner()).insert(
        id.clone(),
        Connection {
            conninfo,
            client: Arc::new(tokio::sync::Mutex::new(client)),
        },
    );
    Ok(Value::Handle {
        type_name: call
            .returns_handle
            .clone()
            .unwrap_or_else(|| "postgres.Database".into()),
        id,
    })
}

/// The client behind the call's `db` argument, connected again if the server dropped it.
async fn client_for(call: &ActionCall) -> Result<Arc<tokio::sync::Mutex<Client>>, ActionError> {
    let id = match call.arg("db") {
        Some(Value::Handle { id, .. }) => id.clone(),
        _ => return Err(ActionError::new("db must be a pg.Database from pg.connect")),
    };
    let (conninfo, client) = {
        let registry = registry().lock().unwrap_or_else(|e| e.into_inner());
        let Some(connection) = registry.get(&id) else {
            return Err(ActionError::new(format!(
                "database handle {id} was not opened by pg.connect in this process"
            )));
        };
        (connection.conninfo.clone(), connection.client.clone())
    };
    {
        let mut guard = client.lock().await;
        if guard.is_closed() {
            *guard = open(&conninfo).await.map_err(|e| {
                ActionError::new(format!(
                    "the connection was lost; reconnecting failed: {}",
                    e.message
                ))
            })?;
        }
    }
    Ok(client)
}

// ---------------------------------------------------------------------------------------------
// Reads

/// `backend_start` as whole milliseconds since the epoch. `terminate` compares with the same
/// expression, so the value a `Session` carries matches exactly though it lost the microseconds.
const BACKEND_START_MS: &str = "floor(extract(epoch from a.backend_start) * 1000)::int8";
/// `xact_start` the same way, for `transaction_start` (NULL outside a transaction).
const XACT_START_MS: &str = "floor(extract(epoch from a.xact_start) * 1000)::int8";

/// The columns of a `Session`, from `pg_stat_activity a`.
fn session_columns() -> String {
    format!(
        "a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), \
         coalesce(host(a.client_addr), ''), coalesce(a.state, ''), \
         CASE WHEN a.state = 'active' OR a.state_change IS NULL THEN 0::int8 \
              ELSE greatest(0, floor(extract(epoch from clock_timestamp() - a.state_change) * 1000))::int8 END, \
         {BACKEND_START_MS}, coalesce(a.query, '')"
    )
}

/// Client backends of the connected database other than our own, of roles we may signal:
/// superusers' only if we are one, others' only if we are a superuser, a member of their role,
/// or of `pg_signal_backend` (the rules of `pg_terminate_backend`).
const OUR_SIGNALLABLE_CLIENTS: &str = "a.backend_type = 'client backend' \
     AND a.datname = current_database() \
     AND a.pid <> pg_backend_pid() \
     AND a.usesysid IS NOT NULL \
     AND (coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) \
          OR (NOT coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.oid = a.usesysid), true) \
              AND (pg_has_role(current_user, a.usesysid, 'MEMBER') \
                   OR pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'))))";

/// The two columns `long_transactions` adds after [`session_columns`]: `transaction_start` and
/// `transaction_age` in milliseconds.
fn transaction_columns() -> String {
    format!(
        "{XACT_START_MS}, \
         greatest(0, floor(extract(epoch from clock_timestamp() - a.xact_start) * 1000))::int8"
    )
}

/// A `Session` record; the transaction fields only when the row has them (a listing of
/// transactions), so other listings' sessions keep their guard on `state`.
fn session_from_row(row: &Row) -> Result<Value, tokio_postgres::Error> {
    let mut fields = BTreeMap::new();
    fields.insert(
        "pid".into(),
        Value::Int(i64::from(row.try_get::<_, i32>(0)?)),
    );
    fields.insert("user".into(), Value::Str(row.try_get(1)?));
    fields.insert("application".into(), Value::Str(row.try_get(2)?));
    fields.insert("client_addr".into(), Value::Str(row.try_get(3)?));
    fields.insert("state".into(), Value::Str(row.try_get(4)?));
    fields.insert(
        "idle".into(),
        Value::Duration(row.try_get::<_, i64>(5)?.max(0) as u64),
    );
    fields.insert("backend_start".into(), Value::Time(row.try_get(6)?));
    fields.insert("query".into(), Value::Str(row.try_get(7)?));
    if row.len() > 8 {
        if let Some(start) = row.try_get::<_, Option<i64>>(8)? {
            fields.insert("transaction_start".into(), Value::Time(start));
        }
        if let Some(age) = row.try_get::<_, Option<i64>>(9)? {
            fields.insert("transaction_age".into(), Value::Duration(age.max(0) as u64));
        }
    }
    Ok(Value::Record(fields))
}

fn duration_arg(call: &ActionCall, name: &str) -> Result<i64, ActionError> {
    match call.arg(name) {
        Some(Value::Duration(ms)) => Ok(i64::try_from(*ms).unwrap_or(i64::MAX)),
        _ => Err(ActionError::new(format!("{name} must be a duration"))),
    }
}

/// Client backends on the whole server over the connections non-superusers can use
/// (`max_connections - superuser_reserved_connections - reserved_connections`): the
/// server-wide limit is what runs out, whichever database the handle is connected to.
async fn pool_usage(call: &ActionCall) -> Result<Value, ActionError> {
    let client = client_for(call).await?;
    let client = client.lock().await;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::float8, \
                    current_setting('max_connections')::float8 \
                    - current_setting('superuser_reserved_connections')::float8 \
                    - coalesce(current_setting('reserved_connections', true)::float8, 0)",
            &[],
        )
        .await
        .map_err(|e| sql_error("reading pool usage failed", e))?;
    let used: f64 = row.get(0);
    let usable: f64 = row.get(1);
    if usable <= 0.0 {
        return Err(ActionError::new(format!(
            "the server has no connections for ordinary roles (usable max_connections = {usable})"
        )));
    }
    Ok(Value::Percent((used / usable * 1000.0).round() / 10.0))
}

async fn active_connections(call: &ActionCall) -> Result<Value, ActionError> {
    let client = client_for(call).await?;
    let client = client.lock().await;
    let row = client
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE backend_type = 'client backend' AND state = 'active' \
               AND datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| sql_error("counting active connections failed", e))?;
    Ok(Value::Int(row.get(0)))
}

async fn sessions(call: &ActionCall, listing: Listing) -> Result<Value, ActionError> {
    let older_than = duration_arg(call, "older_than")?;
    let client = client_for(call).await?;
    let client = client.lock().await;
    list_sessions(&client, listing, older_than).await
}

/// Which sessions a listing action returns, in which order.
#[derive(Clone, Copy, Debug)]
struct Listing {
    condition: &'static str,
    order: &'static str,
    /// The sessions carry `transaction_start` and `transaction_age`.
    with_transaction: bool,
}

const IDLE: Listing = Listing {
    condition: "a.state = 'idle' AND a.state_change < clock_timestamp() - $1::int8 * interval '1 millisecond'",
    order: "a.state_change, a.pid",
    with_transaction: false,
};
const ACTIVE: Listing = Listing {
    condition: "a.state = 'active' AND a.query_start < clock_timestamp() - $1::int8 * interval '1 millisecond'",
    order: "a.query_start, a.pid",
    with_transaction: false,
};
const LONG_TRANSACTION: Listing = Listing {
    condition: "a.xact_start < clock_timestamp() - $1::int8 * interval '1 millisecond'",
    order: "a.xact_start, a.pid",
    with_transaction: true,
};

async fn list_sessions(
    client: &Client,
    listing: Listing,
    older_than_ms: i64,
) -> Result<Value, ActionError> {
    let columns = if listing.with_transaction {
        format!("{}, {}", session_columns(), transaction_columns())
    } else {
        session_columns()
    };
    let sql = format!(
        "SELECT {columns} FROM pg_stat_activity a WHERE {OUR_SIGNALLABLE_CLIENTS} AND {} ORDER BY {}",
        listing.condition, listing.order
    );
    let rows = client
        .query(&sql, &[&older_than_ms])
        .await
        .map_err(|e| sql_error("reading pg_stat_activity failed", e))?;
    rows.iter()
        .map(session_from_row)
        .collect::<Result<Vec<_>, _>>()
        .map(Value::List)
        .map_err(|e| sql_error("reading pg_stat_activity failed", e))
}

async fn idle_connections(call: &ActionCall) -> Result<Value, ActionError> {
    sessions(call, IDLE).await
}

async fn active_queries(call: &ActionCall) -> Result<Value, ActionError> {
    sessions(call, ACTIVE).await
}

async fn long_transactions(call: &ActionCall) -> Result<Value, ActionError> {
    sessions(call, LONG_TRANSACTION).await
}

async fn replication_lag(call: &ActionCall) -> Result<Value, ActionError> {
    let client = client_for(call).await?;
    let client = client.lock().await;
    let row = client
        .query_one(
            "SELECT CASE WHEN pg_is_in_recovery() \
                 THEN coalesce(floor(extract(epoch from clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000), 0) \
                 ELSE 0 END::int8",
            &[],
        )
        .await
        .map_err(|e| sql_error("reading replication lag failed", e))?;
    Ok(Value::Duration(row.get::<_, i64>(0).max(0) as u64))
}

/// Runs one statement (the extended protocol refuses several) in a READ ONLY transaction; each
/// column is cast to text by the server, so every type renders as `psql` would show it.
async fn query(call: &ActionCall) -> Result<Value, ActionError> {
    let Some(Value::Str(sql)) = call.arg("sql") else {
        return Err(ActionError::new("sql must be a string"));
    };
    let params = params::params_arg(call)?;
    let client = client_for(call).await?;
    let mut client = client.lock().await;
    read_only_query(&mut client, sql, &params).await
}

async fn read_only_query(
    client: &mut Client,
    sql: &str,
    params: &[params::TextParam],
) -> Result<Value, ActionError> {
    let sql = sql.trim().trim_end_matches(';');
    let transaction = client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(|e| sql_error("starting a read-only transaction failed", e))?;
    let statement = transaction
        .prepare(sql)
        .await
        .map_err(|e| sql_error("the query failed", e))?;
    params::check_count(statement.params().len(), params)?;
    let names: Vec<String> = statement
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let aliases: Vec<String> = (0..names.len()).map(|i| format!("c{i}")).collect();
    let wrapped = if names.is_empty() {
        format!("SELECT FROM ({sql}) AS q")
    } else {
        format!(
            "SELECT {} FROM ({sql}) AS q({})",
            aliases
                .iter()
                .map(|a| format!("q.{a}::text"))
                .collect::<Vec<_>>()
                .join(", "),
            aliases.join(", ")
        )
    };
    let rows = transaction
        .query(&wrapped, &params::as_sql(params))
        .await
        .map_err(|e| {
            if e.code() == Some(&SqlState::READ_ONLY_SQL_TRANSACTION) {
                sql_error("pg.query only reads (use pg.execute to change data)", e)
            } else {
                sql_error(
                "the query failed (pg.query takes one SELECT, VALUES, TABLE or WITH ... SELECT)",
                e,
            )
            }
        })?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut map = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            let text: Option<String> = row
                .try_get(i)
                .map_err(|e| sql_error("reading a row failed", e))?;
            map.insert(name.clone(), Value::Str(text.unwrap_or_default()));
        }
        out.push(Value::Map(map));
    }
    transaction
        .rollback()
        .await
        .map_err(|e| sql_error("ending the read-only transaction failed", e))?;
    Ok(Value::List(out))
}

// ---------------------------------------------------------------------------------------------
// Changes

/// One statement in its own (implicit) transaction, so `VACUUM` and `CREATE INDEX
/// CONCURRENTLY` work too; returns the rows it affected.
async fn execute(call: &ActionCall) -> Result<Value, ActionError> {
    let Some(Value::Str(sql)) = call.arg("sql") else {
        return Err(ActionError::new("sql must be a string"));
    };
    let params = params::params_arg(call)?;
    let client = client_for(call).await?;
    let client = client.lock().await;
    execute_statement(&client, sql, &params)
        .await
        .map(Value::Int)
}

async fn execute_statement(
    client: &Client,
    sql: &str,
    params: &[params::TextParam],
) -> Result<i64, ActionError> {
    let sql = sql.trim().trim_end_matches(';');
    let statement = client
        .prepare(sql)
        .await
        .map_err(|e| sql_error("the statement failed", e))?;
    params::check_count(statement.params().len(), params)?;
    let affected = client
        .execute(&statement, &params::as_sql(params))
        .await
        .map_err(|e| sql_error("the statement failed", e))?;
    Ok(i64::try_from(affected).unwrap_or(i64::MAX))
}

/// What `terminate` and `cancel` need from a `Session`.
#[derive(Clone, Debug, PartialEq)]
struct Target {
    pid: i32,
    backend_start_ms: i64,
    user: String,
    /// The state it was listed in; empty means "any".
    state: String,
    /// The transaction it was listed in (`long_transactions`): then it is acted on only while
    /// that transaction is still open, whatever its state.
    transaction_start_ms: Option<i64>,
}

/// Why a value is not a session `pg.terminate`/`pg.cancel` can act on.
#[derive(Debug, thiserror::Error)]
enum NotASession {
    #[error("expected a pg.Session, got {0}")]
    NotARecord(&'static str),
    #[error("pid {0} is not a valid pid")]
    BadPid(i64),
    #[error("a session has no pid")]
    NoPid,
    #[error("session {0} has no backend_start")]
    NoBackendStart(i32),
    #[error("session {pid} has a transaction_start that is a {found}, not a time")]
    BadTransactionStart { pid: i32, found: &'static str },
}

fn target_from(value: &Value) -> Result<Target, NotASession> {
    let (Value::Record(fields) | Value::Map(fields)) = value else {
        return Err(NotASession::NotARecord(value.type_name()));
    };
    let pid = match fields.get("pid") {
        Some(Value::Int(pid)) => i32::try_from(*pid).map_err(|_| NotASession::BadPid(*pid))?,
        _ => return Err(NotASession::NoPid),
    };
    let backend_start_ms = match fields.get("backend_start") {
        Some(Value::Time(ms)) => *ms,
        _ => return Err(NotASession::NoBackendStart(pid)),
    };
    let transaction_start_ms = match fields.get("transaction_start") {
        None | Some(Value::None) => None,
        Some(Value::Time(ms)) => Some(*ms),
        Some(other) => {
            return Err(NotASession::BadTransactionStart {
                pid,
                found: other.type_name(),
            })
        }
    };
    let text = |name: &str| match fields.get(name) {
        Some(Value::Str(s)) => s.clone(),
        _ => String::new(),
    };
    Ok(Target {
        pid,
        backend_start_ms,
        user: text("user"),
        state: text("state"),
        transaction_start_ms,
    })
}

/// What is done to each listed session.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Signal {
    /// `pg_terminate_backend`: the session ends.
    Terminate,
    /// `pg_cancel_backend`: the running query stops; the session stays.
    Cancel,
}

impl Signal {
    fn verb(self) -> &'static str {
        match self {
            Signal::Terminate => "terminate",
            Signal::Cancel => "cancel",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Signal::Terminate => "terminated",
            Signal::Cancel => "cancelled",
        }
    }
}

/// Checks `max` and every session before touching any.
fn targets(sessions: &Value, max: &Value, signal: Signal) -> Result<Vec<Target>, ActionError> {
    let (verb, past) = (signal.verb(), signal.past());
    let Value::List(items) = sessions else {
        return Err(ActionError::new("sessions must be a list of pg.Session"));
    };
    let Value::Int(max) = max else {
        return Err(ActionError::new("max must be an int"));
    };
    if items.len() as i64 > *max {
        return Err(ActionError::new(format!(
            "refusing to {verb} {} sessions: more than max {max}; nothing was {past}",
            items.len()
        )));
    }
    items
        .iter()
        .map(target_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ActionError::new(format!("{e}; nothing was {past}")))
}

/// Signals each session that is still the same backend (same pid *and* same `backend_start`,
/// so a pid the OS handed to a new backend is never hit) and still as it was listed: in the
/// same transaction when it was listed in one, else in the same state (an `idle` session that
/// has since started a query is left alone). `Cancel` also needs a query running now: there is
/// nothing to cancel in an idle session. Sessions already gone or changed are skipped and not
/// counted. A session the server refuses to signal (permission) does not stop the others; the
/// step then fails naming it, after the others were signalled.
async fn signal_targets(
    client: &Client,
    targets: &[Target],
    signal: Signal,
) -> Result<i64, ActionError> {
    let with_timeout = signal == Signal::Terminate
        && client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .map_err(|e| sql_error("reading the server version failed", e))?
            .get::<_, i32>(0)
            >= 140_000;
    let call = match signal {
        Signal::Terminate if with_timeout => "pg_terminate_backend(a.pid, $5::int8)",
        Signal::Terminate => "pg_terminate_backend(a.pid)",
        Signal::Cancel => "pg_cancel_backend(a.pid)",
    };
    let running = match signal {
        Signal::Terminate => "",
        Signal::Cancel => "AND a.state = 'active'",
    };
    let sql = format!(
        "SELECT {call} FROM pg_stat_activity a \
         WHERE a.pid = $1::int4 AND {BACKEND_START_MS} = $2::int8 \
           AND a.pid <> pg_backend_pid() \
           AND CASE WHEN $4::int8 IS NULL \
                    THEN ($3::text = '' OR a.state IS NOT DISTINCT FROM $3::text) \
                    ELSE {XACT_START_MS} IS NOT DISTINCT FROM $4::int8 END \
           {running}"
    );
    let statement = client
        .prepare(&sql)
        .await
        .map_err(|e| sql_error(&format!("preparing pg_{}_backend failed", signal.verb()), e))?;
    let mut done = 0i64;
    let mut failures = Vec::new();
    for target in targets {
        let wait = TERMINATE_WAIT_MS;
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &target.pid,
            &target.backend_start_ms,
            &target.state,
            &target.transaction_start_ms,
        ];
        if with_timeout {
            params.push(&wait);
        }
        match client.query_opt(&statement, &params).await {
            Ok(Some(row)) => {
                if row.get::<_, Option<bool>>(0) == Some(true) {
                    done += 1;
                }
            }
            Ok(None) => {} // gone, reused pid, or no longer as listed
            Err(e) => failures.push(format!(
                "pid {} ({}): {}",
                target.pid,
                if target.user.is_empty() {
                    "?"
                } else {
                    &target.user
                },
                error_text(&e)
            )),
        }
    }
    if failures.is_empty() {
        Ok(done)
    } else {
        Err(ActionError::new(format!(
            "{} {done} of {} sessions; could not {} {}",
            signal.past(),
            targets.len(),
            signal.verb(),
            failures.join("; ")
        )))
    }
}

async fn signal_sessions(call: &ActionCall, signal: Signal) -> Result<Value, ActionError> {
    let targets = targets(
        call.arg("sessions").unwrap_or(&Value::None),
        call.arg("max").unwrap_or(&Value::None),
        signal,
    )?;
    if targets.is_empty() {
        return Ok(Value::Int(0));
    }
    let client = client_for(call).await?;
    let client = client.lock().await;
    signal_targets(&client, &targets, signal)
        .await
        .map(Value::Int)
}

async fn terminate(call: &ActionCall) -> Result<Value, ActionError> {
    signal_sessions(call, Signal::Terminate).await
}

async fn cancel(call: &ActionCall) -> Result<Value, ActionError> {
    signal_sessions(call, Signal::Cancel).await
}

#[cfg(test)]
mod tests;

//! `rbk serve`: takes alerts in over HTTP, turns them into queued runs in one store transaction
//! each, and executes queued runs with leased workers. The store is the only shared state, so
//! several processes can serve one PostgreSQL store together (docs/serve.md).
//!
//! The CLI (`src/commands/serve.rs`) finds and checks the runbook files and hands them over as
//! a [`Catalog`] and a [`Loader`] for SIGHUP; this crate does no parsing of its own.

pub mod auth;
pub mod catalog;
pub mod config;
mod gauges;
mod http;
pub mod intake;
pub mod log;
pub mod matching;
pub mod metrics;
mod reload;
pub mod scheduler;
pub mod slack;
pub mod state;
pub mod web;
pub mod webhook;
pub mod workers;

use std::sync::Arc;

use rbk_interpreter::store::Store;
use serde_json::json;

pub use catalog::{Catalog, LoadedFile};
pub use config::{Overrides, Settings, SettingsError};
pub use state::Server;

/// Reads and checks the runbooks again (on SIGHUP). `Err` is the report to show: the
/// diagnostics as `rbk check` prints them, or the I/O problem.
pub type Loader = Arc<dyn Fn() -> Result<Catalog, LoadError> + Send + Sync>;

/// Why the runbooks cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// They do not check: the diagnostics and the summary line, as `rbk check` prints them.
    #[error("{0}")]
    Findings(String),
    /// Schedules that are not cron patterns, one line each (then a line break, as a report).
    #[error("{0}\n")]
    Schedules(#[from] scheduler::BadSchedules),
    /// A file or rbk.toml cannot be read.
    #[error(transparent)]
    Project(#[from] rbk_compiler::project::ProjectError),
}

/// Why `rbk serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot handle {signal}: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// Listens, works and schedules until SIGTERM or SIGINT, then stops claiming, lets runs in hand
/// finish (or releases them after a grace period) and returns. `Err`: it could not listen.
pub async fn serve(
    mut settings: Settings,
    store: Arc<dyn Store>,
    catalog: Catalog,
    loader: Loader,
) -> Result<(), ServeError> {
    let cannot_listen = |source| ServeError::Listen {
        address: settings.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(cannot_listen)?;
    let address = listener.local_addr().map_err(cannot_listen)?;
    // With port 0 the system picks the port; links the server writes (web pages, Slack
    // messages) must name the one it got, not `:0`.
    if settings.listen.port() == 0 && settings.web.base_url == format!("http://{}", settings.listen)
    {
        settings.web.base_url = format!("http://{address}");
    }
    let signals = reload::Signals::register()?;
    let server = Arc::new(Server::new(store, settings, catalog));
    let catalog = server.catalog();
    log::info(
        "listening",
        json!({
            "address": address.to_string(),
            "workers": server.settings.workers,
            "files": catalog.files.len(),
            "runbooks": catalog.runbooks.iter().map(|r| &r.name).collect::<Vec<_>>(),
            "token": if server.settings.token.is_some() { "required" } else { "none (loopback only)" },
            "web": server.settings.web.base_url,
            "web_sessions": if server.settings.web.key_from_env { "kept across restarts" } else { "end on restart (no RBK_WEB_SESSION_KEY)" },
        }),
    );
    drop(catalog);
    let mut tasks = Vec::new();
    for index in 0..server.settings.workers {
        tasks.push(tokio::spawn(workers::work(server.clone(), index)));
    }
    tasks.push(tokio::spawn(workers::reap(server.clone())));
    tasks.push(tokio::spawn(scheduler::run(server.clone())));
    let reload::Signals {
        hangup,
        terminate,
        interrupt,
    } = signals;
    tokio::spawn(reload::on_hangup(server.clone(), loader, hangup));
    tokio::spawn(reload::on_termination(server.clone(), terminate, interrupt));
    let stopping = server.clone();
    let app =
        http::router(server.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move { stopping.stopped().await })
        .await;
    if let Err(error) = served {
        server.stop();
        log::error("http_failed", json!({"error": error.to_string()}));
    }
    for task in tasks {
        let _ = task.await;
    }
    log::info("stopped", json!({}));
    Ok(())
}

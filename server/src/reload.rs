//! Signals: SIGHUP re-reads and re-checks the runbooks (a set that does not check is not
//! taken: the old one keeps serving); SIGTERM and SIGINT stop the server.

use std::sync::Arc;

use serde_json::json;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::log;
use crate::state::Server;
use crate::{Loader, ServeError};

/// The signals `rbk serve` handles, registered before it says it listens: a SIGHUP sent right
/// after must reload, not kill it.
pub struct Signals {
    pub hangup: Signal,
    pub terminate: Signal,
    pub interrupt: Signal,
}

impl Signals {
    pub fn register() -> Result<Signals, ServeError> {
        let register = |kind: SignalKind, name: &'static str| {
            signal(kind).map_err(|source| ServeError::Signal {
                signal: name,
                source,
            })
        };
        Ok(Signals {
            hangup: register(SignalKind::hangup(), "SIGHUP")?,
            terminate: register(SignalKind::terminate(), "SIGTERM")?,
            interrupt: register(SignalKind::interrupt(), "SIGINT")?,
        })
    }
}

pub async fn on_hangup(server: Arc<Server>, loader: Loader, mut hangups: Signal) {
    loop {
        tokio::select! {
            got = hangups.recv() => if got.is_none() { return },
            _ = server.stopped() => return,
        }
        let loader = loader.clone();
        // Checking is CPU work on files: off the async threads.
        let loaded = tokio::task::spawn_blocking(move || loader()).await;
        match loaded {
            Ok(Ok(catalog)) => {
                let runbooks = catalog.runbooks.len();
                let files = catalog.files.len();
                server.replace_catalog(catalog);
                log::info("reloaded", json!({"files": files, "runbooks": runbooks}));
            }
            Ok(Err(reason)) => log::error(
                "reload_refused",
                json!({"reason": reason.to_string(), "kept": "the runbooks loaded before"}),
            ),
            Err(error) => log::error(
                "reload_refused",
                json!({"reason": error.to_string(), "kept": "the runbooks loaded before"}),
            ),
        }
    }
}

/// Resolves on SIGTERM or SIGINT, and asks the server to stop.
pub async fn on_termination(server: Arc<Server>, mut terminate: Signal, mut interrupt: Signal) {
    let name = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
        _ = server.stopped() => return,
    };
    log::info(
        "stopping",
        json!({"signal": name, "reason": "no new claims; runs in hand finish or are released"}),
    );
    server.stop();
}

//! What the HTTP handlers, workers, reaper and scheduler of one `rbk serve` share.

use std::sync::{Arc, RwLock};

use rbk_interpreter::store::Store;
use tokio::sync::{watch, Semaphore};

use crate::catalog::Catalog;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::slack::Slack;

pub struct Server {
    pub store: Arc<dyn Store>,
    pub settings: Settings,
    pub metrics: Metrics,
    /// Intakes being handled; when none is free the answer is 503 (Alertmanager retries it).
    pub intakes: Semaphore,
    /// Approval messages and Slack's requests; `None` without `[integrations.slack]`.
    pub slack: Option<Arc<Slack>>,
    catalog: RwLock<Arc<Catalog>>,
    stop: watch::Sender<bool>,
}

impl Server {
    pub fn new(store: Arc<dyn Store>, settings: Settings, catalog: Catalog) -> Server {
        Server {
            store,
            intakes: Semaphore::new(settings.max_in_flight),
            slack: settings.slack.clone().map(|s| Arc::new(Slack::new(s))),
            settings,
            metrics: Metrics::default(),
            catalog: RwLock::new(Arc::new(catalog)),
            stop: watch::channel(false).0,
        }
    }

    /// The runbooks as of now; a reload replaces them for later callers only.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn replace_catalog(&self, catalog: Catalog) {
        *self.catalog.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(catalog);
    }

    /// Asks every task to stop: no new claims, no new intakes.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once `stop` was called.
    pub async fn stopped(&self) {
        let mut receiver = self.stop.subscribe();
        let _ = receiver.wait_for(|stopped| *stopped).await;
    }
}

//! `GET /runs/{id}/events`: server-sent events that say when the run's journal moved on, so
//! the open page reloads. Each connection looks at the run's anchored head once a second; the
//! store stays the only shared state, so this works whichever process runs the run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;

use crate::log;
use crate::state::Server;
use crate::web::auth;

const EVERY: Duration = Duration::from_secs(1);

#[derive(Deserialize)]
pub struct Since {
    /// The number of journal events the page showed.
    #[serde(default)]
    since: u64,
}

pub async fn events(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(Since { since }): Query<Since>,
) -> Response {
    if let Err(answer) = auth::page_viewer(&server, &headers, peer, log::now_ms()) {
        return *answer;
    }
    let changes = stream::unfold(
        (server, id, since, false),
        |(server, id, shown, said)| async move {
            if said {
                return None;
            }
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(EVERY) => {}
                    // A shutdown must not wait for open pages.
                    _ = server.stopped() => return None,
                }
                let head = match server.store.run(&id).await {
                    Ok(Some(record)) => record.head.map_or(0, |h| h.events),
                    Ok(None) => return None,
                    Err(_) => continue,
                };
                if head != shown {
                    let event = Event::default().event("changed").data(head.to_string());
                    return Some((Ok::<_, Infallible>(event), (server, id, head, true)));
                }
            }
        },
    );
    Sse::new(changes)
        .keep_alive(KeepAlive::default())
        .into_response()
}

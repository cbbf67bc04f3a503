//! The HTTP surface: the intake (`/v1/alertmanager`, `/v1/webhook/NAME`) and the probes
//! (`/healthz`, `/readyz`, `/metrics`); the run pages are `web`'s. Answers: 200 after commit, 400 not a payload, 401 bad
//! token, 404 unknown webhook, 413 too large, 503 store trouble or saturated; never 429.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rbk_interpreter::alerts::parse_payload;
use rbk_interpreter::store::TriggerKind;
use serde_json::json;

use crate::config::BODY_LIMIT;
use crate::intake::{take_in, Source};
use crate::state::Server;
use crate::{auth, gauges, log, slack, webhook};

pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/v1/alertmanager", post(alertmanager))
        .route("/v1/webhook/{name}", post(webhook))
        .route(
            "/v1/slack/interactivity",
            post(slack::interactivity::receive),
        )
        .route("/v1/slack/events", post(slack::events::receive))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::web::router())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(server)
}

fn refuse(status: StatusCode, reason: impl Into<String>) -> Response {
    (status, Json(json!({"error": reason.into()}))).into_response()
}

async fn alertmanager(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let source = Source {
        name: "alertmanager".into(),
        started_by: "alertmanager".into(),
        kind: TriggerKind::Alert,
    };
    receive(&server, &headers, &source, || {
        parse_payload(&body).map_err(IntakeError::NotAlertmanager)
    })
    .await
}

async fn webhook(
    State(server): State<Arc<Server>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !auth::authorized(&headers, server.settings.token.as_deref()) {
        return unauthorized();
    }
    let Some(hook) = server.settings.webhooks.get(&name) else {
        return refuse(
            StatusCode::NOT_FOUND,
            format!("no webhook `{name}`: rbk.toml has no [serve.webhooks.{name}]"),
        );
    };
    let source = Source {
        name: format!("webhook:{name}"),
        started_by: hook
            .started_by
            .clone()
            .unwrap_or_else(|| format!("webhook:{name}")),
        kind: TriggerKind::Webhook,
    };
    receive(&server, &headers, &source, || {
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(IntakeError::NotJson)?;
        let alert = webhook::to_alert(&name, hook, &json, log::now_ms())?;
        Ok(parse_payload(alert.to_string().as_bytes())?)
    })
    .await
}

/// Why an intake's body is refused (400, with this text).
#[derive(Debug, thiserror::Error)]
enum IntakeError {
    #[error("not an Alertmanager payload: {0}")]
    NotAlertmanager(#[source] rbk_interpreter::alerts::PayloadError),
    #[error("the body is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error(transparent)]
    Webhook(#[from] webhook::WebhookError),
    /// The alert a webhook maps to is not one (the mapping's fault).
    #[error(transparent)]
    MappedAlert(#[from] rbk_interpreter::alerts::PayloadError),
}

async fn receive(
    server: &Server,
    headers: &HeaderMap,
    source: &Source,
    parse: impl FnOnce() -> Result<rbk_interpreter::alerts::AlertPayload, IntakeError>,
) -> Response {
    if !auth::authorized(headers, server.settings.token.as_deref()) {
        return unauthorized();
    }
    if server.stopping() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "rbk serve is shutting down; send it again",
        );
    }
    let Ok(_permit) = server.intakes.try_acquire() else {
        log::warn("intake_saturated", json!({"source": source.name}));
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many intakes in progress; send it again",
        );
    };
    let payload = match parse() {
        Ok(payload) => payload,
        Err(reason) => {
            let reason = reason.to_string();
            log::warn(
                "intake_refused",
                json!({"source": source.name, "reason": reason}),
            );
            return refuse(StatusCode::BAD_REQUEST, reason);
        }
    };
    match take_in(server, source, &payload).await {
        Ok(answer) => (StatusCode::OK, Json(answer)).into_response(),
        Err(trouble) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the store could not record it ({}); send it again",
                trouble.0
            ),
        ),
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(json!({"error": "missing or wrong bearer token"})),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(server): State<Arc<Server>>) -> Response {
    match server.store.runs(1).await {
        Ok(_) => (StatusCode::OK, "ready\n").into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store is not reachable: {error}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(server): State<Arc<Server>>) -> Response {
    let gauges = gauges::read(server.store.as_ref()).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        server.metrics.render(gauges.as_ref()),
    )
        .into_response()
}

//! The run pages served by `rbk serve`: the runs list, a run's page with Approve/Deny forms,
//! live refresh, sign-in, and the JSON decision API. Server-rendered HTML that works without
//! JavaScript; every page and action needs a person (or `[web] public_read` to look).

pub mod auth;
pub mod csrf;
pub mod decisions;
pub mod layout;
pub mod pages;
pub mod session;
pub mod settings;
pub mod sse;

use std::sync::Arc;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rbk_interpreter::store::StoreError;
use serde_json::json;

pub use settings::WebSettings;

use crate::state::Server;

const STYLESHEET: &str = include_str!("assets/rbk.css");
const LIVE_SCRIPT: &str = include_str!("assets/live.js");

pub fn router() -> Router<Arc<Server>> {
    Router::new()
        .route("/", get(pages::runs::page))
        .route("/runs/{id}", get(pages::run::page))
        .route("/runs/{id}/events", get(sse::events))
        .route("/runs/{id}/decisions", post(decisions::from_form))
        .route("/v1/runs/{id}/decisions", post(decisions::from_api))
        .route(
            "/login",
            get(pages::login::form).post(pages::login::sign_in),
        )
        .route("/logout", post(pages::login::sign_out))
        .route("/assets/rbk.css", get(stylesheet))
        .route("/assets/live.js", get(live_script))
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn live_script() -> Response {
    asset("text/javascript; charset=utf-8", LIVE_SCRIPT)
}

fn asset(content_type: &'static str, text: &'static str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, content_type)], text).into_response();
    layout::secure_headers(response.headers_mut());
    response
}

/// A form without the CSRF token of the person's session.
pub fn forbidden_csrf() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(json!({"error": "the form's CSRF token is missing or not this session's: reload the page and try again"})),
    )
        .into_response()
}

pub fn store_trouble(error: &StoreError) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": format!("the store could not be read ({error}); try again")})),
    )
        .into_response()
}

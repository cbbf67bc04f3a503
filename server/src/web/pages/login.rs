//! `GET /login`, `POST /login`, `POST /logout`: a person signs in with their token (made by
//! `rbk token create --as NAME`) and gets a signed session cookie.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use crate::log;
use crate::state::Server;
use crate::web::auth::{self, Viewer};
use crate::web::layout::{self, Page};
use crate::web::session::{self, hex, random_bytes, Session};
use crate::web::{csrf, forbidden_csrf};

/// Binds the login form to the browser that asked for it (a double-submit cookie), so that
/// another site cannot sign someone in under its own token.
const LOGIN_COOKIE: &str = "rbk_login";

pub async fn form(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    show(&server, &headers, peer, StatusCode::OK, None)
}

fn show(
    server: &Server,
    headers: &HeaderMap,
    peer: SocketAddr,
    status: StatusCode,
    problem: Option<&str>,
) -> Response {
    let Ok(nonce) = random_bytes::<16>().map(|b| hex(&b)) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the system's random generator failed; try again",
        )
            .into_response();
    };
    let key = &server.settings.web.key;
    let body = html! {
        div.card.login {
            h1 { "Sign in" }
            p.muted { "Paste your rbk token. Make one with " code { "rbk token create --as NAME" } "." }
            @if let Some(problem) = problem {
                p.notice.bad role="alert" { (problem) }
            }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf::token(key, &format!("login {nonce}")));
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="current-password" required autofocus;
                button.approve type="submit" { "Sign in" }
            }
        }
    };
    let page = Page {
        title: "Sign in",
        viewer: None,
        key,
        scripts: &[],
    };
    let mut response = layout::respond(status, layout::render(page, body));
    let cookie = cookie_header(server, headers, peer, LOGIN_COOKIE, &nonce, 600);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    csrf: Option<String>,
}

pub async fn sign_in(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let nonce = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| session::cookie(v, LOGIN_COOKIE));
    let key = &server.settings.web.key;
    let bound = nonce
        .is_some_and(|nonce| csrf::check(key, &format!("login {nonce}"), form.csrf.as_deref()));
    if !bound {
        return forbidden_csrf();
    }
    let person = server
        .catalog()
        .project
        .person_by_token(form.token.trim())
        .map(str::to_string);
    let Some(person) = person else {
        log::warn(
            "web_login_refused",
            serde_json::json!({"from": peer.ip().to_string()}),
        );
        return show(
            &server,
            &headers,
            peer,
            StatusCode::UNAUTHORIZED,
            Some("That token is no person's. Check that you pasted all of it, or make a new one."),
        );
    };
    let Ok(session) = Session::start(&person, log::now_ms()) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the system's random generator failed; try again",
        )
            .into_response();
    };
    log::info(
        "web_login",
        serde_json::json!({"person": person, "from": peer.ip().to_string()}),
    );
    let value = session.to_cookie_value(key);
    let max_age = session::LIFETIME_MS / 1000;
    let mut response = Redirect::to("/").into_response();
    let headers_out = response.headers_mut();
    headers_out.append(
        header::SET_COOKIE,
        cookie_header(&server, &headers, peer, session::COOKIE, &value, max_age),
    );
    headers_out.append(
        header::SET_COOKIE,
        cookie_header(&server, &headers, peer, LOGIN_COOKIE, "", 0),
    );
    response
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: Option<String>,
}

pub async fn sign_out(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let viewer = match auth::page_viewer(&server, &headers, peer, log::now_ms()) {
        Ok(viewer) => viewer,
        Err(answer) => return *answer,
    };
    let Viewer::Person(person) = viewer else {
        return Redirect::to("/login").into_response();
    };
    if !csrf::check(
        &server.settings.web.key,
        &person.csrf_binding(),
        form.csrf.as_deref(),
    ) {
        return forbidden_csrf();
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&server, &headers, peer, session::COOKIE, "", 0),
    );
    response
}

/// `Set-Cookie` for one of our cookies: HttpOnly, SameSite=Strict, and Secure when rbk.toml
/// says so or the trusted proxy says the browser came over https.
fn cookie_header(
    server: &Server,
    headers: &HeaderMap,
    peer: SocketAddr,
    name: &str,
    value: &str,
    max_age_s: i64,
) -> HeaderValue {
    let secure = if secure(server, headers, peer) {
        "; Secure"
    } else {
        ""
    };
    let text =
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn secure(server: &Server, headers: &HeaderMap, peer: SocketAddr) -> bool {
    let web = &server.settings.web;
    if let Some(secure) = web.secure_cookies {
        return secure;
    }
    let from_proxy = web
        .trusted_proxy
        .as_ref()
        .is_some_and(|proxy| proxy.trusts(peer.ip()));
    from_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

//! Who is asking: a person named by a bearer token, by the session cookie, or by the trusted
//! proxy's header; or nobody. Pages send nobody to the login form, the API answers 401, and a
//! request with the proxy's header from any other address is refused outright.

use std::net::SocketAddr;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::json;

use super::session::{self, Session};
use crate::state::Server;

/// How the person proved who they are.
#[derive(Clone, Debug, PartialEq)]
pub enum How {
    Session(Session),
    Token,
    Proxy,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Person {
    pub name: String,
    pub how: How,
    pub peer: SocketAddr,
}

impl Person {
    /// What this person's CSRF tokens are bound to: the session's random id; for a bearer
    /// token or the proxy (which a cross-site form cannot send), the person.
    pub fn csrf_binding(&self) -> String {
        match &self.how {
            How::Session(session) => format!("session {}", session.id),
            How::Token => format!("token {}", self.name),
            How::Proxy => format!("proxy {}", self.name),
        }
    }

    /// Where the vote came from, as the journal records it: `web 127.0.0.1 (session)`.
    pub fn from(&self, channel: &str) -> String {
        let how = match self.how {
            How::Session(_) => "session",
            How::Token => "token",
            How::Proxy => "proxy",
        };
        format!("{channel} {} ({how})", self.peer.ip())
    }
}

/// Who may see a page: a person, or anyone when `[web] public_read` lets them look.
#[derive(Clone, Debug, PartialEq)]
pub enum Viewer {
    Person(Person),
    Anyone,
}

impl Viewer {
    pub fn person(&self) -> Option<&Person> {
        match self {
            Viewer::Person(person) => Some(person),
            Viewer::Anyone => None,
        }
    }
}

/// Why a request is turned away before it is looked at.
#[derive(Clone, Debug, PartialEq)]
pub enum Refused {
    /// The identity header came from an address that is not the trusted proxy.
    UntrustedProxy(SocketAddr),
    /// `Authorization: Bearer` with a token no person has.
    UnknownToken,
}

/// The person making the request, if any. A session cookie that is forged or expired is no
/// person (the login form follows); a wrong bearer token or a proxy header from elsewhere is
/// refused, so that a mistake or an attack shows instead of degrading silently.
pub fn identify(
    server: &Server,
    headers: &HeaderMap,
    peer: SocketAddr,
    now_ms: i64,
) -> Result<Option<Person>, Refused> {
    let web = &server.settings.web;
    if let Some(proxy) = &web.trusted_proxy {
        if let Some(value) = headers.get(&proxy.header) {
            if !proxy.trusts(peer.ip()) {
                return Err(Refused::UntrustedProxy(peer));
            }
            let name = value.to_str().unwrap_or("").trim();
            if !name.is_empty() {
                return Ok(Some(Person {
                    name: name.to_string(),
                    how: How::Proxy,
                    peer,
                }));
            }
        }
    }
    if let Some(token) = bearer(headers) {
        let catalog = server.catalog();
        return match catalog.project.person_by_token(token) {
            Some(name) => Ok(Some(Person {
                name: name.to_string(),
                how: How::Token,
                peer,
            })),
            None => Err(Refused::UnknownToken),
        };
    }
    let session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| session::cookie(v, session::COOKIE))
        .find_map(|value| Session::from_cookie_value(value, &web.key, now_ms));
    Ok(session.map(|session| Person {
        name: session.person.clone(),
        how: How::Session(session),
        peer,
    }))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// For pages: the viewer, or the answer to send instead (303 to the login form, 401, 403),
/// boxed because a response is large beside a viewer.
pub fn page_viewer(
    server: &Server,
    headers: &HeaderMap,
    peer: SocketAddr,
    now_ms: i64,
) -> Result<Viewer, Box<Response>> {
    match identify(server, headers, peer, now_ms) {
        Ok(Some(person)) => Ok(Viewer::Person(person)),
        Ok(None) if server.settings.web.public_read => Ok(Viewer::Anyone),
        Ok(None) => Err(Box::new(Redirect::to("/login").into_response())),
        Err(refused) => Err(Box::new(refusal(&refused))),
    }
}

/// For the JSON API and actions: a person, or 401/403.
pub fn api_person(
    server: &Server,
    headers: &HeaderMap,
    peer: SocketAddr,
    now_ms: i64,
) -> Result<Person, Box<Response>> {
    match identify(server, headers, peer, now_ms) {
        Ok(Some(person)) => Ok(person),
        Ok(None) => Err(Box::new((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({"error": "no person: send Authorization: Bearer TOKEN (make one with `rbk token create --as NAME`)"})),
        )
            .into_response())),
        Err(refused) => Err(Box::new(refusal(&refused))),
    }
}

pub fn refusal(refused: &Refused) -> Response {
    match refused {
        Refused::UntrustedProxy(peer) => (
            StatusCode::FORBIDDEN,
            Json(json!({"error": format!(
                "the identity header is only accepted from the trusted proxy ([web.trusted_proxy] from), not from {}",
                peer.ip()
            )})),
        )
            .into_response(),
        Refused::UnknownToken => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({"error": "the bearer token is no person's: make one with `rbk token create --as NAME`"})),
        )
            .into_response(),
    }
}

//! The frame of every page: head, the bar with who is signed in, and the stylesheet. Pages
//! are maud templates, so every interpolated value is escaped by construction.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::auth::Viewer;
use super::csrf;
use super::session::SessionKey;

/// Scripts only from our own routes: even if escaping failed somewhere, an injected
/// `<script>` would not run. Inline styles are allowed (the runbook picture's SVG uses them).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

pub struct Page<'a> {
    pub title: &'a str,
    pub viewer: Option<&'a Viewer>,
    pub key: &'a SessionKey,
    /// Extra scripts from our routes (the live refresh).
    pub scripts: &'a [&'a str],
}

pub fn render(page: Page<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " · rbk" }
                link rel="stylesheet" href="/assets/rbk.css";
                @for script in page.scripts {
                    script src=(script) defer {}
                }
            }
            body {
                header.bar {
                    a.brand href="/" { "rbk" }
                    span.where { "runs" }
                    span.spacer {}
                    @match page.viewer {
                        Some(Viewer::Person(person)) => {
                            span.who { "signed in as " strong { (person.name) } }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(csrf::token(page.key, &person.csrf_binding()));
                                button.link type="submit" { "sign out" }
                            }
                        }
                        Some(Viewer::Anyone) => {
                            span.who { "looking without signing in · " }
                            a href="/login" { "sign in" }
                        }
                        None => {}
                    }
                }
                main { (body) }
            }
        }
    }
}

/// An HTML answer with the security headers every page carries.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(headers);
    response
}

pub fn secure_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The colour class of a run or step state.
pub fn state_class(state: &str) -> &'static str {
    match state {
        "waiting" | "held" => "state waiting",
        "running" | "started" | "retrying" => "state running",
        "queued" => "state queued",
        "succeeded" | "approved" | "granted" => "state ok",
        "failed" | "denied" | "timed out" | "interrupted" => "state bad",
        "in_doubt" | "in doubt" => "state doubt",
        _ => "state quiet",
    }
}

/// "3 min ago", "2 h ago": how long ago `then` was.
pub fn age(now_ms: i64, then_ms: i64) -> String {
    let seconds = (now_ms - then_ms).max(0) / 1000;
    match seconds {
        0..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

/// UTC time as people read it in an incident channel: `2026-12-02 04:43:09 UTC`.
pub fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_people_say_them() {
        assert_eq!(age(61_000, 0), "1 min ago");
        assert_eq!(age(5_000, 0), "5 s ago");
        assert_eq!(age(0, 5_000), "0 s ago");
        assert_eq!(age(7_200_000, 0), "2 h ago");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(time(0), "1970-01-01 00:00:00 UTC");
    }
}

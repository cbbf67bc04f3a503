//! `alertmanager.silence(matchers, for, comment, created_by)` and `alertmanager.expire(id)`:
//! the Alertmanager API v2 (`POST /api/v2/silences`, `DELETE /api/v2/silence/{id}`) of
//! `[integrations.alertmanager] url`.
//!
//! A silence starts now and ends `for` later. Creating one is sent once (a retry after a lost
//! answer would leave two silences); expiring is idempotent: a silence that has already ended
//! counts as expired, because a runbook that lifts its silence on the way out must not fail for
//! a silence that ran out on its own or was lifted by a person.

use rbk_compiler::config::AlertmanagerConfig;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, BoxFuture, Value};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value as Json};

use super::json_api::{Answer, JsonApi, Request};
use super::web::{self, EnvLookup};
use super::NativeAction;

const DEFAULT_URL: &str = "http://localhost:9093";

pub(crate) struct Alertmanager {
    pub(crate) api: JsonApi,
}

impl Alertmanager {
    pub(crate) fn new(config: Option<&AlertmanagerConfig>, env: EnvLookup) -> Self {
        let config = config.cloned().unwrap_or_default();
        Alertmanager {
            api: JsonApi::new(
                "Alertmanager",
                "[integrations.alertmanager]",
                config.url.unwrap_or_else(|| DEFAULT_URL.to_string()),
                config.bearer_token_secret,
                env,
            ),
        }
    }

    /// Alertmanager's reason for refusing: its answers are a JSON string, a JSON object with
    /// `message`, or plain text.
    fn refusal(&self, what: &str, answer: &Answer) -> ActionError {
        let reason = match serde_json::from_str::<Json>(&answer.body) {
            Ok(Json::String(text)) => text,
            Ok(Json::Object(map)) if map.get("message").is_some_and(Json::is_string) => {
                map["message"].as_str().unwrap_or_default().to_string()
            }
            _ => answer.body.clone(),
        };
        ActionError::new(format!(
            "Alertmanager at {} refused {what} with HTTP {}: {}",
            self.api.base(),
            answer.status.as_u16(),
            web::excerpt(&reason, 500)
        ))
    }
}

/// Its bearer token is read through `secrets`, as `secret()` reads.
pub fn actions(
    config: Option<&AlertmanagerConfig>,
    secrets: EnvLookup,
) -> Vec<Box<dyn NativeAction>> {
    vec![
        Box::new(Silence {
            alertmanager: Alertmanager::new(config, secrets.clone()),
        }),
        Box::new(Expire {
            alertmanager: Alertmanager::new(config, secrets.clone()),
        }),
    ]
}

/// One matcher of the API: `{name, value, isRegex, isEqual}`, from `label: value` where the
/// value may start with `=~`, `!=`, `!~` (or `=`, to match a value that itself starts with one
/// of those).
fn matcher(name: &str, written: &str) -> Json {
    let (value, is_regex, is_equal) = if let Some(rest) = written.strip_prefix("=~") {
        (rest, true, true)
    } else if let Some(rest) = written.strip_prefix("!~") {
        (rest, true, false)
    } else if let Some(rest) = written.strip_prefix("!=") {
        (rest, false, false)
    } else if let Some(rest) = written.strip_prefix('=') {
        (rest, false, true)
    } else {
        (written, false, true)
    };
    json!({"name": name, "value": value, "isRegex": is_regex, "isEqual": is_equal})
}

/// `alertmanager.silence`.
pub struct Silence {
    pub(crate) alertmanager: Alertmanager,
}

impl NativeAction for Silence {
    fn name(&self) -> &'static str {
        "alertmanager.silence"
    }

    fn arity(&self) -> usize {
        4
    }

    fn effect(&self) -> Effect {
        Effect::Write
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let fail = ActionError::new;
            let matchers: Vec<Json> = match call.arg("matchers") {
                Some(Value::Map(map) | Value::Record(map)) => map
                    .iter()
                    .map(|(name, value)| match value {
                        Value::Str(text) => Ok(matcher(name, text)),
                        other => Err(fail(format!(
                            "the matcher for `{name}` must be a string, not a {}",
                            other.type_name()
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => {
                    return Err(fail(format!(
                        "`matchers` must be a map of label to value, not a {}",
                        other.type_name()
                    )))
                }
                None => return Err(fail("`matchers` is missing".into())),
            };
            if matchers.is_empty() {
                return Err(fail(
                    "`matchers` is empty, which would silence every alert; name at least one \
                     label, e.g. {\"alertname\": \"DiskFull\"}"
                        .into(),
                ));
            }
            let length = match call.arg("for") {
                Some(Value::Duration(ms)) if *ms > 0 => *ms,
                Some(Value::Duration(_)) => {
                    return Err(fail("`for` is 0s; a silence must last a while".into()))
                }
                _ => return Err(fail("`for` must be a duration".into())),
            };
            let comment = web::string_arg(call, "comment")?;
            if comment.trim().is_empty() {
                return Err(fail(
                    "`comment` is empty; say why the alerts are silenced, for whoever sees the \
                     silence"
                        .into(),
                ));
            }
            let created_by = match call.arg("created_by") {
                Some(Value::Str(who)) if !who.trim().is_empty() => who.clone(),
                _ if call.run_id.is_empty() => "rbk".to_string(),
                _ => format!("rbk (run {})", call.run_id),
            };
            let starts = jiff::Timestamp::now();
            let ends = i64::try_from(length)
                .ok()
                .and_then(|ms| {
                    starts
                        .checked_add(jiff::SignedDuration::from_millis(ms))
                        .ok()
                })
                .ok_or_else(|| fail("`for` is too long for a timestamp".into()))?;
            let body = json!({
                "matchers": matchers,
                "startsAt": starts.to_string(),
                "endsAt": ends.to_string(),
                "createdBy": created_by,
                "comment": comment,
            });
            let answer = self
                .alertmanager
                .api
                .send(Request {
                    method: Method::POST,
                    path: "/api/v2/silences",
                    query: vec![],
                    body: Some(body),
                    idempotent: false,
                })
                .await?;
            if !answer.status.is_success() {
                return Err(self.alertmanager.refusal("the silence", &answer));
            }
            serde_json::from_str::<Json>(&answer.body)
                .ok()
                .and_then(|j| j.get("silenceID")?.as_str().map(Value::str))
                .ok_or_else(|| {
                    fail(format!(
                        "Alertmanager's answer has no `silenceID`: {}",
                        web::excerpt(&answer.body, 300)
                    ))
                })
        })
    }
}

/// `alertmanager.expire`.
pub struct Expire {
    pub(crate) alertmanager: Alertmanager,
}

impl NativeAction for Expire {
    fn name(&self) -> &'static str {
        "alertmanager.expire"
    }

    fn arity(&self) -> usize {
        1
    }

    fn effect(&self) -> Effect {
        Effect::Write
    }

    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            let id = web::string_arg(call, "id")?;
            // The id becomes a path segment: nothing but what Alertmanager's ids (UUIDs) hold.
            if id.is_empty()
                || id.len() > 64
                || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(ActionError::new(format!(
                    "`{}` is not a silence id (letters, digits and `-`, as \
                     alertmanager.silence returns)",
                    web::excerpt(id, 80)
                )));
            }
            let path = format!("/api/v2/silence/{id}");
            let delete = Request {
                method: Method::DELETE,
                path: &path,
                query: vec![],
                body: None,
                idempotent: true,
            };
            let answer = self.alertmanager.api.send(delete).await?;
            if answer.status.is_success() {
                return Ok(Value::None);
            }
            // Alertmanager 0.25 answers an unknown id with 500 "silence not found", and older
            // ones refuse to expire a silence that has already ended; the silence itself says
            // which, so look before calling it a failure.
            let looked = match answer.status {
                StatusCode::NOT_FOUND => None,
                _ => self
                    .alertmanager
                    .api
                    .send(Request::get(&path, vec![]))
                    .await
                    .ok(),
            };
            let unknown = answer.status == StatusCode::NOT_FOUND
                || looked
                    .as_ref()
                    .is_some_and(|a| a.status == StatusCode::NOT_FOUND);
            if unknown {
                return Err(ActionError::new(format!(
                    "Alertmanager at {} has no silence `{id}`",
                    self.alertmanager.api.base()
                )));
            }
            let state = looked
                .filter(|a| a.status.is_success())
                .and_then(|a| serde_json::from_str::<Json>(&a.body).ok())
                .and_then(|j| j.pointer("/status/state")?.as_str().map(str::to_string));
            if state.as_deref() == Some("expired") {
                return Ok(Value::None);
            }
            Err(self
                .alertmanager
                .refusal(&format!("expiring silence `{id}`"), &answer))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::natives::web::capture::{CaptureServer, Reply};
    use rbk_compiler::types::Ty;

    const ID: &str = "8f3c2b1a-1111-4222-8333-944455556666";

    /// A posted silence's matchers by label name.
    fn matcher_names(body: &Json) -> BTreeMap<String, Json> {
        body["matchers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                (
                    m["name"].as_str().unwrap_or_default().to_string(),
                    m.clone(),
                )
            })
            .collect()
    }

    fn alertmanager(server: &CaptureServer) -> Alertmanager {
        let config = AlertmanagerConfig {
            url: Some(server.url.clone()),
            bearer_token_secret: None,
        };
        let mut alertmanager = Alertmanager::new(Some(&config), Arc::new(|_| None));
        alertmanager.api.base_delay = Duration::from_millis(1);
        alertmanager
    }

    fn call(action: &str, args: Vec<(&str, Value)>) -> ActionCall {
        ActionCall {
            action: action.into(),
            effect: Effect::Write,
            returns_handle: None,
            returns: Ty::Unknown,
            args: args.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
            run_id: "run-7".into(),
        }
    }

    fn silence_call(matchers: &[(&str, &str)], for_ms: u64, comment: &str) -> ActionCall {
        let matchers = matchers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::str(*v)))
            .collect();
        call(
            "alertmanager.silence",
            vec![
                ("matchers", Value::Map(matchers)),
                ("for", Value::Duration(for_ms)),
                ("comment", Value::str(comment)),
                ("created_by", Value::str("")),
            ],
        )
    }

    #[tokio::test]
    async fn a_silence_is_posted_with_its_matchers_and_window() {
        let server =
            CaptureServer::start(vec![Reply::new(200, format!(r#"{{"silenceID":"{ID}"}}"#))]).await;
        let action = Silence {
            alertmanager: alertmanager(&server),
        };
        let before = jiff::Timestamp::now();
        let id = action
            .call(&silence_call(
                &[
                    ("alertname", "DiskFull"),
                    ("instance", "=~db-.*"),
                    ("env", "!=staging"),
                    ("team", "!~web|api"),
                    ("weird", "==~literal"),
                ],
                30 * 60_000,
                "rotating logs",
            ))
            .await
            .unwrap();
        assert_eq!(id, Value::str(ID));
        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].method, "POST");
        assert_eq!(requests[0].path, "/api/v2/silences");
        let body = requests[0].json();
        assert_eq!(body["comment"], "rotating logs");
        assert_eq!(body["createdBy"], "rbk (run run-7)");
        let matchers = matcher_names(&body);
        let expect = |value: &str, is_regex: bool, is_equal: bool| json!({"name": "", "value": value, "isRegex": is_regex, "isEqual": is_equal});
        for (name, expected) in [
            ("alertname", expect("DiskFull", false, true)),
            ("instance", expect("db-.*", true, true)),
            ("env", expect("staging", false, false)),
            ("team", expect("web|api", true, false)),
            ("weird", expect("=~literal", false, true)),
        ] {
            let mut expected = expected;
            expected["name"] = json!(name);
            assert_eq!(matchers[name], expected, "{name}");
        }
        let starts: jiff::Timestamp = body["startsAt"].as_str().unwrap().parse().unwrap();
        let ends: jiff::Timestamp = body["endsAt"].as_str().unwrap().parse().unwrap();
        assert!(
            starts
                >= before
                    .checked_sub(jiff::SignedDuration::from_secs(1))
                    .unwrap()
        );
        assert_eq!(
            ends.duration_since(starts),
            jiff::SignedDuration::from_mins(30)
        );
    }

    #[tokio::test]
    async fn a_silence_without_matchers_or_comment_is_refused_before_sending() {
        let server = CaptureServer::start(vec![Reply::new(200, r#"{"silenceID":"x"}"#)]).await;
        let action = Silence {
            alertmanager: alertmanager(&server),
        };
        let error = action
            .call(&silence_call(&[], 60_000, "why"))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("would silence every alert"),
            "{}",
            error.message
        );
        let error = action
            .call(&silence_call(&[("alertname", "X")], 60_000, " "))
            .await
            .unwrap_err();
        assert!(
            error.message.contains("`comment` is empty"),
            "{}",
            error.message
        );
        let error = action
            .call(&silence_call(&[("alertname", "X")], 0, "why"))
            .await
            .unwrap_err();
        assert!(error.message.contains("`for` is 0s"), "{}", error.message);
        assert!(server.requests().is_empty());
    }

    #[tokio::test]
    async fn a_refused_silence_carries_alertmanagers_reason_and_is_sent_once() {
        let server = CaptureServer::start(vec![Reply::new(
            400,
            r#""silence invalid: invalid label matcher 0: invalid label name \"1bad\"""#,
        )])
        .await;
        let action = Silence {
            alertmanager: alertmanager(&server),
        };
        let error = action
            .call(&silence_call(&[("1bad", "x")], 60_000, "why"))
            .await
            .unwrap_err();
        assert_eq!(
            error.message,
            format!(
                "Alertmanager at {} refused the silence with HTTP 400: \
                 silence invalid: invalid label matcher 0: invalid label name \"1bad\"",
                server.url
            )
        );
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn expire_deletes_the_silence() {
        let server = CaptureServer::start(vec![Reply::new(200, "")]).await;
        let action = Expire {
            alertmanager: alertmanager(&server),
        };
        assert_eq!(
            action
                .call(&call("alertmanager.expire", vec![("id", Value::str(ID))]))
                .await,
            Ok(Value::None)
        );
        let requests = server.requests();
        assert_eq!(requests[0].method, "DELETE");
        assert_eq!(requests[0].path, format!("/api/v2/silence/{ID}"));
    }

    #[tokio::test]
    async fn expiring_an_ended_silence_succeeds_but_other_refusals_fail() {
        let server = CaptureServer::start(vec![
            Reply::new(500, format!(r#""silence {ID} already expired""#)),
            Reply::new(
                200,
                format!(r#"{{"id":"{ID}","status":{{"state":"expired"}}}}"#),
            ),
        ])
        .await;
        let action = Expire {
            alertmanager: alertmanager(&server),
        };
        let expire = call("alertmanager.expire", vec![("id", Value::str(ID))]);
        assert_eq!(action.call(&expire).await, Ok(Value::None));
        assert_eq!(server.requests()[1].method, "GET");

        let server = CaptureServer::start(vec![
            Reply::new(500, r#""storage is full""#),
            Reply::new(
                200,
                format!(r#"{{"id":"{ID}","status":{{"state":"active"}}}}"#),
            ),
        ])
        .await;
        let action = Expire {
            alertmanager: alertmanager(&server),
        };
        let error = action.call(&expire).await.unwrap_err();
        assert!(
            error.message.ends_with("with HTTP 500: storage is full"),
            "{}",
            error.message
        );

        // Alertmanager 0.25's answer for an id it never had.
        let server = CaptureServer::start(vec![
            Reply::new(500, r#""silence not found""#),
            Reply::new(404, ""),
        ])
        .await;
        let action = Expire {
            alertmanager: alertmanager(&server),
        };
        let error = action.call(&expire).await.unwrap_err();
        assert!(
            error.message.contains("has no silence"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn an_id_that_is_not_one_never_reaches_a_path() {
        let server = CaptureServer::start(vec![Reply::new(200, "")]).await;
        let action = Expire {
            alertmanager: alertmanager(&server),
        };
        for id in ["", "../silences", "a/b", "x?y=1", "id with spaces"] {
            let error = action
                .call(&call("alertmanager.expire", vec![("id", Value::str(id))]))
                .await
                .unwrap_err();
            assert!(
                error.message.contains("is not a silence id"),
                "{id}: {}",
                error.message
            );
        }
        assert!(server.requests().is_empty());
    }
}

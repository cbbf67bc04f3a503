//! `POST /v1/webhook/NAME`: any JSON sender, mapped by rbk.toml `[serve.webhooks.NAME]` to one
//! alert in Alertmanager's shape, so that it is parsed, matched and deduplicated like one.

use rbk_compiler::config::WebhookConfig;
use serde_json::{json, Map, Value};

/// The alert object (Alertmanager's `alerts[]` element) that `body` stands for.
pub fn to_alert(
    name: &str,
    hook: &WebhookConfig,
    body: &Value,
    now_ms: i64,
) -> Result<Value, WebhookError> {
    let webhook = name.to_string();
    if !body.is_object() && !body.is_array() {
        return Err(WebhookError::NotAnObject {
            webhook,
            found: kind(body),
        });
    }
    let mut labels = Map::new();
    labels.insert("alertname".into(), hook.alert.clone().into());
    for (label, pointer) in &hook.labels {
        let value = body.pointer(pointer).ok_or_else(|| WebhookError::Missing {
            webhook: webhook.clone(),
            field: format!("label `{label}`"),
            pointer: pointer.clone(),
        })?;
        labels.insert(label.clone(), text(value).into());
    }
    let mut annotations = Map::new();
    for (annotation, pointer) in &hook.annotations {
        if let Some(value) = body.pointer(pointer) {
            annotations.insert(annotation.clone(), text(value).into());
        }
    }
    let status = match &hook.status {
        Some(pointer) => match body.pointer(pointer).map(text).as_deref() {
            Some("resolved") => "resolved",
            Some("firing") | None => "firing",
            Some(other) => {
                return Err(WebhookError::BadStatus {
                    webhook,
                    pointer: pointer.clone(),
                    found: other.to_string(),
                })
            }
        },
        None => "firing",
    };
    let starts_at = match &hook.starts_at {
        Some(pointer) => match body.pointer(pointer) {
            Some(Value::Number(n)) => rbk_interpreter::value::format_time(n.as_i64().unwrap_or(0)),
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(WebhookError::BadStart {
                    webhook,
                    pointer: pointer.clone(),
                    found: kind(other),
                })
            }
            None => {
                return Err(WebhookError::Missing {
                    webhook,
                    field: "starts_at".to_string(),
                    pointer: pointer.clone(),
                })
            }
        },
        None => rbk_interpreter::value::format_time(now_ms),
    };
    let mut alert = json!({
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": starts_at,
    });
    if let Some(pointer) = &hook.fingerprint {
        let value = body.pointer(pointer).ok_or_else(|| WebhookError::Missing {
            webhook: webhook.clone(),
            field: "fingerprint".to_string(),
            pointer: pointer.clone(),
        })?;
        alert["fingerprint"] = text(value).into();
    }
    Ok(alert)
}

/// Why a webhook's body does not map to an alert.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook `{webhook}` expects a JSON object or array, not {found}")]
    NotAnObject {
        webhook: String,
        found: &'static str,
    },
    /// `field` (a label, `starts_at`, `fingerprint`) reads a pointer the body does not have.
    #[error("webhook `{webhook}`: {field} reads {pointer}, which the body does not have")]
    Missing {
        webhook: String,
        field: String,
        pointer: String,
    },
    #[error("webhook `{webhook}`: status at {pointer} is `{found}`; expected firing or resolved")]
    BadStatus {
        webhook: String,
        pointer: String,
        found: String,
    },
    #[error(
        "webhook `{webhook}`: starts_at at {pointer} is {found}; expected RFC 3339 text or milliseconds"
    )]
    BadStart {
        webhook: String,
        pointer: String,
        found: &'static str,
    },
}

/// A label's text: strings as they are, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook() -> WebhookConfig {
        WebhookConfig {
            alert: "DiskFull".into(),
            labels: [("host".to_string(), "/data/host".to_string())].into(),
            fingerprint: Some("/id".into()),
            status: Some("/state".into()),
            ..WebhookConfig::default()
        }
    }

    #[test]
    fn maps_labels_status_and_fingerprint() {
        let body = json!({"id": 42, "state": "resolved", "data": {"host": "db1"}});
        let alert = to_alert("grafana", &hook(), &body, 0).unwrap();
        assert_eq!(alert["labels"]["alertname"], "DiskFull");
        assert_eq!(alert["labels"]["host"], "db1");
        assert_eq!(alert["status"], "resolved");
        assert_eq!(alert["fingerprint"], "42");
    }

    #[test]
    fn a_missing_label_says_which_pointer() {
        let error = to_alert("grafana", &hook(), &json!({"id": 1}), 0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("/data/host"), "{error}");
    }

    #[test]
    fn a_scalar_body_is_refused() {
        assert!(to_alert("grafana", &hook(), &json!(3), 0).is_err());
    }
}

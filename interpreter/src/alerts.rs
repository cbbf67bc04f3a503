//! Alerts as values: the Alertmanager webhook (payload v4) read into typed [`Alert`]s, the
//! runbook's `alert` value built from one, and the question every receiver asks of a runbook:
//! does its `trigger alert "Name" where …` take this alert, and under which `concurrency … per`
//! and `rate … by` keys?
//!
//! `rbk run --alert`, `rbk serve` and `test` blocks all match through [`match_alert`] (or
//! [`judge_alert`], which also says why an alert was turned away), so an alert a test rejects
//! is one the server would reject too.

use std::collections::{BTreeMap, HashMap};

use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::{ClauseKind, Expr, ItemKind, Runbook, Trigger};
use rbk_compiler::Analysis;
use serde::{Deserialize, Serialize};

use crate::action::{Actions, BoxFuture};
use crate::approval::{
    ApprovalDecision, ApprovalRequest, Approver, Environment, ProcessEnvironment,
};
use crate::engine::{evaluate, EvalError, Services};
use crate::journal::MemoryJournal;
use crate::value::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One alert, as Alertmanager describes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `labels["alertname"]`.
    pub name: String,
    pub status: AlertStatus,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Milliseconds since the epoch.
    pub starts_at: i64,
    /// `None` for Alertmanager's zero time (`0001-01-01T00:00:00Z`): a firing alert has no end.
    pub ends_at: Option<i64>,
    /// As given; else Alertmanager's own fingerprint of the label set (FNV-1a over the sorted
    /// labels), so an alert posted by hand and the same alert from Alertmanager agree.
    pub fingerprint: String,
    pub generator_url: Option<String>,
}

impl Alert {
    /// The runbook's typed `alert`: `name`, `labels`, `annotations`, `status`, `starts_at`,
    /// `ends_at` (`time?`: none while firing) and `fingerprint`.
    pub fn to_value(&self) -> Value {
        let strings = |map: &BTreeMap<String, String>| {
            Value::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::str(v.clone())))
                    .collect(),
            )
        };
        let mut fields = BTreeMap::new();
        fields.insert("name".to_string(), Value::str(self.name.clone()));
        fields.insert("labels".to_string(), strings(&self.labels));
        fields.insert("annotations".to_string(), strings(&self.annotations));
        fields.insert("status".to_string(), Value::str(self.status.as_str()));
        fields.insert("starts_at".to_string(), Value::Time(self.starts_at));
        fields.insert(
            "ends_at".to_string(),
            self.ends_at.map_or(Value::None, Value::Time),
        );
        fields.insert(
            "fingerprint".to_string(),
            Value::str(self.fingerprint.clone()),
        );
        Value::Record(fields)
    }

    /// One occurrence of an alert: Alertmanager re-sends the same (fingerprint, startsAt) on
    /// every group change, repeat and retry; a new firing of the same labels has a new startsAt.
    pub fn occurrence_key(&self) -> String {
        format!(
            "{}|{}",
            self.fingerprint,
            format_time_precise(self.starts_at)
        )
    }
}

/// A webhook v4 body (fields added after Alertmanager 0.25 are optional), or one alert.
#[derive(Clone, Debug)]
pub struct AlertPayload {
    pub alerts: Vec<Alert>,
    pub group_key: Option<String>,
    pub receiver: Option<String>,
    /// Alerts Alertmanager left out (`max_alerts`): more fired than this payload carries.
    pub truncated_alerts: u64,
    /// The body as received, for the journal.
    pub raw: serde_json::Value,
}

/// Why a body is not an Alertmanager payload: the kinds a receiver may answer differently (a
/// body that is not JSON at all, a payload version rbk does not read, one bad alert among
/// many), with the JSON parser's error kept as the source.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not JSON ({0}); expected an Alertmanager webhook payload")]
    NotJson(#[source] serde_json::Error),
    #[error(
        "webhook payload version {version:?} is not supported; rbk reads version \"4\" (Alertmanager 0.x)"
    )]
    UnsupportedVersion { version: String },
    /// One element of `alerts` is not an alert.
    #[error("alerts[{index}]: {reason}")]
    BadAlert {
        index: usize,
        #[source]
        reason: AlertError,
    },
    /// The one alert given alone, or a field of the payload, is not what Alertmanager sends.
    #[error(transparent)]
    Alert(#[from] AlertError),
    /// The body's shape, or one of its fields, is not what Alertmanager sends; the text says
    /// which.
    #[error("{0}")]
    Malformed(String),
}

/// A webhook v4 body, or one alert object (as `rbk run --alert` accepts). Err = why it is not one.
pub fn parse_payload(body: &[u8]) -> Result<AlertPayload, PayloadError> {
    let raw: serde_json::Value = serde_json::from_slice(body).map_err(PayloadError::NotJson)?;
    let Some(object) = raw.as_object() else {
        return Err(PayloadError::Malformed(format!(
            "the body is a JSON {}, not an object; expected an Alertmanager webhook payload \
             (an object with an `alerts` array) or one alert (an object with `labels`)",
            json_kind(&raw)
        )));
    };
    let (alerts, group_key, receiver, truncated_alerts) = match object.get("alerts") {
        Some(serde_json::Value::Array(items)) => {
            if let Some(version) = object.get("version").and_then(|v| v.as_str()) {
                if version != "4" {
                    return Err(PayloadError::UnsupportedVersion {
                        version: version.to_string(),
                    });
                }
            }
            let alerts = items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    parse_alert(item).map_err(|reason| PayloadError::BadAlert { index, reason })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let truncated = match object.get("truncatedAlerts") {
                None | Some(serde_json::Value::Null) => 0,
                Some(value) => value.as_u64().ok_or_else(|| {
                    PayloadError::Malformed(format!("`truncatedAlerts` is {value}, not a count"))
                })?,
            };
            (
                alerts,
                optional_string(object, "groupKey")?,
                optional_string(object, "receiver")?,
                truncated,
            )
        }
        Some(other) => {
            return Err(PayloadError::Malformed(format!(
                "`alerts` is a JSON {}, not an array of alerts",
                json_kind(other)
            )))
        }
        None if object.contains_key("labels") => (vec![parse_alert(&raw)?], None, None, 0),
        None => {
            return Err(PayloadError::Malformed(
                "the body has no `alerts` array and no `labels`: expected an Alertmanager webhook \
                 payload ({\"version\": \"4\", \"alerts\": [...], ...}) or one alert \
                 ({\"labels\": {\"alertname\": ...}, \"startsAt\": ...})"
                    .into(),
            ))
        }
    };
    Ok(AlertPayload {
        alerts,
        group_key,
        receiver,
        truncated_alerts,
        raw,
    })
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// What is wrong with one alert object, or with a field of the payload.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("`{key}` is a JSON {found}, not a string")]
    NotAString {
        key: &'static str,
        found: &'static str,
    },
    #[error("{key}[{name:?}] is a JSON {found}; label and annotation values are strings")]
    ValueNotAString {
        key: &'static str,
        name: String,
        found: &'static str,
    },
    #[error("`{key}` is a JSON {found}, not an object of strings")]
    NotAnObjectOfStrings {
        key: &'static str,
        found: &'static str,
    },
    #[error("an alert is a JSON object, not a {0}")]
    NotAnObject(&'static str),
    #[error("the alert has no `alertname` label, so no runbook's trigger can name it")]
    NoName,
    #[error("`status` is {0:?}; an alert is \"firing\" or \"resolved\"")]
    BadStatus(String),
    #[error("`{field}`: {error}")]
    BadTime {
        field: &'static str,
        #[source]
        error: TimeError,
    },
    #[error("`startsAt` is the zero time; an alert's start is when it began firing")]
    ZeroStart,
    #[error(
        "the alert has no `startsAt`; it tells one firing of an alert from the next \
         (give it as RFC 3339, e.g. \"2026-12-01T10:00:00Z\")"
    )]
    NoStart,
}

/// A text that is not an RFC 3339 time.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 time (e.g. \"2026-12-01T10:00:00Z\")")]
pub struct TimeError(pub String);

fn optional_string(
    object: &serde_json::Map<String, serde_json::Value>,
    key: &'static str,
) -> Result<Option<String>, AlertError> {
    match object.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(AlertError::NotAString {
            key,
            found: json_kind(other),
        }),
    }
}

fn string_map(
    object: &serde_json::Map<String, serde_json::Value>,
    key: &'static str,
) -> Result<BTreeMap<String, String>, AlertError> {
    match object.get(key) {
        None | Some(serde_json::Value::Null) => Ok(BTreeMap::new()),
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(AlertError::ValueNotAString {
                    key,
                    name: k.clone(),
                    found: json_kind(other),
                }),
            })
            .collect(),
        Some(other) => Err(AlertError::NotAnObjectOfStrings {
            key,
            found: json_kind(other),
        }),
    }
}

/// One element of `alerts` (or a single alert given alone).
fn parse_alert(value: &serde_json::Value) -> Result<Alert, AlertError> {
    let Some(object) = value.as_object() else {
        return Err(AlertError::NotAnObject(json_kind(value)));
    };
    let labels = string_map(object, "labels")?;
    let annotations = string_map(object, "annotations")?;
    let name = labels
        .get("alertname")
        .filter(|n| !n.is_empty())
        .cloned()
        .ok_or(AlertError::NoName)?;
    // Alertmanager always sends a status; one alert written by hand may leave it out.
    let status = match optional_string(object, "status")?.as_deref() {
        None | Some("firing") => AlertStatus::Firing,
        Some("resolved") => AlertStatus::Resolved,
        Some(other) => return Err(AlertError::BadStatus(other.to_string())),
    };
    let starts_at = match optional_string(object, "startsAt")? {
        Some(text) => parse_time(&text)
            .map_err(|error| AlertError::BadTime {
                field: "startsAt",
                error,
            })?
            .ok_or(AlertError::ZeroStart)?,
        None => return Err(AlertError::NoStart),
    };
    let ends_at = match optional_string(object, "endsAt")? {
        Some(text) => parse_time(&text).map_err(|error| AlertError::BadTime {
            field: "endsAt",
            error,
        })?,
        None => None,
    };
    let fingerprint = optional_string(object, "fingerprint")?
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| label_fingerprint(&labels));
    let generator_url = optional_string(object, "generatorURL")?.filter(|u| !u.is_empty());
    Ok(Alert {
        name,
        status,
        labels,
        annotations,
        starts_at,
        ends_at,
        fingerprint,
        generator_url,
    })
}

/// Prometheus' `LabelSet.Fingerprint()`: FNV-1a 64 over the labels sorted by name, each name
/// and value followed by a 0xff byte, as 16 hex digits. Alertmanager sends exactly this.
pub fn label_fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    let mut hash = OFFSET;
    let mut add = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for (name, value) in labels {
        add(name.as_bytes());
        add(&[0xff]);
        add(value.as_bytes());
        add(&[0xff]);
    }
    format!("{hash:016x}")
}

/// RFC 3339 (`2026-12-01T10:00:00Z`, `…T10:00:00.123456789+02:00`) to milliseconds since the
/// epoch; `None` for Go's zero time (year 1), which Alertmanager sends for "no end".
pub fn parse_time(text: &str) -> Result<Option<i64>, TimeError> {
    let bad = || TimeError(text.to_string());
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !text.is_ascii() {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| -> Result<i64, TimeError> {
        let part = &text[range];
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let separators_ok = bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't' | b' ')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_ok {
        return Err(bad());
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse::<i64>().map_err(|_| bad())?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let (h, m) = (
                number_in(rest, 1..3).ok_or_else(bad)?,
                number_in(rest, 4..6).ok_or_else(bad)?,
            );
            if h > 23 || m > 59 {
                return Err(bad());
            }
            sign * (h * 60 + m)
        }
        _ => return Err(bad()),
    };
    if year <= 1 {
        return Ok(None);
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second.min(59) - offset_minutes * 60;
    Ok(Some(seconds * 1000 + millis))
}

fn number_in(text: &str, range: std::ops::Range<usize>) -> Option<i64> {
    let part = text.get(range)?;
    part.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| part.parse().ok())
        .flatten()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's days-from-civil).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// RFC 3339 with milliseconds when there are any, so two firings within a second differ.
fn format_time_precise(ms: i64) -> String {
    let whole = crate::value::format_time(ms);
    match ms.rem_euclid(1000) {
        0 => whole,
        millis => format!("{}.{millis:03}Z", whole.trim_end_matches('Z')),
    }
}

/// What an alert means to one runbook: None when the trigger's name or `where` rejects it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerMatch {
    /// The value of `concurrency N per EXPR`, as text; `None` when the runbook has no `per`
    /// (its `concurrency`, if any, is then runbook-wide).
    pub concurrency_key: Option<String>,
    /// The value of `rate N per D by EXPR`, as text; `None` when the runbook has no `by`.
    pub rate_key: Option<String>,
}

/// A runbook's answer to an alert, with the reason when it says no.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Matched(TriggerMatch),
    Rejected(String),
}

/// What an alert means to one runbook: None when the trigger's name or `where` rejects it.
/// Err when the runbook has no alert trigger, or a `where`/key expression fails to evaluate.
pub async fn match_alert(
    program: &Analysis,
    module: ModuleId,
    item: usize,
    alert: &Alert,
    actions: &dyn Actions,
) -> Result<Option<TriggerMatch>, JudgeError> {
    Ok(
        match judge_alert(
            program,
            module,
            item,
            &alert.to_value(),
            actions,
            &ProcessEnvironment,
        )
        .await?
        {
            Verdict::Matched(found) => Some(found),
            Verdict::Rejected(_) => None,
        },
    )
}

/// The alert trigger of runbook `item`: its name and `where` filter.
pub fn alert_trigger(
    program: &Analysis,
    module: ModuleId,
    item: usize,
) -> Option<(&str, Option<&Expr>)> {
    let ItemKind::Runbook(runbook) = &program.module(module).ast.items.get(item)?.kind else {
        return None;
    };
    runbook_alert_trigger(runbook)
}

/// A runbook's `trigger alert "Name" [where …]`.
pub fn runbook_alert_trigger(runbook: &Runbook) -> Option<(&str, Option<&Expr>)> {
    runbook.clauses.iter().find_map(|c| match &c.kind {
        ClauseKind::Trigger(Trigger::Alert { name, filter }) => {
            Some((name.value.as_str(), filter.as_ref()))
        }
        _ => None,
    })
}

/// Like [`match_alert`], for an `alert` value (a test's alert is one), with the environment
/// `env()`/`secret()` read from, and the reason for a rejection.
pub async fn judge_alert(
    program: &Analysis,
    module: ModuleId,
    item: usize,
    alert: &Value,
    actions: &dyn Actions,
    environment: &dyn Environment,
) -> Result<Verdict, JudgeError> {
    let Some(ItemKind::Runbook(runbook)) =
        program.module(module).ast.items.get(item).map(|i| &i.kind)
    else {
        return Err(JudgeError::NotARunbook(item));
    };
    let Some((trigger, filter)) = runbook_alert_trigger(runbook) else {
        return Err(JudgeError::NoAlertTrigger(runbook.name.name.clone()));
    };
    let name = match alert {
        Value::Record(fields) | Value::Map(fields) => match fields.get("name") {
            Some(Value::Str(name)) => name.clone(),
            _ => return Err(JudgeError::Nameless),
        },
        _ => return Err(JudgeError::NotARecord),
    };
    if name != trigger {
        return Ok(Verdict::Rejected(format!(
            "runbook `{}` is triggered by alert \"{trigger}\", not \"{name}\"",
            runbook.name.name
        )));
    }
    let eval = |expr| with_alert(program, module, alert, expr, actions, environment);
    if let Some(filter) = filter {
        let source = source_of(program, module, filter);
        match eval(filter).await {
            Ok(Value::Bool(true)) => {}
            Ok(value) => {
                return Ok(Verdict::Rejected(format!(
                    "the trigger's `where {source}` is {value} for this alert"
                )))
            }
            Err(error) => {
                return Err(JudgeError::Filter {
                    written: source,
                    error,
                })
            }
        }
    }
    let mut found = TriggerMatch {
        concurrency_key: None,
        rate_key: None,
    };
    for clause in &runbook.clauses {
        let (key, slot, what) = match &clause.kind {
            ClauseKind::Concurrency { per: Some(key), .. } => {
                (key, &mut found.concurrency_key, "concurrency … per")
            }
            ClauseKind::Rate { by: Some(key), .. } => (key, &mut found.rate_key, "rate … by"),
            _ => continue,
        };
        match eval(key).await {
            Ok(value) => *slot = Some(value.to_string()),
            Err(error) => {
                return Err(JudgeError::Key {
                    what,
                    written: source_of(program, module, key),
                    error,
                })
            }
        }
    }
    Ok(Verdict::Matched(found))
}

/// Why a runbook cannot judge an alert.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum JudgeError {
    #[error("item {0} is not a runbook")]
    NotARunbook(usize),
    #[error("runbook `{0}` has no `trigger alert \"...\"`, so no alert starts it")]
    NoAlertTrigger(String),
    #[error("the alert has no name")]
    Nameless,
    #[error("the alert is not a record")]
    NotARecord,
    /// The trigger's `where` (as `written`) failed.
    #[error(
        "the trigger's `where {written}` could not be evaluated for this alert: {error} \
         (a `where` may read only `alert`, consts and fns)"
    )]
    Filter {
        written: String,
        #[source]
        error: EvalError,
    },
    /// A `concurrency … per` / `rate … by` key (`what`, as `written`) failed.
    #[error(
        "the `{what} {written}` key could not be computed for this alert: {error} \
         (a key may read only `alert`, consts and fns)"
    )]
    Key {
        what: &'static str,
        written: String,
        #[source]
        error: EvalError,
    },
}

/// The alert of a payload that one run of runbook `item` gets (`rbk run --alert`).
#[derive(Clone, Debug)]
pub enum Selection {
    /// The first firing alert the trigger takes, and how many more of the payload it takes.
    Chosen { alert: Alert, also_matching: usize },
    /// No firing alert is for this runbook: one line per alert, saying why.
    NoneMatch(Vec<String>),
}

/// Picks the alert of `payload` that starts one run of runbook `item`: the first firing alert
/// its trigger takes. Resolved alerts start nothing (`rbk serve` starts no run for one either).
/// Err when a `where` or key cannot be evaluated, or the runbook has no alert trigger.
pub async fn select_for_run(
    program: &Analysis,
    module: ModuleId,
    item: usize,
    payload: &AlertPayload,
    actions: &dyn Actions,
    environment: &dyn Environment,
) -> Result<Selection, JudgeError> {
    let mut chosen: Option<Alert> = None;
    let mut also_matching = 0;
    let mut reasons = Vec::new();
    for (index, alert) in payload.alerts.iter().enumerate() {
        let verdict = judge_alert(
            program,
            module,
            item,
            &alert.to_value(),
            actions,
            environment,
        )
        .await?;
        let what = format!("alert {} ({})", index + 1, alert.name);
        match verdict {
            Verdict::Rejected(why) => reasons.push(format!("{what}: {why}")),
            Verdict::Matched(_) if alert.status == AlertStatus::Resolved => reasons.push(format!(
                "{what}: it is resolved, and a resolved alert starts no run"
            )),
            Verdict::Matched(_) if chosen.is_some() => also_matching += 1,
            Verdict::Matched(_) => chosen = Some(alert.clone()),
        }
    }
    if payload.alerts.is_empty() {
        reasons.push("the payload holds no alert".into());
    }
    Ok(match chosen {
        Some(alert) => Selection::Chosen {
            alert,
            also_matching,
        },
        None => Selection::NoneMatch(reasons),
    })
}

/// Evaluates `expr` of `module` with only `alert` bound, as matching does.
async fn with_alert(
    program: &Analysis,
    module: ModuleId,
    alert: &Value,
    expr: &Expr,
    actions: &dyn Actions,
    environment: &dyn Environment,
) -> Result<Value, EvalError> {
    let journal = MemoryJournal::default();
    let services = Services {
        actions,
        approver: &NoApprovals,
        journal: &journal,
        environment,
    };
    let bindings = HashMap::from([("alert".to_string(), alert.clone())]);
    evaluate(program, services, module, bindings, expr).await
}

fn source_of(program: &Analysis, module: ModuleId, expr: &Expr) -> String {
    let text = &program.file(program.module(module).file).text;
    text.get(expr.span.start..expr.span.end)
        .unwrap_or("")
        .to_string()
}

/// Matching never asks anyone: a `where` has no approval gates.
struct NoApprovals;

impl Approver for NoApprovals {
    fn request<'a>(&'a self, _request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision> {
        Box::pin(async {
            ApprovalDecision::Denied {
                by: "nobody (an alert trigger asks no one)".into(),
                channel: "trigger".into(),
            }
        })
    }
}

#[cfg(test)]
mod tests;

//! Structured logs: one JSON object per line on standard error, one line per decision (an
//! intake, a claim, a takeover, a reload), so that a log pipeline can follow every alert.

use std::io::Write;

use serde_json::{Map, Value};

/// Writes `{"at": …, "level": …, "event": EVENT, …fields}` as one line.
pub fn emit(level: &str, event: &str, fields: Value) {
    let mut line = Map::new();
    line.insert(
        "at".into(),
        rbk_interpreter::value::format_time(now_ms()).into(),
    );
    line.insert("level".into(), level.into());
    line.insert("event".into(), event.into());
    if let Value::Object(fields) = fields {
        line.extend(fields);
    }
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{}", Value::Object(line));
}

pub fn info(event: &str, fields: Value) {
    emit("info", event, fields);
}

pub fn warn(event: &str, fields: Value) {
    emit("warn", event, fields);
}

pub fn error(event: &str, fields: Value) {
    emit("error", event, fields);
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

//! Run-time values.

use std::collections::BTreeMap;
use std::fmt;

use rbk_compiler::types::Ty;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Milliseconds.
    Duration(u64),
    /// Percentage points: 70% is 70.0.
    Percent(f64),
    /// Bytes (`size("10Gi")`); negative only as the result of a subtraction.
    Size(i64),
    /// Milliseconds since the Unix epoch.
    Time(i64),
    Secret(Secret),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Record(BTreeMap<String, Value>),
    /// An opaque handle from an action (`pg.Database`): a type name and an id the action knows.
    Handle {
        type_name: String,
        id: String,
    },
}

/// A secret's value never prints: `Display` and `Debug` show only its name.
#[derive(Clone, PartialEq)]
pub struct Secret {
    pub name: String,
    value: String,
}

impl Secret {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Secret {
            name: name.into(),
            value: value.into(),
        }
    }

    /// The value, for actions that need it (a connection string, a token).
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "secret({})", self.name)
    }
}

impl Value {
    pub fn str(text: impl Into<String>) -> Value {
        Value::Str(text.into())
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "none",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Duration(_) => "duration",
            Value::Percent(_) => "percent",
            Value::Size(_) => "size",
            Value::Time(_) => "time",
            Value::Secret(_) => "secret",
            Value::List(_) => "list",
            Value::Map(_) => "map",
            Value::Record(_) => "record",
            Value::Handle { .. } => "handle",
        }
    }

    /// The value as JSON for the journal; secrets are replaced by their name.
    pub fn to_json(&self) -> serde_json::Value {
        self.json_with(&|type_name, id| serde_json::json!(format!("<{type_name} {id}>")))
    }

    /// The value as an approval's plan digest binds it: like [`Value::to_json`], but a handle
    /// is only its type. Its id numbers connections within one process, so a run that another
    /// worker resumes (or `rbk resume`) would otherwise ask again with a plan no earlier answer
    /// was for, and a step in doubt could never be answered.
    pub fn to_digest_json(&self) -> serde_json::Value {
        self.json_with(&|type_name, _| serde_json::json!(format!("<{type_name}>")))
    }

    fn json_with(&self, handle: &dyn Fn(&str, &str) -> serde_json::Value) -> serde_json::Value {
        use serde_json::json;
        match self {
            Value::None => serde_json::Value::Null,
            Value::Bool(b) => json!(b),
            Value::Int(i) => json!(i),
            Value::Float(x) => json!(x),
            Value::Str(s) => json!(s),
            Value::Duration(_) | Value::Percent(_) | Value::Size(_) | Value::Time(_) => {
                json!(self.to_string())
            }
            Value::Secret(secret) => json!(format!("<secret {}>", secret.name)),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(|v| v.json_with(handle)).collect())
            }
            Value::Map(map) | Value::Record(map) => serde_json::Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.json_with(handle)))
                    .collect(),
            ),
            Value::Handle { type_name, id } => handle(type_name, id),
        }
    }

    /// A value for `--input NAME=TEXT`, parsed by the declared type.
    pub fn parse_input(text: &str, ty: &Ty) -> Result<Value, InputError> {
        let text = text.trim();
        let refused = |expected| InputError::NotA {
            text: text.to_string(),
            expected,
        };
        match ty {
            Ty::Optional(inner) => {
                if text == "none" {
                    Ok(Value::None)
                } else {
                    Value::parse_input(text, inner)
                }
            }
            Ty::Str => Ok(Value::str(text)),
            Ty::Secret => Err(InputError::Secret),
            Ty::Bool => match text {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(refused(Expected::Bool)),
            },
            Ty::Int => text
                .parse()
                .map(Value::Int)
                .map_err(|_| refused(Expected::WholeNumber)),
            Ty::Float => text
                .parse()
                .map(Value::Float)
                .map_err(|_| refused(Expected::Number)),
            Ty::Percent => text
                .strip_suffix('%')
                .and_then(|n| n.parse().ok())
                .map(Value::Percent)
                .ok_or_else(|| refused(Expected::Percent)),
            Ty::Size => Value::parse_size(text),
            Ty::Duration => parse_duration(text)
                .map(Value::Duration)
                .ok_or_else(|| refused(Expected::Duration)),
            Ty::List(element) => {
                if text.is_empty() {
                    return Ok(Value::List(Vec::new()));
                }
                text.split(',')
                    .map(|part| Value::parse_input(part, element))
                    .collect::<Result<_, _>>()
                    .map(Value::List)
            }
            other => Err(InputError::Unsupported {
                ty: other.to_string(),
            }),
        }
    }
}

impl Value {
    /// A size from text (a Kubernetes quantity: `10Gi`, `500Mi`, `1G`, `4096`), for `size()`,
    /// `--input`, approval answers and natives alike. The error names the text and says why.
    pub fn parse_size(text: &str) -> Result<Value, InputError> {
        rbk_compiler::types::parse_size(text)
            .map(Value::Size)
            .map_err(|why| InputError::NotASize {
                text: text.trim().to_string(),
                why,
            })
    }
}

/// What a text given for a value of a declared type should have been.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    Bool,
    WholeNumber,
    Number,
    Percent,
    Duration,
}

/// Why a text is not a value of its declared type (`--input`, an asked value, a JSON input).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("secrets cannot be given on the command line; use secret(\"NAME\") as the default")]
    Secret,
    #[error("`{text}` is not {}", match expected {
        Expected::Bool => "a bool: write true or false",
        Expected::WholeNumber => "a whole number",
        Expected::Number => "a number",
        Expected::Percent => "a percent: write e.g. 70%",
        Expected::Duration => "a duration: write e.g. 30s, 5m, 1h30m",
    })]
    NotA { text: String, expected: Expected },
    #[error("`{text}` is not a size: {why}")]
    NotASize {
        text: String,
        #[source]
        why: rbk_compiler::types::SizeError,
    },
    #[error("inputs of type `{ty}` cannot be given on the command line")]
    Unsupported { ty: String },
}

/// Why a value a journal stored (a `let`, an input) cannot be read back.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StoredValueError {
    #[error("a stored value has no type tag")]
    NoTag,
    #[error("a stored {tag} value is malformed")]
    Malformed { tag: String },
    #[error("secret {name} is not set, so the run cannot resume")]
    SecretNotSet { name: String },
    #[error("unknown stored value type `{0}`")]
    UnknownType(String),
}

/// `250ms`, `30s`, `1h30m`.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u64 = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => return None,
        };
        total = total.checked_add(number.parse::<u64>().ok()?.checked_mul(unit)?)?;
        number.clear();
        any = true;
    }
    (any && number.is_empty()).then_some(total)
}

pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("none"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
            Value::Duration(ms) => f.write_str(&format_duration(*ms)),
            Value::Percent(p) => {
                if p.fract() == 0.0 && p.abs() < 1e15 {
                    write!(f, "{}%", *p as i64)
                } else {
                    write!(f, "{:.1}%", p)
                }
            }
            Value::Size(bytes) => f.write_str(&rbk_compiler::types::format_size(*bytes)),
            Value::Time(ms) => write!(f, "{}", format_time(*ms)),
            Value::Secret(secret) => write!(f, "<secret {}>", secret.name),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(map) | Value::Record(map) => {
                f.write_str("{")?;
                for (i, (key, value)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key}: {value}")?;
                }
                f.write_str("}")
            }
            Value::Handle { type_name, id } => write!(f, "<{type_name} {id}>"),
        }
    }
}

/// `string(x)`: what a person reads in a notification. A list of plain values is a comma
/// separated line (`api-1, api-2`); a list of records or maps puts one item per line as
/// `key: value, key: value`; an empty list is `(none)`. Anything else reads as interpolation
/// shows it (which keeps `[a, b]` brackets, as runbooks already rely on).
pub fn readable(value: &Value) -> String {
    match value {
        Value::List(items) if items.is_empty() => "(none)".to_string(),
        Value::List(items)
            if items
                .iter()
                .any(|item| matches!(item, Value::Record(_) | Value::Map(_))) =>
        {
            items
                .iter()
                .map(|item| match item {
                    Value::Record(fields) | Value::Map(fields) => fields
                        .iter()
                        .map(|(key, value)| format!("{key}: {value}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        Value::List(items) => items
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// RFC 3339 in UTC, without pulling in a date library for one format.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_of_a_list_reads_as_a_line_or_one_record_per_line() {
        let names = Value::List(vec![Value::Str("api-1".into()), Value::Str("api-2".into())]);
        assert_eq!(readable(&names), "api-1, api-2");
        assert_eq!(readable(&Value::List(vec![])), "(none)");
        let pod = |name: &str, restarts: i64| {
            Value::Record(
                [
                    ("name".to_string(), Value::Str(name.into())),
                    ("restarts".to_string(), Value::Int(restarts)),
                ]
                .into_iter()
                .collect(),
            )
        };
        assert_eq!(
            readable(&Value::List(vec![pod("api-1", 0), pod("api-2", 12)])),
            "name: api-1, restarts: 0\nname: api-2, restarts: 12"
        );
        assert_eq!(readable(&Value::Int(3)), "3");
    }

    #[test]
    fn a_plan_digest_sees_a_handle_s_type_but_not_its_process_local_id() {
        let handle = |id: &str| {
            Value::List(vec![Value::Handle {
                type_name: "postgres.Database".into(),
                id: id.into(),
            }])
        };
        assert_eq!(handle("1").to_digest_json(), handle("2").to_digest_json());
        assert_ne!(handle("1").to_json(), handle("2").to_json());
        let other = Value::List(vec![Value::Handle {
            type_name: "k8s.Cluster".into(),
            id: "1".into(),
        }]);
        assert_ne!(handle("1").to_digest_json(), other.to_digest_json());
    }

    #[test]
    fn durations_round_trip() {
        for text in ["250ms", "30s", "5m", "1h", "2d", "1h30m"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5x"), None);
    }

    #[test]
    fn secrets_never_print() {
        let value = Value::Secret(Secret::new("DB_URL", "postgres://user:hunter2@db"));
        assert!(!format!("{value} {value:?} {}", value.to_json()).contains("hunter2"));
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_764_072_000_000), "2025-11-25T12:00:00Z");
    }

    #[test]
    fn inputs_parse_by_type() {
        assert_eq!(
            Value::parse_input("70%", &Ty::Percent),
            Ok(Value::Percent(70.0))
        );
        assert_eq!(
            Value::parse_input("1h", &Ty::Duration),
            Ok(Value::Duration(3_600_000))
        );
        assert!(Value::parse_input("seventy", &Ty::Int).is_err());
        assert_eq!(
            Value::parse_input("10Gi", &Ty::Size),
            Ok(Value::Size(10 << 30))
        );
        assert_eq!(
            Value::parse_input("10GB", &Ty::Size).map_err(|e| e.to_string()),
            Err("`10GB` is not a size: `GB` is not a unit: use Ki Mi Gi Ti Pi Ei (powers of 1024), k M G T P E (powers of 1000) or none (bytes)".into())
        );
    }

    #[test]
    fn sizes_print_readably_and_are_stored_exactly() {
        assert_eq!(Value::Size(10 << 30).to_string(), "10Gi");
        assert_eq!(Value::Size(10 << 30).to_json(), serde_json::json!("10Gi"));
        let odd = Value::Size(11_134_123_457);
        let back = Value::from_stored(&odd.to_stored(), &|_| None).unwrap();
        assert_eq!(back, odd);
    }
}

/// Values in the journal for `rbk resume`: typed, so they come back as they were. A secret is
/// stored by name only and read again from the environment; nothing secret is ever written.
impl Value {
    pub fn to_stored(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Value::None => json!({"t": "none"}),
            Value::Bool(b) => json!({"t": "bool", "v": b}),
            Value::Int(i) => json!({"t": "int", "v": i}),
            Value::Float(x) => json!({"t": "float", "v": x}),
            Value::Str(s) => json!({"t": "string", "v": s}),
            Value::Duration(ms) => json!({"t": "duration", "v": ms}),
            Value::Percent(p) => json!({"t": "percent", "v": p}),
            Value::Size(bytes) => json!({"t": "size", "v": bytes}),
            Value::Time(ms) => json!({"t": "time", "v": ms}),
            Value::Secret(secret) => json!({"t": "secret", "name": secret.name}),
            Value::List(items) => {
                json!({"t": "list", "v": items.iter().map(Value::to_stored).collect::<Vec<_>>()})
            }
            Value::Map(map) => {
                json!({"t": "map", "v": map.iter().map(|(k, v)| (k.clone(), v.to_stored())).collect::<serde_json::Map<_, _>>()})
            }
            Value::Record(map) => {
                json!({"t": "record", "v": map.iter().map(|(k, v)| (k.clone(), v.to_stored())).collect::<serde_json::Map<_, _>>()})
            }
            Value::Handle { type_name, id } => json!({"t": "handle", "type": type_name, "id": id}),
        }
    }

    /// The inverse of [`Value::to_stored`]; `secret` looks a secret up by name.
    pub fn from_stored(
        stored: &serde_json::Value,
        secret: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Value, StoredValueError> {
        let tag = stored
            .get("t")
            .and_then(|t| t.as_str())
            .ok_or(StoredValueError::NoTag)?;
        let v = stored.get("v");
        let bad = || StoredValueError::Malformed {
            tag: tag.to_string(),
        };
        Ok(match tag {
            "none" => Value::None,
            "bool" => Value::Bool(v.and_then(|v| v.as_bool()).ok_or_else(bad)?),
            "int" => Value::Int(v.and_then(|v| v.as_i64()).ok_or_else(bad)?),
            "float" => Value::Float(v.and_then(|v| v.as_f64()).ok_or_else(bad)?),
            "string" => Value::Str(v.and_then(|v| v.as_str()).ok_or_else(bad)?.to_string()),
            "duration" => Value::Duration(v.and_then(|v| v.as_u64()).ok_or_else(bad)?),
            "percent" => Value::Percent(v.and_then(|v| v.as_f64()).ok_or_else(bad)?),
            "size" => Value::Size(v.and_then(|v| v.as_i64()).ok_or_else(bad)?),
            "time" => Value::Time(v.and_then(|v| v.as_i64()).ok_or_else(bad)?),
            "secret" => {
                let name = stored
                    .get("name")
                    .and_then(|n| n.as_str())
                    .ok_or_else(bad)?;
                let value = secret(name).ok_or_else(|| StoredValueError::SecretNotSet {
                    name: name.to_string(),
                })?;
                Value::Secret(Secret::new(name, value))
            }
            "list" => Value::List(
                v.and_then(|v| v.as_array())
                    .ok_or_else(bad)?
                    .iter()
                    .map(|item| Value::from_stored(item, secret))
                    .collect::<Result<_, _>>()?,
            ),
            "map" | "record" => {
                let object = v.and_then(|v| v.as_object()).ok_or_else(bad)?;
                let map = object
                    .iter()
                    .map(|(k, item)| Ok((k.clone(), Value::from_stored(item, secret)?)))
                    .collect::<Result<BTreeMap<_, _>, StoredValueError>>()?;
                if tag == "map" {
                    Value::Map(map)
                } else {
                    Value::Record(map)
                }
            }
            "handle" => Value::Handle {
                type_name: stored
                    .get("type")
                    .and_then(|t| t.as_str())
                    .ok_or_else(bad)?
                    .to_string(),
                id: stored
                    .get("id")
                    .and_then(|t| t.as_str())
                    .ok_or_else(bad)?
                    .to_string(),
            },
            other => return Err(StoredValueError::UnknownType(other.to_string())),
        })
    }

    /// True when the value holds a handle from an action (which a new process cannot reuse).
    pub fn holds_handle(&self) -> bool {
        match self {
            Value::Handle { .. } => true,
            Value::List(items) => items.iter().any(Value::holds_handle),
            Value::Map(map) | Value::Record(map) => map.values().any(Value::holds_handle),
            _ => false,
        }
    }
}

#[cfg(test)]
mod stored_tests {
    use super::*;

    #[test]
    fn stored_values_round_trip_and_secrets_stay_out() {
        let mut record = BTreeMap::new();
        record.insert("pid".to_string(), Value::Int(4242));
        record.insert("idle".to_string(), Value::Duration(7_200_000));
        let value = Value::List(vec![
            Value::Record(record),
            Value::Percent(12.5),
            Value::Secret(Secret::new("TOKEN", "hunter2")),
            Value::Time(-5),
            Value::None,
        ]);
        let stored = value.to_stored();
        assert!(!stored.to_string().contains("hunter2"));
        let back = Value::from_stored(&stored, &|name| {
            (name == "TOKEN").then(|| "hunter2".to_string())
        })
        .unwrap();
        assert_eq!(back, value);
        assert!(Value::from_stored(&stored, &|_| None)
            .unwrap_err()
            .to_string()
            .contains("TOKEN"));
    }
}

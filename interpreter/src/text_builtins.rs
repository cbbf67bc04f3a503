//! The builtins that read what commands and APIs return. Every failure names the builtin and
//! the value it could not read, so a run's error says which value failed and why.

use std::collections::BTreeMap;

use rbk_compiler::types::Builtin;

use crate::operators::RuntimeError;
use crate::Value;

/// Longest piece of a value quoted in an error, in characters.
const QUOTED: usize = 80;

pub fn text_builtin(builtin: Builtin, values: &[Value]) -> Result<Value, RuntimeError> {
    let arg = |i: usize| values.get(i).cloned().unwrap_or(Value::None);
    let text = |i: usize| -> Result<String, RuntimeError> {
        match arg(i) {
            Value::Str(s) => Ok(s),
            found => Err(RuntimeError::NotAString {
                builtin: builtin.name(),
                found,
            }),
        }
    };
    Ok(match builtin {
        Builtin::Json => {
            let source = text(0)?;
            match serde_json::from_str::<serde_json::Value>(&source) {
                Ok(parsed) => from_json(&parsed),
                Err(error) => {
                    return Err(RuntimeError::NotJson {
                        text: source,
                        error,
                    })
                }
            }
        }
        Builtin::Int => match arg(0) {
            Value::Int(i) => Value::Int(i),
            Value::Float(x) if x.is_finite() && x.trunc().abs() < 9.2e18 => {
                Value::Int(x.trunc() as i64)
            }
            Value::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => return Err(not_a("int", "a whole number", &Value::Str(s))),
            },
            other => return Err(not_a("int", "a whole number", &other)),
        },
        Builtin::Float => match arg(0) {
            Value::Int(i) => Value::Float(i as f64),
            Value::Float(x) => Value::Float(x),
            Value::Str(s) => match s.trim().parse::<f64>() {
                Ok(x) if x.is_finite() => Value::Float(x),
                _ => return Err(not_a("float", "a number", &Value::Str(s))),
            },
            other => return Err(not_a("float", "a number", &other)),
        },
        Builtin::Bool => match arg(0) {
            Value::Bool(b) => Value::Bool(b),
            Value::Str(s) if s.trim().eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::Str(s) if s.trim().eq_ignore_ascii_case("false") => Value::Bool(false),
            other => return Err(not_a("bool", "true or false", &other)),
        },
        Builtin::Size => match arg(0) {
            Value::Size(bytes) => Value::Size(bytes),
            // A JSON number is a byte count.
            Value::Int(bytes) if bytes >= 0 => Value::Size(bytes),
            Value::Str(s) => Value::parse_size(&s).map_err(RuntimeError::Size)?,
            other => return Err(not_a("size", "a quantity such as \"10Gi\"", &other)),
        },
        Builtin::Trim => Value::Str(text(0)?.trim().to_string()),
        Builtin::Lower => Value::Str(text(0)?.to_lowercase()),
        Builtin::Upper => Value::Str(text(0)?.to_uppercase()),
        Builtin::Lines => Value::List(text(0)?.lines().map(Value::str).collect()),
        Builtin::Split => {
            let (whole, separator) = (text(0)?, text(1)?);
            let parts: Vec<Value> = if separator.is_empty() {
                whole.split_whitespace().map(Value::str).collect()
            } else {
                whole.split(separator.as_str()).map(Value::str).collect()
            };
            Value::List(parts)
        }
        Builtin::Join => {
            let separator = text(1)?;
            match arg(0) {
                Value::List(items) => Value::Str(
                    items
                        .iter()
                        .map(|item| item.to_string())
                        .collect::<Vec<_>>()
                        .join(&separator),
                ),
                other => return Err(not_a("join", "a list", &other)),
            }
        }
        Builtin::Replace => Value::Str(text(0)?.replace(text(1)?.as_str(), &text(2)?)),
        Builtin::StartsWith => Value::Bool(text(0)?.starts_with(text(1)?.as_str())),
        Builtin::EndsWith => Value::Bool(text(0)?.ends_with(text(1)?.as_str())),
        Builtin::Matches | Builtin::Capture => {
            let (subject, pattern) = (text(0)?, text(1)?);
            let regex = regex::Regex::new(&pattern).map_err(|error| RuntimeError::BadPattern {
                builtin: builtin.name(),
                pattern: pattern.clone(),
                error,
            })?;
            if builtin == Builtin::Matches {
                Value::Bool(regex.is_match(&subject))
            } else {
                match regex.captures(&subject) {
                    Some(groups) => Value::List(
                        groups
                            .iter()
                            .map(|group| Value::str(group.map_or("", |m| m.as_str())))
                            .collect(),
                    ),
                    None => Value::None,
                }
            }
        }
        Builtin::UrlEncode => {
            Value::Str(percent_encoding::utf8_percent_encode(&text(0)?, URL_COMPONENT).to_string())
        }
        other => return Err(RuntimeError::NotText(other.name())),
    })
}

/// Everything but RFC 3986's unreserved characters.
const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A JSON document as rbk values: objects are maps, arrays lists, `null` is `none`.
pub fn from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(fields) => Value::Map(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

fn not_a(builtin: &'static str, wanted: &'static str, value: &Value) -> RuntimeError {
    RuntimeError::NotA {
        builtin,
        wanted,
        value: value.clone(),
    }
}

pub(crate) fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

/// The value as the error shows it: strings quoted (so blanks are visible), long ones cut.
pub(crate) fn quoted(value: &Value) -> String {
    let shown = match value {
        Value::Str(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if shown.chars().count() > QUOTED {
        let cut: String = shown.chars().take(QUOTED).collect();
        format!("{cut}… ({} characters)", shown.chars().count())
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(builtin: Builtin, values: &[Value]) -> Result<Value, String> {
        text_builtin(builtin, values).map_err(|e| e.to_string())
    }

    #[test]
    fn numbers_are_read_from_text_and_a_bad_one_is_named() {
        assert_eq!(
            call(Builtin::Int, &[Value::str(" 42\n")]),
            Ok(Value::Int(42))
        );
        assert_eq!(
            call(Builtin::Float, &[Value::str("0.75")]),
            Ok(Value::Float(0.75))
        );
        assert_eq!(
            call(Builtin::Int, &[Value::Float(-2.9)]),
            Ok(Value::Int(-2))
        );
        assert_eq!(
            call(Builtin::Int, &[Value::str("83%")]),
            Err("int(): a string \"83%\" is not a whole number".to_string())
        );
        assert_eq!(
            call(Builtin::Float, &[Value::str("NaN")]),
            Err("float(): a string \"NaN\" is not a number".to_string())
        );
        assert_eq!(
            call(Builtin::Int, &[Value::None]),
            Err("int(): a none none is not a whole number".to_string())
        );
    }

    #[test]
    fn json_reads_documents_and_says_where_it_is_not_json() {
        let doc = call(
            Builtin::Json,
            &[Value::str(
                r#"{"items": [{"name": "api-1", "restarts": 7}], "ok": true}"#,
            )],
        )
        .unwrap();
        let Value::Map(fields) = &doc else {
            panic!("{doc:?}")
        };
        assert_eq!(fields["ok"], Value::Bool(true));
        let Value::List(items) = &fields["items"] else {
            panic!()
        };
        let Value::Map(pod) = &items[0] else { panic!() };
        assert_eq!(pod["restarts"], Value::Int(7));
        let error = call(Builtin::Json, &[Value::str("{\"a\": }")]).unwrap_err();
        assert!(
            error.starts_with("json(): the text is not JSON (expected value at line 1 column 7)"),
            "{error}"
        );
    }

    #[test]
    fn text_is_split_joined_and_matched() {
        assert_eq!(
            call(Builtin::Lines, &[Value::str("a\r\nb\n")]),
            Ok(Value::List(vec![Value::str("a"), Value::str("b")]))
        );
        assert_eq!(
            call(Builtin::Split, &[Value::str(" x  y "), Value::str("")]),
            Ok(Value::List(vec![Value::str("x"), Value::str("y")]))
        );
        assert_eq!(
            call(
                Builtin::Join,
                &[
                    Value::List(vec![Value::Int(1), Value::str("b")]),
                    Value::str(", ")
                ]
            ),
            Ok(Value::str("1, b"))
        );
        assert_eq!(
            call(
                Builtin::Capture,
                &[Value::str("/dev/sda1 83% /"), Value::str(r"(\d+)%")]
            ),
            Ok(Value::List(vec![Value::str("83%"), Value::str("83")]))
        );
        assert_eq!(
            call(
                Builtin::Capture,
                &[Value::str("nothing"), Value::str(r"(\d+)%")]
            ),
            Ok(Value::None)
        );
        assert_eq!(
            call(Builtin::UrlEncode, &[Value::str("a b/c?d=é")]),
            Ok(Value::str("a%20b%2Fc%3Fd%3D%C3%A9"))
        );
        let bad = call(Builtin::Matches, &[Value::str("x"), Value::str("(")]).unwrap_err();
        assert!(
            bad.starts_with("matches(): the pattern \"(\" is not a regular expression"),
            "{bad}"
        );
    }

    #[test]
    fn size_reads_quantities_and_names_the_value_it_cannot_read() {
        assert_eq!(
            call(Builtin::Size, &[Value::str("10Gi")]),
            Ok(Value::Size(10 << 30))
        );
        assert_eq!(
            call(Builtin::Size, &[Value::Int(4096)]),
            Ok(Value::Size(4096))
        );
        let error = call(Builtin::Size, &[Value::str("ten gigs")]).unwrap_err();
        assert_eq!(
            error,
            "size(): `ten gigs` is not a size: it does not start with a number"
        );
        let error = call(Builtin::Size, &[Value::Bool(true)]).unwrap_err();
        assert!(error.contains("a bool true is not a quantity"), "{error}");
    }
}

//! Values an approval gate asks its approver for (`approval required ... ask { new_size: int }`).
//! Every channel hands over what the person typed as text; [`check_given`] is the one place that
//! decides whether it answers the gate (every asked field, nothing else, each parsed by its
//! type with the rules of `rbk run --input`), and [`typed_values`] turns the journaled text into
//! the values the step reads as `approval.NAME`. A resumed run parses the same journaled text,
//! so it gets the same values.

use std::collections::BTreeMap;

use rbk_compiler::types::askable_type;
use serde::{Deserialize, Serialize};

use crate::value::{InputError, Value};

/// One asked field as the journal keeps it: its name and the type it was declared with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskedValue {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
}

/// What an approver typed, by field name.
pub type GivenValues = BTreeMap<String, String>;

/// The asked fields of a step's gate, as written.
pub fn asks_of(options: &[rbk_compiler::syntax::StepOption]) -> Vec<AskedValue> {
    rbk_compiler::syntax::asked_fields(options)
        .iter()
        .map(|field| AskedValue {
            name: field.name.name.clone(),
            ty: field.type_name().unwrap_or("?").to_string(),
        })
        .collect()
}

/// `new_size (int), reason (string)`, for messages.
pub fn describe(asks: &[AskedValue]) -> String {
    asks.iter()
        .map(|a| format!("{} ({})", a.name, a.ty))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why what an approver gave does not answer the gate; the texts say what to do instead.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum AskedValueError {
    #[error("`{name}` is asked as `{ty}`, which an approver cannot give")]
    NotAskable { name: String, ty: String },
    #[error("`{name}` must be of type `{ty}`: {why}")]
    WrongType {
        name: String,
        ty: String,
        #[source]
        why: InputError,
    },
    #[error("this approval asks for no values, and `{name}` was given: approve without values")]
    NoneAsked { name: String },
    #[error(
        "this approval does not ask for `{name}`: it asks for {}",
        describe(asks)
    )]
    NotAsked { name: String, asks: Vec<AskedValue> },
    #[error(
        "the approval needs a value for `{}` ({}): it asks for {}",
        missing.name,
        missing.ty,
        describe(asks)
    )]
    Missing {
        missing: AskedValue,
        asks: Vec<AskedValue>,
    },
}

/// One value parsed by its asked type; the error names the field and the type expected.
pub fn parse_asked(asked: &AskedValue, text: &str) -> Result<Value, AskedValueError> {
    let Some(ty) = askable_type(&asked.ty) else {
        return Err(AskedValueError::NotAskable {
            name: asked.name.clone(),
            ty: asked.ty.clone(),
        });
    };
    Value::parse_input(text, &ty).map_err(|why| AskedValueError::WrongType {
        name: asked.name.clone(),
        ty: asked.ty.clone(),
        why,
    })
}

/// Whether `given` answers a gate that asks `asks`, for an approval: every asked field has a
/// value of its type (a blank one is missing, as an empty form field is), and nothing else is
/// given. The values as they will be journaled (trimmed), or what is wrong and what to do.
pub fn check_given(
    asks: &[AskedValue],
    given: &GivenValues,
) -> Result<GivenValues, AskedValueError> {
    if asks.is_empty() {
        if let Some(name) = given.keys().next() {
            return Err(AskedValueError::NoneAsked { name: name.clone() });
        }
        return Ok(GivenValues::new());
    }
    if let Some(name) = given.keys().find(|n| !asks.iter().any(|a| &a.name == *n)) {
        return Err(AskedValueError::NotAsked {
            name: name.clone(),
            asks: asks.to_vec(),
        });
    }
    let mut checked = GivenValues::new();
    for asked in asks {
        let text = given.get(&asked.name).map(|t| t.trim()).unwrap_or("");
        if text.is_empty() {
            return Err(AskedValueError::Missing {
                missing: asked.clone(),
                asks: asks.to_vec(),
            });
        }
        parse_asked(asked, text)?;
        checked.insert(asked.name.clone(), text.to_string());
    }
    Ok(checked)
}

/// The journaled values as the step reads them: the record `approval`.
pub fn typed_values(
    asks: &[AskedValue],
    given: &GivenValues,
) -> Result<BTreeMap<String, Value>, AskedValueError> {
    let checked = check_given(asks, given)?;
    asks.iter()
        .map(|asked| {
            let text = checked.get(&asked.name).map_or("", String::as_str);
            parse_asked(asked, text).map(|value| (asked.name.clone(), value))
        })
        .collect()
}

/// `new_size=5, reason=disk full`, for logs and messages.
pub fn render(given: &GivenValues) -> String {
    given
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asks() -> Vec<AskedValue> {
        vec![
            AskedValue {
                name: "new_size".into(),
                ty: "int".into(),
            },
            AskedValue {
                name: "wait".into(),
                ty: "duration".into(),
            },
        ]
    }

    fn given(pairs: &[(&str, &str)]) -> GivenValues {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_asked_value_parses_by_its_type() {
        let values = typed_values(&asks(), &given(&[("new_size", " 5 "), ("wait", "2m")])).unwrap();
        assert_eq!(values["new_size"], Value::Int(5));
        assert_eq!(values["wait"], Value::Duration(120_000));
    }

    #[test]
    fn an_ill_typed_value_names_the_field_and_the_type() {
        let error = check_given(&asks(), &given(&[("new_size", "five"), ("wait", "2m")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`new_size` must be of type `int`"),
            "{error}"
        );
        assert!(error.contains("five"), "{error}");
    }

    #[test]
    fn a_missing_or_blank_value_is_refused() {
        let error = check_given(&asks(), &given(&[("new_size", "5")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("needs a value for `wait` (duration)"),
            "{error}"
        );
        let error = check_given(&asks(), &given(&[("new_size", "5"), ("wait", "  ")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("needs a value for `wait`"), "{error}");
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let error = check_given(
            &asks(),
            &given(&[("new_size", "5"), ("wait", "1m"), ("force", "true")]),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("does not ask for `force`"), "{error}");
    }

    #[test]
    fn values_for_a_gate_that_asks_none_are_refused() {
        let error = check_given(&[], &given(&[("new_size", "5")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("asks for no values"), "{error}");
        assert!(check_given(&[], &GivenValues::new()).unwrap().is_empty());
    }

    #[test]
    fn every_askable_type_has_a_parser() {
        for name in rbk_compiler::types::ASKABLE_TYPES {
            let asked = AskedValue {
                name: "x".into(),
                ty: name.to_string(),
            };
            let sample = match *name {
                "int" => "3",
                "float" => "2.5",
                "bool" => "true",
                "string" => "text",
                "duration" => "30s",
                "percent" => "70%",
                "size" => "10Gi",
                other => panic!("add a sample for the askable type `{other}`"),
            };
            assert!(
                parse_asked(&asked, sample).is_ok(),
                "{name} did not parse {sample}"
            );
        }
    }
}

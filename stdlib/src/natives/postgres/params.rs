//! Bind parameters for `pg.query` and `pg.execute`: `$1..$n` in the SQL, values sent apart
//! from it, so a value is only ever data and never SQL.
//!
//! Each value travels in PostgreSQL's text format, as `psql`'s `\bind` or libpq's
//! `PQexecParams` send them: the server parses it as whatever type the statement gives the
//! parameter (`pid = $1` makes `$1` an `int4`, `$1::interval` an interval). So one `list<string>`
//! serves every column type, and a value that is not valid for its type fails the step with the
//! server's own message (`invalid input syntax for type integer: "abc"`).

use std::error::Error;

use bytes::BytesMut;
use rbk_interpreter::{ActionCall, ActionError, Value};
use tokio_postgres::types::{to_sql_checked, Format, IsNull, ToSql, Type};

/// One parameter's text, or SQL NULL.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TextParam(pub Option<String>);

impl ToSql for TextParam {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match &self.0 {
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    /// Any type: the server parses the text, and says so when it cannot.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// The call's `params` (absent in calls written before they existed): each value as text.
pub(super) fn params_arg(call: &ActionCall) -> Result<Vec<TextParam>, ActionError> {
    let items = match call.arg("params") {
        None | Some(Value::None) => return Ok(Vec::new()),
        Some(Value::List(items)) => items,
        Some(other) => {
            return Err(ActionError::new(format!(
                "params must be a list of strings, not a {}",
                other.type_name()
            )))
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(index, value)| {
            Ok(TextParam(match value {
                Value::Str(text) => Some(text.clone()),
                Value::Int(n) => Some(n.to_string()),
                Value::Float(x) => Some(x.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                Value::None => None,
                other => {
                    return Err(ActionError::new(format!(
                        "params[{index}] (${}) is a {}; bind parameters are strings",
                        index + 1,
                        other.type_name()
                    )))
                }
            }))
        })
        .collect()
}

/// Fails before running anything when the statement's `$n` and the values do not match.
pub(super) fn check_count(expected: usize, given: &[TextParam]) -> Result<(), ActionError> {
    if expected == given.len() {
        return Ok(());
    }
    let wants = match expected {
        0 => "no parameters ($1, $2, ...)".to_string(),
        1 => "1 parameter ($1)".to_string(),
        n => format!("{n} parameters ($1..${n})"),
    };
    Err(ActionError::new(format!(
        "the SQL takes {wants} but params has {} value{}; nothing was run",
        given.len(),
        if given.len() == 1 { "" } else { "s" }
    )))
}

/// The values as tokio-postgres takes them.
pub(super) fn as_sql(params: &[TextParam]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_must_match_the_statement() {
        let two = [TextParam(Some("a".into())), TextParam(None)];
        assert!(check_count(2, &two).is_ok());
        assert_eq!(
            check_count(3, &two).unwrap_err().message,
            "the SQL takes 3 parameters ($1..$3) but params has 2 values; nothing was run"
        );
        assert_eq!(
            check_count(0, &two[..1]).unwrap_err().message,
            "the SQL takes no parameters ($1, $2, ...) but params has 1 value; nothing was run"
        );
    }
}

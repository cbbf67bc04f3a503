//! Operators and the builtins that need no lambda, on run-time values.

use std::cmp::Ordering;

use rbk_compiler::syntax::BinaryOp;
use rbk_compiler::types::Builtin;

use crate::value::Value;

pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Float(x), Value::Float(y)) | (Value::Percent(x), Value::Percent(y)) => {
            x.partial_cmp(y)
        }
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::Time(x), Value::Time(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        _ => a == b,
    }
}

pub fn binary(op: BinaryOp, left: Value, right: Value) -> Result<Value, String> {
    use Value::*;
    let overflow = || "arithmetic overflow".to_string();
    Ok(match op {
        BinaryOp::Eq => Bool(equal(&left, &right)),
        BinaryOp::Ne => Bool(!equal(&left, &right)),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let ordering = compare(&left, &right).ok_or_else(|| {
                format!(
                    "cannot compare a {} with a {}",
                    left.type_name(),
                    right.type_name()
                )
            })?;
            Bool(match op {
                BinaryOp::Lt => ordering == Ordering::Less,
                BinaryOp::Le => ordering != Ordering::Greater,
                BinaryOp::Gt => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            })
        }
        BinaryOp::Add => match (left, right) {
            (Int(a), Int(b)) => Int(a.checked_add(b).ok_or_else(overflow)?),
            (Duration(a), Duration(b)) => Duration(a.checked_add(b).ok_or_else(overflow)?),
            (Percent(a), Percent(b)) => Percent(a + b),
            (Time(t), Duration(d)) | (Duration(d), Time(t)) => Time(t.saturating_add(d as i64)),
            (Str(a), Str(b)) => Str(a + &b),
            (List(mut a), List(b)) => {
                a.extend(b);
                List(a)
            }
            (a, b) => Float(number(&a)? + number(&b)?),
        },
        BinaryOp::Sub => match (left, right) {
            (Int(a), Int(b)) => Int(a.checked_sub(b).ok_or_else(overflow)?),
            (Duration(a), Duration(b)) => Duration(a.saturating_sub(b)),
            (Percent(a), Percent(b)) => Percent(a - b),
            (Time(t), Duration(d)) => Time(t.saturating_sub(d as i64)),
            (Time(a), Time(b)) => Duration(a.saturating_sub(b).max(0) as u64),
            (a, b) => Float(number(&a)? - number(&b)?),
        },
        BinaryOp::Mul => match (left, right) {
            (Int(a), Int(b)) => Int(a.checked_mul(b).ok_or_else(overflow)?),
            (Duration(d), n) | (n, Duration(d)) => {
                Duration((d as f64 * number(&n)?).max(0.0) as u64)
            }
            (Percent(p), n) | (n, Percent(p)) => Percent(p * number(&n)?),
            (a, b) => Float(number(&a)? * number(&b)?),
        },
        BinaryOp::Div => match (left, right) {
            (_, Int(0)) => return Err("division by zero".into()),
            (Int(a), Int(b)) => Int(a.checked_div(b).ok_or_else(overflow)?),
            (Duration(a), Duration(b)) if b > 0 => Float(a as f64 / b as f64),
            (Percent(a), Percent(b)) if b != 0.0 => Float(a / b),
            (Duration(d), n) => Duration((d as f64 / number(&n)?).max(0.0) as u64),
            (Percent(p), n) => Percent(p / number(&n)?),
            (a, b) => {
                let divisor = number(&b)?;
                if divisor == 0.0 {
                    return Err("division by zero".into());
                }
                Float(number(&a)? / divisor)
            }
        },
        BinaryOp::And | BinaryOp::Or | BinaryOp::Coalesce => {
            return Err("short-circuit operator evaluated eagerly".into())
        }
    })
}

fn number(value: &Value) -> Result<f64, String> {
    match value {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(x) => Ok(*x),
        other => Err(format!("expected a number, found a {}", other.type_name())),
    }
}

/// Builtins over already evaluated arguments.
pub fn simple_builtin(builtin: Builtin, mut values: Vec<Value>) -> Result<Value, String> {
    let first = values.first().cloned().unwrap_or(Value::None);
    match builtin {
        Builtin::Len => Ok(Value::Int(match &first {
            Value::List(items) => items.len() as i64,
            Value::Map(map) | Value::Record(map) => map.len() as i64,
            Value::Str(s) => s.chars().count() as i64,
            other => return Err(format!("len of a {}", other.type_name())),
        })),
        Builtin::First => match first {
            Value::List(items) => items
                .into_iter()
                .next()
                .ok_or_else(|| "first() of an empty list".to_string()),
            other => Err(format!("first of a {}", other.type_name())),
        },
        Builtin::Min | Builtin::Max => {
            let items = if values.len() == 1 {
                match values.pop() {
                    Some(Value::List(items)) => items,
                    Some(other) => vec![other],
                    None => Vec::new(),
                }
            } else {
                values
            };
            let wanted = if builtin == Builtin::Min {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let mut best: Option<Value> = None;
            for item in items {
                best = match best {
                    Some(current) if compare(&item, &current) != Some(wanted) => Some(current),
                    _ => Some(item),
                };
            }
            best.ok_or_else(|| format!("{}() of an empty list", builtin.name()))
        }
        Builtin::Sum => match first {
            Value::List(items) => {
                let mut total = match items.first() {
                    Some(Value::Duration(_)) => Value::Duration(0),
                    Some(Value::Percent(_)) => Value::Percent(0.0),
                    Some(Value::Float(_)) => Value::Float(0.0),
                    _ => Value::Int(0),
                };
                for item in items {
                    total = binary(BinaryOp::Add, total, item)?;
                }
                Ok(total)
            }
            other => Err(format!("sum of a {}", other.type_name())),
        },
        Builtin::Contains => {
            let needle = values.get(1).cloned().unwrap_or(Value::None);
            Ok(Value::Bool(match (&first, &needle) {
                (Value::List(items), _) => items.iter().any(|i| equal(i, &needle)),
                (Value::Map(map), Value::Str(key)) => map.contains_key(key),
                (Value::Str(s), Value::Str(part)) => s.contains(part.as_str()),
                _ => false,
            }))
        }
        Builtin::String => Ok(Value::Str(first.to_string())),
        other => Err(format!("{}() needs the run's context", other.name())),
    }
}

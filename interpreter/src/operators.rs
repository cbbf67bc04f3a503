//! Operators and the builtins that need no lambda, on run-time values.

use std::cmp::Ordering;

use rbk_compiler::syntax::BinaryOp;
use rbk_compiler::types::Builtin;

use crate::value::{format_duration, InputError, Value};

/// A run-time failure of an operator or builtin: the step fails with this text, which says
/// what was computed and why it has no value.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("arithmetic overflow")]
    Overflow,
    #[error("cannot compare a {left} with a {right}")]
    CannotCompare {
        left: &'static str,
        right: &'static str,
    },
    #[error("size out of range: the result is larger than 8Ei")]
    SizeOutOfRange,
    /// `0` is the computation as written (`2m - 5m`).
    #[error("duration out of range: {0} is negative (durations cannot be)")]
    NegativeDuration(String),
    #[error("duration out of range: {0} is longer than the longest duration")]
    DurationTooLong(String),
    #[error("time out of range: {0}")]
    TimeOutOfRange(String),
    #[error("division by zero")]
    DivisionByZero,
    #[error("division by a zero size")]
    DivisionByZeroSize,
    #[error("expected a number, found a {0}")]
    NotANumber(&'static str),
    #[error("short-circuit operator evaluated eagerly")]
    Eager,
    /// `len`, `first` or `sum` of a value that has none.
    #[error("{builtin} of a {found}")]
    WrongKind {
        builtin: &'static str,
        found: &'static str,
    },
    #[error("{0}() of an empty list")]
    EmptyList(&'static str),
    #[error("{0}() needs the run's context")]
    NeedsContext(&'static str),
    #[error("{0}() takes a function")]
    TakesAFunction(&'static str),
    #[error(
        "{builtin}() takes a string, found {} {}",
        crate::text_builtins::article(found.type_name()),
        crate::text_builtins::quoted(found)
    )]
    NotAString { builtin: &'static str, found: Value },
    #[error(
        "json(): the text is not JSON ({error}): {}",
        crate::text_builtins::quoted(&Value::Str(text.clone()))
    )]
    NotJson {
        text: String,
        #[source]
        error: serde_json::Error,
    },
    /// `builtin()` cannot read `value` as `wanted` ("a whole number").
    #[error(
        "{builtin}(): {} {} is not {wanted}",
        crate::text_builtins::article(value.type_name()),
        crate::text_builtins::quoted(value)
    )]
    NotA {
        builtin: &'static str,
        wanted: &'static str,
        value: Value,
    },
    #[error("size(): {0}")]
    Size(#[source] InputError),
    #[error(
        "{builtin}(): the pattern {} is not a regular expression: {error}",
        crate::text_builtins::quoted(&Value::Str(pattern.clone()))
    )]
    BadPattern {
        builtin: &'static str,
        pattern: String,
        #[source]
        error: regex::Error,
    },
    #[error("{0}() is not a text builtin")]
    NotText(&'static str),
}

pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Float(x), Value::Float(y)) | (Value::Percent(x), Value::Percent(y)) => {
            x.partial_cmp(y)
        }
        (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::Size(x), Value::Size(y)) => Some(x.cmp(y)),
        (Value::Time(x), Value::Time(y)) => Some(x.cmp(y)),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        _ => a == b,
    }
}

pub fn binary(op: BinaryOp, left: Value, right: Value) -> Result<Value, RuntimeError> {
    use Value::*;
    let overflow = || RuntimeError::Overflow;
    Ok(match op {
        BinaryOp::Eq => Bool(equal(&left, &right)),
        BinaryOp::Ne => Bool(!equal(&left, &right)),
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            let ordering = compare(&left, &right).ok_or_else(|| RuntimeError::CannotCompare {
                left: left.type_name(),
                right: right.type_name(),
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
            (Duration(a), Duration(b)) => duration(i128::from(a) + i128::from(b), || {
                format!("{} + {}", format_duration(a), format_duration(b))
            })?,
            (Percent(a), Percent(b)) => Percent(a + b),
            (Size(a), Size(b)) => Size(a.checked_add(b).ok_or_else(size_overflow)?),
            (Time(t), Duration(d)) | (Duration(d), Time(t)) => {
                time(i128::from(t) + i128::from(d), || {
                    format!("a time + {}", format_duration(d))
                })?
            }
            (Str(a), Str(b)) => Str(a + &b),
            (List(mut a), List(b)) => {
                a.extend(b);
                List(a)
            }
            (a, b) => Float(number(&a)? + number(&b)?),
        },
        BinaryOp::Sub => match (left, right) {
            (Int(a), Int(b)) => Int(a.checked_sub(b).ok_or_else(overflow)?),
            (Duration(a), Duration(b)) => duration(i128::from(a) - i128::from(b), || {
                format!("{} - {}", format_duration(a), format_duration(b))
            })?,
            (Percent(a), Percent(b)) => Percent(a - b),
            (Size(a), Size(b)) => Size(a.checked_sub(b).ok_or_else(size_overflow)?),
            (Time(t), Duration(d)) => time(i128::from(t) - i128::from(d), || {
                format!("a time - {}", format_duration(d))
            })?,
            (Time(a), Time(b)) => duration(i128::from(a) - i128::from(b), || {
                "a time minus a later time".to_string()
            })?,
            (a, b) => Float(number(&a)? - number(&b)?),
        },
        BinaryOp::Mul => match (left, right) {
            (Int(a), Int(b)) => Int(a.checked_mul(b).ok_or_else(overflow)?),
            (Duration(d), n) | (n, Duration(d)) => {
                let factor = number(&n)?;
                scaled(d, factor, || format!("{} * {factor}", format_duration(d)))?
            }
            (Size(bytes), Percent(p)) | (Percent(p), Size(bytes)) => scaled_size(bytes, p / 100.0)?,
            (Size(bytes), n) | (n, Size(bytes)) => scaled_size(bytes, number(&n)?)?,
            (Percent(p), n) | (n, Percent(p)) => Percent(p * number(&n)?),
            (a, b) => Float(number(&a)? * number(&b)?),
        },
        BinaryOp::Div => match (left, right) {
            (_, Int(0)) => return Err(RuntimeError::DivisionByZero),
            (Int(a), Int(b)) => Int(a.checked_div(b).ok_or_else(overflow)?),
            (Duration(a), Duration(b)) if b > 0 => Float(a as f64 / b as f64),
            (Percent(a), Percent(b)) if b != 0.0 => Float(a / b),
            (Size(a), Size(b)) if b != 0 => Float(a as f64 / b as f64),
            (Size(_), Size(_)) => return Err(RuntimeError::DivisionByZeroSize),
            (Size(bytes), n) => {
                let divisor = number(&n)?;
                if divisor == 0.0 {
                    return Err(RuntimeError::DivisionByZero);
                }
                scaled_size(bytes, 1.0 / divisor)?
            }
            (Duration(d), n) => {
                let divisor = number(&n)?;
                if divisor == 0.0 {
                    return Err(RuntimeError::DivisionByZero);
                }
                scaled(d, 1.0 / divisor, || {
                    format!("{} / {divisor}", format_duration(d))
                })?
            }
            (Percent(p), n) => Percent(p / number(&n)?),
            (a, b) => {
                let divisor = number(&b)?;
                if divisor == 0.0 {
                    return Err(RuntimeError::DivisionByZero);
                }
                Float(number(&a)? / divisor)
            }
        },
        BinaryOp::And | BinaryOp::Or | BinaryOp::Coalesce => return Err(RuntimeError::Eager),
    })
}

fn size_overflow() -> RuntimeError {
    RuntimeError::SizeOutOfRange
}

/// `bytes` times a factor, rounded to the nearest byte.
fn scaled_size(bytes: i64, factor: f64) -> Result<Value, RuntimeError> {
    let result = (bytes as f64 * factor).round();
    if !result.is_finite() || result.abs() >= i64::MAX as f64 {
        return Err(size_overflow());
    }
    Ok(Value::Size(result as i64))
}

/// A duration result, or the run error that says why there is none: durations are whole
/// milliseconds from 0 to `i64::MAX`, and arithmetic never saturates into that range.
fn duration(ms: i128, written: impl FnOnce() -> String) -> Result<Value, RuntimeError> {
    if ms < 0 {
        return Err(RuntimeError::NegativeDuration(written()));
    }
    match i64::try_from(ms) {
        Ok(ms) => Ok(Value::Duration(ms as u64)),
        Err(_) => Err(RuntimeError::DurationTooLong(written())),
    }
}

fn time(ms: i128, written: impl FnOnce() -> String) -> Result<Value, RuntimeError> {
    i64::try_from(ms)
        .map(Value::Time)
        .map_err(|_| RuntimeError::TimeOutOfRange(written()))
}

/// `ms` times a factor, rounded down to a millisecond.
fn scaled(ms: u64, factor: f64, written: impl FnOnce() -> String) -> Result<Value, RuntimeError> {
    let result = ms as f64 * factor;
    if !result.is_finite() || result >= i64::MAX as f64 {
        return duration(i128::MAX, written);
    }
    duration(result.floor() as i128, written)
}

fn number(value: &Value) -> Result<f64, RuntimeError> {
    match value {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(x) => Ok(*x),
        other => Err(RuntimeError::NotANumber(other.type_name())),
    }
}

/// Builtins over already evaluated arguments.
pub fn simple_builtin(builtin: Builtin, mut values: Vec<Value>) -> Result<Value, RuntimeError> {
    let first = values.first().cloned().unwrap_or(Value::None);
    match builtin {
        Builtin::Len => Ok(Value::Int(match &first {
            Value::List(items) => items.len() as i64,
            Value::Map(map) | Value::Record(map) => map.len() as i64,
            Value::Str(s) => s.chars().count() as i64,
            other => {
                return Err(RuntimeError::WrongKind {
                    builtin: "len",
                    found: other.type_name(),
                })
            }
        })),
        Builtin::First => match first {
            Value::List(items) => items
                .into_iter()
                .next()
                .ok_or(RuntimeError::EmptyList("first")),
            other => Err(RuntimeError::WrongKind {
                builtin: "first",
                found: other.type_name(),
            }),
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
            best.ok_or(RuntimeError::EmptyList(builtin.name()))
        }
        Builtin::Sum => match first {
            Value::List(items) => {
                let mut total = match items.first() {
                    Some(Value::Duration(_)) => Value::Duration(0),
                    Some(Value::Percent(_)) => Value::Percent(0.0),
                    Some(Value::Size(_)) => Value::Size(0),
                    Some(Value::Float(_)) => Value::Float(0.0),
                    _ => Value::Int(0),
                };
                for item in items {
                    total = binary(BinaryOp::Add, total, item)?;
                }
                Ok(total)
            }
            other => Err(RuntimeError::WrongKind {
                builtin: "sum",
                found: other.type_name(),
            }),
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
        Builtin::String => Ok(Value::Str(crate::value::readable(&first))),
        Builtin::Now | Builtin::Env | Builtin::Secret => {
            Err(RuntimeError::NeedsContext(builtin.name()))
        }
        Builtin::Filter | Builtin::Map | Builtin::SortBy | Builtin::Any | Builtin::All => {
            Err(RuntimeError::TakesAFunction(builtin.name()))
        }
        _ => crate::text_builtins::text_builtin(builtin, &values),
    }
}

#[cfg(test)]
mod tests {
    //! Duration arithmetic never saturates: a result out of range is a run error that says so.

    use super::*;

    // The failures as the step reports them.
    fn binary(op: BinaryOp, left: Value, right: Value) -> Result<Value, String> {
        super::binary(op, left, right).map_err(|e| e.to_string())
    }

    fn simple_builtin(builtin: Builtin, values: Vec<Value>) -> Result<Value, String> {
        super::simple_builtin(builtin, values).map_err(|e| e.to_string())
    }

    const MINUTE: u64 = 60_000;

    fn out_of_range(result: Result<Value, String>) -> String {
        match result {
            Err(message) => message,
            Ok(value) => panic!("expected a run error, got {value}"),
        }
    }

    #[test]
    fn subtracting_a_longer_duration_is_an_error_not_zero() {
        let message = out_of_range(binary(
            BinaryOp::Sub,
            Value::Duration(2 * MINUTE),
            Value::Duration(5 * MINUTE),
        ));
        assert_eq!(
            message,
            "duration out of range: 2m - 5m is negative (durations cannot be)"
        );
        assert_eq!(
            binary(
                BinaryOp::Sub,
                Value::Duration(5 * MINUTE),
                Value::Duration(2 * MINUTE)
            ),
            Ok(Value::Duration(3 * MINUTE))
        );
    }

    #[test]
    fn adding_or_multiplying_past_the_longest_duration_is_an_error() {
        let longest = i64::MAX as u64;
        let sum = out_of_range(binary(
            BinaryOp::Add,
            Value::Duration(longest),
            Value::Duration(1),
        ));
        assert!(sum.starts_with("duration out of range"), "{sum}");
        let product = out_of_range(binary(
            BinaryOp::Mul,
            Value::Duration(longest / 2),
            Value::Int(3),
        ));
        assert!(product.starts_with("duration out of range"), "{product}");
        let negative = out_of_range(binary(
            BinaryOp::Mul,
            Value::Duration(MINUTE),
            Value::Float(-1.5),
        ));
        assert!(negative.contains("negative"), "{negative}");
        assert_eq!(
            binary(BinaryOp::Mul, Value::Int(3), Value::Duration(MINUTE)),
            Ok(Value::Duration(3 * MINUTE))
        );
    }

    #[test]
    fn dividing_a_duration_by_zero_is_an_error_not_the_longest_duration() {
        let by_float = out_of_range(binary(
            BinaryOp::Div,
            Value::Duration(MINUTE),
            Value::Float(0.0),
        ));
        assert_eq!(by_float, "division by zero");
        assert_eq!(
            binary(BinaryOp::Div, Value::Duration(MINUTE), Value::Int(4)),
            Ok(Value::Duration(15_000))
        );
    }

    #[test]
    fn time_arithmetic_is_checked_too() {
        let earlier_minus_later = out_of_range(binary(
            BinaryOp::Sub,
            Value::Time(1_000),
            Value::Time(2_000),
        ));
        assert!(
            earlier_minus_later.contains("negative"),
            "{earlier_minus_later}"
        );
        let past_the_end = out_of_range(binary(
            BinaryOp::Add,
            Value::Time(i64::MAX - 10),
            Value::Duration(MINUTE),
        ));
        assert!(
            past_the_end.starts_with("time out of range"),
            "{past_the_end}"
        );
        assert_eq!(
            binary(BinaryOp::Sub, Value::Time(2_000), Value::Time(1_000)),
            Ok(Value::Duration(1_000))
        );
    }

    #[test]
    fn summing_durations_fails_on_overflow() {
        let longest = i64::MAX as u64;
        let message = out_of_range(simple_builtin(
            Builtin::Sum,
            vec![Value::List(vec![
                Value::Duration(longest),
                Value::Duration(longest),
            ])],
        ));
        assert!(message.starts_with("duration out of range"), "{message}");
    }

    #[test]
    fn sizes_add_scale_divide_and_compare() {
        const GI: i64 = 1 << 30;
        let size = |gi: i64| Value::Size(gi * GI);
        assert_eq!(binary(BinaryOp::Add, size(8), size(2)), Ok(size(10)));
        assert_eq!(binary(BinaryOp::Sub, size(2), size(8)), Ok(size(-6)));
        assert_eq!(
            binary(BinaryOp::Mul, size(10), Value::Percent(80.0)),
            Ok(Value::Size(8 * GI))
        );
        assert_eq!(
            binary(BinaryOp::Mul, Value::Float(1.5), size(2)),
            Ok(size(3))
        );
        assert_eq!(binary(BinaryOp::Mul, size(2), Value::Int(3)), Ok(size(6)));
        assert_eq!(
            binary(BinaryOp::Div, size(9), size(10)),
            Ok(Value::Float(0.9))
        );
        assert_eq!(binary(BinaryOp::Div, size(9), Value::Int(3)), Ok(size(3)));
        assert_eq!(
            binary(BinaryOp::Div, size(9), Value::Size(0)),
            Err("division by a zero size".into())
        );
        assert_eq!(
            binary(BinaryOp::Gt, size(10), Value::Size(10 * GI - 1)),
            Ok(Value::Bool(true))
        );
        let message = out_of_range(binary(BinaryOp::Add, Value::Size(i64::MAX), size(1)));
        assert!(message.starts_with("size out of range"), "{message}");
        let message = out_of_range(binary(BinaryOp::Mul, size(1), Value::Float(1e30)));
        assert!(message.starts_with("size out of range"), "{message}");
        assert_eq!(
            simple_builtin(Builtin::Sum, vec![Value::List(vec![size(1), size(2)])]),
            Ok(size(3))
        );
    }
}

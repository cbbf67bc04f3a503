//! The types of rbk values.

use std::fmt;

use crate::resolve::ModuleId;

/// Where a named type is declared.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeKey {
    /// `type NAME` in a module.
    Module(ModuleId, String),
    /// `alert.Alert`, the alert that triggered a run.
    Alert,
    /// The `run` value seen by `escalate` and `notify`.
    Run,
}

#[derive(Clone, Debug)]
pub struct NamedTy {
    pub key: TypeKey,
    /// How users write it: `pg.Session` shows as `postgres.Session`.
    pub display: String,
}

/// Two named types are the same type when they are declared in the same place, however they
/// are displayed.
impl PartialEq for NamedTy {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Int,
    Float,
    Bool,
    Str,
    Duration,
    Percent,
    /// A number of bytes, written as a Kubernetes quantity (`10Gi`); see `types::sizes`.
    Size,
    Time,
    Secret,
    /// The type of `none`, and of actions that return nothing.
    None,
    List(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Optional(Box<Ty>),
    /// An anonymous record `{pid: int}`.
    Record(Vec<(String, Ty)>),
    Named(NamedTy),
    /// A parsed JSON document (`json(text)`) or a part of one: its shape is known only at run
    /// time, so reading it (`.field`, `[i]`) gives `json` again, and `int`, `float`, `bool` and
    /// `string` turn it into a typed value, failing the step when it is not one.
    Json,
    /// A lambda; only builtins such as `filter` take one.
    Lambda,
    /// Unknown because of an earlier error: compatible with everything, so one mistake is
    /// reported once.
    Unknown,
}

impl Ty {
    pub fn list(element: Ty) -> Ty {
        Ty::List(Box::new(element))
    }

    pub fn optional(inner: Ty) -> Ty {
        match inner {
            Ty::Optional(_) | Ty::None | Ty::Unknown => inner,
            other => Ty::Optional(Box::new(other)),
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Ty::Unknown)
    }

    /// The type with any `?` removed.
    pub fn strip_optional(&self) -> &Ty {
        match self {
            Ty::Optional(inner) => inner,
            other => other,
        }
    }

    /// True when a value of this type holds a secret anywhere inside it.
    pub fn contains_secret(&self) -> bool {
        match self {
            Ty::Secret => true,
            Ty::List(t) | Ty::Optional(t) => t.contains_secret(),
            Ty::Map(k, v) => k.contains_secret() || v.contains_secret(),
            Ty::Record(fields) => fields.iter().any(|(_, t)| t.contains_secret()),
            _ => false,
        }
    }

    /// Values that `<`, `sort_by`, `min` and `max` can order.
    pub fn is_ordered(&self) -> bool {
        matches!(
            self,
            Ty::Int
                | Ty::Float
                | Ty::Duration
                | Ty::Percent
                | Ty::Size
                | Ty::Time
                | Ty::Str
                | Ty::Unknown
        )
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Unknown)
    }

    /// A handle or record from a module (a session, a pod), as opposed to plain data.
    pub fn is_target(&self) -> bool {
        matches!(self, Ty::Named(_) | Ty::Record(_))
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int => f.write_str("int"),
            Ty::Float => f.write_str("float"),
            Ty::Bool => f.write_str("bool"),
            Ty::Str => f.write_str("string"),
            Ty::Duration => f.write_str("duration"),
            Ty::Percent => f.write_str("percent"),
            Ty::Size => f.write_str("size"),
            Ty::Time => f.write_str("time"),
            Ty::Secret => f.write_str("secret"),
            Ty::None => f.write_str("none"),
            Ty::List(t) => write!(f, "list<{t}>"),
            Ty::Map(k, v) => write!(f, "map<{k}, {v}>"),
            Ty::Optional(t) => write!(f, "{t}?"),
            Ty::Record(fields) => {
                f.write_str("{")?;
                for (i, (name, ty)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {ty}")?;
                }
                f.write_str("}")
            }
            Ty::Named(named) => f.write_str(&named.display),
            Ty::Json => f.write_str("json"),
            Ty::Lambda => f.write_str("lambda"),
            Ty::Unknown => f.write_str("unknown"),
        }
    }
}

/// Can a value of type `from` be used where `to` is expected?
pub fn assignable(from: &Ty, to: &Ty) -> bool {
    match (from, to) {
        (Ty::Unknown, _) | (_, Ty::Unknown) => true,
        (a, b) if a == b => true,
        (Ty::Str, Ty::Secret) => true,
        (Ty::Int, Ty::Float) => true,
        (Ty::None, Ty::Optional(_)) => true,
        (Ty::Optional(a), Ty::Optional(b)) => assignable(a, b),
        (a, Ty::Optional(b)) => assignable(a, b),
        (Ty::List(a), Ty::List(b)) => assignable(a, b),
        (Ty::Map(ka, va), Ty::Map(kb, vb)) => assignable(ka, kb) && assignable(va, vb),
        (Ty::Record(a), Ty::Record(b)) => record_fits(a, b),
        // A JSON document may be built from plain data (a merge patch from a record literal).
        (from, Ty::Json) => is_json_data(from),
        _ => false,
    }
}

/// Values that have one obvious JSON form: no secret, handle, time, duration or size (whose
/// JSON spelling would be a guess).
fn is_json_data(ty: &Ty) -> bool {
    match ty {
        Ty::Int | Ty::Float | Ty::Bool | Ty::Str | Ty::None | Ty::Json | Ty::Unknown => true,
        Ty::List(element) | Ty::Optional(element) => is_json_data(element),
        Ty::Map(key, value) => matches!(**key, Ty::Str) && is_json_data(value),
        Ty::Record(fields) => fields.iter().all(|(_, ty)| is_json_data(ty)),
        _ => false,
    }
}

/// A record literal fits a record type when every field is there (optional ones may be left
/// out) with a fitting type, and there is no extra field.
pub(super) fn record_fits(given: &[(String, Ty)], wanted: &[(String, Ty)]) -> bool {
    let all_wanted_present =
        wanted
            .iter()
            .all(|(name, ty)| match given.iter().find(|(n, _)| n == name) {
                Some((_, given_ty)) => assignable(given_ty, ty),
                None => matches!(ty, Ty::Optional(_)),
            });
    all_wanted_present
        && given
            .iter()
            .all(|(name, _)| wanted.iter().any(|(n, _)| n == name))
}

//! Functions every runbook can call without a `use`.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    Len,
    Filter,
    Map,
    First,
    SortBy,
    Any,
    All,
    Min,
    Max,
    Sum,
    Env,
    Secret,
    Now,
    Contains,
    String,
}

impl Builtin {
    pub const ALL: &'static [Builtin] = &[
        Builtin::Len,
        Builtin::Filter,
        Builtin::Map,
        Builtin::First,
        Builtin::SortBy,
        Builtin::Any,
        Builtin::All,
        Builtin::Min,
        Builtin::Max,
        Builtin::Sum,
        Builtin::Env,
        Builtin::Secret,
        Builtin::Now,
        Builtin::Contains,
        Builtin::String,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Builtin::Len => "len",
            Builtin::Filter => "filter",
            Builtin::Map => "map",
            Builtin::First => "first",
            Builtin::SortBy => "sort_by",
            Builtin::Any => "any",
            Builtin::All => "all",
            Builtin::Min => "min",
            Builtin::Max => "max",
            Builtin::Sum => "sum",
            Builtin::Env => "env",
            Builtin::Secret => "secret",
            Builtin::Now => "now",
            Builtin::Contains => "contains",
            Builtin::String => "string",
        }
    }

    pub fn from_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|b| b.name() == name)
    }

    /// The signature as users read it, for messages and hover.
    pub fn signature(self) -> &'static str {
        match self {
            Builtin::Len => "len(xs: list<T> | map<K, V> | string) -> int",
            Builtin::Filter => "filter(xs: list<T>, keep: T => bool) -> list<T>",
            Builtin::Map => "map(xs: list<T>, f: T => U) -> list<U>",
            Builtin::First => "first(xs: list<T>) -> T",
            Builtin::SortBy => "sort_by(xs: list<T>, key: T => K) -> list<T>",
            Builtin::Any => "any(xs: list<T>, test: T => bool) -> bool",
            Builtin::All => "all(xs: list<T>, test: T => bool) -> bool",
            Builtin::Min => "min(xs: list<T>) -> T  or  min(a: T, b: T, ...) -> T",
            Builtin::Max => "max(xs: list<T>) -> T  or  max(a: T, b: T, ...) -> T",
            Builtin::Sum => "sum(xs: list<T>) -> T",
            Builtin::Env => "env(name: string) -> string",
            Builtin::Secret => "secret(name: string) -> secret",
            Builtin::Now => "now() -> time",
            Builtin::Contains => "contains(xs: list<T> | map<K, V> | string, x: T) -> bool",
            Builtin::String => "string(x: T) -> string",
        }
    }

    pub fn doc(self) -> &'static str {
        match self {
            Builtin::Len => "The number of elements of a list or map, or of characters of a string.",
            Builtin::Filter => "The elements for which `keep` is true, in order.",
            Builtin::Map => "`f` applied to every element, in order.",
            Builtin::First => "The first element. Fails the step when the list is empty.",
            Builtin::SortBy => "The elements sorted by `key`, smallest first; equal keys keep their order.",
            Builtin::Any => "True when `test` holds for at least one element.",
            Builtin::All => "True when `test` holds for every element (and for an empty list).",
            Builtin::Min => "The smallest element. Fails the step when the list is empty.",
            Builtin::Max => "The largest element. Fails the step when the list is empty.",
            Builtin::Sum => "The sum of the elements (ints, floats, durations or percents).",
            Builtin::Env => "The environment variable `name` of the process running rbk. Fails when unset.",
            Builtin::Secret => "The secret `name` (by default the environment variable of that name). A secret can be passed to actions but never shown.",
            Builtin::Now => "The current time.",
            Builtin::Contains => "True when the list holds `x`, the map has the key `x`, or the string contains `x`.",
            Builtin::String => "The value as text, as interpolation would show it.",
        }
    }
}

//! Which operators apply to which types. `percent` compares with `percent`, `duration` with
//! `duration` and `size` with `size`; nothing converts to a string implicitly.

use super::ty::{assignable, Ty};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::{BinaryOp, Span, UnaryOp};
use crate::FileId;

/// The result type of `lhs op rhs`, or `None` when the operator does not apply.
pub fn binary(op: BinaryOp, lhs: &Ty, rhs: &Ty) -> Option<Ty> {
    use BinaryOp::*;
    if lhs.is_unknown() || rhs.is_unknown() {
        return Some(match op {
            Or | And | Eq | Ne | Lt | Le | Gt | Ge => Ty::Bool,
            Coalesce => rhs.clone(),
            _ => Ty::Unknown,
        });
    }
    // A part of a JSON document compares with values of any type but a secret; what it holds
    // is known when the run reads it.
    let json = matches!(lhs, Ty::Json) || matches!(rhs, Ty::Json);
    if json && matches!(op, Eq | Ne | Lt | Le | Gt | Ge) {
        let secret = matches!(lhs.strip_optional(), Ty::Secret)
            || matches!(rhs.strip_optional(), Ty::Secret);
        return (!secret).then_some(Ty::Bool);
    }
    match op {
        Or | And => (lhs == &Ty::Bool && rhs == &Ty::Bool).then_some(Ty::Bool),
        Eq | Ne => comparable_for_equality(lhs, rhs).then_some(Ty::Bool),
        Lt | Le | Gt | Ge => {
            let same = lhs == rhs || (lhs.is_numeric() && rhs.is_numeric());
            (same && lhs.is_ordered()).then_some(Ty::Bool)
        }
        Coalesce => match lhs {
            Ty::Optional(inner) if assignable(rhs, inner) => Some((**inner).clone()),
            Ty::Optional(inner) if assignable(rhs, lhs) => Some(Ty::optional((**inner).clone())),
            Ty::None => Some(rhs.clone()),
            other if assignable(rhs, other) => Some(other.clone()),
            _ => None,
        },
        Add => match (lhs, rhs) {
            (Ty::Int, Ty::Int) => Some(Ty::Int),
            (Ty::Int | Ty::Float, Ty::Int | Ty::Float) => Some(Ty::Float),
            (Ty::Duration, Ty::Duration) => Some(Ty::Duration),
            (Ty::Percent, Ty::Percent) => Some(Ty::Percent),
            (Ty::Size, Ty::Size) => Some(Ty::Size),
            (Ty::Time, Ty::Duration) | (Ty::Duration, Ty::Time) => Some(Ty::Time),
            (Ty::Str, Ty::Str) => Some(Ty::Str),
            (Ty::List(a), Ty::List(b)) if a == b => Some(lhs.clone()),
            _ => None,
        },
        Sub => match (lhs, rhs) {
            (Ty::Int, Ty::Int) => Some(Ty::Int),
            (Ty::Int | Ty::Float, Ty::Int | Ty::Float) => Some(Ty::Float),
            (Ty::Duration, Ty::Duration) => Some(Ty::Duration),
            (Ty::Percent, Ty::Percent) => Some(Ty::Percent),
            (Ty::Size, Ty::Size) => Some(Ty::Size),
            (Ty::Time, Ty::Duration) => Some(Ty::Time),
            (Ty::Time, Ty::Time) => Some(Ty::Duration),
            _ => None,
        },
        Mul => match (lhs, rhs) {
            (Ty::Int, Ty::Int) => Some(Ty::Int),
            (Ty::Int | Ty::Float, Ty::Int | Ty::Float) => Some(Ty::Float),
            (Ty::Duration, Ty::Int | Ty::Float) | (Ty::Int | Ty::Float, Ty::Duration) => {
                Some(Ty::Duration)
            }
            (Ty::Percent, Ty::Int | Ty::Float) | (Ty::Int | Ty::Float, Ty::Percent) => {
                Some(Ty::Percent)
            }
            // 80% of a capacity is a size: the percent is a fraction here.
            (Ty::Size, Ty::Int | Ty::Float | Ty::Percent)
            | (Ty::Int | Ty::Float | Ty::Percent, Ty::Size) => Some(Ty::Size),
            _ => None,
        },
        Div => match (lhs, rhs) {
            (Ty::Int, Ty::Int) => Some(Ty::Int),
            (Ty::Int | Ty::Float, Ty::Int | Ty::Float) => Some(Ty::Float),
            (Ty::Duration, Ty::Int | Ty::Float) => Some(Ty::Duration),
            (Ty::Percent, Ty::Int | Ty::Float) => Some(Ty::Percent),
            (Ty::Size, Ty::Int | Ty::Float) => Some(Ty::Size),
            (Ty::Duration, Ty::Duration) | (Ty::Percent, Ty::Percent) | (Ty::Size, Ty::Size) => {
                Some(Ty::Float)
            }
            _ => None,
        },
    }
}

pub fn unary(op: UnaryOp, operand: &Ty) -> Option<Ty> {
    match (op, operand) {
        (_, Ty::Unknown) => Some(Ty::Unknown),
        (UnaryOp::Not, Ty::Bool) => Some(Ty::Bool),
        (UnaryOp::Neg, Ty::Int | Ty::Float | Ty::Duration | Ty::Percent | Ty::Size) => {
            Some(operand.clone())
        }
        _ => None,
    }
}

fn comparable_for_equality(lhs: &Ty, rhs: &Ty) -> bool {
    if matches!(lhs, Ty::Secret) || matches!(rhs, Ty::Secret) {
        return false;
    }
    let (l, r) = (lhs.strip_optional(), rhs.strip_optional());
    matches!(lhs, Ty::None)
        || matches!(rhs, Ty::None)
        || l == r
        || (l.is_numeric() && r.is_numeric())
        || assignable(l, r)
        || assignable(r, l)
}

/// Help for a failed operator, pointing at the usual fix.
pub fn hint(op: BinaryOp, lhs: &Ty, rhs: &Ty) -> String {
    match (lhs, rhs) {
        (Ty::Percent, Ty::Int | Ty::Float) | (Ty::Int | Ty::Float, Ty::Percent) => {
            "write the number as a percent, e.g. `90%`".to_string()
        }
        (Ty::Duration, Ty::Int | Ty::Float) | (Ty::Int | Ty::Float, Ty::Duration)
            if !matches!(op, BinaryOp::Mul | BinaryOp::Div) =>
        {
            "write the number as a duration, e.g. `30s` or `5m`".to_string()
        }
        (Ty::Size, Ty::Int | Ty::Float | Ty::Str) | (Ty::Int | Ty::Float | Ty::Str, Ty::Size) => {
            "write the other side as a size too, e.g. `size(\"10Gi\")`".to_string()
        }
        (Ty::Str, _) | (_, Ty::Str) if op == BinaryOp::Add => {
            "there is no implicit conversion to string: use interpolation, e.g. \"{a}{b}\""
                .to_string()
        }
        (Ty::Optional(_), _) | (_, Ty::Optional(_)) => {
            "the value may be `none`: give a default with `??`, e.g. `x ?? 0`".to_string()
        }
        _ => format!("`{}` needs operands of matching types", op.symbol()),
    }
}

/// An operator and the operand types it does not apply to.
pub(super) enum Operands<'a> {
    Unary {
        op: UnaryOp,
        operand: &'a Ty,
    },
    Binary {
        op: BinaryOp,
        lhs: &'a Ty,
        rhs: &'a Ty,
    },
}

/// E0207: fires when an operator is applied to types it is not defined for.
pub(super) fn bad_operands(file: FileId, span: Span, operands: Operands<'_>) -> Diagnostic {
    let (message, label, help): (String, String, String) = match operands {
        Operands::Unary { op, operand } => {
            let (symbol, help) = match op {
                UnaryOp::Not => ("not", "`not` takes a bool"),
                UnaryOp::Neg => ("-", "`-` takes a number, duration or percent"),
            };
            (
                format!("`{symbol}` does not apply to `{operand}`"),
                format!("this is `{operand}`"),
                help.into(),
            )
        }
        Operands::Binary { op, lhs, rhs } => (
            format!("`{}` is not defined for `{lhs}` and `{rhs}`", op.symbol()),
            format!("`{lhs}` {} `{rhs}`", op.symbol()),
            hint(op, lhs, rhs),
        ),
    };
    Diagnostic::new(Code::BadOperands, file, span, message)
        .label(label)
        .help(help)
}

//! What can be wrong with the values decisions carry: the one constructor each for an asked
//! value read where it is not given (E0109), a step outcome read before it is known (E0110)
//! and a test's approval values that do not fit what the gate asks (E0219).

use std::fmt::Display;

use super::Ty;
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::Span;
use crate::FileId;

/// Where `approval.field` was read without an asked value of that name.
pub(super) enum AskedValue<'a> {
    /// In step `step`, whose approval asks for nothing.
    NoneAsked { step: &'a str, field: &'a str },
    /// Outside any step.
    OutsideItsStep { field: &'a str },
    /// In a step whose approval asks for other values (`asked`).
    NotAsked {
        field: &'a str,
        suggestion: Option<&'a str>,
        asked: &'a [&'a str],
    },
}

/// E0109: fires when `approval.NAME` is read where no approval gives a value of that name.
pub(super) fn asked_value_out_of_scope(
    file: FileId,
    span: Span,
    asked_value: AskedValue<'_>,
) -> Diagnostic {
    let (message, label, help): (String, &str, String) = match asked_value {
        AskedValue::NoneAsked { step, field } => (
            format!("step `{step}` asks its approver for no values, so `approval.{field}` has none"),
            "no asked value here",
            format!("add `ask {{ {field}: TYPE }}` to the step's `approval required`"),
        ),
        AskedValue::OutsideItsStep { field } => (
            format!("`approval.{field}` is read outside the step whose approval asks for it"),
            "no asked value here",
            "read asked values in the body of the step that asks for them; keep one for later steps with `let`".into(),
        ),
        AskedValue::NotAsked {
            field,
            suggestion,
            asked,
        } => (
            format!("the approval of this step does not ask for `{field}`"),
            "not asked",
            match suggestion {
                Some(s) => format!("did you mean `approval.{s}`?"),
                None => format!("the approval asks for: {}", asked.join(", ")),
            },
        ),
    };
    Diagnostic::new(Code::AskedValueOutOfScope, file, span, message)
        .label(label)
        .help(help)
}

/// Where `step.NAME.outcome` was read before the step ended.
pub(super) enum UnknownOutcome<'a> {
    /// Outside a runbook's steps (in a `fn`, a constant).
    OutsideSteps {
        step: &'a str,
        outcome: &'a dyn Display,
    },
    /// In the step itself.
    OwnOutcome { step: &'a str },
    /// Before the step runs.
    NotRunYet { step: &'a str },
}

/// E0110: fires when a step's outcome is read where the step cannot have ended.
pub(super) fn step_outcome_not_yet_known(
    file: FileId,
    span: Span,
    unknown: UnknownOutcome<'_>,
) -> Diagnostic {
    let (message, label, help): (String, &str, &str) = match unknown {
        UnknownOutcome::OutsideSteps { step, outcome } => (
            format!("`step.{step}.{outcome}` is read outside a runbook's steps"),
            "no step has run here",
            "read a step's outcome in a later step, `verify` or `notify` of the same runbook",
        ),
        UnknownOutcome::OwnOutcome { step } => (
            format!("step `{step}` reads its own outcome, which is known only after it ends"),
            "not ended yet",
            "read a step's outcome only after it: in a later step, `verify` or `notify`",
        ),
        UnknownOutcome::NotRunYet { step } => (
            format!("step `{step}` has not run yet where its outcome is read"),
            "not ended yet",
            "read a step's outcome only after it: in a later step, `verify` or `notify`",
        ),
    };
    Diagnostic::new(Code::StepOutcomeNotYetKnown, file, span, message)
        .label(label)
        .help(help)
}

/// How a test's `approve STEP with { ... }` does not fit what the gate asks.
pub(super) enum ApprovalValues<'a> {
    /// The value given for `name` is `given`, and the gate asks for `ty`.
    WrongType {
        name: &'a str,
        ty: &'a Ty,
        given: &'a Ty,
    },
    /// The gate of `step` (written "step `x`" or "this step") does not ask for `name`; it asks
    /// for `asked`.
    NotAsked {
        name: &'a str,
        step: &'a str,
        asked: &'a [&'a str],
    },
}

/// E0219: fires when a test approves a gate with values it does not ask for, or of other types.
pub(super) fn approval_values_mismatch(
    file: FileId,
    span: Span,
    mismatch: ApprovalValues<'_>,
) -> Diagnostic {
    let (message, label, help): (String, String, String) = match mismatch {
        ApprovalValues::WrongType { name, ty, given } => (
            format!("the approval asks for `{name}` as `{ty}`, and this is `{given}`"),
            format!("expected `{ty}`"),
            format!("give `{name}` a value of type `{ty}`"),
        ),
        ApprovalValues::NotAsked { name, step, asked } => (
            format!("the approval of {step} does not ask for `{name}`"),
            "not asked".into(),
            if asked.is_empty() {
                format!("{step} asks for no values: remove `with {{ ... }}`")
            } else {
                format!("{step} asks for: {}", asked.join(", "))
            },
        ),
    };
    Diagnostic::new(Code::ApprovalValuesMismatch, file, span, message)
        .label(label)
        .help(help)
}

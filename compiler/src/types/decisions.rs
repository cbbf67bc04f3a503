//! Decisions that carry values and branch: an approval gate's `ask { name: type }` fields,
//! read in the step as `approval.name`; and `step.NAME.succeeded|failed|skipped|denied`, read
//! by a later part of the runbook. Both are checked here so every rule about them sits together.

use super::checker::Checker;
use super::decision_errors::{
    approval_values_mismatch, asked_value_out_of_scope, step_outcome_not_yet_known, ApprovalValues,
    AskedValue, UnknownOutcome,
};
use super::env::Env;
use super::Ty;
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::{duplicate_definition, suggest, Duplicate, Module};
use crate::syntax::*;
use crate::FileId;

/// The types an approver may be asked for: each is parsed from the text the approver typed
/// (the web form, `rbk approve --value`, a test's `with { ... }`) by the same rules as
/// `rbk run --input`. A new scalar type becomes askable by adding it here and to the input
/// parser.
pub const ASKABLE_TYPES: &[&str] = &[
    "int", "float", "bool", "string", "duration", "percent", "size",
];

/// The type an asked field of type `name` has, when it may be asked.
pub fn askable_type(name: &str) -> Option<Ty> {
    if !ASKABLE_TYPES.contains(&name) {
        return None;
    }
    Some(match name {
        "int" => Ty::Int,
        "float" => Ty::Float,
        "bool" => Ty::Bool,
        "string" => Ty::Str,
        "duration" => Ty::Duration,
        "percent" => Ty::Percent,
        "size" => Ty::Size,
        _ => return None,
    })
}

/// What a later clause may know about a step it reads the outcome of.
#[derive(Clone, Debug)]
pub(super) struct StepFacts {
    pub name: String,
    /// It has a `when`, so it may be skipped.
    pub may_skip: bool,
    /// It has `on failure continue`, so the run goes on after it fails.
    pub continues_after_failure: bool,
}

/// Where in its runbook an expression is, for `step.NAME.outcome`.
#[derive(Clone, Debug, Default)]
pub(super) struct StepOrder {
    /// Steps that have ended by the time this expression is evaluated.
    pub earlier: Vec<StepFacts>,
    /// Every step of the runbook, in order.
    pub all: Vec<String>,
}

impl Checker<'_> {
    /// The asked fields of a gate with their types; reports fields that cannot be asked
    /// (E0218) and fields asked twice (E0104). Only valid fields are returned.
    pub(super) fn check_asks(&mut self, module: &Module, step: &Step) -> Vec<(String, Ty)> {
        let mut asked: Vec<(String, Ty)> = Vec::new();
        for field in asked_fields(&step.options) {
            if let Some((_, _)) = asked.iter().find(|(name, _)| name == &field.name.name) {
                self.report(duplicate_definition(
                    module.file,
                    field.name.span,
                    Duplicate::AskedValue {
                        name: &field.name.name,
                    },
                ));
                continue;
            }
            let resolved = self.resolve_type(module, &field.ty);
            let Some(ty) = field.type_name().and_then(askable_type) else {
                if resolved == Ty::Unknown {
                    // An unknown type name was reported where it was resolved.
                    continue;
                }
                self.report(unaskable_type(module.file, field.ty.span, &resolved));
                continue;
            };
            asked.push((field.name.name.clone(), ty));
        }
        asked
    }

    /// `approval.NAME`: a value the approver of the step being checked gave.
    pub(super) fn infer_approval_value(&mut self, env: &mut Env, field: &Ident) -> Ty {
        let Some(asked) = env.asked.as_ref() else {
            let asked_value = match env.step.as_deref() {
                Some(step) => AskedValue::NoneAsked {
                    step,
                    field: &field.name,
                },
                None => AskedValue::OutsideItsStep { field: &field.name },
            };
            self.report(asked_value_out_of_scope(env.file, field.span, asked_value));
            return Ty::Unknown;
        };
        if let Some((_, ty)) = asked.iter().find(|(name, _)| name == &field.name) {
            return ty.clone();
        }
        let names: Vec<&str> = asked.iter().map(|(name, _)| name.as_str()).collect();
        let suggestion = suggest(&field.name, names.iter().copied());
        self.report(asked_value_out_of_scope(
            env.file,
            field.span,
            AskedValue::NotAsked {
                field: &field.name,
                suggestion,
                asked: &names,
            },
        ));
        Ty::Unknown
    }

    /// `step.NAME.outcome`: always a bool; NAME must be a step that ended before this is read.
    pub(super) fn infer_step_outcome(
        &mut self,
        env: &mut Env,
        step: &Ident,
        outcome: StepOutcome,
    ) -> Ty {
        let Some(order) = env.step_order.as_ref() else {
            self.report(step_outcome_not_yet_known(
                env.file,
                step.span,
                UnknownOutcome::OutsideSteps {
                    step: &step.name,
                    outcome: &outcome,
                },
            ));
            return Ty::Bool;
        };
        if let Some(facts) = order.earlier.iter().find(|f| f.name == step.name) {
            let never = match outcome {
                StepOutcome::Failed if !facts.continues_after_failure => Some(
                    "its failure ends the run (it has no `on failure continue`), so a later step never sees it failed",
                ),
                StepOutcome::Skipped if !facts.may_skip => {
                    Some("it has no `when`, so it is never skipped")
                }
                StepOutcome::Denied => Some(
                    "a denied step ends the run (it escalates), so a later step never sees it denied",
                ),
                _ => None,
            };
            if let Some(why) = never {
                self.report(step_outcome_never_seen(env.file, step, outcome, why));
            }
            return Ty::Bool;
        }
        if order.all.iter().any(|n| n == &step.name) {
            let unknown = if env.step.as_deref() == Some(step.name.as_str()) {
                UnknownOutcome::OwnOutcome { step: &step.name }
            } else {
                UnknownOutcome::NotRunYet { step: &step.name }
            };
            self.report(step_outcome_not_yet_known(env.file, step.span, unknown));
            return Ty::Bool;
        }
        self.report(unknown_step(env.file, step.span, &step.name, &order.all));
        Ty::Bool
    }

    /// `approve STEP with { ... }` in a test: every given field is asked, with a value of the
    /// asked type. A missing value fails the test when it runs, saying which.
    pub(super) fn check_test_approval_values(
        &mut self,
        env: &mut Env,
        module: &Module,
        step: Option<&Step>,
        values: &Expr,
    ) {
        let asked = match step {
            Some(step) => self.check_asks_quietly(step),
            None => Vec::new(),
        };
        let ExprKind::Record(fields) = &values.kind else {
            self.check_expr(env, values, None);
            return;
        };
        for field in fields {
            let (name, span) = match &field.key {
                RecordKey::Name(ident) => (ident.name.clone(), ident.span),
                RecordKey::Str(lit) => (lit.value.clone(), lit.span),
            };
            match asked.iter().find(|(asked, _)| asked == &name) {
                Some((_, ty)) => {
                    let given = self.check_expr(env, &field.value, Some(ty));
                    if !super::ty::assignable(&given, ty) {
                        self.report(approval_values_mismatch(
                            module.file,
                            field.value.span,
                            ApprovalValues::WrongType {
                                name: &name,
                                ty,
                                given: &given,
                            },
                        ));
                    }
                }
                None => {
                    self.check_expr(env, &field.value, None);
                    let step_name = step.map_or("this step".to_string(), |s| {
                        format!("step `{}`", s.name.name)
                    });
                    let names: Vec<&str> = asked.iter().map(|(n, _)| n.as_str()).collect();
                    self.report(approval_values_mismatch(
                        module.file,
                        span,
                        ApprovalValues::NotAsked {
                            name: &name,
                            step: &step_name,
                            asked: &names,
                        },
                    ));
                }
            }
        }
    }

    /// The valid asked fields of `step`, without reporting (the runbook's check reports them).
    fn check_asks_quietly(&mut self, step: &Step) -> Vec<(String, Ty)> {
        let mut asked: Vec<(String, Ty)> = Vec::new();
        for field in asked_fields(&step.options) {
            if asked.iter().any(|(name, _)| name == &field.name.name) {
                continue;
            }
            if let Some(ty) = field.type_name().and_then(askable_type) {
                asked.push((field.name.name.clone(), ty));
            }
        }
        asked
    }
}

/// The steps `condition` proves succeeded when it is true: `step.a.succeeded`, alone or as a
/// conjunct of `and`. Reading their `let`s is then safe (definite assignment, E0108).
pub(super) fn proven_succeeded(condition: &Expr) -> Vec<String> {
    match &condition.kind {
        ExprKind::StepOutcome {
            step,
            outcome: StepOutcome::Succeeded,
        } => vec![step.name.clone()],
        ExprKind::Binary(BinaryOp::And, lhs, rhs) => {
            let mut steps = proven_succeeded(lhs);
            steps.extend(proven_succeeded(rhs));
            steps
        }
        _ => Vec::new(),
    }
}

/// What a later clause may know about `step`.
pub(super) fn step_facts(step: &Step) -> StepFacts {
    StepFacts {
        name: step.name.name.clone(),
        may_skip: step.when.is_some(),
        continues_after_failure: step
            .options
            .iter()
            .any(|o| matches!(o.kind, StepOptionKind::OnFailure(FailureMode::Continue))),
    }
}

/// E0106: fires when a step name that no step of the runbook has is read, in
/// `step.NAME.outcome` or in a test's `approve`/`expect step`; the help names the closest of
/// `steps` or lists them all.
pub(super) fn unknown_step(
    file: crate::FileId,
    span: Span,
    name: &str,
    steps: &[String],
) -> Diagnostic {
    let help = match suggest(name, steps.iter().map(String::as_str)) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("the runbook's steps are: {}", steps.join(", ")),
    };
    Diagnostic::new(
        Code::UnknownStep,
        file,
        span,
        format!("the runbook has no step `{name}`"),
    )
    .label("unknown step")
    .help(help)
}

/// E0218: fires when an approval asks for a value of a type (`ty`) a person cannot type in.
fn unaskable_type(file: FileId, span: Span, ty: &Ty) -> Diagnostic {
    Diagnostic::new(
        Code::UnaskableType,
        file,
        span,
        format!("an approver cannot be asked for a value of type `{ty}`"),
    )
    .label("not a type a person can type in")
    .help(format!(
        "ask for one of {}; compute anything else from it in the step",
        ASKABLE_TYPES.join(", ")
    ))
}

/// W0108: fires when `step.NAME.outcome` is read where it is always false (`why` says why).
fn step_outcome_never_seen(
    file: FileId,
    step: &Ident,
    outcome: StepOutcome,
    why: &str,
) -> Diagnostic {
    let help = match outcome {
        StepOutcome::Failed => format!(
            "add `on failure continue` to step `{}` if the run should go on after it fails",
            step.name
        ),
        StepOutcome::Skipped => format!(
            "this is always false: remove it, or give step `{}` a `when`",
            step.name
        ),
        _ => "this is always false: remove it (`escalate` handles a denial)".to_string(),
    };
    Diagnostic::new(
        Code::StepOutcomeNeverSeen,
        file,
        step.span,
        format!("`step.{}.{outcome}` is always false here: {why}", step.name),
    )
    .label("always false")
    .help(help)
}

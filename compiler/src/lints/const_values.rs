//! E0307: a constant is a value, computed without calling any action.
//!
//! A constant is evaluated where it is first used, which can be a `when` condition before an
//! approval gate, and the effect analysis (and so `rbk plan` and E0301) does not follow a name
//! to its constant. An action in an initialiser would act where nobody looked for it, so none
//! is allowed there, not even a `read`: an input with a default says the same thing openly.

use crate::diagnostics::{Code, Diagnostic};
use crate::effects::{ActionUse, EffectInfo};
use crate::resolve::Module;
use crate::syntax::ConstItem;
use crate::types::TypeInfo;
use crate::FileId;

pub fn check_const(
    modules: &[Module],
    types: &TypeInfo,
    effects: &EffectInfo,
    module: &Module,
    constant: &ConstItem,
    out: &mut Vec<Diagnostic>,
) {
    let actions = effects.expr_actions(modules, types, module.id, &constant.value);
    let Some(first) = actions.first() else {
        return;
    };
    out.push(const_calls_action(module.file, constant, first));
}

/// E0307: fires when a constant's initialiser calls an action (`first`, the first it calls).
fn const_calls_action(file: FileId, constant: &ConstItem, first: &ActionUse) -> Diagnostic {
    let via = first
        .via
        .as_ref()
        .map(|f| format!(" (through `{f}`)"))
        .unwrap_or_default();
    Diagnostic::new(
        Code::ConstCallsAction,
        file,
        constant.value.span,
        format!(
            "constant `{}` calls the {} action `{}`",
            constant.name.name, first.effect, first.name
        ),
    )
    .label(format!("a constant cannot call actions{via}"))
    .with_secondary(first.call_span, format!("`{}` is an action", first.name))
    .help(format!(
        "make it an input with a default (`input {{ {}: TYPE = ... }}`), or call the action in a step",
        constant.name.name
    ))
}

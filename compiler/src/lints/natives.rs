//! E0309: an `extern action` in a user module must describe a native implementation this
//! build has, and promise no less than it does. Its effect is what the checker trusts about
//! the world, so a `read` with nothing behind it (a surprise at run time), or a `read` over the
//! native `shell.run` (which is destructive), would let a step skip its approval gate.
//!
//! The compiler does no I/O and knows no natives: the CLI, LSP and server pass the catalogue
//! in through `CheckOptions`. Std modules' externs are held equal to the natives by a stdlib
//! test instead.

use std::collections::BTreeMap;

use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::Module;
use crate::syntax::{Effect, ExternItem};

/// What a native action is, as its std declaration says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeSignature {
    pub arity: usize,
    pub effect: Effect,
    pub safe_to_auto_approve: bool,
}

/// The native actions of a build, by qualified name (`shell.run`).
pub type NativeCatalog = BTreeMap<String, NativeSignature>;

pub fn check_extern(
    natives: &NativeCatalog,
    module: &Module,
    external: &ExternItem,
    out: &mut Vec<Diagnostic>,
) {
    if module.is_std() {
        return;
    }
    let qualified = format!("{}.{}", module.display_name(), external.name.name);
    let span = external.name.span;
    let problem = |message: String, label: &str, help: String| {
        Diagnostic::new(Code::ExternWithoutNative, module.file, span, message)
            .label(label.to_string())
            .help(help)
    };
    let Some(native) = natives.get(&qualified) else {
        out.push(problem(
            format!(
                "`extern action {}` has no native implementation: nothing runs `{qualified}`",
                external.name.name
            ),
            "declared here, implemented nowhere",
            "call an action of the standard library instead (docs/stdlib.md), e.g. \
             `shell.run([...])` for a command; an `extern` only describes an action rbk \
             implements natively"
                .to_string(),
        ));
        return;
    };
    if external.params.len() != native.arity {
        out.push(problem(
            format!(
                "`{qualified}` is declared with {} parameters, but its native implementation takes {}",
                external.params.len(),
                native.arity
            ),
            "does not match the native",
            format!("declare it as std declares it (docs/stdlib.md), with {} parameters", native.arity),
        ));
    }
    if external.effect < native.effect {
        out.push(problem(
            format!(
                "`{qualified}` is declared `{}`, but its native implementation is `{}`",
                external.effect, native.effect
            ),
            "weaker than what the action does",
            format!(
                "declare it `effect {}`: the checker's approval gates trust the declared effect",
                native.effect
            ),
        ));
    }
    if external.safe_to_auto_approve && !native.safe_to_auto_approve {
        out.push(problem(
            format!("`{qualified}` is declared `safe_to_auto_approve`, but std does not declare it so"),
            "not safe to auto-approve",
            "remove `safe_to_auto_approve`: only std may say an action is safe to approve on a timeout".to_string(),
        ));
    }
}

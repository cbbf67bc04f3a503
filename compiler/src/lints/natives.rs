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
use crate::FileId;

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
    let problem =
        |misfit: NativeMisfit| extern_without_native(module.file, external, &qualified, misfit);
    let Some(native) = natives.get(&qualified) else {
        out.push(problem(NativeMisfit::Missing));
        return;
    };
    if external.params.len() != native.arity {
        out.push(problem(NativeMisfit::Arity {
            native: native.arity,
        }));
    }
    if external.effect < native.effect {
        out.push(problem(NativeMisfit::Weaker {
            native: native.effect,
        }));
    }
    if external.safe_to_auto_approve && !native.safe_to_auto_approve {
        out.push(problem(NativeMisfit::NotSafeToAutoApprove));
    }
}

/// How an `extern action` fails to describe a native implementation.
enum NativeMisfit {
    /// This build has no native of its name.
    Missing,
    /// The native takes another number of arguments.
    Arity { native: usize },
    /// The declared effect is weaker than the native's.
    Weaker { native: Effect },
    /// Declared `safe_to_auto_approve`, which std does not declare the native.
    NotSafeToAutoApprove,
}

/// E0309: fires when an `extern action` of a user module (`qualified`, `module.name`) has no
/// native implementation in this build, or promises less than the one it has.
fn extern_without_native(
    file: FileId,
    external: &ExternItem,
    qualified: &str,
    misfit: NativeMisfit,
) -> Diagnostic {
    let (message, label, help): (String, &str, String) = match misfit {
        NativeMisfit::Missing => (
            format!(
                "`extern action {}` has no native implementation: nothing runs `{qualified}`",
                external.name.name
            ),
            "declared here, implemented nowhere",
            "call an action of the standard library instead (docs/stdlib.md), e.g. \
             `shell.run([...])` for a command; an `extern` only describes an action rbk \
             implements natively"
                .to_string(),
        ),
        NativeMisfit::Arity { native } => (
            format!(
                "`{qualified}` is declared with {} parameters, but its native implementation takes {native}",
                external.params.len(),
            ),
            "does not match the native",
            format!("declare it as std declares it (docs/stdlib.md), with {native} parameters"),
        ),
        NativeMisfit::Weaker { native } => (
            format!(
                "`{qualified}` is declared `{}`, but its native implementation is `{native}`",
                external.effect
            ),
            "weaker than what the action does",
            format!(
                "declare it `effect {native}`: the checker's approval gates trust the declared effect"
            ),
        ),
        NativeMisfit::NotSafeToAutoApprove => (
            format!("`{qualified}` is declared `safe_to_auto_approve`, but std does not declare it so"),
            "not safe to auto-approve",
            "remove `safe_to_auto_approve`: only std may say an action is safe to approve on a timeout".to_string(),
        ),
    };
    Diagnostic::new(Code::ExternWithoutNative, file, external.name.span, message)
        .label(label)
        .help(help)
}

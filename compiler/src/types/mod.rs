//! Names and types: resolves every name to what it means and checks every expression.
//!
//! The results are side tables keyed by module and expression id ([`TypeInfo`]), so the syntax
//! tree stays as parsed and later phases (effects, lints, plan, interpreter) read the answers.

mod builtins;
mod call_errors;
mod call_patterns;
mod calls;
mod checker;
mod clauses;
mod decision_errors;
mod decisions;
mod declarations;
mod durations;
mod env;
mod expressions;
mod mismatch;
mod operators;
mod secrets;
mod sizes;
mod statements;
mod test_blocks;
mod text_builtins;
mod ty;

use std::collections::HashMap;

use rustc_hash::FxHashMap;

pub use builtins::Builtin;
pub use decisions::{askable_type, ASKABLE_TYPES};
pub use sizes::{format_size, parse_size, SizeError};
pub use ty::{assignable, NamedTy, Ty, TypeKey};

use crate::diagnostics::Diagnostic;
use crate::resolve::{Module, ModuleId};
use crate::syntax::ExprId;

/// What a call expression calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Callee {
    Extern { module: ModuleId, item: usize },
    Fn { module: ModuleId, item: usize },
    Builtin(Builtin),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParamSig {
    pub name: String,
    pub ty: Ty,
    pub has_default: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Signature {
    pub params: Vec<ParamSig>,
    pub ret: Ty,
}

/// A typed runbook input.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSig {
    pub name: String,
    pub ty: Ty,
    pub has_default: bool,
}

#[derive(Debug, Default)]
pub struct TypeInfo {
    pub expr_types: FxHashMap<(ModuleId, ExprId), Ty>,
    pub calls: FxHashMap<(ModuleId, ExprId), Callee>,
    /// Fields of named record types; `None` for opaque handles.
    pub named_types: HashMap<TypeKey, Option<Vec<(String, Ty)>>>,
    /// Signatures of externs and `fn`s, by module and item index.
    /// Shared: every call's check reads its callee's signature.
    pub signatures: HashMap<(ModuleId, usize), std::sync::Arc<Signature>>,
    pub const_types: HashMap<(ModuleId, usize), Ty>,
    /// Inputs of each runbook, by module and item index.
    pub inputs: HashMap<(ModuleId, usize), Vec<InputSig>>,
}

impl TypeInfo {
    pub fn type_of(&self, module: ModuleId, expr: ExprId) -> &Ty {
        self.expr_types.get(&(module, expr)).unwrap_or(&Ty::Unknown)
    }

    pub fn callee(&self, module: ModuleId, expr: ExprId) -> Option<Callee> {
        self.calls.get(&(module, expr)).copied()
    }
}

/// The approver groups from `rbk.toml`, when one was found.
pub type ApproverGroups = std::collections::BTreeMap<String, Vec<String>>;

pub fn check_modules(modules: &[Module], diagnostics: &mut Vec<Diagnostic>) -> TypeInfo {
    let mut checker = checker::Checker::new(modules, diagnostics);
    checker.check_all();
    let info = checker.into_info();
    durations::check(modules, diagnostics);
    info
}

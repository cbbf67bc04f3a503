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
    /// What was recorded of each module's expressions, by module id.
    checked: Vec<CheckedModule>,
    /// Fields of named record types; `None` for opaque handles.
    pub named_types: HashMap<TypeKey, Option<Vec<(String, Ty)>>>,
    /// Signatures of externs and `fn`s, by module and item index.
    /// Shared: every call's check reads its callee's signature.
    pub signatures: HashMap<(ModuleId, usize), std::sync::Arc<Signature>>,
    pub const_types: HashMap<(ModuleId, usize), Ty>,
    /// Inputs of each runbook, by module and item index.
    pub inputs: HashMap<(ModuleId, usize), Vec<InputSig>>,
}

/// The type of every expression of one module and what each call calls, by expression id
/// (ids are dense from 0 within a module, so a vector is the table).
#[derive(Debug, Default)]
pub(crate) struct CheckedModule {
    expr_types: Vec<Option<Ty>>,
    calls: Vec<Option<Callee>>,
}

impl CheckedModule {
    fn is_empty(&self) -> bool {
        self.expr_types.is_empty() && self.calls.is_empty()
    }
}

/// Sets `table[index]`, growing the table with empty places up to it (at least doubling it:
/// ids mostly come in increasing order).
fn set_at<T>(table: &mut Vec<Option<T>>, index: usize, value: T) {
    if table.len() <= index {
        let len = (index + 1).max(table.len() * 2);
        table.resize_with(len, || None);
    }
    table[index] = Some(value);
}

impl TypeInfo {
    pub fn type_of(&self, module: ModuleId, expr: ExprId) -> &Ty {
        self.checked
            .get(module.0 as usize)
            .and_then(|checked| checked.expr_types.get(expr.0 as usize))
            .and_then(Option::as_ref)
            .unwrap_or(&Ty::Unknown)
    }

    pub fn callee(&self, module: ModuleId, expr: ExprId) -> Option<Callee> {
        self.checked
            .get(module.0 as usize)
            .and_then(|checked| checked.calls.get(expr.0 as usize).copied().flatten())
    }

    fn checked_mut(&mut self, module: ModuleId) -> &mut CheckedModule {
        let index = module.0 as usize;
        if self.checked.len() <= index {
            self.checked.resize_with(index + 1, CheckedModule::default);
        }
        &mut self.checked[index]
    }

    /// Records the type of an expression (a later record of the same one replaces it).
    pub(crate) fn record_type(&mut self, module: ModuleId, expr: ExprId, ty: Ty) {
        set_at(
            &mut self.checked_mut(module).expr_types,
            expr.0 as usize,
            ty,
        );
    }

    /// Records what a call expression calls.
    pub(crate) fn record_call(&mut self, module: ModuleId, expr: ExprId, callee: Callee) {
        set_at(&mut self.checked_mut(module).calls, expr.0 as usize, callee);
    }

    /// Every module's tables (one per module of `modules`), leaving none here.
    fn take_checked(&mut self, modules: usize) -> Vec<CheckedModule> {
        let mut tables = std::mem::take(&mut self.checked);
        tables.resize_with(modules.max(tables.len()), CheckedModule::default);
        tables
    }

    /// Puts back what [`Self::take_checked`] took.
    fn restore_checked(&mut self, tables: Vec<CheckedModule>) {
        self.checked = tables;
    }

    /// Puts one module's tables here (a thread about to check the module).
    fn put_checked(&mut self, module: ModuleId, tables: CheckedModule) {
        *self.checked_mut(module) = tables;
    }

    /// Takes one module's tables out (a thread done checking the module).
    fn take_checked_of(&mut self, module: ModuleId) -> CheckedModule {
        std::mem::take(self.checked_mut(module))
    }

    /// What a module's bodies may read of other modules (record types, signatures, constants,
    /// runbook inputs), with nothing recorded of expressions yet: where a thread checking
    /// some of the modules starts.
    fn declarations(&self) -> TypeInfo {
        TypeInfo {
            checked: Vec::new(),
            named_types: self.named_types.clone(),
            signatures: self.signatures.clone(),
            const_types: self.const_types.clone(),
            inputs: self.inputs.clone(),
        }
    }

    /// Takes in what a thread recorded (see [`Self::declarations`]) beyond the tables of the
    /// modules it checked, which travel back on their own: the inputs of its runbooks, and
    /// anything it recorded of another module.
    fn absorb(&mut self, checked: TypeInfo) {
        for (index, module) in checked.checked.into_iter().enumerate() {
            if module.is_empty() {
                continue;
            }
            let mine = self.checked_mut(ModuleId(index as u32));
            if mine.is_empty() {
                *mine = module;
                continue;
            }
            for (expr, ty) in module.expr_types.into_iter().enumerate() {
                if let Some(ty) = ty {
                    set_at(&mut mine.expr_types, expr, ty);
                }
            }
            for (expr, callee) in module.calls.into_iter().enumerate() {
                if let Some(callee) = callee {
                    set_at(&mut mine.calls, expr, callee);
                }
            }
        }
        self.inputs.extend(checked.inputs);
    }
}

/// The approver groups from `rbk.toml`, when one was found.
pub type ApproverGroups = std::collections::BTreeMap<String, Vec<String>>;

/// Checks `modules` on `threads` threads (1: on this one); the result is the same whatever
/// the number.
pub fn check_modules(
    modules: &[Module],
    threads: usize,
    diagnostics: &mut Vec<Diagnostic>,
) -> TypeInfo {
    let mut checker = checker::Checker::new(modules, diagnostics);
    checker.check_all(threads);
    let info = checker.into_info();
    let found = crate::parallel::map_chunks(modules, threads, |_, chunk| {
        let mut found = Vec::new();
        durations::check(chunk, &mut found);
        found
    });
    diagnostics.extend(found.into_iter().flatten());
    info
}

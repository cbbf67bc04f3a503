//! The names visible while checking one body: scoped bindings of `let`s, inputs, parameters,
//! loop variables and lambda parameters, and what else the body may read (`alert`, `run`, the
//! asked approval values, which steps have ended).

use super::Ty;
use crate::resolve::ModuleId;
use crate::syntax::{Ident, Span};
use crate::FileId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BindingKind {
    Let,
    Input,
    Param,
    Loop,
    Lambda,
}

#[derive(Debug)]
pub(super) struct Binding {
    pub(super) name: String,
    pub(super) ty: Ty,
    pub(super) span: Span,
    pub(super) kind: BindingKind,
    pub(super) used: bool,
    /// A step's `let` that later steps see but that may have no value when they run: the step
    /// and why (`it has a \`when\``, `it may fail and the run goes on`).
    pub(super) maybe_unset: Option<(String, &'static str)>,
}

/// The names visible while checking one body.
pub(super) struct Env {
    pub module: ModuleId,
    pub file: FileId,
    pub(super) bindings: Vec<Binding>,
    scopes: Vec<Vec<usize>>,
    /// `alert` is in scope (alert-triggered runbooks).
    pub alert: bool,
    /// `run` is in scope (`escalate`, `notify`).
    pub run: bool,
    /// The declared return type inside a `fn`.
    pub return_ty: Option<Ty>,
    /// The step being checked, when inside one.
    pub step: Option<String>,
    /// The values the approval of the step being checked asks for, inside its body.
    pub(super) asked: Option<Vec<(String, Ty)>>,
    /// Which steps have ended where this body runs (`step.NAME.outcome`); `None` outside a
    /// runbook.
    pub(super) step_order: Option<super::decisions::StepOrder>,
    /// Steps a `when` or `if` condition proved succeeded: their `let`s are bound here.
    pub(super) proven_succeeded: Vec<String>,
}

impl Env {
    pub fn new(module: ModuleId, file: FileId) -> Self {
        Env {
            module,
            file,
            bindings: Vec::new(),
            scopes: vec![Vec::new()],
            alert: false,
            run: false,
            return_ty: None,
            step: None,
            asked: None,
            step_order: None,
            proven_succeeded: Vec::new(),
        }
    }

    pub fn push(&mut self) {
        self.scopes.push(Vec::new());
    }

    pub fn pop(&mut self) {
        self.scopes.pop();
    }

    pub fn bind(&mut self, name: &Ident, ty: Ty, kind: BindingKind) {
        self.bindings.push(Binding {
            name: name.name.clone(),
            ty,
            span: name.span,
            kind,
            used: false,
            maybe_unset: None,
        });
        let index = self.bindings.len() - 1;
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(index);
        }
    }

    pub(super) fn lookup(&mut self, name: &str) -> Option<&mut Binding> {
        let index = self
            .scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .copied()
            .find(|&i| self.bindings[i].name == name)?;
        Some(&mut self.bindings[index])
    }

    pub fn visible_names(&self) -> Vec<&str> {
        self.scopes
            .iter()
            .flat_map(|s| s.iter())
            .map(|&i| self.bindings[i].name.as_str())
            .collect()
    }

    /// `let` bindings never read, as (name, span).
    pub fn unused_lets(&self) -> Vec<(&str, Span)> {
        self.bindings
            .iter()
            .filter(|b| b.kind == BindingKind::Let && !b.used && !b.name.starts_with('_'))
            .map(|b| (b.name.as_str(), b.span))
            .collect()
    }
}

impl Env {
    pub(super) fn used_names(&self) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|b| b.used)
            .map(|b| b.name.clone())
            .collect()
    }
}

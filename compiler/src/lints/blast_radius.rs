use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::ModuleId;
use crate::syntax::visit::{stmt_blocks, stmt_exprs, walk_expr};
use crate::syntax::{BinaryOp, Effect, Expr, ExprKind, Stmt, StmtKind};
use crate::types::{Callee, Ty};
use crate::FileId;

/// W0102: a destructive action applied to a list of targets, inside a `for`, or in the function
/// a list builtin applies to every element (`map(pods, p => k8s.delete_pod(p))`), with nothing
/// bounding how many targets it hits.
pub struct BlastRadius;

impl Lint for BlastRadius {
    fn codes(&self) -> &'static [Code] {
        &[Code::UnboundedBlastRadius]
    }

    fn check(&self, cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
        for (step, _) in &facts.steps {
            let mut walker = Walker {
                cx,
                module: facts.module.id,
                bounded: Vec::new(),
                out: Vec::new(),
            };
            walker.block(&step.body, None);
            for (call_span, name, reason) in walker.out {
                out.push(unbounded_blast_radius(
                    facts.module.file,
                    call_span,
                    &name,
                    &reason,
                ));
            }
        }
    }
}

/// W0102: fires when a destructive action (`name`) is applied to every element of a list
/// (`reason` says how) with nothing bounding the list's length.
fn unbounded_blast_radius(
    file: FileId,
    call: crate::syntax::Span,
    name: &str,
    reason: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::UnboundedBlastRadius,
        file,
        call,
        format!("`{name}` {reason} with no bound on how many"),
    )
    .label("unbounded blast radius")
    .help("bound it: pass `max: N` where the action takes one, or `expect len(xs) <= N` before it, so a bad query cannot take out everything")
}

struct Walker<'a, 'c> {
    cx: &'c LintContext<'a>,
    module: ModuleId,
    /// Names proven small by an earlier `expect len(NAME) <= N`.
    bounded: Vec<String>,
    out: Vec<(crate::syntax::Span, String, String)>,
}

impl Walker<'_, '_> {
    fn block(&mut self, stmts: &[Stmt], loop_over: Option<&Expr>) {
        for stmt in stmts {
            if let StmtKind::Expect { cond, .. } = &stmt.kind {
                if let Some(name) = bounded_name(cond, &self.bounded) {
                    self.bounded.push(name);
                }
            }
            for expr in stmt_exprs(stmt) {
                // The functions list builtins apply once per element, and the list each one
                // goes over.
                let mut per_element: Vec<(crate::syntax::Span, &Expr)> = Vec::new();
                walk_expr(expr, &mut |e| {
                    if let Some(over) = applied_per_element(e) {
                        per_element.push(over);
                    }
                });
                walk_expr(expr, &mut |e| {
                    let inside = per_element
                        .iter()
                        .filter(|(body, _)| body.start <= e.span.start && e.span.end <= body.end)
                        .map(|(_, list)| *list)
                        .next();
                    self.call(e, inside.or(loop_over));
                });
            }
            match &stmt.kind {
                StmtKind::For { iter, body, .. } => self.block(body, Some(iter)),
                _ => {
                    for block in stmt_blocks(stmt) {
                        self.block(block, loop_over);
                    }
                }
            }
        }
    }

    fn call(&mut self, expr: &Expr, loop_over: Option<&Expr>) {
        let ExprKind::Call { args, .. } = &expr.kind else {
            return;
        };
        let actions =
            self.cx
                .effects
                .call_actions(self.cx.modules, self.cx.types, self.module, expr);
        let Some(action) = actions.iter().find(|a| a.effect == Effect::Destructive) else {
            return;
        };
        if let Some(iter) = loop_over {
            if !self.is_bounded(iter) {
                self.out.push((
                    expr.span,
                    action.name.clone(),
                    "runs once per element of a loop".into(),
                ));
                return;
            }
        }
        // Bounded by the action itself when it takes a `max` and the call fills it.
        let max_position = match self.cx.types.callee(self.module, expr.id) {
            Some(Callee::Extern { module, item }) | Some(Callee::Fn { module, item }) => self
                .cx
                .types
                .signatures
                .get(&(module, item))
                .and_then(|s| s.params.iter().position(|p| p.name == "max")),
            _ => None,
        };
        if let Some(position) = max_position {
            let positional = args.iter().filter(|a| a.name.is_none()).count();
            let named = args
                .iter()
                .any(|a| a.name.as_ref().is_some_and(|n| n.name == "max"));
            if named || positional > position {
                return;
            }
        }
        for arg in args {
            let ty = self.cx.types.type_of(self.module, arg.value.id);
            if let Ty::List(element) = ty {
                if element.is_target() && !self.is_bounded(&arg.value) {
                    self.out.push((
                        expr.span,
                        action.name.clone(),
                        "is applied to a list".into(),
                    ));
                    return;
                }
            }
        }
    }

    fn is_bounded(&self, expr: &Expr) -> bool {
        match &expr.kind {
            ExprKind::Name(name) => self.bounded.contains(&name.name),
            _ => false,
        }
    }
}

/// `map`/`filter`/`any`/`all`/`sort_by` over a list with a lambda: the lambda body's span and
/// the list.
fn applied_per_element(expr: &Expr) -> Option<(crate::syntax::Span, &Expr)> {
    let ExprKind::Call { callee, args } = &expr.kind else {
        return None;
    };
    let ExprKind::Name(name) = &callee.kind else {
        return None;
    };
    if !matches!(
        name.name.as_str(),
        "map" | "filter" | "any" | "all" | "sort_by"
    ) {
        return None;
    }
    let (list, function) = (args.first()?, args.get(1)?);
    match &function.value.kind {
        ExprKind::Lambda { body, .. } => Some((body.span, &list.value)),
        _ => None,
    }
}

/// `len(NAME) <= N`, `len(NAME) < N`, `N >= len(NAME)`, `len(NAME) == N`; a bound that is itself
/// `len(OTHER)` bounds only when `OTHER` is bounded already.
fn bounded_name(cond: &Expr, bounded: &[String]) -> Option<String> {
    let ExprKind::Binary(op, lhs, rhs) = &cond.kind else {
        return None;
    };
    let len_arg = |e: &Expr| -> Option<String> {
        let ExprKind::Call { callee, args } = &e.kind else {
            return None;
        };
        let ExprKind::Name(f) = &callee.kind else {
            return None;
        };
        if f.name != "len" || args.len() != 1 {
            return None;
        }
        match &args[0].value.kind {
            ExprKind::Name(n) => Some(n.name.clone()),
            _ => None,
        }
    };
    let (measured, bound) = match op {
        BinaryOp::Le | BinaryOp::Lt | BinaryOp::Eq => (lhs, rhs),
        BinaryOp::Ge | BinaryOp::Gt => (rhs, lhs),
        _ => return None,
    };
    let name = len_arg(measured)?;
    match len_arg(bound) {
        Some(other) if !bounded.contains(&other) => None,
        _ => Some(name),
    }
}

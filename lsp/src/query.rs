//! Questions about one module's tree: every expression, the one under the cursor, the names of
//! items. Read-only walks over the compiler's syntax tree.

use rbk_compiler::syntax::visit::{walk_expr, walk_step, walk_stmts};
use rbk_compiler::syntax::{
    ClauseKind, Expr, ExprKind, Ident, Item, ItemKind, MockOutcome, SourceFile, TestStmtKind,
    Trigger,
};

/// Every expression of a file, nested ones included.
pub fn all_exprs(file: &SourceFile) -> Vec<&Expr> {
    let mut out = Vec::new();
    for item in &file.items {
        match &item.kind {
            ItemKind::Runbook(runbook) => {
                for clause in &runbook.clauses {
                    match &clause.kind {
                        ClauseKind::Trigger(Trigger::Alert {
                            filter: Some(e), ..
                        })
                        | ClauseKind::Timeout(e)
                        | ClauseKind::Escalate(e)
                        | ClauseKind::Notify(e) => walk_expr_into(e, &mut out),
                        ClauseKind::Input(fields) => {
                            for e in fields.iter().filter_map(|f| f.default.as_ref()) {
                                walk_expr_into(e, &mut out);
                            }
                        }
                        ClauseKind::Concurrency { limit, per } => {
                            walk_expr_into(limit, &mut out);
                            if let Some(per) = per {
                                walk_expr_into(per, &mut out);
                            }
                        }
                        ClauseKind::Rate { limit, window, by } => {
                            walk_expr_into(limit, &mut out);
                            walk_expr_into(window, &mut out);
                            if let Some(by) = by {
                                walk_expr_into(by, &mut out);
                            }
                        }
                        ClauseKind::Step(step) => walk_step(step, &mut |e| out.push(e)),
                        _ => {}
                    }
                }
            }
            ItemKind::Fn(function) => {
                for e in function.params.iter().filter_map(|p| p.default.as_ref()) {
                    walk_expr_into(e, &mut out);
                }
                walk_stmts(&function.body, &mut |e| out.push(e));
            }
            ItemKind::Extern(external) => {
                for e in external.params.iter().filter_map(|p| p.default.as_ref()) {
                    walk_expr_into(e, &mut out);
                }
            }
            ItemKind::Const(constant) => walk_expr_into(&constant.value, &mut out),
            ItemKind::Test(test) => {
                for stmt in &test.body {
                    match &stmt.kind {
                        TestStmtKind::Mock {
                            pattern,
                            outcome: MockOutcome::Returns(e) | MockOutcome::Fails(e),
                            ..
                        } => {
                            for e in pattern.iter().flat_map(|p| p.exprs()) {
                                walk_expr_into(e, &mut out);
                            }
                            walk_expr_into(e, &mut out);
                        }
                        TestStmtKind::Set { value: e, .. }
                        | TestStmtKind::Expect(e)
                        | TestStmtKind::Let { value: e, .. } => walk_expr_into(e, &mut out),
                        TestStmtKind::Run {
                            inputs,
                            alert,
                            alerts,
                            ..
                        } => {
                            for e in inputs.iter().chain(alert).chain(alerts) {
                                walk_expr_into(e, &mut out);
                            }
                        }
                        TestStmtKind::ExpectCalled {
                            pattern: Some(pattern),
                            ..
                        } => {
                            for e in pattern.exprs() {
                                walk_expr_into(e, &mut out);
                            }
                        }
                        _ => {}
                    }
                }
            }
            ItemKind::Use(_) | ItemKind::Type(_) => {}
        }
    }
    out
}

fn walk_expr_into<'a>(expr: &'a Expr, out: &mut Vec<&'a Expr>) {
    walk_expr(expr, &mut |e| out.push(e));
}

/// The innermost expression at `offset`.
pub fn expr_at(file: &SourceFile, offset: usize) -> Option<&Expr> {
    all_exprs(file)
        .into_iter()
        .filter(|e| e.span.contains(offset))
        .min_by_key(|e| e.span.len())
}

/// The innermost call whose callee (`pg.terminate`, `len`) is under the cursor.
pub fn call_at(file: &SourceFile, offset: usize) -> Option<&Expr> {
    all_exprs(file)
        .into_iter()
        .filter(|e| match &e.kind {
            ExprKind::Call { callee, .. } => callee.span.contains(offset),
            _ => false,
        })
        .min_by_key(|e| e.span.len())
}

/// The name an item is known by.
pub fn item_name(item: &Item) -> Option<&Ident> {
    match &item.kind {
        ItemKind::Runbook(r) => Some(&r.name),
        ItemKind::Fn(f) => Some(&f.name),
        ItemKind::Const(c) => Some(&c.name),
        ItemKind::Extern(e) => Some(&e.name),
        ItemKind::Type(t) => Some(&t.name),
        ItemKind::Use(u) => u.binding(),
        ItemKind::Test(_) => None,
    }
}

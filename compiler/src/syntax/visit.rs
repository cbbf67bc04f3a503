//! Walking every expression of a tree, for the phases that look for calls, names or secrets.

use super::ast::*;

/// Calls `f` on `expr` and every expression inside it, outermost first.
pub fn walk_expr<'a>(expr: &'a Expr, f: &mut impl FnMut(&'a Expr)) {
    f(expr);
    match &expr.kind {
        ExprKind::Str(parts) => {
            for part in parts {
                if let StrPart::Interpolation(inner) = part {
                    walk_expr(inner, f);
                }
            }
        }
        ExprKind::List(elements) => elements.iter().for_each(|e| walk_expr(e, f)),
        ExprKind::Record(fields) => fields.iter().for_each(|field| walk_expr(&field.value, f)),
        ExprKind::Field(base, _) => walk_expr(base, f),
        ExprKind::Index(base, index) => {
            walk_expr(base, f);
            walk_expr(index, f);
        }
        ExprKind::Call { callee, args } => {
            walk_expr(callee, f);
            args.iter().for_each(|arg| walk_expr(&arg.value, f));
        }
        ExprKind::Unary(_, operand) => walk_expr(operand, f),
        ExprKind::Binary(_, lhs, rhs) => {
            walk_expr(lhs, f);
            walk_expr(rhs, f);
        }
        ExprKind::Lambda { body, .. } => walk_expr(body, f),
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::None
        | ExprKind::Duration(_)
        | ExprKind::Percent(_)
        | ExprKind::Name(_)
        | ExprKind::StepOutcome { .. }
        | ExprKind::ApprovalValue(_) => {}
    }
}

/// The expressions written directly in a statement (not those of nested blocks).
pub fn stmt_exprs(stmt: &Stmt) -> Vec<&Expr> {
    match &stmt.kind {
        StmtKind::Let { value, .. } => vec![value],
        StmtKind::If { cond, .. } => vec![cond],
        StmtKind::For { iter, .. } => vec![iter],
        StmtKind::Expect {
            cond,
            within,
            every,
            message,
        } => {
            let mut exprs = vec![cond];
            exprs.extend(within.iter().chain(every).chain(message));
            exprs
        }
        StmtKind::Fail(e) | StmtKind::Log(e) | StmtKind::Return(e) | StmtKind::Expr(e) => vec![e],
    }
}

/// The blocks nested directly in a statement.
pub fn stmt_blocks(stmt: &Stmt) -> Vec<&[Stmt]> {
    match &stmt.kind {
        StmtKind::If {
            then_body,
            else_body,
            ..
        } => {
            let mut blocks = vec![then_body.as_slice()];
            blocks.extend(else_body.as_deref());
            blocks
        }
        StmtKind::For { body, .. } => vec![body.as_slice()],
        _ => Vec::new(),
    }
}

/// Calls `f` on every expression in the statements, nested blocks included.
pub fn walk_stmts<'a>(stmts: &'a [Stmt], f: &mut impl FnMut(&'a Expr)) {
    for stmt in stmts {
        for expr in stmt_exprs(stmt) {
            walk_expr(expr, f);
        }
        for block in stmt_blocks(stmt) {
            walk_stmts(block, f);
        }
    }
}

/// Every expression of a step: title, condition, options and body.
pub fn walk_step<'a>(step: &'a Step, f: &mut impl FnMut(&'a Expr)) {
    if let Some(title) = &step.title {
        walk_expr(title, f);
    }
    if let Some(when) = &step.when {
        walk_expr(when, f);
    }
    for option in &step.options {
        match &option.kind {
            StepOptionKind::ApprovalRequired {
                timeout: Some(e), ..
            }
            | StepOptionKind::Retry { every: Some(e), .. }
            | StepOptionKind::Timeout(e) => walk_expr(e, f),
            _ => {}
        }
    }
    walk_stmts(&step.body, f);
}

/// Calls `f` on every expression of `items` (runbooks, `fn`s, externs' defaults, consts and
/// tests), nested ones included.
pub fn walk_items<'a>(items: &'a [Item], f: &mut impl FnMut(&'a Expr)) {
    for item in items {
        match &item.kind {
            ItemKind::Runbook(runbook) => {
                for clause in &runbook.clauses {
                    match &clause.kind {
                        ClauseKind::Trigger(Trigger::Alert {
                            filter: Some(e), ..
                        })
                        | ClauseKind::Timeout(e)
                        | ClauseKind::Escalate(e)
                        | ClauseKind::Notify(e) => walk_expr(e, f),
                        ClauseKind::Input(fields) => {
                            for e in fields.iter().filter_map(|field| field.default.as_ref()) {
                                walk_expr(e, f);
                            }
                        }
                        ClauseKind::Concurrency { limit, per } => {
                            walk_expr(limit, f);
                            if let Some(per) = per {
                                walk_expr(per, f);
                            }
                        }
                        ClauseKind::Rate { limit, window, by } => {
                            walk_expr(limit, f);
                            walk_expr(window, f);
                            if let Some(by) = by {
                                walk_expr(by, f);
                            }
                        }
                        ClauseKind::Step(step) => walk_step(step, f),
                        _ => {}
                    }
                }
            }
            ItemKind::Fn(function) => {
                for e in function.params.iter().filter_map(|p| p.default.as_ref()) {
                    walk_expr(e, f);
                }
                walk_stmts(&function.body, f);
            }
            ItemKind::Extern(external) => {
                for e in external.params.iter().filter_map(|p| p.default.as_ref()) {
                    walk_expr(e, f);
                }
            }
            ItemKind::Const(constant) => walk_expr(&constant.value, f),
            ItemKind::Test(test) => {
                for stmt in &test.body {
                    match &stmt.kind {
                        TestStmtKind::Mock {
                            pattern,
                            outcome: MockOutcome::Returns(e) | MockOutcome::Fails(e),
                            ..
                        } => {
                            for e in pattern.iter().flat_map(|p| p.exprs()) {
                                walk_expr(e, f);
                            }
                            walk_expr(e, f);
                        }
                        TestStmtKind::ExpectCalled {
                            pattern: Some(pattern),
                            ..
                        } => {
                            for e in pattern.exprs() {
                                walk_expr(e, f);
                            }
                        }
                        TestStmtKind::Set { value: e, .. }
                        | TestStmtKind::Expect(e)
                        | TestStmtKind::Let { value: e, .. } => walk_expr(e, f),
                        TestStmtKind::Run {
                            inputs,
                            alert,
                            alerts,
                            ..
                        } => {
                            for e in inputs.iter().chain(alert).chain(alerts) {
                                walk_expr(e, f);
                            }
                        }
                        _ => {}
                    }
                }
            }
            // A template's own expressions are never checked: its instances (runbooks by the
            // time anything walks a checked tree, with the same spans) carry them.
            ItemKind::Use(_)
            | ItemKind::Type(_)
            | ItemKind::Template(_)
            | ItemKind::Instance(_) => {}
        }
    }
}

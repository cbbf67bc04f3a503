//! Moving a parsed item to another place in its file: every span moves by the same number of
//! bytes and every expression id by the same count. The incremental parser parses each item on
//! its own (spans from 0, ids from 0) and places it where the item stands in today's text.
//!
//! The matches are exhaustive on purpose: a new node kind does not compile until it is moved
//! here too.

use super::ast::*;
use crate::diagnostics::Diagnostic;

pub(crate) struct Shift {
    pub bytes: usize,
    pub ids: u32,
}

impl Shift {
    fn span(&self, span: &mut Span) {
        span.start += self.bytes;
        span.end += self.bytes;
    }

    pub(crate) fn diagnostic(&self, diagnostic: &mut Diagnostic) {
        self.span(&mut diagnostic.primary.span);
        for label in &mut diagnostic.secondary {
            self.span(&mut label.span);
        }
    }

    fn ident(&self, ident: &mut Ident) {
        self.span(&mut ident.span);
    }

    fn str_lit(&self, lit: &mut StrLit) {
        self.span(&mut lit.span);
    }

    pub(crate) fn item(&self, item: &mut Item) {
        self.span(&mut item.span);
        match &mut item.kind {
            ItemKind::Use(use_item) => {
                match &mut use_item.target {
                    UseTarget::Std { path, span } => {
                        path.iter_mut().for_each(|p| self.ident(p));
                        self.span(span);
                    }
                    UseTarget::Local(lit) => self.str_lit(lit),
                }
                if let Some(alias) = &mut use_item.alias {
                    self.ident(alias);
                }
            }
            ItemKind::Runbook(runbook) => {
                self.ident(&mut runbook.name);
                runbook.clauses.iter_mut().for_each(|c| self.clause(c));
            }
            ItemKind::Template(template) => {
                self.ident(&mut template.name);
                template.params.iter_mut().for_each(|p| self.param(p));
                template.clauses.iter_mut().for_each(|c| self.clause(c));
            }
            ItemKind::Instance(instance) => {
                self.ident(&mut instance.name);
                self.ident(&mut instance.template);
                for arg in &mut instance.args {
                    if let Some(name) = &mut arg.name {
                        self.ident(name);
                    }
                    self.expr(&mut arg.value);
                }
                self.span(&mut instance.args_span);
            }
            ItemKind::Fn(function) => {
                self.ident(&mut function.name);
                function.params.iter_mut().for_each(|p| self.param(p));
                if let Some(ret) = &mut function.ret {
                    self.type_expr(ret);
                }
                self.stmts(&mut function.body);
            }
            ItemKind::Const(constant) => {
                self.ident(&mut constant.name);
                self.type_expr(&mut constant.ty);
                self.expr(&mut constant.value);
            }
            ItemKind::Test(test) => {
                self.str_lit(&mut test.name);
                test.body.iter_mut().for_each(|s| self.test_stmt(s));
            }
            ItemKind::Extern(external) => {
                self.ident(&mut external.name);
                external.params.iter_mut().for_each(|p| self.param(p));
                if let Some(ret) = &mut external.ret {
                    self.type_expr(ret);
                }
            }
            ItemKind::Type(type_item) => {
                self.ident(&mut type_item.name);
                for (name, ty) in type_item.fields.iter_mut().flatten() {
                    self.ident(name);
                    self.type_expr(ty);
                }
            }
        }
    }

    fn param(&self, param: &mut Param) {
        self.ident(&mut param.name);
        self.type_expr(&mut param.ty);
        self.opt_expr(&mut param.default);
    }

    fn clause(&self, clause: &mut Clause) {
        self.span(&mut clause.span);
        match &mut clause.kind {
            ClauseKind::Title(lit) | ClauseKind::Owner(lit) => self.str_lit(lit),
            ClauseKind::Trigger(trigger) => match trigger {
                Trigger::Alert { name, filter } => {
                    self.str_lit(name);
                    self.opt_expr(filter);
                }
                Trigger::Schedule(lit) => self.str_lit(lit),
                Trigger::Manual => {}
            },
            ClauseKind::Input(fields) => {
                for field in fields {
                    self.ident(&mut field.name);
                    self.type_expr(&mut field.ty);
                    self.opt_expr(&mut field.default);
                    self.span(&mut field.span);
                }
            }
            ClauseKind::Concurrency { limit, per } => {
                self.expr(limit);
                self.opt_expr(per);
            }
            ClauseKind::Rate { limit, window, by } => {
                self.expr(limit);
                self.expr(window);
                self.opt_expr(by);
            }
            ClauseKind::Timeout(e) | ClauseKind::Escalate(e) | ClauseKind::Notify(e) => {
                self.expr(e)
            }
            ClauseKind::Step(step) => self.step(step),
            ClauseKind::Mode(_) => {}
        }
    }

    fn step(&self, step: &mut Step) {
        self.ident(&mut step.name);
        self.opt_expr(&mut step.title);
        self.opt_expr(&mut step.when);
        for option in &mut step.options {
            self.span(&mut option.span);
            match &mut option.kind {
                StepOptionKind::ApprovalRequired {
                    quorum,
                    group,
                    timeout,
                    on_timeout,
                    reason,
                    ask,
                } => {
                    for field in ask {
                        self.ident(&mut field.name);
                        self.type_expr(&mut field.ty);
                    }
                    if let Some((_, span)) = quorum {
                        self.span(span);
                    }
                    if let Some(group) = group {
                        self.str_lit(group);
                    }
                    self.opt_expr(timeout);
                    if let Some((_, span)) = on_timeout {
                        self.span(span);
                    }
                    if let Some(reason) = reason {
                        self.str_lit(reason);
                    }
                }
                StepOptionKind::ApprovalNone { reason } => self.str_lit(reason),
                StepOptionKind::Retry { every, .. } => self.opt_expr(every),
                StepOptionKind::Timeout(e) => self.expr(e),
                StepOptionKind::OnFailure(_) => {}
            }
        }
        self.stmts(&mut step.body);
        self.span(&mut step.body_span);
    }

    fn stmts(&self, stmts: &mut [Stmt]) {
        for stmt in stmts {
            self.span(&mut stmt.span);
            match &mut stmt.kind {
                StmtKind::Let { name, ty, value } => {
                    self.ident(name);
                    if let Some(ty) = ty {
                        self.type_expr(ty);
                    }
                    self.expr(value);
                }
                StmtKind::If {
                    cond,
                    then_body,
                    else_body,
                } => {
                    self.expr(cond);
                    self.stmts(then_body);
                    if let Some(else_body) = else_body {
                        self.stmts(else_body);
                    }
                }
                StmtKind::For { var, iter, body } => {
                    self.ident(var);
                    self.expr(iter);
                    self.stmts(body);
                }
                StmtKind::Expect {
                    cond,
                    within,
                    every,
                    message,
                } => {
                    self.expr(cond);
                    self.opt_expr(within);
                    self.opt_expr(every);
                    self.opt_expr(message);
                }
                StmtKind::Fail(e) | StmtKind::Log(e) | StmtKind::Return(e) | StmtKind::Expr(e) => {
                    self.expr(e)
                }
            }
        }
    }

    fn test_stmt(&self, stmt: &mut TestStmt) {
        self.span(&mut stmt.span);
        match &mut stmt.kind {
            TestStmtKind::Mock {
                target,
                pattern,
                outcome,
            } => {
                self.path(target);
                self.call_pattern(pattern);
                match outcome {
                    MockOutcome::Returns(e) | MockOutcome::Fails(e) => self.expr(e),
                }
            }
            TestStmtKind::Set { name, value, .. } => {
                self.ident(name);
                self.expr(value);
            }
            TestStmtKind::Approve {
                step,
                as_user,
                values,
            } => {
                self.ident(step);
                if let Some(user) = as_user {
                    self.str_lit(user);
                }
                self.opt_expr(values);
            }
            TestStmtKind::Deny { step, as_user } => {
                self.ident(step);
                if let Some(user) = as_user {
                    self.str_lit(user);
                }
            }
            TestStmtKind::Run {
                runbook,
                inputs,
                alert,
                alerts,
            } => {
                self.ident(runbook);
                self.opt_expr(inputs);
                self.opt_expr(alert);
                for alert in alerts {
                    self.expr(alert);
                }
            }
            TestStmtKind::ExpectStep { step, .. } => self.ident(step),
            TestStmtKind::ExpectEscalated { .. } => {}
            TestStmtKind::ExpectTrigger { times, .. } => {
                if let Some((_, span)) = times {
                    self.span(span);
                }
            }
            TestStmtKind::ExpectCalled {
                target,
                pattern,
                times,
                ..
            } => {
                self.path(target);
                self.call_pattern(pattern);
                if let Some((_, span)) = times {
                    self.span(span);
                }
            }
            TestStmtKind::Expect(e) => self.expr(e),
            TestStmtKind::Let { name, ty, value } => {
                self.ident(name);
                if let Some(ty) = ty {
                    self.type_expr(ty);
                }
                self.expr(value);
            }
        }
    }

    fn call_pattern(&self, pattern: &mut Option<CallPattern>) {
        if let Some(pattern) = pattern {
            self.span(&mut pattern.span);
            self.span(&mut pattern.args_span);
            pattern.args.iter_mut().for_each(|a| self.arg_pattern(a));
            self.opt_expr(&mut pattern.guard);
        }
    }

    fn arg_pattern(&self, pattern: &mut ArgPattern) {
        self.span(&mut pattern.span);
        match &mut pattern.kind {
            ArgPatternKind::Any => {}
            ArgPatternKind::Bind(name) => self.ident(name),
            ArgPatternKind::Value(e) => self.expr(e),
            ArgPatternKind::List { elements, .. } => {
                elements.iter_mut().for_each(|e| self.arg_pattern(e))
            }
        }
    }

    fn path(&self, path: &mut Path) {
        path.segments.iter_mut().for_each(|s| self.ident(s));
        self.span(&mut path.span);
    }

    fn type_expr(&self, ty: &mut TypeExpr) {
        // Types nest only as deep as the nesting limit allows; recursion is bounded.
        self.span(&mut ty.span);
        match &mut ty.kind {
            TypeExprKind::Named { module, name } => {
                if let Some(module) = module {
                    self.ident(module);
                }
                self.ident(name);
            }
            TypeExprKind::List(inner) | TypeExprKind::Optional(inner) => self.type_expr(inner),
            TypeExprKind::Map(key, value) => {
                self.type_expr(key);
                self.type_expr(value);
            }
            TypeExprKind::Record(fields) => {
                for (name, ty) in fields {
                    self.ident(name);
                    self.type_expr(ty);
                }
            }
        }
    }

    fn opt_expr(&self, expr: &mut Option<Expr>) {
        if let Some(expr) = expr {
            self.expr(expr);
        }
    }

    /// Iterative: expressions can be as deep as the parser allows, and this must not be the
    /// place that runs out of stack.
    fn expr(&self, root: &mut Expr) {
        let mut work: Vec<&mut Expr> = vec![root];
        while let Some(expr) = work.pop() {
            self.span(&mut expr.span);
            expr.id.0 += self.ids;
            match &mut expr.kind {
                ExprKind::Int(_)
                | ExprKind::Float(_)
                | ExprKind::Bool(_)
                | ExprKind::None
                | ExprKind::Duration(_)
                | ExprKind::Percent(_) => {}
                ExprKind::Str(parts) => {
                    for part in parts {
                        match part {
                            StrPart::Text(_) => {}
                            StrPart::Interpolation(e) => work.push(e),
                        }
                    }
                }
                ExprKind::List(items) => work.extend(items.iter_mut()),
                ExprKind::Record(fields) => {
                    for field in fields {
                        match &mut field.key {
                            RecordKey::Name(name) => self.ident(name),
                            RecordKey::Str(lit) => self.str_lit(lit),
                        }
                        work.push(&mut field.value);
                    }
                }
                ExprKind::Name(name) | ExprKind::ApprovalValue(name) => self.ident(name),
                ExprKind::StepOutcome { step, .. } => self.ident(step),
                ExprKind::Field(base, field) => {
                    self.ident(field);
                    work.push(base);
                }
                ExprKind::Index(base, index) => {
                    work.push(base);
                    work.push(index);
                }
                ExprKind::Call { callee, args } => {
                    work.push(callee);
                    for arg in args {
                        if let Some(name) = &mut arg.name {
                            self.ident(name);
                        }
                        work.push(&mut arg.value);
                    }
                }
                ExprKind::Unary(_, operand) => work.push(operand),
                ExprKind::Binary(_, left, right) => {
                    work.push(left);
                    work.push(right);
                }
                ExprKind::Lambda { params, body } => {
                    params.iter_mut().for_each(|p| self.ident(p));
                    work.push(body);
                }
            }
        }
    }
}

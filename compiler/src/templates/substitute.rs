//! Filling a template's parameters: a copy of its clauses where every read of a parameter is
//! the instance's argument, every `{param}` in a plain-text clause is the argument's text, and
//! every expression has a fresh id (the checker's side tables are keyed by id, and two
//! instances of one template are two runbooks).
//!
//! The matches are exhaustive on purpose: a new node kind does not compile until it is
//! substituted here too.

use std::collections::HashMap;

use crate::syntax::ast::*;
use crate::syntax::{PLACEHOLDER_CLOSE, PLACEHOLDER_OPEN};

pub(super) struct Substitution {
    values: HashMap<String, Expr>,
    next_id: u32,
    /// Placeholders in plain text that name no parameter, with the text's span.
    pub(super) unknown: Vec<(String, Span)>,
}

impl Substitution {
    pub(super) fn new(values: HashMap<String, Expr>, first_id: u32) -> Self {
        Substitution {
            values,
            next_id: first_id,
            unknown: Vec::new(),
        }
    }

    pub(super) fn next_id(&self) -> u32 {
        self.next_id
    }

    pub(super) fn clauses(&mut self, clauses: &[Clause]) -> Vec<Clause> {
        let mut clauses = clauses.to_vec();
        for clause in &mut clauses {
            self.clause(clause);
        }
        clauses
    }

    fn clause(&mut self, clause: &mut Clause) {
        match &mut clause.kind {
            ClauseKind::Title(lit) | ClauseKind::Owner(lit) => self.text(lit),
            ClauseKind::Trigger(trigger) => match trigger {
                Trigger::Alert { name, filter } => {
                    self.text(name);
                    self.opt_expr(filter);
                }
                Trigger::Schedule(lit) => self.text(lit),
                Trigger::Manual => {}
            },
            ClauseKind::Input(fields) => {
                for field in fields {
                    self.opt_expr(&mut field.default);
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

    fn step(&mut self, step: &mut Step) {
        self.opt_expr(&mut step.title);
        self.opt_expr(&mut step.when);
        for option in &mut step.options {
            match &mut option.kind {
                StepOptionKind::ApprovalRequired {
                    group,
                    timeout,
                    reason,
                    quorum: _,
                    on_timeout: _,
                    ask: _,
                } => {
                    if let Some(group) = group {
                        self.text(group);
                    }
                    self.opt_expr(timeout);
                    if let Some(reason) = reason {
                        self.text(reason);
                    }
                }
                StepOptionKind::ApprovalNone { reason } => self.text(reason),
                StepOptionKind::Retry { every, .. } => self.opt_expr(every),
                StepOptionKind::Timeout(e) => self.expr(e),
                StepOptionKind::OnFailure(_) => {}
            }
        }
        self.stmts(&mut step.body);
    }

    fn stmts(&mut self, stmts: &mut [Stmt]) {
        for stmt in stmts {
            match &mut stmt.kind {
                StmtKind::Let { value, .. } => self.expr(value),
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
                StmtKind::For { iter, body, .. } => {
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

    /// `{param}` in a plain-text clause becomes the argument's text (the parser kept it as a
    /// placeholder; an escaped `\{` is a brace and stays one).
    fn text(&mut self, lit: &mut StrLit) {
        if !lit.value.contains(PLACEHOLDER_OPEN) {
            return;
        }
        let mut out = String::with_capacity(lit.value.len());
        let mut rest = lit.value.as_str();
        while let Some(open) = rest.find(PLACEHOLDER_OPEN) {
            out.push_str(&rest[..open]);
            let after = &rest[open + PLACEHOLDER_OPEN.len_utf8()..];
            let close = after.find(PLACEHOLDER_CLOSE).unwrap_or(after.len());
            let name = &after[..close];
            match self.values.get(name) {
                Some(value) => out.push_str(&literal_text(value)),
                None => {
                    self.unknown.push((name.to_string(), lit.span));
                    out.push_str(name);
                }
            }
            rest = after
                .get(close + PLACEHOLDER_CLOSE.len_utf8()..)
                .unwrap_or("");
        }
        out.push_str(rest);
        lit.value = out;
    }

    fn opt_expr(&mut self, expr: &mut Option<Expr>) {
        if let Some(expr) = expr {
            self.expr(expr);
        }
    }

    fn fresh(&mut self, expr: &mut Expr) {
        expr.id = ExprId(self.next_id);
        self.next_id += 1;
    }

    /// Iterative, as every walk over expressions is: they can be as deep as the parser allows.
    fn expr(&mut self, root: &mut Expr) {
        let mut work: Vec<&mut Expr> = vec![root];
        while let Some(expr) = work.pop() {
            if let ExprKind::Name(name) = &expr.kind {
                if let Some(value) = self.values.get(&name.name) {
                    // The argument, where the parameter was read: a type error about the value
                    // points at the use, and the value is the instance's.
                    let mut value = value.clone();
                    value.span = expr.span;
                    *expr = value;
                    self.renumber(expr);
                    continue;
                }
            }
            self.fresh(expr);
            match &mut expr.kind {
                ExprKind::Int(_)
                | ExprKind::Float(_)
                | ExprKind::Bool(_)
                | ExprKind::None
                | ExprKind::Duration(_)
                | ExprKind::Percent(_)
                | ExprKind::Name(_)
                | ExprKind::StepOutcome { .. }
                | ExprKind::ApprovalValue(_) => {}
                ExprKind::Str(parts) => {
                    for part in parts {
                        match part {
                            StrPart::Text(_) => {}
                            StrPart::Interpolation(e) => work.push(e),
                        }
                    }
                }
                ExprKind::List(items) => work.extend(items.iter_mut()),
                ExprKind::Record(fields) => work.extend(fields.iter_mut().map(|f| &mut f.value)),
                ExprKind::Field(base, _) => work.push(base),
                ExprKind::Index(base, index) => {
                    work.push(base);
                    work.push(index);
                }
                ExprKind::Call { callee, args } => {
                    work.push(callee);
                    work.extend(args.iter_mut().map(|a| &mut a.value));
                }
                ExprKind::Unary(_, operand) => work.push(operand),
                ExprKind::Binary(_, left, right) => {
                    work.push(left);
                    work.push(right);
                }
                ExprKind::Lambda { body, .. } => work.push(body),
            }
        }
    }

    /// Fresh ids for an argument copied in (a literal, perhaps a negative number).
    fn renumber(&mut self, expr: &mut Expr) {
        self.fresh(expr);
        if let ExprKind::Unary(_, operand) = &mut expr.kind {
            self.renumber(operand);
        }
    }
}

/// How an argument reads in plain text: a string's text, any other literal as written.
fn literal_text(value: &Expr) -> String {
    if let Some(text) = value.as_plain_str() {
        return text;
    }
    match &value.kind {
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Float(x) => x.to_string(),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Percent(p) => format!("{p}%"),
        ExprKind::Duration(ms) => duration_text(*ms),
        ExprKind::Unary(UnaryOp::Neg, operand) => format!("-{}", literal_text(operand)),
        _ => String::new(),
    }
}

/// An argument as it would be written in the instance: strings quoted.
pub(super) fn written(value: &Expr) -> String {
    match value.as_plain_str() {
        Some(text) => format!("{text:?}"),
        None => literal_text(value),
    }
}

fn duration_text(ms: u64) -> String {
    const UNITS: &[(u64, &str)] = &[
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
        (1, "ms"),
    ];
    UNITS
        .iter()
        .find(|(size, _)| ms.is_multiple_of(*size) && ms >= *size)
        .map(|(size, unit)| format!("{}{unit}", ms / size))
        .unwrap_or_else(|| "0s".into())
}

/// Every name a template's clauses bind: inputs, `let`s, `for` variables, lambda parameters.
pub(super) fn bindings(clauses: &[Clause]) -> Vec<&Ident> {
    let mut found = Vec::new();
    for clause in clauses {
        match &clause.kind {
            ClauseKind::Input(fields) => {
                for field in fields {
                    found.push(&field.name);
                    if let Some(default) = &field.default {
                        lambda_params(default, &mut found);
                    }
                }
            }
            ClauseKind::Step(step) => {
                step.title
                    .iter()
                    .chain(&step.when)
                    .for_each(|e| lambda_params(e, &mut found));
                stmt_bindings(&step.body, &mut found);
            }
            ClauseKind::Trigger(Trigger::Alert {
                filter: Some(e), ..
            })
            | ClauseKind::Timeout(e)
            | ClauseKind::Escalate(e)
            | ClauseKind::Notify(e) => lambda_params(e, &mut found),
            ClauseKind::Concurrency { limit, per } => {
                lambda_params(limit, &mut found);
                per.iter().for_each(|e| lambda_params(e, &mut found));
            }
            ClauseKind::Rate { limit, by, .. } => {
                lambda_params(limit, &mut found);
                by.iter().for_each(|e| lambda_params(e, &mut found));
            }
            _ => {}
        }
    }
    found
}

fn stmt_bindings<'a>(stmts: &'a [Stmt], found: &mut Vec<&'a Ident>) {
    for stmt in stmts {
        match &stmt.kind {
            StmtKind::Let { name, .. } => found.push(name),
            StmtKind::For { var, body, .. } => {
                found.push(var);
                stmt_bindings(body, found);
            }
            StmtKind::If {
                then_body,
                else_body,
                ..
            } => {
                stmt_bindings(then_body, found);
                if let Some(else_body) = else_body {
                    stmt_bindings(else_body, found);
                }
            }
            _ => {}
        }
        for expr in crate::syntax::visit::stmt_exprs(stmt) {
            lambda_params(expr, found);
        }
    }
}

fn lambda_params<'a>(expr: &'a Expr, found: &mut Vec<&'a Ident>) {
    crate::syntax::visit::walk_expr(expr, &mut |e| {
        if let ExprKind::Lambda { params, .. } = &e.kind {
            found.extend(params.iter());
        }
    });
}

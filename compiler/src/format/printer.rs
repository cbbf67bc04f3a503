//! Prints a syntax tree in the canonical layout: two-space indentation, one clause or statement
//! per line, a blank line between items and around steps, and at most one blank line where the
//! author left some. Comments come back where they were written (see [`super::comments`]).

use super::comments::{self, find_token, has_blank_line, literal_at, skip_trivia, Comment};
use crate::syntax::*;

pub fn print(src: &str, file: &SourceFile) -> String {
    let mut printer = Printer {
        src,
        comments: comments::collect(src),
        next: 0,
        out: String::new(),
        indent: 0,
        last_end: 0,
        fresh: true,
    };
    printer.file(file);
    printer.finish()
}

struct Printer<'a> {
    src: &'a str,
    comments: Vec<Comment>,
    /// The first comment not printed yet.
    next: usize,
    out: String,
    indent: usize,
    /// Where the last printed node or comment ended in the source (for blank lines).
    last_end: usize,
    /// Right after an opening brace: no blank line here.
    fresh: bool,
}

/// How a bracketed list is laid out on one line: `(a, b)` or `{ a, b }`.
#[derive(Clone, Copy)]
struct Brackets {
    open: u8,
    close: u8,
    padded: bool,
}

const PARENS: Brackets = Brackets {
    open: b'(',
    close: b')',
    padded: false,
};
const SQUARE: Brackets = Brackets {
    open: b'[',
    close: b']',
    padded: false,
};
const BRACES: Brackets = Brackets {
    open: b'{',
    close: b'}',
    padded: true,
};

impl<'a> Printer<'a> {
    // -----------------------------------------------------------------------------------------
    // Lines, blank lines and comments
    // -----------------------------------------------------------------------------------------

    fn push(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// `text` then the expression (`timeout 5m`, ` by alert.x`).
    fn prefixed(&mut self, text: &str, expr: &Expr) {
        self.push(text);
        self.expr(expr);
    }

    /// [`Printer::prefixed`] when the expression is there.
    fn optional(&mut self, text: &str, expr: Option<&Expr>) {
        if let Some(expr) = expr {
            self.prefixed(text, expr);
        }
    }

    fn slice(&mut self, span: Span) {
        let text = &self.src[span.start..span.end];
        self.out.push_str(text);
    }

    fn start_line(&mut self) {
        for _ in 0..self.indent {
            self.out.push_str("  ");
        }
    }

    fn end_line(&mut self) {
        let kept = self.out.trim_end_matches([' ', '\t']).len();
        self.out.truncate(kept);
        self.out.push('\n');
    }

    /// A blank line before what starts at `pos`, when forced or when the author left one.
    fn gap(&mut self, pos: usize, force: bool, allow_blank: bool) {
        let authored =
            allow_blank && self.last_end < pos && has_blank_line(&self.src[self.last_end..pos]);
        if !self.fresh && (force || authored) && !self.out.is_empty() && !self.out.ends_with("\n\n")
        {
            self.out.push('\n');
        }
        self.fresh = false;
    }

    /// Prints the comments that come before `pos`, each on its own line.
    fn comments_before(&mut self, pos: usize, mut force: bool, allow_blank: bool) -> bool {
        let mut printed = false;
        while let Some(comment) = self.comments.get(self.next) {
            if comment.start >= pos {
                break;
            }
            let (start, end, text) = (comment.start, comment.end, comment.text.clone());
            self.next += 1;
            self.gap(start, force, allow_blank);
            force = false;
            printed = true;
            self.start_line();
            self.push(&text);
            self.end_line();
            self.last_end = end;
        }
        printed
    }

    /// Leading comments and the blank line before a node that starts at `pos`.
    fn leading(&mut self, pos: usize, force: bool, allow_blank: bool) {
        let printed = self.comments_before(pos, force, allow_blank);
        self.gap(pos, force && !printed, allow_blank);
    }

    /// Comments on the line a node ends on (and any left inside it) go at the end of the line.
    fn trailing(&mut self, end: usize) {
        self.trailing_before(end, usize::MAX);
    }

    /// [`Printer::trailing`] for a node whose next sibling starts at `next`: a comment after
    /// that sibling follows it, even on the same line (`[1, 2, // two` keeps `// two` on 2).
    fn trailing_before(&mut self, end: usize, next: usize) {
        let mut texts = Vec::new();
        while let Some(comment) = self.comments.get(self.next) {
            let same_line = comment.start >= end && !self.src[end..comment.start].contains('\n');
            if comment.start >= end && (!same_line || comment.start >= next) {
                break;
            }
            texts.push(comment.text.clone());
            self.last_end = self.last_end.max(comment.end);
            self.next += 1;
        }
        if !texts.is_empty() {
            self.push(" ");
            self.push(&texts.join(" "));
        }
        self.last_end = self.last_end.max(end);
    }

    /// Ends a line that closes a node ending at `end`.
    fn finish_line(&mut self, end: usize) {
        self.trailing(end);
        self.end_line();
    }

    /// After ` {` at source position `open`: the rest of the line, then one level deeper. A
    /// comment on that line after the first element (`[1, // one`) is that element's.
    fn open_block(&mut self, open: usize) {
        let first = skip_trivia(self.src, open + 1);
        self.trailing_before(open + 1, first);
        self.end_line();
        self.indent += 1;
        self.fresh = true;
    }

    /// The comments before the `}` at `close`, then the brace. `end` finishes the line.
    fn close_block(&mut self, close: usize, end: bool) {
        self.comments_before(close, false, true);
        self.indent -= 1;
        self.start_line();
        self.push("}");
        self.fresh = false;
        if end {
            self.finish_line(close + 1);
        } else {
            self.last_end = self.last_end.max(close + 1);
        }
    }

    fn doc(&mut self, doc: &str, node_start: usize) {
        for line in doc.split('\n') {
            self.start_line();
            if line.is_empty() {
                self.push("///");
            } else {
                self.push("/// ");
                self.push(line);
            }
            self.end_line();
        }
        // Comments between the doc comment and the keyword stay between them.
        let keyword = skip_trivia(self.src, node_start);
        self.comments_before(keyword, false, false);
    }

    fn finish(mut self) -> String {
        let kept = self.out.trim_end().len();
        self.out.truncate(kept);
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out
    }

    // -----------------------------------------------------------------------------------------
    // Items
    // -----------------------------------------------------------------------------------------

    fn file(&mut self, file: &SourceFile) {
        let mut previous: Option<&Item> = None;
        for item in &file.items {
            // `use` lines, and one-line template instances, stay together as written.
            let same_one_liners = matches!(
                (&item.kind, previous.map(|p| &p.kind)),
                (ItemKind::Use(_), Some(ItemKind::Use(_)))
                    | (ItemKind::Instance(_), Some(ItemKind::Instance(_)))
            );
            self.leading(
                item.span.start,
                previous.is_some() && !same_one_liners,
                true,
            );
            self.item(item);
            previous = Some(item);
        }
        self.comments_before(self.src.len(), false, true);
    }

    fn item(&mut self, item: &Item) {
        if let Some(doc) = &item.doc {
            self.doc(doc, item.span.start);
        }
        self.start_line();
        let end = item.span.end;
        match &item.kind {
            ItemKind::Use(use_item) => {
                self.push("use ");
                match &use_item.target {
                    UseTarget::Std { span, .. } => self.slice(*span),
                    UseTarget::Local(path) => self.slice(path.span),
                }
                if let Some(alias) = &use_item.alias {
                    self.push(" as ");
                    self.push(&alias.name);
                }
                self.finish_line(end);
            }
            ItemKind::Runbook(runbook) => {
                self.push("runbook ");
                self.push(&runbook.name.name);
                self.push(" {");
                self.open_block(find_token(self.src, runbook.name.span.end, b'{'));
                self.clauses(&runbook.clauses);
                self.close_block(end - 1, true);
            }
            ItemKind::Template(template) => {
                self.push("template ");
                self.push(&template.name.name);
                self.params(&template.params, template.name.span.end);
                let after_params = self.params_close(&template.params, template.name.span.end) + 1;
                self.push(" {");
                self.open_block(find_token(self.src, after_params, b'{'));
                self.clauses(&template.clauses);
                self.close_block(end - 1, true);
            }
            ItemKind::Instance(instance) => {
                self.push("runbook ");
                self.push(&instance.name.name);
                self.push(" = ");
                self.push(&instance.template.name);
                self.bracketed(
                    PARENS,
                    instance.template.span.end,
                    &instance.args,
                    arg_span,
                    |p, arg| {
                        if let Some(name) = &arg.name {
                            p.push(&name.name);
                            p.push(": ");
                        }
                        p.expr(&arg.value);
                    },
                );
                self.finish_line(end);
            }
            ItemKind::Fn(item) => {
                self.push("fn ");
                self.push(&item.name.name);
                self.params(&item.params, item.name.span.end);
                let after_signature = match &item.ret {
                    Some(ret) => {
                        self.push(" -> ");
                        self.ty(ret);
                        ret.span.end
                    }
                    None => self.params_close(&item.params, item.name.span.end) + 1,
                };
                self.push(" {");
                self.open_block(find_token(self.src, after_signature, b'{'));
                self.stmts(&item.body);
                self.close_block(end - 1, true);
            }
            ItemKind::Const(item) => {
                self.push("const ");
                self.push(&item.name.name);
                self.push(": ");
                self.ty(&item.ty);
                self.prefixed(" = ", &item.value);
                self.finish_line(end);
            }
            ItemKind::Test(test) => {
                self.push("test ");
                self.slice(test.name.span);
                self.push(" {");
                self.open_block(find_token(self.src, test.name.span.end, b'{'));
                for stmt in &test.body {
                    self.leading(stmt.span.start, false, true);
                    self.test_stmt(stmt);
                }
                self.close_block(end - 1, true);
            }
            ItemKind::Extern(item) => {
                self.push("extern action ");
                self.push(&item.name.name);
                self.params(&item.params, item.name.span.end);
                if let Some(ret) = &item.ret {
                    self.push(" -> ");
                    self.ty(ret);
                }
                self.push(" effect ");
                self.push(&item.effect.to_string());
                if item.safe_to_auto_approve {
                    self.push(" safe_to_auto_approve");
                }
                self.finish_line(end);
            }
            ItemKind::Type(item) => {
                self.push("type ");
                self.push(&item.name.name);
                if let Some(fields) = &item.fields {
                    self.push(" = ");
                    let equals = skip_trivia(self.src, item.name.span.end);
                    self.record_type(fields, equals + 1);
                }
                self.finish_line(end);
            }
        }
    }

    fn params(&mut self, params: &[Param], after_name: usize) {
        self.bracketed(PARENS, after_name, params, param_span, |p, param| {
            p.push(&param.name.name);
            p.push(": ");
            p.ty(&param.ty);
            if let Some(default) = &param.default {
                p.push(" = ");
                p.expr(default);
            }
        });
    }

    /// The `)` of a parameter list.
    fn params_close(&self, params: &[Param], after_name: usize) -> usize {
        let from = match params.last() {
            Some(last) => param_span(last).end,
            None => find_token(self.src, after_name, b'(') + 1,
        };
        find_token(self.src, from, b')')
    }

    // -----------------------------------------------------------------------------------------
    // Runbook clauses and steps
    // -----------------------------------------------------------------------------------------

    fn clauses(&mut self, clauses: &[Clause]) {
        let mut previous_was_step = None;
        for clause in clauses {
            let is_step = matches!(clause.kind, ClauseKind::Step(_));
            let force = previous_was_step.is_some_and(|prev| prev || is_step);
            self.leading(clause.span.start, force, true);
            self.clause(clause);
            previous_was_step = Some(is_step);
        }
    }

    fn clause(&mut self, clause: &Clause) {
        let end = clause.span.end;
        if let ClauseKind::Step(step) = &clause.kind {
            return self.step(step, clause.span);
        }
        self.start_line();
        match &clause.kind {
            ClauseKind::Title(title) => {
                self.push("title ");
                self.slice(title.span);
            }
            ClauseKind::Owner(owner) => {
                self.push("owner ");
                self.slice(owner.span);
            }
            ClauseKind::Trigger(Trigger::Alert { name, filter }) => {
                self.push("trigger alert ");
                self.slice(name.span);
                self.optional(" where ", filter.as_ref());
            }
            ClauseKind::Trigger(Trigger::Schedule(cron)) => {
                self.push("trigger schedule ");
                self.slice(cron.span);
            }
            ClauseKind::Trigger(Trigger::Manual) => self.push("trigger manual"),
            ClauseKind::Input(fields) => {
                self.push("input {");
                self.open_block(find_token(
                    self.src,
                    clause.span.start + "input".len(),
                    b'{',
                ));
                for (i, field) in fields.iter().enumerate() {
                    self.leading(field.span.start, false, true);
                    if let Some(doc) = &field.doc {
                        self.doc(doc, field.span.start);
                    }
                    self.start_line();
                    self.push(&field.name.name);
                    self.push(": ");
                    self.ty(&field.ty);
                    self.optional(" = ", field.default.as_ref());
                    let next = fields.get(i + 1).map_or(end, |next| next.span.start);
                    self.trailing_before(field.span.end, next);
                    self.end_line();
                }
                return self.close_block(end - 1, true);
            }
            ClauseKind::Concurrency { limit, per } => {
                self.prefixed("concurrency ", limit);
                self.optional(" per ", per.as_ref());
            }
            ClauseKind::Rate { limit, window, by } => {
                self.prefixed("rate ", limit);
                self.prefixed(" per ", window);
                self.optional(" by ", by.as_ref());
            }
            ClauseKind::Timeout(value) => {
                self.prefixed("timeout ", value);
            }
            ClauseKind::Escalate(value) => {
                self.prefixed("escalate ", value);
            }
            ClauseKind::Notify(value) => {
                self.prefixed("notify ", value);
            }
            ClauseKind::Mode(mode) => {
                self.push("mode ");
                self.push(mode.as_str());
            }
            ClauseKind::Step(_) => {}
        }
        self.finish_line(end);
    }

    fn step(&mut self, step: &Step, span: Span) {
        if let Some(doc) = &step.doc {
            self.doc(doc, span.start);
        }
        self.start_line();
        self.push(match step.kind {
            StepKind::Step => "step ",
            StepKind::Verify => "verify ",
        });
        self.push(&step.name.name);
        self.optional(" ", step.title.as_ref());
        self.optional(" when ", step.when.as_ref());
        self.push(" {");
        self.open_block(step.body_span.start);
        for option in &step.options {
            self.leading(option.span.start, false, true);
            self.step_option(option);
        }
        self.stmts(&step.body);
        self.close_block(step.body_span.end - 1, true);
    }

    fn step_option(&mut self, option: &StepOption) {
        self.start_line();
        match &option.kind {
            StepOptionKind::ApprovalRequired {
                quorum,
                group,
                timeout,
                on_timeout,
                reason,
                ask,
            } => {
                self.push("approval required");
                if let Some((_, span)) = quorum {
                    self.push(" ");
                    self.slice(*span);
                }
                if let Some(group) = group {
                    self.push(" from ");
                    self.slice(group.span);
                }
                self.optional(" timeout ", timeout.as_ref());
                if let Some((outcome, _)) = on_timeout {
                    self.push(" on timeout ");
                    self.push(&outcome.to_string());
                }
                if let Some(reason) = reason {
                    self.push(" reason ");
                    self.slice(reason.span);
                }
                if let Some(first) = ask.first() {
                    self.push(" ask ");
                    let open = self.src[..first.name.span.start]
                        .rfind('{')
                        .unwrap_or(first.name.span.start);
                    self.bracketed(
                        BRACES,
                        open,
                        ask,
                        |field| field.name.span.to(field.ty.span),
                        |p, field| {
                            p.push(&field.name.name);
                            p.push(": ");
                            p.ty(&field.ty);
                        },
                    );
                }
            }
            StepOptionKind::ApprovalNone { reason } => {
                self.push("approval none reason ");
                self.slice(reason.span);
            }
            StepOptionKind::Retry {
                attempts,
                every,
                exponential,
            } => {
                self.push(&format!("retry {attempts}"));
                self.optional(" every ", every.as_ref());
                if *exponential {
                    self.push(" backoff exponential");
                }
            }
            StepOptionKind::Timeout(value) => {
                self.prefixed("timeout ", value);
            }
            StepOptionKind::OnFailure(mode) => self.push(match mode {
                FailureMode::Continue => "on failure continue",
                FailureMode::Abort => "on failure abort",
            }),
        }
        self.finish_line(option.span.end);
    }

    // -----------------------------------------------------------------------------------------
    // Statements
    // -----------------------------------------------------------------------------------------

    fn stmts(&mut self, body: &[Stmt]) {
        for stmt in body {
            self.leading(stmt.span.start, false, true);
            self.stmt(stmt);
        }
    }

    /// The `}` of a block that opens at `open` and holds `body`.
    fn block_close(&self, open: usize, body: &[Stmt]) -> usize {
        let from = body.last().map_or(open + 1, |s| s.span.end);
        find_token(self.src, from, b'}')
    }

    fn stmt(&mut self, stmt: &Stmt) {
        self.start_line();
        match &stmt.kind {
            StmtKind::Let { name, ty, value } => self.let_stmt(name, ty.as_ref(), value),
            StmtKind::If {
                cond,
                then_body,
                else_body,
            } => return self.if_stmt(cond, then_body, else_body.as_deref()),
            StmtKind::For { var, iter, body } => {
                self.push("for ");
                self.push(&var.name);
                self.prefixed(" in ", iter);
                self.push(" {");
                let open = find_token(self.src, iter.span.end, b'{');
                self.open_block(open);
                self.stmts(body);
                let close = self.block_close(open, body);
                return self.close_block(close, true);
            }
            StmtKind::Expect {
                cond,
                within,
                every,
                message,
            } => {
                self.prefixed("expect ", cond);
                self.optional(" within ", within.as_ref());
                self.optional(" every ", every.as_ref());
                self.optional(" else ", message.as_ref());
            }
            StmtKind::Fail(value) => {
                self.prefixed("fail ", value);
            }
            StmtKind::Log(value) => {
                self.prefixed("log ", value);
            }
            StmtKind::Return(value) => {
                self.prefixed("return ", value);
            }
            StmtKind::Expr(value) => self.expr(value),
        }
        self.finish_line(stmt.span.end);
    }

    fn let_stmt(&mut self, name: &Ident, ty: Option<&TypeExpr>, value: &Expr) {
        self.push("let ");
        self.push(&name.name);
        if let Some(ty) = ty {
            self.push(": ");
            self.ty(ty);
        }
        self.prefixed(" = ", value);
    }

    /// `if`, then its `else if` branches (nested in the tree, flat in the text) and `else`.
    fn if_stmt(&mut self, cond: &Expr, then_body: &[Stmt], else_body: Option<&[Stmt]>) {
        self.prefixed("if ", cond);
        self.push(" {");
        let open = find_token(self.src, cond.span.end, b'{');
        self.open_block(open);
        self.stmts(then_body);
        let close = self.block_close(open, then_body);
        let Some(else_body) = else_body else {
            return self.close_block(close, true);
        };
        self.close_block(close, false);
        if let [Stmt {
            kind:
                StmtKind::If {
                    cond,
                    then_body,
                    else_body,
                },
            span,
        }] = else_body
        {
            if self.src[span.start..].starts_with("else") {
                self.push(" else ");
                return self.if_stmt(cond, then_body, else_body.as_deref());
            }
        }
        self.push(" else {");
        let else_keyword = skip_trivia(self.src, close + 1);
        let open = find_token(self.src, else_keyword + "else".len(), b'{');
        self.open_block(open);
        self.stmts(else_body);
        let close = self.block_close(open, else_body);
        self.close_block(close, true);
    }

    /// `(p, "x", [a, ..]) where COND`, on one line.
    fn call_pattern(&mut self, pattern: Option<&CallPattern>) {
        let Some(pattern) = pattern else {
            return;
        };
        self.push("(");
        for (i, arg) in pattern.args.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.arg_pattern(arg);
        }
        self.push(")");
        self.optional(" where ", pattern.guard.as_ref());
    }

    fn arg_pattern(&mut self, pattern: &ArgPattern) {
        match &pattern.kind {
            ArgPatternKind::Any => self.push("_"),
            ArgPatternKind::Bind(name) => self.push(&name.name),
            ArgPatternKind::Value(value) => self.expr(value),
            ArgPatternKind::List { elements, rest } => {
                self.push("[");
                for (i, element) in elements.iter().enumerate() {
                    if i > 0 {
                        self.push(", ");
                    }
                    self.arg_pattern(element);
                }
                if *rest {
                    self.push(if elements.is_empty() { ".." } else { ", .." });
                }
                self.push("]");
            }
        }
    }

    fn test_stmt(&mut self, stmt: &TestStmt) {
        self.start_line();
        match &stmt.kind {
            TestStmtKind::Mock {
                target,
                pattern,
                outcome,
            } => {
                self.push("mock ");
                self.push(&target.to_string());
                self.call_pattern(pattern.as_ref());
                match outcome {
                    MockOutcome::Returns(value) => {
                        self.prefixed(" returns ", value);
                    }
                    MockOutcome::Fails(value) => {
                        self.prefixed(" fails ", value);
                    }
                }
            }
            TestStmtKind::Set { kind, name, value } => {
                self.push(match kind {
                    SetKind::Env => "set env ",
                    SetKind::Secret => "set secret ",
                });
                self.push(&name.name);
                self.prefixed(" = ", value);
            }
            TestStmtKind::Approve {
                step,
                as_user,
                values,
            } => {
                self.push("approve ");
                self.push(&step.name);
                if let Some(user) = as_user {
                    self.push(" as ");
                    self.slice(user.span);
                }
                self.optional(" with ", values.as_ref());
            }
            TestStmtKind::Deny { step, as_user } => {
                self.push("deny ");
                self.push(&step.name);
                if let Some(user) = as_user {
                    self.push(" as ");
                    self.slice(user.span);
                }
            }
            TestStmtKind::Run {
                runbook,
                inputs,
                alert,
                alerts,
            } => {
                self.push("run ");
                self.push(&runbook.name);
                self.optional(" with ", inputs.as_ref());
                self.optional(" alert ", alert.as_ref());
                if !alerts.is_empty() {
                    // `alerts` is the last part of the line: its `[` follows the word.
                    let before = inputs.as_ref().map_or(runbook.span.end, |i| i.span.end);
                    let word = skip_trivia(self.src, before) + "alerts".len();
                    let open = find_token(self.src, word, b'[');
                    self.push(" alerts ");
                    self.bracketed(SQUARE, open, alerts, |e| e.span, |p, e| p.expr(e));
                }
            }
            TestStmtKind::ExpectTrigger {
                negated,
                outcome,
                times,
            } => {
                self.push(if *negated { "expect not " } else { "expect " });
                self.push(&outcome.to_string());
                if let Some((_, span)) = times {
                    self.push(" times ");
                    self.slice(*span);
                }
            }
            TestStmtKind::ExpectStep { step, outcome } => {
                self.push("expect step ");
                self.push(&step.name);
                self.push(" ");
                self.push(&outcome.to_string());
            }
            TestStmtKind::ExpectEscalated { negated } => {
                self.push(if *negated {
                    "expect not escalated"
                } else {
                    "expect escalated"
                });
            }
            TestStmtKind::ExpectCalled {
                negated,
                target,
                pattern,
                times,
            } => {
                self.push(if *negated {
                    "expect not called "
                } else {
                    "expect called "
                });
                self.push(&target.to_string());
                self.call_pattern(pattern.as_ref());
                if let Some((_, span)) = times {
                    self.push(" times ");
                    self.slice(*span);
                }
            }
            TestStmtKind::Expect(cond) => {
                // The tree keeps only the condition of a test's `expect`; anything after it
                // (`within`, `else`) is copied as written rather than lost.
                let rest = &self.src[cond.span.end..stmt.span.end];
                if !rest.trim().is_empty() {
                    self.slice(stmt.span);
                    while self
                        .comments
                        .get(self.next)
                        .is_some_and(|c| c.start < stmt.span.end)
                    {
                        self.next += 1;
                    }
                } else {
                    self.prefixed("expect ", cond);
                }
            }
            TestStmtKind::Let { name, ty, value } => self.let_stmt(name, ty.as_ref(), value),
        }
        self.finish_line(stmt.span.end);
    }

    // -----------------------------------------------------------------------------------------
    // Types
    // -----------------------------------------------------------------------------------------

    fn ty(&mut self, ty: &TypeExpr) {
        match &ty.kind {
            TypeExprKind::Named { module, name } => {
                if let Some(module) = module {
                    self.push(&module.name);
                    self.push(".");
                }
                self.push(&name.name);
            }
            TypeExprKind::List(element) => {
                self.push("list<");
                self.ty(element);
                self.push(">");
            }
            TypeExprKind::Map(key, value) => {
                self.push("map<");
                self.ty(key);
                self.push(", ");
                self.ty(value);
                self.push(">");
            }
            TypeExprKind::Record(fields) => self.record_type(fields, ty.span.start),
            TypeExprKind::Optional(inner) => {
                self.ty(inner);
                self.push("?");
            }
        }
    }

    fn record_type(&mut self, fields: &[(Ident, TypeExpr)], from: usize) {
        self.bracketed(
            BRACES,
            from,
            fields,
            |(name, ty)| name.span.to(ty.span),
            |p, (name, ty)| {
                p.push(&name.name);
                p.push(": ");
                p.ty(ty);
            },
        );
    }

    // -----------------------------------------------------------------------------------------
    // Expressions
    // -----------------------------------------------------------------------------------------

    /// Whether the source wrote `( ... )` around this expression (the tree keeps the span of the
    /// parentheses, not a node for them).
    fn parenthesized(&self, expr: &Expr) -> bool {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Binary(_, lhs, rhs) => span.start < lhs.span.start || span.end > rhs.span.end,
            ExprKind::Unary(_, operand) => span.end > operand.span.end,
            ExprKind::Lambda { body, .. } => span.end > body.span.end,
            ExprKind::Call { callee: base, .. }
            | ExprKind::Field(base, _)
            | ExprKind::Index(base, _) => span.start < base.span.start,
            _ => self.src.as_bytes().get(span.start) == Some(&b'('),
        }
    }

    fn expr(&mut self, expr: &Expr) {
        let parenthesized = self.parenthesized(expr);
        // Parentheses around a name or a literal never change anything; around a record they
        // keep it from being read as a block.
        let keep = parenthesized
            && !matches!(
                expr.kind,
                ExprKind::Int(_)
                    | ExprKind::Float(_)
                    | ExprKind::Bool(_)
                    | ExprKind::None
                    | ExprKind::Duration(_)
                    | ExprKind::Percent(_)
                    | ExprKind::Str(_)
                    | ExprKind::Name(_)
                    | ExprKind::List(_)
            );
        if keep {
            self.push("(");
        }
        match &expr.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::None
            | ExprKind::Duration(_)
            | ExprKind::Percent(_)
            | ExprKind::Str(_) => {
                if parenthesized {
                    let text = literal_at(self.src, expr.span.start);
                    self.push(text);
                } else {
                    self.slice(expr.span);
                }
            }
            ExprKind::List(items) => {
                self.bracketed(SQUARE, expr.span.start, items, |e| e.span, |p, e| p.expr(e));
            }
            ExprKind::Record(fields) => {
                self.bracketed(BRACES, expr.span.start, fields, field_span, |p, field| {
                    match &field.key {
                        RecordKey::Name(name) => p.push(&name.name),
                        RecordKey::Str(key) => p.slice(key.span),
                    }
                    p.push(": ");
                    p.expr(&field.value);
                });
            }
            ExprKind::Name(name) => self.push(&name.name),
            ExprKind::StepOutcome { step, outcome } => {
                self.push(&format!("step.{}.{outcome}", step.name));
            }
            ExprKind::ApprovalValue(name) => {
                self.push("approval.");
                self.push(&name.name);
            }
            ExprKind::Field(base, name) => {
                self.expr(base);
                self.push(".");
                self.push(&name.name);
            }
            ExprKind::Index(base, index) => {
                self.expr(base);
                self.prefixed("[", index);
                self.push("]");
            }
            ExprKind::Call { callee, args } => {
                self.expr(callee);
                self.bracketed(PARENS, callee.span.end, args, arg_span, |p, arg| {
                    if let Some(name) = &arg.name {
                        p.push(&name.name);
                        p.push(": ");
                    }
                    p.expr(&arg.value);
                });
            }
            ExprKind::Unary(op, operand) => {
                self.push(match op {
                    UnaryOp::Not => "not ",
                    UnaryOp::Neg => "-",
                });
                self.expr(operand);
            }
            ExprKind::Binary(op, lhs, rhs) => {
                self.expr(lhs);
                self.push(" ");
                self.push(op.symbol());
                self.prefixed(" ", rhs);
            }
            ExprKind::Lambda { params, body } => {
                if let [param] = params.as_slice() {
                    self.push(&param.name);
                } else {
                    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                    self.push("(");
                    self.push(&names.join(", "));
                    self.push(")");
                }
                self.prefixed(" => ", body);
            }
        }
        if keep {
            self.push(")");
        }
    }

    /// `(a, b)`, `[a, b]` or `{ a, b }` on one line; one element per line with a trailing comma
    /// when the source put a line break between the elements.
    fn bracketed<T>(
        &mut self,
        brackets: Brackets,
        from: usize,
        items: &[T],
        span: impl Fn(&T) -> Span,
        print: impl Fn(&mut Self, &T),
    ) {
        let (open_char, close_char) = (brackets.open as char, brackets.close as char);
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            self.push(&format!("{open_char}{close_char}"));
            return;
        };
        let open = find_token(self.src, from, brackets.open);
        let close = find_token(self.src, span(last).end, brackets.close);
        let mut gaps = vec![(open, span(first).start), (span(last).end, close)];
        gaps.extend(
            items
                .windows(2)
                .map(|w| (span(&w[0]).end, span(&w[1]).start)),
        );
        let multiline = gaps
            .iter()
            .any(|&(a, b)| a < b && self.src[a..b].contains('\n'));
        if !multiline {
            self.out.push(open_char);
            if brackets.padded {
                self.push(" ");
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    self.push(", ");
                }
                print(self, item);
            }
            if brackets.padded {
                self.push(" ");
            }
            self.out.push(close_char);
            return;
        }
        self.out.push(open_char);
        self.open_block(open);
        for (i, item) in items.iter().enumerate() {
            let item_span = span(item);
            self.leading(item_span.start, false, false);
            self.start_line();
            print(self, item);
            self.push(",");
            let next = items.get(i + 1).map_or(close, |next| span(next).start);
            self.trailing_before(item_span.end, next);
            self.end_line();
        }
        self.comments_before(close, false, false);
        self.indent -= 1;
        self.start_line();
        self.out.push(close_char);
        self.fresh = false;
        self.last_end = self.last_end.max(close + 1);
    }
}

fn param_span(param: &Param) -> Span {
    let end = param
        .default
        .as_ref()
        .map_or(param.ty.span.end, |d| d.span.end);
    Span::new(param.name.span.start, end)
}

fn arg_span(arg: &Arg) -> Span {
    let start = arg
        .name
        .as_ref()
        .map_or(arg.value.span.start, |n| n.span.start);
    Span::new(start, arg.value.span.end)
}

fn field_span(field: &RecordField) -> Span {
    let start = match &field.key {
        RecordKey::Name(name) => name.span.start,
        RecordKey::Str(key) => key.span.start,
    };
    Span::new(start, field.value.span.end)
}

//! Items, runbook clauses, step blocks, statements, test statements and types for the fast
//! parser, each as the grammar reads it and as the tree builder turns it into the tree.

use super::{is_word_start, Descent, Sure};
use crate::syntax::ast::*;
use crate::syntax::grammar::MAX_ELSE_IF;

impl Descent<'_> {
    /// `(item)* EOI`.
    pub(super) fn file(&mut self) -> Sure<SourceFile> {
        let mut items = Vec::new();
        loop {
            self.skip();
            if self.pos == self.bytes.len() {
                return Some(SourceFile { items });
            }
            items.push(self.item()?);
        }
    }

    /// `doc_comment? ~ item_kind`.
    fn item(&mut self) -> Sure<Item> {
        let start = self.pos;
        let doc = self.doc_comment();
        if doc.is_some() {
            self.skip();
        }
        let kind = match self.word_at(self.pos) {
            "use" => ItemKind::Use(self.use_item()?),
            "runbook" => {
                let after_name = {
                    let (name, at) = self.word_after_trivia(self.pos + 7);
                    self.trivia_end(at + name.len())
                };
                if self.byte_at(after_name) == b'=' {
                    ItemKind::Instance(self.instance()?)
                } else {
                    ItemKind::Runbook(self.runbook()?)
                }
            }
            "template" => ItemKind::Template(self.template()?),
            "fn" => ItemKind::Fn(self.fn_item()?),
            "const" => ItemKind::Const(self.const_item()?),
            "test" => ItemKind::Test(self.test_item()?),
            "extern" => ItemKind::Extern(self.extern_item()?),
            "type" => ItemKind::Type(self.type_item()?),
            _ => return None,
        };
        Some(Item {
            doc,
            kind,
            span: self.span_from(start),
        })
    }

    /// `///` lines separated by whitespace only, as the tree builder joins them.
    fn doc_comment(&mut self) -> Option<String> {
        let mut lines: Vec<String> = Vec::new();
        let mut at = self.pos;
        while self.bytes.get(at..at + 3) == Some(b"///") {
            let end = self.bytes[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(self.bytes.len(), |i| at + i);
            let text = self.text[at..end].trim_start_matches("///");
            lines.push(
                text.strip_prefix(' ')
                    .unwrap_or(text)
                    .trim_end()
                    .to_string(),
            );
            self.pos = end;
            at = end;
            while matches!(self.byte_at(at), b' ' | b'\t' | b'\r' | b'\n') {
                at += 1;
            }
        }
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    fn use_item(&mut self) -> Sure<UseItem> {
        self.expect_word("use")?;
        self.skip();
        let target = if self.peek() == b'"' {
            UseTarget::Local(self.plain_string()?)
        } else {
            let start = self.pos;
            let mut path = vec![self.ident()?];
            while self.peek() == b'.' && is_word_start(self.byte_at(self.pos + 1)) {
                let save = self.pos;
                self.pos += 1;
                match self.ident() {
                    Some(segment) => path.push(segment),
                    None => {
                        self.pos = save;
                        break;
                    }
                }
            }
            UseTarget::Std {
                path,
                span: self.span_from(start),
            }
        };
        let alias = if self.eat_word_after_trivia("as") {
            self.skip();
            Some(self.ident()?)
        } else {
            None
        };
        Some(UseItem { target, alias })
    }

    fn instance(&mut self) -> Sure<Instance> {
        self.expect_word("runbook")?;
        self.skip();
        let name = self.ident()?;
        self.skip_expect(b'=')?;
        self.skip();
        let template = self.ident()?;
        self.skip();
        let args_start = self.pos;
        let args = self.call_args()?;
        Some(Instance {
            name,
            template,
            args,
            args_span: self.span_from(args_start),
        })
    }

    fn runbook(&mut self) -> Sure<Runbook> {
        self.expect_word("runbook")?;
        self.skip();
        let name = self.ident()?;
        let clauses = self.clause_block()?;
        Some(Runbook {
            name,
            clauses,
            template: None,
        })
    }

    fn template(&mut self) -> Sure<Template> {
        self.expect_word("template")?;
        self.skip();
        self.in_template = true;
        let parts = (|| {
            let name = self.ident()?;
            self.skip();
            let params = self.param_list()?;
            let clauses = self.clause_block()?;
            Some((name, params, clauses))
        })();
        self.in_template = false;
        let (name, params, clauses) = parts?;
        Some(Template {
            name,
            params,
            clauses,
        })
    }

    /// `{ runbook_clause* }`.
    fn clause_block(&mut self) -> Sure<Vec<Clause>> {
        self.skip_expect(b'{')?;
        let mut clauses = Vec::new();
        loop {
            self.skip();
            if self.eat(b'}') {
                return Some(clauses);
            }
            clauses.push(self.clause()?);
        }
    }

    fn clause(&mut self) -> Sure<Clause> {
        let start = self.pos;
        let doc = self.doc_comment();
        if doc.is_some() {
            self.skip();
        }
        let keyword = self.word_at(self.pos);
        if doc.is_some() && !matches!(keyword, "step" | "verify") {
            return None;
        }
        self.pos += keyword.len();
        self.skip();
        let kind = match keyword {
            "title" => ClauseKind::Title(self.plain_string()?),
            "owner" => ClauseKind::Owner(self.plain_string()?),
            "trigger" => ClauseKind::Trigger(self.trigger()?),
            "input" => ClauseKind::Input(self.input_fields()?),
            "concurrency" => {
                let limit = self.expr(false)?;
                let per = if self.eat_word_after_trivia("per") {
                    self.skip();
                    Some(self.expr(true)?)
                } else {
                    None
                };
                ClauseKind::Concurrency { limit, per }
            }
            "rate" => {
                let limit = self.expr(false)?;
                self.skip();
                self.expect_word("per")?;
                self.skip();
                // The builder reads the window through `expr`: one more level.
                self.enter()?;
                let window = self.duration();
                self.leave();
                let window = window?;
                let by = if self.eat_word_after_trivia("by") {
                    self.skip();
                    Some(self.expr(true)?)
                } else {
                    None
                };
                ClauseKind::Rate { limit, window, by }
            }
            "timeout" => ClauseKind::Timeout(self.expr(false)?),
            "escalate" => ClauseKind::Escalate(self.expr(true)?),
            "notify" => ClauseKind::Notify(self.expr(true)?),
            "mode" => ClauseKind::Mode(match self.word_at(self.pos) {
                "shadow" => {
                    self.pos += 6;
                    RunMode::Shadow
                }
                "live" => {
                    self.pos += 4;
                    RunMode::Live
                }
                _ => return None,
            }),
            "step" => ClauseKind::Step(self.step(StepKind::Step, doc)?),
            "verify" => ClauseKind::Step(self.step(StepKind::Verify, doc)?),
            _ => return None,
        };
        Some(Clause {
            kind,
            span: self.span_from(start),
        })
    }

    fn trigger(&mut self) -> Sure<Trigger> {
        let keyword = self.word_at(self.pos);
        self.pos += keyword.len();
        match keyword {
            "alert" => {
                self.skip();
                let name = self.plain_string()?;
                let filter = if self.eat_word_after_trivia("where") {
                    self.skip();
                    Some(self.expr(true)?)
                } else {
                    None
                };
                Some(Trigger::Alert { name, filter })
            }
            "schedule" => {
                self.skip();
                Some(Trigger::Schedule(self.plain_string()?))
            }
            "manual" => Some(Trigger::Manual),
            _ => None,
        }
    }

    /// `{ (input_field ","?)* }`.
    fn input_fields(&mut self) -> Sure<Vec<InputField>> {
        self.expect(b'{')?;
        let mut fields = Vec::new();
        loop {
            self.skip();
            if self.eat(b'}') {
                return Some(fields);
            }
            let start = self.pos;
            let doc = self.doc_comment();
            if doc.is_some() {
                self.skip();
            }
            let name = self.ident()?;
            self.skip_expect(b':')?;
            self.skip();
            let ty = self.type_expr()?;
            let default = if self.eat_after_trivia(b'=') {
                self.skip();
                Some(self.expr(true)?)
            } else {
                None
            };
            fields.push(InputField {
                doc,
                name,
                ty,
                default,
                span: self.span_from(start),
            });
            self.eat_after_trivia(b',');
        }
    }

    /// A step or verify clause after its keyword.
    fn step(&mut self, kind: StepKind, doc: Option<String>) -> Sure<Step> {
        let name = self.ident()?;
        self.skip();
        let title = if self.peek() == b'"' {
            if self.bytes.get(self.pos..self.pos + 3) == Some(b"\"\"\"") {
                return None;
            }
            let title = self.literal()?;
            self.skip();
            Some(title)
        } else {
            None
        };
        let when = if self.eat_word("when") {
            self.skip();
            let when = self.expr(false)?;
            self.skip();
            Some(when)
        } else {
            None
        };
        let body_start = self.pos;
        self.expect(b'{')?;
        let mut options = Vec::new();
        loop {
            self.skip();
            let word = self.word_at(self.pos);
            let is_option = match word {
                "retry" | "timeout" | "on" => true,
                "approval" => self.byte_at(self.trivia_end(self.pos + word.len())) != b'.',
                _ => false,
            };
            if !is_option {
                break;
            }
            options.push(self.step_option()?);
        }
        let body = self.statements(false)?;
        Some(Step {
            kind,
            doc,
            name,
            title,
            when,
            options,
            body,
            body_span: self.span_from(body_start),
        })
    }

    fn step_option(&mut self) -> Sure<StepOption> {
        let start = self.pos;
        let keyword = self.word_at(self.pos);
        self.pos += keyword.len();
        self.skip();
        let kind = match keyword {
            "approval" if self.eat_word("none") => {
                self.skip();
                self.expect_word("reason")?;
                self.skip();
                StepOptionKind::ApprovalNone {
                    reason: self.plain_string()?,
                }
            }
            "approval" => {
                self.expect_word("required")?;
                self.approval_required()?
            }
            "retry" => {
                let attempts = self.small_int()?.0;
                let every = if self.eat_word_after_trivia("every") {
                    self.skip();
                    Some(self.expr(false)?)
                } else {
                    None
                };
                let exponential = self.eat_word_after_trivia("backoff");
                if exponential {
                    self.skip();
                    self.expect_word("exponential")?;
                }
                StepOptionKind::Retry {
                    attempts,
                    every,
                    exponential,
                }
            }
            "timeout" => StepOptionKind::Timeout(self.expr(false)?),
            "on" => {
                self.expect_word("failure")?;
                self.skip();
                let mode = match self.word_at(self.pos) {
                    "continue" => FailureMode::Continue,
                    "abort" => FailureMode::Abort,
                    _ => return None,
                };
                self.pos = self.word_end(self.pos);
                StepOptionKind::OnFailure(mode)
            }
            _ => return None,
        };
        Some(StepOption {
            kind,
            span: self.span_from(start),
        })
    }

    /// What follows `approval required`: each part optional, in the grammar's order.
    fn approval_required(&mut self) -> Sure<StepOptionKind> {
        let mut quorum = None;
        let at = self.trivia_end(self.pos);
        if self.int_end(at).is_some() {
            self.pos = at;
            quorum = Some(self.small_int()?);
        }
        let group = if self.eat_word_after_trivia("from") {
            self.skip();
            Some(self.plain_string()?)
        } else {
            None
        };
        let timeout = if self.eat_word_after_trivia("timeout") {
            self.skip();
            Some(self.expr(false)?)
        } else {
            None
        };
        let mut on_timeout = None;
        let (word, at) = self.word_after_trivia(self.pos);
        if word == "on" && self.word_after_trivia(at + 2).0 == "timeout" {
            self.pos = at + 2;
            self.skip();
            self.expect_word("timeout")?;
            self.skip();
            let start = self.pos;
            let outcome = match self.word_at(start) {
                "deny" => TimeoutOutcome::Deny,
                "approve" => TimeoutOutcome::Approve,
                "escalate" => TimeoutOutcome::Escalate,
                _ => return None,
            };
            self.pos = self.word_end(start);
            on_timeout = Some((outcome, Span::new(start, self.pos)));
        }
        let reason = if self.eat_word_after_trivia("reason") {
            self.skip();
            Some(self.plain_string()?)
        } else {
            None
        };
        let mut ask = Vec::new();
        let (word, at) = self.word_after_trivia(self.pos);
        if word == "ask" && self.byte_at(self.trivia_end(at + 3)) == b'{' {
            self.pos = self.trivia_end(at + 3);
            ask = self
                .record_type_fields()?
                .into_iter()
                .map(|(name, ty)| AskedField { name, ty })
                .collect();
        }
        Some(StepOptionKind::ApprovalRequired {
            quorum,
            group,
            timeout,
            on_timeout,
            reason,
            ask,
        })
    }

    /// The end of the grammar's `int` at `at`: digits not followed by a name character.
    pub(super) fn int_end(&self, at: usize) -> Option<usize> {
        let mut end = at;
        while self.byte_at(end).is_ascii_digit() {
            end += 1;
        }
        (end > at && !super::is_ident_char(self.byte_at(end))).then_some(end)
    }

    /// A count (`approval required 2`, `retry 3`, `times 1`) and its span; gives up where the
    /// builder would report it too large.
    fn small_int(&mut self) -> Sure<(u32, Span)> {
        let start = self.pos;
        let end = self.int_end(start)?;
        self.pos = end;
        let value = self.text[start..end].parse::<u32>().ok()?;
        Some((value, Span::new(start, end)))
    }

    /// `{ statement* }` of an `if`, `for` or `fn` (`open`: the `{` is still to read), or the
    /// statements of a step block after its options; consumes the closing `}`.
    fn statements(&mut self, open: bool) -> Sure<Vec<Stmt>> {
        if open {
            self.expect(b'{')?;
        }
        let mut body = Vec::new();
        loop {
            self.skip();
            if self.eat(b'}') {
                return Some(body);
            }
            body.push(self.stmt()?);
        }
    }

    fn block(&mut self) -> Sure<Vec<Stmt>> {
        self.statements(true)
    }

    fn stmt(&mut self) -> Sure<Stmt> {
        let start = self.pos;
        let keyword = self.word_at(start);
        let kind = match keyword {
            "let" => {
                let (name, ty, value) = self.let_parts()?;
                StmtKind::Let { name, ty, value }
            }
            "if" => return self.if_stmt(),
            "for" => {
                self.pos += 3;
                self.skip();
                let var = self.ident()?;
                self.skip();
                self.expect_word("in")?;
                self.skip();
                let iter = self.expr(false)?;
                self.skip();
                let body = self.block()?;
                StmtKind::For { var, iter, body }
            }
            "expect" => self.expect_stmt()?,
            "fail" | "log" | "return" => {
                self.pos += keyword.len();
                self.skip();
                let value = self.expr(true)?;
                match keyword {
                    "fail" => StmtKind::Fail(value),
                    "log" => StmtKind::Log(value),
                    _ => StmtKind::Return(value),
                }
            }
            _ => StmtKind::Expr(self.expr(true)?),
        };
        Some(Stmt {
            kind,
            span: self.span_from(start),
        })
    }

    /// `let name (: type)? = value`.
    fn let_parts(&mut self) -> Sure<(Ident, Option<TypeExpr>, Expr)> {
        self.expect_word("let")?;
        self.skip();
        let name = self.ident()?;
        let ty = if self.eat_after_trivia(b':') {
            self.skip();
            Some(self.type_expr()?)
        } else {
            None
        };
        self.skip_expect(b'=')?;
        self.skip();
        let value = self.expr(true)?;
        Some((name, ty, value))
    }

    /// `if cond { } (else if cond { })* (else { })?`, with `else if` nested as the builder
    /// nests it.
    fn if_stmt(&mut self) -> Sure<Stmt> {
        let start = self.pos;
        self.expect_word("if")?;
        self.skip();
        let cond = self.expr(false)?;
        self.skip();
        let then_body = self.block()?;
        let mut branches = Vec::new();
        let mut else_body = None;
        while self.eat_word_after_trivia("else") {
            let branch_start = self.pos - 4;
            self.skip();
            if self.eat_word("if") {
                if branches.len() == MAX_ELSE_IF {
                    return None;
                }
                self.skip();
                let branch_cond = self.expr(false)?;
                self.skip();
                let branch_body = self.block()?;
                branches.push((branch_cond, branch_body, self.span_from(branch_start)));
            } else {
                else_body = Some(self.block()?);
                break;
            }
        }
        let span = self.span_from(start);
        for (branch_cond, branch_body, branch_span) in branches.into_iter().rev() {
            let end = else_body
                .as_ref()
                .and_then(|b: &Vec<Stmt>| b.last())
                .map_or(branch_span.end, |s| s.span.end);
            let nested = Stmt {
                kind: StmtKind::If {
                    cond: branch_cond,
                    then_body: branch_body,
                    else_body,
                },
                span: Span::new(branch_span.start, end.max(branch_span.end)),
            };
            else_body = Some(vec![nested]);
        }
        Some(Stmt {
            kind: StmtKind::If {
                cond,
                then_body,
                else_body,
            },
            span,
        })
    }

    /// `expect cond (within d (every d)?)? (else message)?`.
    fn expect_stmt(&mut self) -> Sure<StmtKind> {
        self.expect_word("expect")?;
        self.skip();
        let cond = self.expr(true)?;
        let mut within = None;
        let mut every = None;
        if self.eat_word_after_trivia("within") {
            self.skip();
            within = Some(self.expr(false)?);
            if self.eat_word_after_trivia("every") {
                self.skip();
                every = Some(self.expr(false)?);
            }
        }
        let message = if self.eat_word_after_trivia("else") {
            self.skip();
            Some(self.expr(true)?)
        } else {
            None
        };
        Some(StmtKind::Expect {
            cond,
            within,
            every,
            message,
        })
    }

    fn fn_item(&mut self) -> Sure<FnItem> {
        self.expect_word("fn")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let params = self.param_list()?;
        let ret = self.return_type()?;
        self.skip();
        let body = self.block()?;
        Some(FnItem {
            name,
            params,
            ret,
            body,
        })
    }

    /// `(-> type)?`.
    fn return_type(&mut self) -> Sure<Option<TypeExpr>> {
        let at = self.trivia_end(self.pos);
        if self.bytes.get(at..at + 2) != Some(b"->") {
            return Some(None);
        }
        self.pos = at + 2;
        self.skip();
        Some(Some(self.type_expr()?))
    }

    /// `( (word: type (= default)?),* )`.
    fn param_list(&mut self) -> Sure<Vec<Param>> {
        self.expect(b'(')?;
        let mut params = Vec::new();
        self.skip();
        if self.eat(b')') {
            return Some(params);
        }
        loop {
            let name = self.word()?;
            self.skip_expect(b':')?;
            self.skip();
            let ty = self.type_expr()?;
            let default = if self.eat_after_trivia(b'=') {
                self.skip();
                Some(self.expr(true)?)
            } else {
                None
            };
            params.push(Param { name, ty, default });
            self.skip();
            if self.eat(b')') {
                return Some(params);
            }
            self.expect(b',')?;
            self.skip();
            if self.eat(b')') {
                return Some(params);
            }
        }
    }

    fn const_item(&mut self) -> Sure<ConstItem> {
        self.expect_word("const")?;
        self.skip();
        let name = self.ident()?;
        self.skip_expect(b':')?;
        self.skip();
        let ty = self.type_expr()?;
        self.skip_expect(b'=')?;
        self.skip();
        let value = self.expr(true)?;
        Some(ConstItem { name, ty, value })
    }

    fn type_item(&mut self) -> Sure<TypeItem> {
        self.expect_word("type")?;
        self.skip();
        let name = self.word()?;
        let fields = if self.eat_after_trivia(b'=') {
            self.skip();
            Some(self.record_type_fields()?)
        } else {
            None
        };
        Some(TypeItem { name, fields })
    }

    fn extern_item(&mut self) -> Sure<ExternItem> {
        self.expect_word("extern")?;
        self.skip();
        self.expect_word("action")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let params = self.param_list()?;
        let ret = self.return_type()?;
        self.skip();
        self.expect_word("effect")?;
        self.skip();
        let effect = match self.word_at(self.pos) {
            "read" => Effect::Read,
            "write" => Effect::Write,
            "destructive" => Effect::Destructive,
            _ => return None,
        };
        self.pos = self.word_end(self.pos);
        let safe_to_auto_approve = self.eat_word_after_trivia("safe_to_auto_approve");
        Some(ExternItem {
            name,
            params,
            ret,
            effect,
            safe_to_auto_approve,
        })
    }

    // ---------------------------------------------------------------------------------------
    // Tests
    // ---------------------------------------------------------------------------------------

    fn test_item(&mut self) -> Sure<TestItem> {
        self.expect_word("test")?;
        self.skip();
        let name = self.plain_string()?;
        self.skip_expect(b'{')?;
        let mut body = Vec::new();
        loop {
            self.skip();
            if self.eat(b'}') {
                return Some(TestItem { name, body });
            }
            body.push(self.test_stmt()?);
        }
    }

    fn test_stmt(&mut self) -> Sure<TestStmt> {
        let start = self.pos;
        let keyword = self.word_at(start);
        let kind = match keyword {
            "let" => {
                let (name, ty, value) = self.let_parts()?;
                TestStmtKind::Let { name, ty, value }
            }
            "expect" => self.test_expect()?,
            _ => {
                self.pos += keyword.len();
                self.skip();
                match keyword {
                    "mock" => self.mock()?,
                    "set" => {
                        let kind = match self.word_at(self.pos) {
                            "env" => SetKind::Env,
                            "secret" => SetKind::Secret,
                            _ => return None,
                        };
                        self.pos = self.word_end(self.pos);
                        self.skip();
                        let name = self.word()?;
                        self.skip_expect(b'=')?;
                        self.skip();
                        let value = self.expr(true)?;
                        TestStmtKind::Set { kind, name, value }
                    }
                    "approve" | "deny" => {
                        let step = self.ident()?;
                        let as_user = if self.eat_word_after_trivia("as") {
                            self.skip();
                            Some(self.plain_string()?)
                        } else {
                            None
                        };
                        if keyword == "deny" {
                            TestStmtKind::Deny { step, as_user }
                        } else {
                            let values = self.record_after("with")?;
                            TestStmtKind::Approve {
                                step,
                                as_user,
                                values,
                            }
                        }
                    }
                    "run" => {
                        let runbook = self.ident()?;
                        let inputs = self.record_after("with")?;
                        let alert = self.record_after("alert")?;
                        let mut alerts = Vec::new();
                        if alert.is_none() && self.eat_word_after_trivia("alerts") {
                            self.skip_expect(b'[')?;
                            self.skip();
                            if !self.eat(b']') {
                                loop {
                                    alerts.push(self.record_lit()?);
                                    self.skip();
                                    if self.eat(b']') {
                                        break;
                                    }
                                    self.expect(b',')?;
                                    self.skip();
                                    if self.eat(b']') {
                                        break;
                                    }
                                }
                            }
                        }
                        TestStmtKind::Run {
                            runbook,
                            inputs,
                            alert,
                            alerts,
                        }
                    }
                    _ => return None,
                }
            }
        };
        Some(TestStmt {
            kind,
            span: self.span_from(start),
        })
    }

    /// `KEYWORD { record }` if `keyword` follows the trivia here.
    fn record_after(&mut self, keyword: &str) -> Sure<Option<Expr>> {
        if !self.eat_word_after_trivia(keyword) {
            return Some(None);
        }
        self.skip();
        Some(Some(self.record_lit()?))
    }

    fn mock(&mut self) -> Sure<TestStmtKind> {
        let target = self.action_path()?;
        let at = self.trivia_end(self.pos);
        let pattern = if self.byte_at(at) == b'(' {
            self.pos = at;
            Some(self.call_pattern()?)
        } else {
            None
        };
        self.skip();
        let outcome = match self.word_at(self.pos) {
            "returns" => {
                self.pos += 7;
                self.skip();
                MockOutcome::Returns(self.expr(true)?)
            }
            "fails" => {
                self.pos += 5;
                self.skip();
                MockOutcome::Fails(self.expr(true)?)
            }
            _ => return None,
        };
        Some(TestStmtKind::Mock {
            target,
            pattern,
            outcome,
        })
    }

    /// The `expect` statements of a test, told apart by the word after `expect` (and `not`).
    fn test_expect(&mut self) -> Sure<TestStmtKind> {
        let (word, at) = self.word_after_trivia(self.pos + 6);
        if word == "step" && self.byte_at(self.trivia_end(at + 4)) != b'.' {
            self.pos = at + 4;
            self.skip();
            let step = self.ident()?;
            self.skip();
            let outcome = self.step_outcome()?;
            return Some(TestStmtKind::ExpectStep { step, outcome });
        }
        let (word, after_not) = if word == "not" {
            self.word_after_trivia(at + 3)
        } else {
            (word, at)
        };
        let negated = after_not != at;
        match word {
            "escalated" => {
                self.pos = after_not + word.len();
                Some(TestStmtKind::ExpectEscalated { negated })
            }
            "called" => {
                self.pos = after_not + word.len();
                self.skip();
                let target = self.action_path()?;
                let at = self.trivia_end(self.pos);
                let pattern = if self.byte_at(at) == b'(' {
                    self.pos = at;
                    Some(self.call_pattern()?)
                } else {
                    None
                };
                let times = self.times()?;
                Some(TestStmtKind::ExpectCalled {
                    negated,
                    target,
                    pattern,
                    times,
                })
            }
            "triggered" | "coalesced" | "suppressed" => {
                self.pos = after_not + word.len();
                let outcome = match word {
                    "coalesced" => TriggerOutcome::Coalesced,
                    "suppressed" => TriggerOutcome::Suppressed,
                    _ => TriggerOutcome::Triggered,
                };
                let times = self.times()?;
                Some(TestStmtKind::ExpectTrigger {
                    negated,
                    outcome,
                    times,
                })
            }
            _ => match self.expect_stmt()? {
                StmtKind::Expect { cond, .. } => Some(TestStmtKind::Expect(cond)),
                _ => None,
            },
        }
    }

    /// `(times N)?`.
    fn times(&mut self) -> Sure<Option<(u64, Span)>> {
        if !self.eat_word_after_trivia("times") {
            return Some(None);
        }
        self.skip();
        let (value, span) = self.small_int()?;
        Some(Some((u64::from(value), span)))
    }

    /// The grammar's `path`: names joined by `.` with nothing between.
    fn action_path(&mut self) -> Sure<Path> {
        let start = self.pos;
        let mut segments = vec![self.ident()?];
        while self.peek() == b'.' {
            let save = self.pos;
            self.pos += 1;
            match self.ident() {
                Some(segment) => segments.push(segment),
                None => {
                    self.pos = save;
                    break;
                }
            }
        }
        Some(Path {
            segments,
            span: self.span_from(start),
        })
    }

    /// `(patterns) (where guard)?`.
    fn call_pattern(&mut self) -> Sure<CallPattern> {
        let start = self.pos;
        self.expect(b'(')?;
        let mut args = Vec::new();
        self.skip();
        if !self.eat(b')') {
            loop {
                args.push(self.arg_pattern()?);
                self.skip();
                if self.eat(b')') {
                    break;
                }
                self.expect(b',')?;
                self.skip();
                if self.eat(b')') {
                    break;
                }
            }
        }
        let args_span = self.span_from(start);
        let guard = if self.eat_word_after_trivia("where") {
            self.skip();
            Some(self.expr(true)?)
        } else {
            None
        };
        Some(CallPattern {
            args,
            args_span,
            guard,
            span: self.span_from(start),
        })
    }

    fn arg_pattern(&mut self) -> Sure<ArgPattern> {
        let start = self.pos;
        let kind = match self.peek() {
            b'[' => {
                self.pos += 1;
                let mut elements = Vec::new();
                let mut rest = false;
                loop {
                    self.skip();
                    if self.eat(b']') {
                        break;
                    }
                    if self.bytes.get(self.pos..self.pos + 2) == Some(b"..") {
                        self.pos += 2;
                        rest = true;
                        self.eat_after_trivia(b',');
                        self.skip_expect(b']')?;
                        break;
                    }
                    elements.push(self.arg_pattern()?);
                    self.skip();
                    if self.eat(b']') {
                        break;
                    }
                    self.expect(b',')?;
                }
                ArgPatternKind::List { elements, rest }
            }
            b'0'..=b'9' | b'"' => ArgPatternKind::Value(self.literal()?),
            _ => match self.word_at(start) {
                "true" | "false" | "none" => ArgPatternKind::Value(self.literal()?),
                _ => {
                    let name = self.ident()?;
                    if name.name == "_" {
                        ArgPatternKind::Any
                    } else {
                        ArgPatternKind::Bind(name)
                    }
                }
            },
        };
        Some(ArgPattern {
            kind,
            span: self.span_from(start),
        })
    }

    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    fn type_expr(&mut self) -> Sure<TypeExpr> {
        let start = self.pos;
        let word = self.word_at(start);
        let after_word = self.trivia_end(start + word.len());
        let kind = match word {
            "list" if self.byte_at(after_word) == b'<' => {
                self.pos = after_word + 1;
                self.skip();
                let element = self.type_expr()?;
                self.skip_expect(b'>')?;
                TypeExprKind::List(Box::new(element))
            }
            "map" if self.byte_at(after_word) == b'<' => {
                self.pos = after_word + 1;
                self.skip();
                let key = self.type_expr()?;
                self.skip_expect(b',')?;
                self.skip();
                let value = self.type_expr()?;
                self.skip_expect(b'>')?;
                TypeExprKind::Map(Box::new(key), Box::new(value))
            }
            "" if self.peek() == b'{' => TypeExprKind::Record(self.record_type_fields()?),
            _ => {
                let first = self.ident()?;
                if self.peek() == b'.' && is_word_start(self.byte_at(self.pos + 1)) {
                    self.pos += 1;
                    let name = self.word()?;
                    TypeExprKind::Named {
                        module: Some(first),
                        name,
                    }
                } else {
                    TypeExprKind::Named {
                        module: None,
                        name: first,
                    }
                }
            }
        };
        let atom_span = self.span_from(start);
        if self.eat_after_trivia(b'?') {
            Some(TypeExpr {
                kind: TypeExprKind::Optional(Box::new(TypeExpr {
                    kind,
                    span: atom_span,
                })),
                span: self.span_from(start),
            })
        } else {
            Some(TypeExpr {
                kind,
                span: atom_span,
            })
        }
    }

    /// `{ (word: type),* }`.
    fn record_type_fields(&mut self) -> Sure<Vec<(Ident, TypeExpr)>> {
        self.expect(b'{')?;
        let mut fields = Vec::new();
        self.skip();
        if self.eat(b'}') {
            return Some(fields);
        }
        loop {
            let name = self.word()?;
            self.skip_expect(b':')?;
            self.skip();
            let ty = self.type_expr()?;
            fields.push((name, ty));
            self.skip();
            if self.eat(b'}') {
                return Some(fields);
            }
            self.expect(b',')?;
            self.skip();
            if self.eat(b'}') {
                return Some(fields);
            }
        }
    }
}

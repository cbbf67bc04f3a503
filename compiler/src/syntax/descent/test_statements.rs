//! `test` blocks for the fast parser: mocks with their call patterns, `set`, `approve`, `deny`,
//! `run` and the `expect` forms, told apart by their words as the grammar's choices do.

use super::{Descent, Sure};
use crate::syntax::ast::*;

impl Descent<'_> {
    pub(super) fn test_item(&mut self) -> Sure<TestItem> {
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

    pub(super) fn test_stmt(&mut self) -> Sure<TestStmt> {
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
                                    if self.list_closed(b']')? {
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
    pub(super) fn record_after(&mut self, keyword: &str) -> Sure<Option<Expr>> {
        if !self.eat_word_after_trivia(keyword) {
            return Some(None);
        }
        self.skip();
        Some(Some(self.record_lit()?))
    }

    pub(super) fn mock(&mut self) -> Sure<TestStmtKind> {
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
    pub(super) fn test_expect(&mut self) -> Sure<TestStmtKind> {
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
    pub(super) fn times(&mut self) -> Sure<Option<(u64, Span)>> {
        if !self.eat_word_after_trivia("times") {
            return Some(None);
        }
        self.skip();
        let (value, span) = self.small_int()?;
        Some(Some((u64::from(value), span)))
    }

    /// The grammar's `path`: names joined by `.` with nothing between.
    pub(super) fn action_path(&mut self) -> Sure<Path> {
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
    pub(super) fn call_pattern(&mut self) -> Sure<CallPattern> {
        let start = self.pos;
        self.expect(b'(')?;
        let mut args = Vec::new();
        self.skip();
        if !self.eat(b')') {
            loop {
                args.push(self.arg_pattern()?);
                if self.list_closed(b')')? {
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

    pub(super) fn arg_pattern(&mut self) -> Sure<ArgPattern> {
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
}

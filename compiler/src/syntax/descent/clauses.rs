//! Runbook clauses for the fast parser: `title` to `mode`, and steps with their options
//! (`approval`, `retry`, `timeout`, `on failure`), as the grammar reads them.

use super::{Descent, Sure};
use crate::syntax::ast::*;

impl Descent<'_> {
    pub(super) fn clause(&mut self) -> Sure<Clause> {
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

    pub(super) fn trigger(&mut self) -> Sure<Trigger> {
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
    pub(super) fn input_fields(&mut self) -> Sure<Vec<InputField>> {
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
            let (ty, default) = self.typed_with_default()?;
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
    pub(super) fn step(&mut self, kind: StepKind, doc: Option<String>) -> Sure<Step> {
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

    pub(super) fn step_option(&mut self) -> Sure<StepOption> {
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
    pub(super) fn approval_required(&mut self) -> Sure<StepOptionKind> {
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
    pub(super) fn small_int(&mut self) -> Sure<(u32, Span)> {
        let start = self.pos;
        let end = self.int_end(start)?;
        self.pos = end;
        let value = self.text[start..end].parse::<u32>().ok()?;
        Some((value, Span::new(start, end)))
    }
}

//! Statements for the fast parser (`let`, `if`/`else if`, `for`, `expect`, `fail`, `log`,
//! `return`, expressions), with `else if` chains nested as the tree builder nests them.

use super::{Descent, Sure};
use crate::syntax::ast::*;
use crate::syntax::grammar::MAX_ELSE_IF;

impl Descent<'_> {
    /// `{ statement* }` of an `if`, `for` or `fn` (`open`: the `{` is still to read), or the
    /// statements of a step block after its options; consumes the closing `}`.
    pub(super) fn statements(&mut self, open: bool) -> Sure<Vec<Stmt>> {
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

    pub(super) fn block(&mut self) -> Sure<Vec<Stmt>> {
        self.statements(true)
    }

    pub(super) fn stmt(&mut self) -> Sure<Stmt> {
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
    pub(super) fn let_parts(&mut self) -> Sure<(Ident, Option<TypeExpr>, Expr)> {
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
    pub(super) fn if_stmt(&mut self) -> Sure<Stmt> {
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
        let else_body = nest_else_ifs(branches, else_body);
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
    pub(super) fn expect_stmt(&mut self) -> Sure<StmtKind> {
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
}

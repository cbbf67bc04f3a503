//! Expressions for the fast parser: operands with their prefix and postfix operators, then
//! precedence applied over the flat sequence exactly as the tree builder's Pratt parser does
//! (operands first, in order, then operators — so expression ids come out in the same order),
//! and literals, strings and records.

use super::{is_ident_char, is_reserved, Descent, Sure};
use crate::syntax::ast::*;
use crate::syntax::parser::{binding_power, placeholder_text, push_text, unescape};

enum Token {
    Operand(Expr),
    Prefix(UnaryOp, Span),
    Infix(BinaryOp),
}

impl Descent<'_> {
    /// The grammar's `expr` (`records`) or `expr_no_record`, as the tree builder's `expr`
    /// builds it.
    pub(super) fn expr(&mut self, records: bool) -> Sure<Expr> {
        self.enter()?;
        let result = if records && self.lambda_ahead() {
            self.lambda()
        } else {
            self.operator_sequence(records)
        };
        self.leave();
        result
    }

    /// Whether a lambda starts here: `x =>` or `(a, b) =>` (the grammar tries a lambda first).
    fn lambda_ahead(&self) -> bool {
        let mut at = self.pos;
        if self.peek() == b'(' {
            at = self.trivia_end(at + 1);
            if self.byte_at(at) != b')' {
                loop {
                    let word = self.word_at(at);
                    if word.is_empty() || is_reserved(word) {
                        return false;
                    }
                    at = self.trivia_end(at + word.len());
                    match self.byte_at(at) {
                        b',' => at = self.trivia_end(at + 1),
                        b')' => break,
                        _ => return false,
                    }
                }
            }
            at += 1;
        } else {
            let word = self.word_at(at);
            if word.is_empty() || is_reserved(word) {
                return false;
            }
            at += word.len();
        }
        at = self.trivia_end(at);
        self.bytes.get(at..at + 2) == Some(b"=>")
    }

    fn lambda(&mut self) -> Sure<Expr> {
        let start = self.pos;
        let mut params = Vec::new();
        if self.eat(b'(') {
            self.skip();
            if !self.eat(b')') {
                loop {
                    params.push(self.ident()?);
                    self.skip();
                    if self.eat(b')') {
                        break;
                    }
                    self.expect(b',')?;
                    self.skip();
                }
            }
        } else {
            params.push(self.ident()?);
        }
        self.skip();
        self.pos += 2; // `=>`, seen by `lambda_ahead`
        self.skip();
        // The body is the grammar's `lambda_body`: the builder counts it as one more `expr`.
        self.enter()?;
        let body = self.operator_sequence(true);
        self.leave();
        let body = body?;
        let span = self.span_from(start);
        self.mk(
            ExprKind::Lambda {
                params,
                body: Box::new(body),
            },
            span,
        )
    }

    /// `operand (infix operand)*`, then precedence.
    fn operator_sequence(&mut self, records: bool) -> Sure<Expr> {
        let mut tokens = Vec::new();
        self.operand(records, &mut tokens)?;
        while let Some((op, len)) = self.infix_after_trivia() {
            self.pos = self.trivia_end(self.pos) + len;
            tokens.push(Token::Infix(op));
            self.skip();
            self.operand(records, &mut tokens)?;
        }
        let mut stream = tokens.into_iter().peekable();
        let expr = self.pratt(&mut stream, 0)?;
        // Every token is used: the sequence alternates operands and operators.
        stream.next().is_none().then_some(expr)
    }

    /// The infix operator after the trivia here, and its length.
    fn infix_after_trivia(&self) -> Option<(BinaryOp, usize)> {
        let at = self.trivia_end(self.pos);
        let next = self.byte_at(at + 1);
        let op = match self.byte_at(at) {
            b'o' | b'a' => {
                return match self.word_at(at) {
                    "or" => Some((BinaryOp::Or, 2)),
                    "and" => Some((BinaryOp::And, 3)),
                    _ => None,
                }
            }
            b'=' if next == b'=' => (BinaryOp::Eq, 2),
            b'!' if next == b'=' => (BinaryOp::Ne, 2),
            b'<' if next == b'=' => (BinaryOp::Le, 2),
            b'>' if next == b'=' => (BinaryOp::Ge, 2),
            b'<' => (BinaryOp::Lt, 1),
            b'>' => (BinaryOp::Gt, 1),
            b'?' if next == b'?' => (BinaryOp::Coalesce, 2),
            b'+' => (BinaryOp::Add, 1),
            b'-' => (BinaryOp::Sub, 1),
            b'*' => (BinaryOp::Mul, 1),
            b'/' if next != b'/' => (BinaryOp::Div, 1),
            _ => return None,
        };
        Some(op)
    }

    /// `prefix* primary postfix*`: prefix operators as tokens, the primary with its calls,
    /// fields and indexes applied as one operand.
    fn operand(&mut self, records: bool, tokens: &mut Vec<Token>) -> Sure<()> {
        loop {
            let start = self.pos;
            if self.eat_word("not") {
                tokens.push(Token::Prefix(UnaryOp::Not, Span::new(start, self.pos)));
            } else if self.eat(b'-') {
                tokens.push(Token::Prefix(UnaryOp::Neg, Span::new(start, self.pos)));
            } else {
                break;
            }
            self.skip();
        }
        let mut operand = self.primary(records)?;
        loop {
            let at = self.trivia_end(self.pos);
            match self.byte_at(at) {
                b'(' | b'.' | b'[' => {
                    self.pos = at;
                    operand = self.postfix(operand)?;
                }
                _ => break,
            }
        }
        tokens.push(Token::Operand(operand));
        Some(())
    }

    fn postfix(&mut self, base: Expr) -> Sure<Expr> {
        let start = self.pos;
        match self.peek() {
            b'(' => {
                let args = self.call_args()?;
                let span = base.span.to(self.span_from(start));
                self.mk(
                    ExprKind::Call {
                        callee: Box::new(base),
                        args,
                    },
                    span,
                )
            }
            b'.' => {
                self.pos += 1;
                self.skip();
                let field = self.word()?;
                let span = base.span.to(self.span_from(start));
                self.mk(ExprKind::Field(Box::new(base), field), span)
            }
            _ => {
                self.pos += 1;
                self.skip();
                let index = self.expr(true)?;
                self.skip_expect(b']')?;
                let span = base.span.to(self.span_from(start));
                self.mk(ExprKind::Index(Box::new(base), Box::new(index)), span)
            }
        }
    }

    /// `( (name:)? expr, ... )`.
    pub(super) fn call_args(&mut self) -> Sure<Vec<Arg>> {
        self.expect(b'(')?;
        let mut args = Vec::new();
        self.skip();
        if self.eat(b')') {
            return Some(args);
        }
        loop {
            let word_end = self.word_end(self.pos);
            let named = word_end > self.pos && self.byte_at(self.trivia_end(word_end)) == b':';
            let name = if named {
                let name = self.word()?;
                self.skip_expect(b':')?;
                self.skip();
                if self.peek() == b':' {
                    return None;
                }
                Some(name)
            } else {
                None
            };
            let value = self.expr(true)?;
            args.push(Arg { name, value });
            if self.list_closed(b')')? {
                return Some(args);
            }
        }
    }

    /// The tree builder's Pratt parser over the flat sequence.
    fn pratt(
        &mut self,
        tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>,
        min_power: u8,
    ) -> Sure<Expr> {
        let mut lhs = match tokens.next()? {
            Token::Operand(expr) => expr,
            Token::Prefix(op, span) => {
                let power = match op {
                    UnaryOp::Not => 5,
                    UnaryOp::Neg => 15,
                };
                self.enter()?;
                let operand = self.pratt(tokens, power);
                self.leave();
                let operand = operand?;
                let span = span.to(operand.span);
                self.mk(ExprKind::Unary(op, Box::new(operand)), span)?
            }
            Token::Infix(_) => return None,
        };
        while let Some(Token::Infix(op)) = tokens.peek() {
            let op = *op;
            let (left, right) = binding_power(op);
            if left < min_power {
                break;
            }
            tokens.next();
            let rhs = self.pratt(tokens, right)?;
            let span = lhs.span.to(rhs.span);
            lhs = self.mk(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span)?;
        }
        Some(lhs)
    }

    /// The grammar's `primary` (`records`) or `primary_nr`.
    fn primary(&mut self, records: bool) -> Sure<Expr> {
        let start = self.pos;
        match self.peek() {
            b'0'..=b'9' | b'"' => self.literal(),
            b'[' => {
                self.pos += 1;
                self.skip();
                let mut elements = Vec::new();
                if !self.eat(b']') {
                    loop {
                        elements.push(self.expr(true)?);
                        if self.list_closed(b']')? {
                            break;
                        }
                    }
                }
                let span = self.span_from(start);
                self.mk(ExprKind::List(elements), span)
            }
            b'{' if records => self.record_lit(),
            b'(' => {
                self.pos += 1;
                self.skip();
                let mut inner = self.expr(true)?;
                self.skip_expect(b')')?;
                inner.span = self.span_from(start);
                Some(inner)
            }
            _ => match self.word_at(start) {
                "true" | "false" | "none" => self.literal(),
                "step" if self.byte_at(self.trivia_end(start + 4)) == b'.' => {
                    self.pos = self.trivia_end(start + 4) + 1;
                    self.skip();
                    let step = self.ident()?;
                    self.skip_expect(b'.')?;
                    self.skip();
                    let outcome = self.step_outcome()?;
                    let span = self.span_from(start);
                    self.mk(ExprKind::StepOutcome { step, outcome }, span)
                }
                "approval" if self.byte_at(self.trivia_end(start + 8)) == b'.' => {
                    self.pos = self.trivia_end(start + 8) + 1;
                    self.skip();
                    let name = self.word()?;
                    let span = self.span_from(start);
                    self.mk(ExprKind::ApprovalValue(name), span)
                }
                _ => {
                    let name = self.ident()?;
                    let span = name.span;
                    self.mk(ExprKind::Name(name), span)
                }
            },
        }
    }

    pub(super) fn step_outcome(&mut self) -> Sure<StepOutcome> {
        let outcome = match self.word_at(self.pos) {
            "succeeded" => StepOutcome::Succeeded,
            "failed" => StepOutcome::Failed,
            "skipped" => StepOutcome::Skipped,
            "denied" => StepOutcome::Denied,
            _ => return None,
        };
        self.pos = self.word_end(self.pos);
        Some(outcome)
    }

    /// `{ key: value, ... }`.
    pub(super) fn record_lit(&mut self) -> Sure<Expr> {
        let start = self.pos;
        self.expect(b'{')?;
        self.skip();
        let mut fields = Vec::new();
        if !self.eat(b'}') {
            loop {
                let key = if self.peek() == b'"' {
                    RecordKey::Str(self.plain_string()?)
                } else {
                    RecordKey::Name(self.word()?)
                };
                self.skip_expect(b':')?;
                self.skip();
                let value = self.expr(true)?;
                fields.push(RecordField { key, value });
                if self.list_closed(b'}')? {
                    break;
                }
            }
        }
        let span = self.span_from(start);
        self.mk(ExprKind::Record(fields), span)
    }

    /// The grammar's `literal`: a number, duration, percentage, `true`/`false`, `none` or a
    /// string.
    pub(super) fn literal(&mut self) -> Sure<Expr> {
        let start = self.pos;
        match self.peek() {
            b'"' => {
                let multiline = self.bytes.get(start..start + 3) == Some(b"\"\"\"");
                return self.string_expr(multiline);
            }
            b'0'..=b'9' => return self.number(),
            _ => {}
        }
        let kind = match self.word_at(start) {
            "true" => ExprKind::Bool(true),
            "false" => ExprKind::Bool(false),
            "none" => ExprKind::None,
            _ => return None,
        };
        self.pos = self.word_end(start);
        let span = Span::new(start, self.pos);
        self.mk(kind, span)
    }

    /// A literal starting with a digit, tried in the grammar's order: duration, percentage,
    /// float, integer.
    fn number(&mut self) -> Sure<Expr> {
        let start = self.pos;
        let digits_end = |mut at: usize| {
            while self.byte_at(at).is_ascii_digit() {
                at += 1;
            }
            at
        };
        let int_end = digits_end(start);
        let kind = if let Some(end) = self.duration_end(start) {
            self.pos = end;
            ExprKind::Duration(duration_ms(&self.text[start..end])?)
        } else if let Some(end) = {
            let mut at = int_end;
            if self.byte_at(at) == b'.' && self.byte_at(at + 1).is_ascii_digit() {
                at = digits_end(at + 1);
            }
            (self.byte_at(at) == b'%').then_some(at + 1)
        } {
            self.pos = end;
            ExprKind::Percent(
                self.text[start..end]
                    .trim_end_matches('%')
                    .parse()
                    .unwrap_or(f64::MAX),
            )
        } else if self.byte_at(int_end) == b'.' && self.byte_at(int_end + 1).is_ascii_digit() {
            let end = digits_end(int_end + 1);
            if is_ident_char(self.byte_at(end)) {
                return None;
            }
            self.pos = end;
            ExprKind::Float(self.text[start..end].parse().unwrap_or(f64::MAX))
        } else {
            if is_ident_char(self.byte_at(int_end)) {
                return None;
            }
            self.pos = int_end;
            ExprKind::Int(self.text[start..int_end].parse::<i64>().ok()?)
        };
        let span = Span::new(start, self.pos);
        self.mk(kind, span)
    }

    /// The end of the grammar's `duration` at `start`: `(digits unit)+` not followed by a
    /// name character.
    pub(super) fn duration_end(&self, start: usize) -> Option<usize> {
        let mut at = start;
        loop {
            let digits_start = at;
            while self.byte_at(at).is_ascii_digit() {
                at += 1;
            }
            if at == digits_start {
                break;
            }
            match (self.byte_at(at), self.byte_at(at + 1)) {
                (b'm', b's') => at += 2,
                (b's' | b'm' | b'h' | b'd', _) => at += 1,
                _ => {
                    at = digits_start;
                    break;
                }
            }
        }
        (at > start && !is_ident_char(self.byte_at(at))).then_some(at)
    }

    /// A duration literal (the grammar's `duration`, as in `rate 5 per 1m`).
    pub(super) fn duration(&mut self) -> Sure<Expr> {
        let start = self.pos;
        let end = self.duration_end(start)?;
        self.pos = end;
        let ms = duration_ms(&self.text[start..end])?;
        self.mk(ExprKind::Duration(ms), Span::new(start, end))
    }

    /// A string (`"..."`) or multiline string (`"""..."""`) with its interpolations.
    fn string_expr(&mut self, multiline: bool) -> Sure<Expr> {
        let start = self.pos;
        self.pos += if multiline { 3 } else { 1 };
        let mut parts: Vec<StrPart> = Vec::new();
        loop {
            match self.peek() {
                b'"' if !multiline => {
                    self.pos += 1;
                    break;
                }
                b'"' if self.bytes.get(self.pos..self.pos + 3) == Some(b"\"\"\"") => {
                    self.pos += 3;
                    break;
                }
                b'\\' => {
                    let escape = match self.byte_at(self.pos + 1) {
                        b'{' | b'}' | b'"' | b'\\' | b'n' | b't' | b'r' => {
                            &self.text[self.pos..self.pos + 2]
                        }
                        _ => return None,
                    };
                    push_text(&mut parts, unescape(escape));
                    self.pos += 2;
                }
                b'{' => {
                    self.pos += 1;
                    self.skip();
                    let inner = self.expr(true)?;
                    self.skip_expect(b'}')?;
                    parts.push(StrPart::Interpolation(inner));
                }
                b'\n' if !multiline => return None,
                _ if self.pos >= self.bytes.len() => return None,
                _ => {
                    let text_start = self.pos;
                    self.pos += 1;
                    while self.pos < self.bytes.len() {
                        match self.bytes[self.pos] {
                            b'\\' | b'{' => break,
                            b'\n' if !multiline => break,
                            b'"' if !multiline => break,
                            b'"' if self.bytes.get(self.pos..self.pos + 3) == Some(b"\"\"\"") => {
                                break
                            }
                            _ => self.pos += 1,
                        }
                    }
                    push_text(&mut parts, &self.text[text_start..self.pos]);
                }
            }
        }
        if multiline {
            if let Some(StrPart::Text(first)) = parts.first_mut() {
                if let Some(rest) = first.strip_prefix('\n') {
                    *first = rest.to_string();
                }
            }
        }
        let span = self.span_from(start);
        self.mk(ExprKind::Str(parts), span)
    }

    /// A `"..."` string where interpolation is not allowed (titles, group names, reasons), or
    /// names a parameter inside a template.
    pub(super) fn plain_string(&mut self) -> Sure<StrLit> {
        if self.peek() != b'"' || self.bytes.get(self.pos..self.pos + 3) == Some(b"\"\"\"") {
            return None;
        }
        let expr = self.string_expr(false)?;
        let span = expr.span;
        let value = match expr.as_plain_str() {
            Some(value) => value,
            None if self.in_template => placeholder_text(&expr)?,
            None => return None,
        };
        Some(StrLit { value, span })
    }
}

/// A duration's milliseconds, as the tree builder computes them; `None` where it would report
/// the duration out of range.
fn duration_ms(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number: u64 = 0;
    let mut bytes = text.bytes().peekable();
    while let Some(byte) = bytes.next() {
        if byte.is_ascii_digit() {
            number = number
                .checked_mul(10)?
                .checked_add(u64::from(byte - b'0'))?;
            continue;
        }
        let unit_ms: u64 = match byte {
            b'm' if bytes.peek() == Some(&b's') => {
                bytes.next();
                1
            }
            b's' => 1_000,
            b'm' => 60_000,
            b'h' => 3_600_000,
            _ => 86_400_000,
        };
        total = total.checked_add(number.checked_mul(unit_ms)?)?;
        number = 0;
    }
    i64::try_from(total).is_ok().then_some(total)
}

//! Type expressions for the fast parser: names (`k8s.Pod`), `list<T>`, `map<K, V>`, records
//! and the `?` of an optional.

use super::{is_word_start, Descent, Sure};
use crate::syntax::ast::*;

impl Descent<'_> {
    pub(super) fn type_expr(&mut self) -> Sure<TypeExpr> {
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
    pub(super) fn record_type_fields(&mut self) -> Sure<Vec<(Ident, TypeExpr)>> {
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
            if self.list_closed(b'}')? {
                return Some(fields);
            }
        }
    }
}

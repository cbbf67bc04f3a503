//! Items for the fast parser — `use`, `runbook`, `template`, instances, `fn`, `const`, `type`,
//! `extern` — as the grammar reads them and the tree builder turns them into the tree.

use super::{is_word_start, Descent, Sure};
use crate::syntax::ast::*;

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
    pub(super) fn item(&mut self) -> Sure<Item> {
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
    pub(super) fn doc_comment(&mut self) -> Option<String> {
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

    pub(super) fn use_item(&mut self) -> Sure<UseItem> {
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

    pub(super) fn instance(&mut self) -> Sure<Instance> {
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

    pub(super) fn runbook(&mut self) -> Sure<Runbook> {
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

    pub(super) fn template(&mut self) -> Sure<Template> {
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
    pub(super) fn clause_block(&mut self) -> Sure<Vec<Clause>> {
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

    pub(super) fn fn_item(&mut self) -> Sure<FnItem> {
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
    pub(super) fn return_type(&mut self) -> Sure<Option<TypeExpr>> {
        let at = self.trivia_end(self.pos);
        if self.bytes.get(at..at + 2) != Some(b"->") {
            return Some(None);
        }
        self.pos = at + 2;
        self.skip();
        Some(Some(self.type_expr()?))
    }

    /// `( (word: type (= default)?),* )`.
    pub(super) fn param_list(&mut self) -> Sure<Vec<Param>> {
        self.expect(b'(')?;
        let mut params = Vec::new();
        self.skip();
        if self.eat(b')') {
            return Some(params);
        }
        loop {
            let name = self.word()?;
            let (ty, default) = self.typed_with_default()?;
            params.push(Param { name, ty, default });
            if self.list_closed(b')')? {
                return Some(params);
            }
        }
    }

    pub(super) fn const_item(&mut self) -> Sure<ConstItem> {
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

    pub(super) fn type_item(&mut self) -> Sure<TypeItem> {
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

    /// `: TYPE` and an optional `= DEFAULT` after the name of a parameter or an input.
    pub(super) fn typed_with_default(&mut self) -> Sure<(TypeExpr, Option<Expr>)> {
        self.skip_expect(b':')?;
        self.skip();
        let ty = self.type_expr()?;
        let default = if self.eat_after_trivia(b'=') {
            self.skip();
            Some(self.expr(true)?)
        } else {
            None
        };
        Some((ty, default))
    }

    pub(super) fn extern_item(&mut self) -> Sure<ExternItem> {
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
}

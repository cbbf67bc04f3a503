//! Semantic tokens (`textDocument/semanticTokens/full`): two passes over one buffer.
//!
//! The lexical pass ([`crate::lexer`]) finds comments, strings, numbers and words in the raw
//! text, so a buffer the parser gives up on is still coloured. The tree pass walks the
//! compiler's syntax tree of the same text and says what each name is: a runbook, a step, a
//! call of an action or `fn`, a module alias, an input, a `let`. A word the tree says nothing
//! about is a keyword if the grammar reserves it, and is otherwise left to the editor's own
//! grammar. Both walks use explicit stacks, so no input can exhaust the stack.

use std::collections::HashMap;

use rbk_compiler::diagnostics::LineIndex;
use rbk_compiler::effects::extern_of;
use rbk_compiler::resolve::{Member, Module, ModuleId};
use rbk_compiler::syntax::{
    CallPattern, ClauseKind, Effect, Expr, ExprKind, Ident, ItemKind, MockOutcome, Path, RecordKey,
    Span, StepOptionKind, Stmt, StmtKind, StrPart, TestStmtKind, Trigger, TypeExpr, TypeExprKind,
    UseTarget,
};
use rbk_compiler::types::Callee;
use tower_lsp_server::ls_types::{
    SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokensLegend,
};

use crate::completion::KEYWORDS;
use crate::documents::Checked;
use crate::lexer::{lex, LexKind};

/// The token types, in legend order (the index is what the protocol sends).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A module alias or path: `pg`, `std.postgres`.
    Namespace,
    /// A type name: `duration`, `pg.Database`, `list`.
    Type,
    /// A runbook name.
    Class,
    /// A step name (where declared, and in tests: `expect step kill`).
    Method,
    /// An action (`extern`), `fn` or builtin, where declared or called.
    Function,
    /// A runbook input, a `fn` parameter, a lambda parameter, a named argument.
    Parameter,
    /// A `let` or `for` binding, a const, `alert`, `run`.
    Variable,
    /// A record field or a field access.
    Property,
    Keyword,
    Comment,
    String,
    /// Integers, floats, percents and durations.
    Number,
}

const TYPES: [(Kind, SemanticTokenType); 12] = [
    (Kind::Namespace, SemanticTokenType::NAMESPACE),
    (Kind::Type, SemanticTokenType::TYPE),
    (Kind::Class, SemanticTokenType::CLASS),
    (Kind::Method, SemanticTokenType::METHOD),
    (Kind::Function, SemanticTokenType::FUNCTION),
    (Kind::Parameter, SemanticTokenType::PARAMETER),
    (Kind::Variable, SemanticTokenType::VARIABLE),
    (Kind::Property, SemanticTokenType::PROPERTY),
    (Kind::Keyword, SemanticTokenType::KEYWORD),
    (Kind::Comment, SemanticTokenType::COMMENT),
    (Kind::String, SemanticTokenType::STRING),
    (Kind::Number, SemanticTokenType::NUMBER),
];

/// Modifier bits, in legend order.
pub const DECLARATION: u32 = 1 << 0;
pub const READONLY: u32 = 1 << 1;
pub const DEFAULT_LIBRARY: u32 = 1 << 2;
pub const DOCUMENTATION: u32 = 1 << 3;
/// Not a standard modifier: an action declared `effect destructive`, or a `fn` that reaches one.
pub const DESTRUCTIVE: u32 = 1 << 4;

/// The legend `initialize` declares.
pub fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TYPES.iter().map(|(_, t)| t.clone()).collect(),
        token_modifiers: vec![
            SemanticTokenModifier::DECLARATION,
            SemanticTokenModifier::READONLY,
            SemanticTokenModifier::DEFAULT_LIBRARY,
            SemanticTokenModifier::DOCUMENTATION,
            SemanticTokenModifier::new("destructive"),
        ],
    }
}

impl Kind {
    fn index(self) -> u32 {
        TYPES.iter().position(|(k, _)| *k == self).unwrap_or(0) as u32
    }
}

/// One token as byte offsets: sorted, non-overlapping, but possibly spanning lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    pub modifiers: u32,
}

/// The encoded tokens of a buffer: `checked` (the check of `text`) adds what the tree knows.
pub fn semantic_tokens(text: &str, checked: Option<&Checked>) -> Vec<SemanticToken> {
    let tokens = tokens(text, checked);
    encode(text, &tokens)
}

/// The tokens of a buffer, in order.
pub fn tokens(text: &str, checked: Option<&Checked>) -> Vec<Token> {
    let names = match checked {
        Some(checked) if checked.text() == text => names_of(checked),
        _ => HashMap::new(),
    };
    let mut out = Vec::new();
    for lexeme in lex(text) {
        let (kind, modifiers) = match lexeme.kind {
            LexKind::Comment => (Kind::Comment, 0),
            LexKind::DocComment => (Kind::Comment, DOCUMENTATION),
            LexKind::Str => (Kind::String, 0),
            LexKind::Number => (Kind::Number, 0),
            LexKind::Word => match names.get(&lexeme.start) {
                Some(&(end, kind, modifiers)) if end == lexeme.end => (kind, modifiers),
                _ if KEYWORDS.contains(&&text[lexeme.start..lexeme.end]) => (Kind::Keyword, 0),
                _ => continue,
            },
            LexKind::Open(_) | LexKind::Close(_) => continue,
        };
        out.push(Token {
            start: lexeme.start,
            end: lexeme.end,
            kind,
            modifiers,
        });
    }
    out
}

/// The LSP encoding: one token per line piece, positions relative to the previous token, in
/// UTF-16 code units. Empty pieces (and `\r` before a line break) are dropped.
pub fn encode(text: &str, tokens: &[Token]) -> Vec<SemanticToken> {
    let lines = LineIndex::new(text);
    let mut out = Vec::new();
    // The previous token: its line, its byte start and its UTF-16 column.
    let (mut line, mut from, mut column) = (0usize, 0usize, 0usize);
    let mut first = true;
    for token in tokens {
        let mut piece_start = token.start;
        for piece in text[token.start..token.end].split_inclusive('\n') {
            let start = piece_start;
            piece_start += piece.len();
            let piece = piece.trim_end_matches(['\n', '\r']);
            if piece.is_empty() {
                continue;
            }
            let piece_line = lines.line_of(start);
            let piece_column = if !first && piece_line == line {
                column + utf16_len(&text[from..start])
            } else {
                utf16_len(&text[lines.line_start(piece_line)..start])
            };
            out.push(SemanticToken {
                delta_line: (piece_line - if first { 0 } else { line }) as u32,
                delta_start: if !first && piece_line == line {
                    (piece_column - column) as u32
                } else {
                    piece_column as u32
                },
                length: utf16_len(piece) as u32,
                token_type: token.kind.index(),
                token_modifiers_bitset: token.modifiers,
            });
            (line, from, column, first) = (piece_line, start, piece_column, false);
        }
    }
    out
}

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// What the tree says about names: start offset -> (end offset, kind, modifiers).
type Names = HashMap<usize, (usize, Kind, u32)>;

/// One piece of pending work of the tree walk.
enum Work<'a> {
    Expr(&'a Expr),
    Type(&'a TypeExpr),
    Stmts(&'a [Stmt]),
    /// Drop the bindings made since (the end of a `for` body or a lambda).
    Unbind(usize),
}

struct Walker<'a> {
    checked: &'a Checked,
    module: &'a Module,
    names: Names,
    /// Names bound so far in the item being walked, innermost last.
    scope: Vec<(&'a str, Kind)>,
}

/// What the tree of the checked buffer says about its names.
fn names_of(checked: &Checked) -> Names {
    let mut walker = Walker {
        checked,
        module: checked.module(),
        names: HashMap::new(),
        scope: Vec::new(),
    };
    walker.items();
    walker.names
}

impl<'a> Walker<'a> {
    fn mark(&mut self, span: Span, kind: Kind, modifiers: u32) {
        self.names.insert(span.start, (span.end, kind, modifiers));
    }

    fn ident(&mut self, ident: &Ident, kind: Kind, modifiers: u32) {
        self.mark(ident.span, kind, modifiers);
    }

    fn bind(&mut self, ident: &'a Ident, kind: Kind) {
        self.ident(ident, kind, DECLARATION);
        self.scope.push((ident.name.as_str(), kind));
    }

    /// `destructive` and `defaultLibrary` for an extern or `fn` of a module.
    fn item_modifiers(&self, module: ModuleId, item: usize) -> u32 {
        let analysis = &self.checked.analysis;
        let effect = match extern_of(&analysis.modules, module, item) {
            Some(external) => external.effect,
            None => analysis.effects.fn_effect(&analysis.modules, module, item),
        };
        let mut modifiers = 0;
        if effect == Effect::Destructive {
            modifiers |= DESTRUCTIVE;
        }
        if analysis
            .modules
            .get(module.0 as usize)
            .is_some_and(Module::is_std)
        {
            modifiers |= DEFAULT_LIBRARY;
        }
        modifiers
    }

    /// The module an alias names, unless a local binding hides it.
    fn import(&self, name: &str) -> Option<ModuleId> {
        if self.scope.iter().any(|(n, _)| *n == name) {
            return None;
        }
        self.module.names.imports.get(name)?.module
    }

    /// The kind of a top-level member of a module, by name.
    fn member(&self, module: ModuleId, name: &str) -> Option<(Kind, u32)> {
        let m = self.checked.analysis.modules.get(module.0 as usize)?;
        let std = if m.is_std() { DEFAULT_LIBRARY } else { 0 };
        Some(match m.names.member(name)? {
            Member::Type(_) => (Kind::Type, std),
            Member::Const(_) => (Kind::Variable, READONLY | std),
            Member::Runbook(_) => (Kind::Class, 0),
            Member::Extern(i) | Member::Fn(i) => (Kind::Function, self.item_modifiers(module, i)),
        })
    }

    fn items(&mut self) {
        let module = self.module;
        for (index, item) in module.ast.items.iter().enumerate() {
            self.scope.clear();
            match &item.kind {
                ItemKind::Use(use_item) => {
                    if let Some(alias) = &use_item.alias {
                        self.ident(alias, Kind::Namespace, DECLARATION);
                    }
                    if let UseTarget::Std { path, span } = &use_item.target {
                        let text = self.checked.text();
                        if text.get(span.start..span.start + 3) == Some("std") {
                            self.mark(
                                Span::new(span.start, span.start + 3),
                                Kind::Namespace,
                                DEFAULT_LIBRARY,
                            );
                        }
                        for segment in path {
                            self.ident(segment, Kind::Namespace, DEFAULT_LIBRARY);
                        }
                    }
                }
                // A runbook made from a template walks the template's text (its clauses' spans
                // are there), which colours the template from its instances' types.
                ItemKind::Runbook(runbook) => {
                    self.ident(&runbook.name, Kind::Class, DECLARATION);
                    if let Some(template) = &runbook.template {
                        self.ident(&template.name, Kind::Class, 0);
                    }
                    for clause in &runbook.clauses {
                        self.clause(&clause.kind);
                    }
                }
                ItemKind::Template(template) => {
                    self.ident(&template.name, Kind::Class, DECLARATION);
                    for param in &template.params {
                        self.ident(&param.name, Kind::Parameter, DECLARATION);
                        self.run(vec![Work::Type(&param.ty)]);
                    }
                }
                ItemKind::Instance(instance) => {
                    self.ident(&instance.name, Kind::Class, DECLARATION);
                    self.ident(&instance.template, Kind::Class, 0);
                }
                ItemKind::Fn(function) => {
                    let modifiers = self.item_modifiers(module.id, index);
                    self.ident(&function.name, Kind::Function, DECLARATION | modifiers);
                    for param in &function.params {
                        self.run(vec![Work::Type(&param.ty)]);
                        if let Some(default) = &param.default {
                            self.run(vec![Work::Expr(default)]);
                        }
                        self.bind(&param.name, Kind::Parameter);
                    }
                    if let Some(ret) = &function.ret {
                        self.run(vec![Work::Type(ret)]);
                    }
                    self.run(vec![Work::Stmts(&function.body)]);
                }
                ItemKind::Extern(external) => {
                    let modifiers = self.item_modifiers(module.id, index);
                    self.ident(&external.name, Kind::Function, DECLARATION | modifiers);
                    for param in &external.params {
                        self.run(vec![Work::Type(&param.ty)]);
                        if let Some(default) = &param.default {
                            self.run(vec![Work::Expr(default)]);
                        }
                        self.ident(&param.name, Kind::Parameter, DECLARATION);
                    }
                    if let Some(ret) = &external.ret {
                        self.run(vec![Work::Type(ret)]);
                    }
                }
                ItemKind::Const(constant) => {
                    self.ident(&constant.name, Kind::Variable, DECLARATION | READONLY);
                    self.run(vec![Work::Type(&constant.ty), Work::Expr(&constant.value)]);
                }
                ItemKind::Type(type_item) => {
                    self.ident(&type_item.name, Kind::Type, DECLARATION);
                    for (name, ty) in type_item.fields.iter().flatten() {
                        self.ident(name, Kind::Property, DECLARATION);
                        self.run(vec![Work::Type(ty)]);
                    }
                }
                ItemKind::Test(test) => {
                    for stmt in &test.body {
                        self.test_stmt(&stmt.kind);
                    }
                }
            }
        }
    }

    fn clause(&mut self, clause: &'a ClauseKind) {
        match clause {
            ClauseKind::Trigger(Trigger::Alert {
                filter: Some(e), ..
            })
            | ClauseKind::Timeout(e)
            | ClauseKind::Escalate(e)
            | ClauseKind::Notify(e) => self.run(vec![Work::Expr(e)]),
            ClauseKind::Input(fields) => {
                for field in fields {
                    self.run(vec![Work::Type(&field.ty)]);
                    if let Some(default) = &field.default {
                        self.run(vec![Work::Expr(default)]);
                    }
                    self.bind(&field.name, Kind::Parameter);
                }
            }
            ClauseKind::Concurrency { limit, per } => {
                let mut work = vec![Work::Expr(limit)];
                work.extend(per.iter().map(Work::Expr));
                self.run(work);
            }
            ClauseKind::Rate { limit, window, by } => {
                let mut work = vec![Work::Expr(limit), Work::Expr(window)];
                work.extend(by.iter().map(Work::Expr));
                self.run(work);
            }
            ClauseKind::Step(step) => {
                self.ident(&step.name, Kind::Method, DECLARATION);
                let mut work: Vec<Work> = step.title.iter().map(Work::Expr).collect();
                work.extend(step.when.iter().map(Work::Expr));
                for option in &step.options {
                    match &option.kind {
                        StepOptionKind::ApprovalRequired {
                            timeout: Some(e), ..
                        }
                        | StepOptionKind::Retry { every: Some(e), .. }
                        | StepOptionKind::Timeout(e) => work.push(Work::Expr(e)),
                        _ => {}
                    }
                }
                self.run(work);
                // `let`s stay visible in later steps of the runbook.
                self.run(vec![Work::Stmts(&step.body)]);
            }
            ClauseKind::Trigger(_)
            | ClauseKind::Title(_)
            | ClauseKind::Owner(_)
            | ClauseKind::Mode(_) => {}
        }
    }

    /// The names a mock's patterns bind are parameters of its `where`, and of nothing after it.
    fn call_pattern(&mut self, pattern: Option<&'a CallPattern>) {
        let Some(pattern) = pattern else {
            return;
        };
        let before = self.scope.len();
        for name in pattern.bindings() {
            self.bind(name, Kind::Parameter);
        }
        self.run(pattern.exprs().into_iter().map(Work::Expr).collect());
        self.scope.truncate(before);
    }

    fn test_stmt(&mut self, stmt: &'a TestStmtKind) {
        match stmt {
            TestStmtKind::Mock {
                target,
                pattern,
                outcome,
            } => {
                self.path(target);
                self.call_pattern(pattern.as_ref());
                let (MockOutcome::Returns(e) | MockOutcome::Fails(e)) = outcome;
                self.run(vec![Work::Expr(e)]);
            }
            TestStmtKind::Set { name, value, .. } => {
                self.ident(name, Kind::Variable, 0);
                self.run(vec![Work::Expr(value)]);
            }
            TestStmtKind::Approve {
                step,
                values: Some(values),
                ..
            } => {
                self.ident(step, Kind::Method, 0);
                self.run(vec![Work::Expr(values)]);
            }
            TestStmtKind::Approve { step, .. }
            | TestStmtKind::Deny { step, .. }
            | TestStmtKind::ExpectStep { step, .. } => self.ident(step, Kind::Method, 0),
            TestStmtKind::Run {
                runbook,
                inputs,
                alert,
                alerts,
            } => {
                self.ident(runbook, Kind::Class, 0);
                self.run(
                    inputs
                        .iter()
                        .chain(alert)
                        .chain(alerts)
                        .map(Work::Expr)
                        .collect(),
                );
            }
            TestStmtKind::ExpectCalled {
                target, pattern, ..
            } => {
                self.path(target);
                self.call_pattern(pattern.as_ref());
            }
            TestStmtKind::Expect(e) => self.run(vec![Work::Expr(e)]),
            TestStmtKind::Let { name, ty, value } => {
                let mut work = vec![Work::Expr(value)];
                work.extend(ty.iter().map(Work::Type));
                self.run(work);
                self.bind(name, Kind::Variable);
            }
            TestStmtKind::ExpectEscalated { .. } | TestStmtKind::ExpectTrigger { .. } => {}
        }
    }

    /// `pg.terminate` in `mock` and `expect called`.
    fn path(&mut self, path: &Path) {
        match path.segments.as_slice() {
            [alias, name] => {
                let (kind, modifiers) = self
                    .import(&alias.name)
                    .and_then(|m| self.member(m, &name.name))
                    .unwrap_or((Kind::Function, 0));
                self.ident(alias, Kind::Namespace, 0);
                self.ident(name, kind, modifiers);
            }
            [name] => {
                let (kind, modifiers) = self
                    .member(self.module.id, &name.name)
                    .unwrap_or((Kind::Function, 0));
                self.ident(name, kind, modifiers);
            }
            _ => {}
        }
    }

    /// A name used in an expression.
    fn name(&self, name: &str) -> (Kind, u32) {
        if let Some((_, kind)) = self.scope.iter().rev().find(|(n, _)| *n == name) {
            return (*kind, 0);
        }
        if self.module.names.imports.contains_key(name) {
            return (Kind::Namespace, 0);
        }
        if let Some(found) = self.member(self.module.id, name) {
            return found;
        }
        match name {
            "alert" | "run" => (Kind::Variable, DEFAULT_LIBRARY),
            _ => (Kind::Variable, 0),
        }
    }

    /// Walks expressions, types and statements until `work` is done.
    fn run(&mut self, mut work: Vec<Work<'a>>) {
        while let Some(next) = work.pop() {
            match next {
                Work::Unbind(len) => self.scope.truncate(len),
                Work::Stmts(stmts) => self.stmts(stmts, &mut work),
                Work::Type(ty) => self.type_expr(ty, &mut work),
                Work::Expr(expr) => self.expr(expr, &mut work),
            }
        }
    }

    /// Statements bind in order, so they are walked here (their expressions through `run`).
    fn stmts(&mut self, stmts: &'a [Stmt], work: &mut Vec<Work<'a>>) {
        for (index, stmt) in stmts.iter().enumerate() {
            match &stmt.kind {
                StmtKind::Let { name, ty, value } => {
                    let mut inner = vec![Work::Expr(value)];
                    inner.extend(ty.iter().map(Work::Type));
                    self.run(inner);
                    self.bind(name, Kind::Variable);
                }
                StmtKind::If {
                    cond,
                    then_body,
                    else_body,
                } => {
                    let mut inner = vec![Work::Expr(cond), Work::Stmts(then_body)];
                    inner.extend(else_body.as_deref().map(Work::Stmts));
                    self.run(inner);
                }
                StmtKind::For { var, iter, body } => {
                    self.run(vec![Work::Expr(iter)]);
                    let before = self.scope.len();
                    self.bind(var, Kind::Variable);
                    // The body, then the unbinding, then the statements after the loop.
                    work.push(Work::Stmts(&stmts[index + 1..]));
                    work.push(Work::Unbind(before));
                    work.push(Work::Stmts(body));
                    return;
                }
                StmtKind::Expect {
                    cond,
                    within,
                    every,
                    message,
                } => {
                    let mut inner = vec![Work::Expr(cond)];
                    inner.extend(within.iter().chain(every).chain(message).map(Work::Expr));
                    self.run(inner);
                }
                StmtKind::Fail(e) | StmtKind::Log(e) | StmtKind::Return(e) | StmtKind::Expr(e) => {
                    self.run(vec![Work::Expr(e)])
                }
            }
        }
    }

    fn type_expr(&mut self, ty: &'a TypeExpr, work: &mut Vec<Work<'a>>) {
        match &ty.kind {
            TypeExprKind::Named { module, name } => {
                if let Some(module) = module {
                    self.ident(module, Kind::Namespace, 0);
                }
                self.ident(name, Kind::Type, 0);
            }
            TypeExprKind::List(inner) => {
                self.keyword_type(ty.span, "list");
                work.push(Work::Type(inner));
            }
            TypeExprKind::Map(key, value) => {
                self.keyword_type(ty.span, "map");
                work.push(Work::Type(key));
                work.push(Work::Type(value));
            }
            TypeExprKind::Record(fields) => {
                for (name, field_ty) in fields {
                    self.ident(name, Kind::Property, DECLARATION);
                    work.push(Work::Type(field_ty));
                }
            }
            TypeExprKind::Optional(inner) => work.push(Work::Type(inner)),
        }
    }

    /// `list` / `map` at the start of a type.
    fn keyword_type(&mut self, span: Span, word: &str) {
        let end = span.start + word.len();
        if self.checked.text().get(span.start..end) == Some(word) {
            self.mark(Span::new(span.start, end), Kind::Type, DEFAULT_LIBRARY);
        }
    }

    fn expr(&mut self, expr: &'a Expr, work: &mut Vec<Work<'a>>) {
        match &expr.kind {
            ExprKind::Name(ident) => {
                let (kind, modifiers) = self.name(&ident.name);
                self.ident(ident, kind, modifiers);
            }
            ExprKind::Field(base, field) => {
                let (kind, modifiers) = match &base.kind {
                    ExprKind::Name(alias) => self
                        .import(&alias.name)
                        .and_then(|m| self.member(m, &field.name)),
                    _ => None,
                }
                .unwrap_or((Kind::Property, 0));
                self.ident(field, kind, modifiers);
                work.push(Work::Expr(base));
            }
            ExprKind::Call { callee, args } => {
                let modifiers = match self.checked.analysis.types.callee(self.module.id, expr.id) {
                    Some(Callee::Extern { module, item } | Callee::Fn { module, item }) => {
                        self.item_modifiers(module, item)
                    }
                    Some(Callee::Builtin(_)) => DEFAULT_LIBRARY,
                    None => 0,
                };
                match &callee.kind {
                    ExprKind::Name(ident) => self.ident(ident, Kind::Function, modifiers),
                    ExprKind::Field(base, ident) => {
                        self.ident(ident, Kind::Function, modifiers);
                        work.push(Work::Expr(base));
                    }
                    _ => work.push(Work::Expr(callee)),
                }
                for arg in args {
                    if let Some(name) = &arg.name {
                        self.ident(name, Kind::Parameter, 0);
                    }
                    work.push(Work::Expr(&arg.value));
                }
            }
            ExprKind::Lambda { params, body } => {
                let before = self.scope.len();
                for param in params {
                    self.bind(param, Kind::Parameter);
                }
                work.push(Work::Unbind(before));
                work.push(Work::Expr(body));
            }
            ExprKind::Str(parts) => {
                for part in parts {
                    if let StrPart::Interpolation(inner) = part {
                        work.push(Work::Expr(inner));
                    }
                }
            }
            ExprKind::List(elements) => work.extend(elements.iter().map(Work::Expr)),
            ExprKind::Record(fields) => {
                for field in fields {
                    if let RecordKey::Name(name) = &field.key {
                        self.ident(name, Kind::Property, 0);
                    }
                    work.push(Work::Expr(&field.value));
                }
            }
            ExprKind::Index(base, index) => {
                work.push(Work::Expr(base));
                work.push(Work::Expr(index));
            }
            ExprKind::Unary(_, operand) => work.push(Work::Expr(operand)),
            ExprKind::Binary(_, lhs, rhs) => {
                work.push(Work::Expr(lhs));
                work.push(Work::Expr(rhs));
            }
            ExprKind::StepOutcome { step, .. } => self.ident(step, Kind::Method, 0),
            ExprKind::ApprovalValue(field) => self.ident(field, Kind::Property, READONLY),
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::None
            | ExprKind::Duration(_)
            | ExprKind::Percent(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Vec<[u32; 5]> {
        semantic_tokens(text, None)
            .into_iter()
            .map(|t| {
                [
                    t.delta_line,
                    t.delta_start,
                    t.length,
                    t.token_type,
                    t.token_modifiers_bitset,
                ]
            })
            .collect()
    }

    #[test]
    fn relative_utf16_one_line_each() {
        let (keyword, string, comment) = (
            Kind::Keyword.index(),
            Kind::String.index(),
            Kind::Comment.index(),
        );
        // Without a tree, `x` is left to the editor's grammar; the string is cut at the line
        // break (its `\r` dropped); `é` is one UTF-16 unit, `😀` two.
        assert_eq!(
            raw("let x = \"\"\"a\r\nbc\"\"\" // \u{e9}\u{1F600}\n"),
            vec![
                [0, 0, 3, keyword, 0],
                [0, 8, 4, string, 0],
                [1, 0, 5, string, 0],
                [0, 6, 6, comment, 0],
            ]
        );
        assert_eq!(
            raw("/// \u{1F600}\nstep"),
            vec![[0, 0, 6, comment, DOCUMENTATION], [1, 0, 4, keyword, 0]]
        );
    }

    #[test]
    fn legend_matches_the_kinds() {
        let legend = legend();
        assert_eq!(legend.token_types.len(), TYPES.len());
        assert_eq!(
            legend.token_types[Kind::Number.index() as usize],
            SemanticTokenType::NUMBER
        );
        assert_eq!(legend.token_modifiers.len(), 5);
        assert_eq!(legend.token_modifiers[4].as_str(), "destructive");
    }
}

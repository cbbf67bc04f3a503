//! From text to [`SourceFile`]: pest does the parsing (the grammar is `grammar/rbk.pest`), this
//! file turns pairs into the syntax tree, applies operator precedence and reports the spans the
//! grammar recovered from.

use pest::iterators::Pair;
use pest::Parser as _;

use super::ast::*;
use super::descent;
use super::errors;
use super::grammar::{RbkParser, Rule, MAX_ELSE_IF, MAX_EXPR_DEPTH, MAX_EXPR_HEIGHT};
use super::recovery;
use super::scan::{scan, TokenKind};
use crate::diagnostics::Diagnostic;
use crate::FileId;

pub struct ParseOutput {
    pub file: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    /// How many expression ids the tree uses (they run from 0).
    pub expr_ids: u32,
}

pub fn parse(file: FileId, text: &str) -> ParseOutput {
    if let Some(diagnostic) = recovery::check_nesting(file, text) {
        return ParseOutput {
            file: SourceFile::default(),
            diagnostics: vec![diagnostic],
            expr_ids: 0,
        };
    }
    // Clean files (nearly all) take the fast path; anything else is the grammar's to report.
    if let Some((source, expr_ids)) = descent::parse_clean(text) {
        return ParseOutput {
            file: source,
            diagnostics: Vec::new(),
            expr_ids,
        };
    }
    parse_with_grammar(file, text)
}

/// [`parse`] by the pest grammar alone, for text whose nesting was already checked.
pub fn parse_with_grammar(file: FileId, text: &str) -> ParseOutput {
    let mut builder = TreeBuilder {
        file,
        text,
        next_id: 0,
        diagnostics: Vec::new(),
        depth: 0,
        heights: Vec::new(),
        too_tall_reported: false,
        in_template: false,
    };
    let source = match RbkParser::parse(Rule::file, text) {
        Ok(mut pairs) => match pairs.next() {
            Some(file_pair) => builder.file(file_pair),
            None => SourceFile::default(),
        },
        // The grammar recovers from everything, so this only happens on a grammar bug; still
        // report it rather than panic.
        Err(error) => {
            builder
                .diagnostics
                .push(recovery::pest_error_diagnostic(file, 0, &error));
            SourceFile::default()
        }
    };
    ParseOutput {
        file: source,
        diagnostics: builder.diagnostics,
        expr_ids: builder.next_id,
    }
}

/// Parses one expression (used by tests and by the interpreter's `--input` values).
pub fn parse_expression(file: FileId, text: &str) -> Result<Expr, Diagnostic> {
    if let Some(diagnostic) = recovery::check_nesting(file, text) {
        return Err(diagnostic);
    }
    if let Some(expr) = descent::parse_expression_clean(text) {
        return Ok(expr);
    }
    parse_expression_with_grammar(file, text)
}

/// [`parse_expression`] by the pest grammar alone, for text whose nesting was already checked.
pub(super) fn parse_expression_with_grammar(file: FileId, text: &str) -> Result<Expr, Diagnostic> {
    let mut builder = TreeBuilder {
        file,
        text,
        next_id: 0,
        diagnostics: Vec::new(),
        depth: 0,
        heights: Vec::new(),
        too_tall_reported: false,
        in_template: false,
    };
    match RbkParser::parse(Rule::strict_expression, text) {
        Ok(mut pairs) => {
            let outer = pairs
                .next()
                .expect("strict_expression always yields its own pair");
            let expr_pair = outer
                .into_inner()
                .next()
                .expect("strict_expression holds an expr");
            let expr = builder.expr(expr_pair);
            match builder.diagnostics.into_iter().next() {
                Some(diagnostic) => Err(diagnostic),
                None => Ok(expr),
            }
        }
        Err(error) => Err(recovery::pest_error_diagnostic(file, 0, &error)),
    }
}

struct TreeBuilder<'a> {
    file: FileId,
    text: &'a str,
    next_id: u32,
    diagnostics: Vec<Diagnostic>,
    depth: usize,
    /// The height of every expression built so far, by id.
    heights: Vec<u32>,
    /// Whether the outermost expression being built was already reported too tall.
    too_tall_reported: bool,
    /// Inside a `template`, where plain-text clauses may name parameters (`"{db}"`).
    in_template: bool,
}

/// The pair's span without the whitespace and comments pest counts in when an optional part at
/// the end of a rule does not match.
fn span_of(pair: &Pair<Rule>) -> Span {
    let span = pair.as_span();
    Span::new(
        span.start(),
        span.start() + without_trailing_trivia(pair.as_str()).len(),
    )
}

pub(super) fn without_trailing_trivia(mut text: &str) -> &str {
    loop {
        text = text.trim_end();
        let line_start = text.rfind('\n').map_or(0, |i| i + 1);
        match comment_start(&text[line_start..]) {
            Some(offset) => text = &text[..line_start + offset],
            None => return text,
        }
    }
}

/// Where a `//` comment starts in one line, outside string literals.
pub(super) fn comment_start(line: &str) -> Option<usize> {
    scan(line)
        .find(|token| matches!(token.kind, TokenKind::Comment | TokenKind::DocComment))
        .map(|token| token.start)
}

/// What the grammar skipped in one place, re-parsed strictly to say what was wrong.
#[derive(Clone, Copy)]
enum RecoveryContext {
    Item,
    Clause,
    Statement,
    TestStatement,
}

impl<'a> TreeBuilder<'a> {
    fn ident(&self, pair: Pair<Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: span_of(&pair),
        }
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Reports one recovered region, unless the region right before it was already reported
    /// (one mistake often spoils several lines; the first error is the useful one).
    ///
    /// When the region starts on the line of the node parsed just before it (`previous`), the
    /// grammar took a prefix of a broken line as a whole node (`slack.post` of
    /// `slack.post(channel: "x"`): the line is reported as one, and `true` tells the caller to
    /// drop that node.
    fn recovered(
        &mut self,
        pair: Pair<Rule>,
        context: RecoveryContext,
        previous_was_bad: bool,
        previous: Option<Span>,
    ) -> bool {
        if previous_was_bad {
            return false;
        }
        let bad = span_of(&pair);
        let joins_previous =
            previous.is_some_and(|p| !self.text[p.start..bad.start].contains('\n'));
        let span = match previous {
            Some(p) if joins_previous => Span::new(p.start, bad.end),
            _ => bad,
        };
        let rule = match context {
            RecoveryContext::Item => Rule::strict_item,
            RecoveryContext::Clause => Rule::strict_clause,
            RecoveryContext::Statement => Rule::strict_statement,
            RecoveryContext::TestStatement => Rule::strict_test_stmt,
        };
        let snippet = &self.text[span.start..span.end];
        let diagnostic = match RbkParser::parse(rule, snippet) {
            Err(error) => recovery::pest_error_diagnostic(self.file, span.start, &error),
            Ok(_) => errors::syntax_error(self.file, span, errors::Syntax::NotHere),
        };
        let diagnostic = recovery::refine(diagnostic, snippet, span.start, context_name(context));
        self.diagnostics.push(diagnostic);
        joins_previous
    }

    /// The children of a block (a runbook's clauses, a step's statements, a test's
    /// statements): `bad_line`s are reported through `recovered`, which may take back the node
    /// parsed just before on the same line; every other child goes to `node`.
    fn recovering_children<'p, T>(
        &mut self,
        children: pest::iterators::Pairs<'p, Rule>,
        context: RecoveryContext,
        nodes: &mut Vec<T>,
        span: impl Fn(&T) -> Span,
        mut node: impl FnMut(&mut Self, Pair<'p, Rule>, &mut Vec<T>),
    ) {
        let mut previous_was_bad = false;
        for child in children {
            let is_bad = child.as_rule() == Rule::bad_line;
            if is_bad {
                let previous = nodes.last().map(&span);
                if self.recovered(child, context, previous_was_bad, previous) {
                    nodes.pop();
                }
            } else {
                node(self, child, nodes);
            }
            previous_was_bad = is_bad;
        }
    }

    fn file(&mut self, pair: Pair<Rule>) -> SourceFile {
        let mut items = Vec::new();
        let mut previous_was_bad = false;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::item => {
                    items.extend(self.item(child));
                    previous_was_bad = false;
                }
                Rule::bad_item => {
                    self.recovered(child, RecoveryContext::Item, previous_was_bad, None);
                    previous_was_bad = true;
                }
                _ => {}
            }
        }
        SourceFile { items }
    }

    fn doc(&self, pair: Pair<Rule>) -> String {
        pair.into_inner()
            .map(|line| {
                let text = line.as_str().trim_start_matches("///");
                text.strip_prefix(' ')
                    .unwrap_or(text)
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn item(&mut self, pair: Pair<Rule>) -> Option<Item> {
        let span = span_of(&pair);
        let mut doc = None;
        let mut kind = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::doc_comment => doc = Some(self.doc(child)),
                Rule::use_item => kind = Some(ItemKind::Use(self.use_item(child))),
                Rule::runbook => kind = Some(ItemKind::Runbook(self.runbook(child))),
                Rule::template_item => kind = Some(ItemKind::Template(self.template(child))),
                Rule::runbook_instance => kind = Some(ItemKind::Instance(self.instance(child))),
                Rule::fn_item => kind = Some(ItemKind::Fn(self.fn_item(child))),
                Rule::const_item => kind = Some(ItemKind::Const(self.const_item(child))),
                Rule::test_item => kind = Some(ItemKind::Test(self.test_item(child))),
                Rule::extern_item => kind = Some(ItemKind::Extern(self.extern_item(child))),
                Rule::type_item => kind = Some(ItemKind::Type(self.type_item(child))),
                _ => {}
            }
        }
        kind.map(|kind| Item { doc, kind, span })
    }

    fn use_item(&mut self, pair: Pair<Rule>) -> UseItem {
        let mut target = None;
        let mut alias = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::module_path => {
                    let span = span_of(&child);
                    let path = child.into_inner().map(|p| self.ident(p)).collect();
                    target = Some(UseTarget::Std { path, span });
                }
                Rule::string => target = Some(UseTarget::Local(self.plain_string(child))),
                Rule::ident => alias = Some(self.ident(child)),
                _ => {}
            }
        }
        UseItem {
            target: target.unwrap_or(UseTarget::Std {
                path: Vec::new(),
                span: Span::default(),
            }),
            alias,
        }
    }

    fn runbook(&mut self, pair: Pair<Rule>) -> Runbook {
        let mut name = None;
        let mut clauses = Vec::new();
        self.recovering_children(
            pair.into_inner(),
            RecoveryContext::Clause,
            &mut clauses,
            |c: &Clause| c.span,
            |this, child, clauses| {
                if child.as_rule() == Rule::ident {
                    name = Some(this.ident(child));
                } else {
                    clauses.extend(this.clause(child));
                }
            },
        );
        Runbook {
            name: name.expect("grammar: runbook has a name"),
            clauses,
            template: None,
        }
    }

    fn template(&mut self, pair: Pair<Rule>) -> Template {
        let mut name = None;
        let mut params = Vec::new();
        let mut clauses = Vec::new();
        self.in_template = true;
        self.recovering_children(
            pair.into_inner(),
            RecoveryContext::Clause,
            &mut clauses,
            |c: &Clause| c.span,
            |this, child, clauses| match child.as_rule() {
                Rule::ident => name = Some(this.ident(child)),
                Rule::param_list => params = this.params(child),
                _ => clauses.extend(this.clause(child)),
            },
        );
        self.in_template = false;
        Template {
            name: name.expect("grammar: a template has a name"),
            params,
            clauses,
        }
    }

    fn instance(&mut self, pair: Pair<Rule>) -> Instance {
        let mut inner = pair.into_inner();
        let name = self.ident(inner.next().expect("grammar: an instance has a name"));
        let template = self.ident(inner.next().expect("grammar: an instance names a template"));
        let args = inner.next().expect("grammar: an instance has arguments");
        let args_span = span_of(&args);
        Instance {
            name,
            template,
            args: self.call_args(args),
            args_span,
        }
    }

    fn clause(&mut self, pair: Pair<Rule>) -> Option<Clause> {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::title_clause => ClauseKind::Title(self.plain_string(inner.next()?)),
            Rule::owner_clause => ClauseKind::Owner(self.plain_string(inner.next()?)),
            Rule::trigger_clause => {
                let trigger = inner.next()?;
                let trigger = match trigger.as_rule() {
                    Rule::alert_trigger => {
                        let mut parts = trigger.into_inner();
                        let name = self.plain_string(parts.next()?);
                        let filter = parts.next().map(|p| self.expr(p));
                        Trigger::Alert { name, filter }
                    }
                    Rule::schedule_trigger => {
                        Trigger::Schedule(self.plain_string(trigger.into_inner().next()?))
                    }
                    _ => Trigger::Manual,
                };
                ClauseKind::Trigger(trigger)
            }
            Rule::input_clause => {
                ClauseKind::Input(inner.map(|field| self.input_field(field)).collect())
            }
            Rule::concurrency_clause => {
                let limit = self.expr(inner.next()?);
                let per = inner.next().map(|p| self.expr(p));
                ClauseKind::Concurrency { limit, per }
            }
            Rule::rate_clause => {
                let limit = self.expr(inner.next()?);
                let window = self.expr(inner.next()?);
                let by = inner.next().map(|p| self.expr(p));
                ClauseKind::Rate { limit, window, by }
            }
            Rule::timeout_clause => ClauseKind::Timeout(self.expr(inner.next()?)),
            Rule::escalate_clause => ClauseKind::Escalate(self.expr(inner.next()?)),
            Rule::notify_clause => ClauseKind::Notify(self.expr(inner.next()?)),
            Rule::mode_clause => ClauseKind::Mode(match inner.next()?.as_str() {
                "shadow" => RunMode::Shadow,
                _ => RunMode::Live,
            }),
            Rule::step_clause | Rule::verify_clause => {
                let kind = if rule == Rule::step_clause {
                    StepKind::Step
                } else {
                    StepKind::Verify
                };
                ClauseKind::Step(self.step(kind, inner)?)
            }
            _ => return None,
        };
        Some(Clause { kind, span })
    }

    fn input_field(&mut self, pair: Pair<Rule>) -> InputField {
        let span = span_of(&pair);
        let mut doc = None;
        let mut name = None;
        let mut ty = None;
        let mut default = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::doc_comment => doc = Some(self.doc(child)),
                Rule::ident => name = Some(self.ident(child)),
                Rule::type_expr => ty = Some(self.type_expr(child)),
                _ => default = Some(self.expr(child)),
            }
        }
        InputField {
            doc,
            name: name.expect("grammar: input field has a name"),
            ty: ty.expect("grammar: input field has a type"),
            default,
            span,
        }
    }

    fn step(&mut self, kind: StepKind, inner: pest::iterators::Pairs<Rule>) -> Option<Step> {
        let mut doc = None;
        let mut name = None;
        let mut title = None;
        let mut when = None;
        let mut options = Vec::new();
        let mut body = Vec::new();
        let mut body_span = Span::default();
        for child in inner {
            match child.as_rule() {
                Rule::doc_comment => doc = Some(self.doc(child)),
                Rule::ident => name = Some(self.ident(child)),
                Rule::string => title = Some(self.string_expr(child)),
                Rule::when_clause => when = child.into_inner().next().map(|p| self.expr(p)),
                Rule::step_block => {
                    body_span = span_of(&child);
                    self.recovering_children(
                        child.into_inner(),
                        RecoveryContext::Statement,
                        &mut body,
                        |s: &Stmt| s.span,
                        |this, entry, body| match entry.as_rule() {
                            Rule::approval_required
                            | Rule::approval_none
                            | Rule::retry_option
                            | Rule::timeout_option
                            | Rule::failure_option => options.push(this.step_option(entry)),
                            _ => body.extend(this.stmt(entry)),
                        },
                    );
                }
                _ => {}
            }
        }
        Some(Step {
            kind,
            doc,
            name: name?,
            title,
            when,
            options,
            body,
            body_span,
        })
    }

    fn step_option(&mut self, pair: Pair<Rule>) -> StepOption {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let kind = match rule {
            Rule::approval_required => {
                let mut quorum = None;
                let mut group = None;
                let mut timeout = None;
                let mut on_timeout = None;
                let mut reason = None;
                let mut ask = Vec::new();
                for child in pair.into_inner() {
                    match child.as_rule() {
                        Rule::approval_ask => {
                            if let Some(fields) = child.into_inner().next() {
                                ask = self
                                    .record_type_fields(fields)
                                    .into_iter()
                                    .map(|(name, ty)| AskedField { name, ty })
                                    .collect();
                            }
                        }
                        Rule::int => {
                            let span = span_of(&child);
                            let value = self.small_int(&child);
                            quorum = Some((value, span));
                        }
                        Rule::approval_group => {
                            group = child.into_inner().next().map(|s| self.plain_string(s))
                        }
                        Rule::approval_reason => {
                            reason = child.into_inner().next().map(|s| self.plain_string(s))
                        }
                        Rule::timeout_outcome => {
                            let outcome = match child.as_str() {
                                "approve" => TimeoutOutcome::Approve,
                                "escalate" => TimeoutOutcome::Escalate,
                                _ => TimeoutOutcome::Deny,
                            };
                            on_timeout = Some((outcome, span_of(&child)));
                        }
                        _ => timeout = Some(self.expr(child)),
                    }
                }
                StepOptionKind::ApprovalRequired {
                    quorum,
                    group,
                    timeout,
                    on_timeout,
                    reason,
                    ask,
                }
            }
            Rule::approval_none => {
                let reason = pair.into_inner().next().map(|p| self.plain_string(p));
                StepOptionKind::ApprovalNone {
                    reason: reason.expect("grammar: approval none has a reason"),
                }
            }
            Rule::retry_option => {
                let mut attempts = 0;
                let mut every = None;
                let mut exponential = false;
                for child in pair.into_inner() {
                    match child.as_rule() {
                        Rule::int => attempts = self.small_int(&child),
                        Rule::backoff => exponential = true,
                        _ => every = Some(self.expr(child)),
                    }
                }
                StepOptionKind::Retry {
                    attempts,
                    every,
                    exponential,
                }
            }
            Rule::timeout_option => {
                let value = pair.into_inner().next().map(|p| self.expr(p));
                StepOptionKind::Timeout(value.expect("grammar: timeout has a value"))
            }
            _ => {
                let mode = pair
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::failure_mode);
                let mode = match mode.map(|m| m.as_str().to_string()).as_deref() {
                    Some("continue") => FailureMode::Continue,
                    _ => FailureMode::Abort,
                };
                StepOptionKind::OnFailure(mode)
            }
        };
        StepOption { kind, span }
    }

    fn small_int(&mut self, pair: &Pair<Rule>) -> u32 {
        match pair.as_str().parse::<u32>() {
            Ok(value) => value,
            Err(_) => {
                self.report(errors::number_out_of_range(
                    self.file,
                    span_of(pair),
                    errors::TooLarge::Count,
                ));
                u32::MAX
            }
        }
    }

    fn block(&mut self, pair: Pair<Rule>) -> Vec<Stmt> {
        let mut body = Vec::new();
        self.recovering_children(
            pair.into_inner(),
            RecoveryContext::Statement,
            &mut body,
            |s: &Stmt| s.span,
            |this, child, body| body.extend(this.stmt(child)),
        );
        body
    }

    fn stmt(&mut self, pair: Pair<Rule>) -> Option<Stmt> {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::let_stmt => {
                let (name, ty, value) = self.let_parts(inner)?;
                StmtKind::Let { name, ty, value }
            }
            Rule::if_stmt => {
                let cond = self.expr(inner.next()?);
                let then_body = self.block(inner.next()?);
                let mut branches = Vec::new();
                let mut else_body = None;
                for part in inner {
                    if part.as_rule() == Rule::else_if {
                        let branch_span = span_of(&part);
                        if branches.len() == MAX_ELSE_IF {
                            self.report(errors::nesting_too_deep(
                                self.file,
                                branch_span,
                                errors::TooDeep::ElseIfBranches,
                            ));
                            continue;
                        }
                        let mut parts = part.into_inner();
                        let branch_cond = self.expr(parts.next()?);
                        let branch_body = self.block(parts.next()?);
                        branches.push((branch_cond, branch_body, branch_span));
                    } else {
                        else_body = Some(self.block(part));
                    }
                }
                let else_body = nest_else_ifs(branches, else_body);
                StmtKind::If {
                    cond,
                    then_body,
                    else_body,
                }
            }
            Rule::for_stmt => {
                let var = self.ident(inner.next()?);
                let iter = self.expr(inner.next()?);
                let body = self.block(inner.next()?);
                StmtKind::For { var, iter, body }
            }
            Rule::expect_stmt => self.expect_stmt(inner)?,
            Rule::fail_stmt => StmtKind::Fail(self.expr(inner.next()?)),
            Rule::log_stmt => StmtKind::Log(self.expr(inner.next()?)),
            Rule::return_stmt => StmtKind::Return(self.expr(inner.next()?)),
            Rule::expr_stmt => StmtKind::Expr(self.expr(inner.next()?)),
            _ => return None,
        };
        Some(Stmt { kind, span })
    }

    fn let_parts(
        &mut self,
        mut inner: pest::iterators::Pairs<Rule>,
    ) -> Option<(Ident, Option<TypeExpr>, Expr)> {
        let name = self.ident(inner.next()?);
        let next = inner.next()?;
        if next.as_rule() == Rule::type_expr {
            let ty = self.type_expr(next);
            let value = self.expr(inner.next()?);
            Some((name, Some(ty), value))
        } else {
            Some((name, None, self.expr(next)))
        }
    }

    fn expect_stmt(&mut self, mut inner: pest::iterators::Pairs<Rule>) -> Option<StmtKind> {
        let cond = self.expr(inner.next()?);
        let mut within = None;
        let mut every = None;
        let mut message = None;
        for child in inner {
            match child.as_rule() {
                Rule::expr_no_record if within.is_none() => within = Some(self.expr(child)),
                Rule::expr_no_record => every = Some(self.expr(child)),
                _ => message = Some(self.expr(child)),
            }
        }
        Some(StmtKind::Expect {
            cond,
            within,
            every,
            message,
        })
    }

    fn fn_item(&mut self, pair: Pair<Rule>) -> FnItem {
        let mut name = None;
        let mut params = Vec::new();
        let mut ret = None;
        let mut body = Vec::new();
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::ident => name = Some(self.ident(child)),
                Rule::param_list => params = self.params(child),
                Rule::return_type => ret = child.into_inner().next().map(|t| self.type_expr(t)),
                Rule::block => body = self.block(child),
                _ => {}
            }
        }
        FnItem {
            name: name.expect("grammar: fn has a name"),
            params,
            ret,
            body,
        }
    }

    fn params(&mut self, pair: Pair<Rule>) -> Vec<Param> {
        pair.into_inner()
            .map(|param| {
                let mut inner = param.into_inner();
                let name = self.ident(inner.next().expect("grammar: param has a name"));
                let ty = self.type_expr(inner.next().expect("grammar: param has a type"));
                let default = inner.next().map(|p| self.expr(p));
                Param { name, ty, default }
            })
            .collect()
    }

    fn const_item(&mut self, pair: Pair<Rule>) -> ConstItem {
        let mut inner = pair.into_inner();
        let name = self.ident(inner.next().expect("grammar: const has a name"));
        let ty = self.type_expr(inner.next().expect("grammar: const has a type"));
        let value = self.expr(inner.next().expect("grammar: const has a value"));
        ConstItem { name, ty, value }
    }

    fn type_item(&mut self, pair: Pair<Rule>) -> TypeItem {
        let mut inner = pair.into_inner();
        let name = self.ident(inner.next().expect("grammar: type has a name"));
        let fields = inner.next().map(|record| self.record_type_fields(record));
        TypeItem { name, fields }
    }

    fn extern_item(&mut self, pair: Pair<Rule>) -> ExternItem {
        let mut name = None;
        let mut params = Vec::new();
        let mut ret = None;
        let mut effect = Effect::Read;
        let mut safe_to_auto_approve = false;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::ident => name = Some(self.ident(child)),
                Rule::param_list => params = self.params(child),
                Rule::return_type => ret = child.into_inner().next().map(|t| self.type_expr(t)),
                Rule::effect_name => {
                    effect = match child.as_str() {
                        "write" => Effect::Write,
                        "destructive" => Effect::Destructive,
                        _ => Effect::Read,
                    }
                }
                Rule::safe_flag => safe_to_auto_approve = true,
                _ => {}
            }
        }
        ExternItem {
            name: name.expect("grammar: extern has a name"),
            params,
            ret,
            effect,
            safe_to_auto_approve,
        }
    }

    fn test_item(&mut self, pair: Pair<Rule>) -> TestItem {
        let mut name = None;
        let mut body = Vec::new();
        self.recovering_children(
            pair.into_inner(),
            RecoveryContext::TestStatement,
            &mut body,
            |s: &TestStmt| s.span,
            |this, child, body| {
                if child.as_rule() == Rule::string {
                    name = Some(this.plain_string(child));
                } else {
                    body.extend(this.test_stmt(child));
                }
            },
        );
        TestItem {
            name: name.expect("grammar: test has a name"),
            body,
        }
    }

    fn test_stmt(&mut self, pair: Pair<Rule>) -> Option<TestStmt> {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::mock_stmt => {
                let target = self.path(inner.next()?);
                let mut outcome = inner.next()?;
                let mut pattern = None;
                if outcome.as_rule() == Rule::call_pattern {
                    pattern = Some(self.call_pattern(outcome));
                    outcome = inner.next()?;
                }
                let is_returns = outcome.as_rule() == Rule::mock_returns;
                let value = self.expr(outcome.into_inner().next()?);
                let outcome = if is_returns {
                    MockOutcome::Returns(value)
                } else {
                    MockOutcome::Fails(value)
                };
                TestStmtKind::Mock {
                    target,
                    pattern,
                    outcome,
                }
            }
            Rule::set_stmt => {
                let kind = if inner.next()?.as_str() == "env" {
                    SetKind::Env
                } else {
                    SetKind::Secret
                };
                let name = self.ident(inner.next()?);
                let value = self.expr(inner.next()?);
                TestStmtKind::Set { kind, name, value }
            }
            Rule::approve_stmt | Rule::deny_stmt => {
                let step = self.ident(inner.next()?);
                let mut as_user = None;
                let mut values = None;
                for child in inner {
                    match child.as_rule() {
                        Rule::approve_values => {
                            values = child.into_inner().next().map(|r| self.expr_from_primary(r));
                        }
                        _ => as_user = Some(self.plain_string(child)),
                    }
                }
                if rule == Rule::approve_stmt {
                    TestStmtKind::Approve {
                        step,
                        as_user,
                        values,
                    }
                } else {
                    TestStmtKind::Deny { step, as_user }
                }
            }
            Rule::run_stmt => {
                let runbook = self.ident(inner.next()?);
                let mut inputs = None;
                let mut alert = None;
                let mut alerts = Vec::new();
                for child in inner {
                    match child.as_rule() {
                        Rule::run_alerts => {
                            alerts = child
                                .into_inner()
                                .map(|r| self.expr_from_primary(r))
                                .collect();
                        }
                        Rule::run_alert => {
                            alert = child.into_inner().next().map(|r| self.expr_from_primary(r));
                        }
                        _ => {
                            inputs = child.into_inner().next().map(|r| self.expr_from_primary(r));
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
            Rule::expect_step => {
                let step = self.ident(inner.next()?);
                let outcome = match inner.next()?.as_str() {
                    "succeeded" => StepOutcome::Succeeded,
                    "failed" => StepOutcome::Failed,
                    "skipped" => StepOutcome::Skipped,
                    _ => StepOutcome::Denied,
                };
                TestStmtKind::ExpectStep { step, outcome }
            }
            Rule::expect_escalated => TestStmtKind::ExpectEscalated {
                negated: inner.next().is_some(),
            },
            Rule::expect_trigger => {
                let mut negated = false;
                let mut outcome = TriggerOutcome::Triggered;
                let mut times = None;
                for child in inner {
                    match child.as_rule() {
                        Rule::negation => negated = true,
                        Rule::trigger_outcome => {
                            outcome = match child.as_str() {
                                "coalesced" => TriggerOutcome::Coalesced,
                                "suppressed" => TriggerOutcome::Suppressed,
                                _ => TriggerOutcome::Triggered,
                            }
                        }
                        _ => {
                            let span = span_of(&child);
                            times = Some((u64::from(self.small_int(&child)), span));
                        }
                    }
                }
                TestStmtKind::ExpectTrigger {
                    negated,
                    outcome,
                    times,
                }
            }
            Rule::expect_called => {
                let mut negated = false;
                let mut target = None;
                let mut pattern = None;
                let mut times = None;
                for child in inner {
                    match child.as_rule() {
                        Rule::negation => negated = true,
                        Rule::path => target = Some(self.path(child)),
                        Rule::call_pattern => pattern = Some(self.call_pattern(child)),
                        _ => {
                            let span = span_of(&child);
                            times = Some((u64::from(self.small_int(&child)), span));
                        }
                    }
                }
                TestStmtKind::ExpectCalled {
                    negated,
                    target: target?,
                    pattern,
                    times,
                }
            }
            Rule::expect_stmt => match self.expect_stmt(inner)? {
                StmtKind::Expect { cond, .. } => TestStmtKind::Expect(cond),
                _ => return None,
            },
            Rule::let_stmt => {
                let (name, ty, value) = self.let_parts(inner)?;
                TestStmtKind::Let { name, ty, value }
            }
            _ => return None,
        };
        Some(TestStmt { kind, span })
    }

    fn call_pattern(&mut self, pair: Pair<Rule>) -> CallPattern {
        let span = span_of(&pair);
        let mut args = Vec::new();
        let mut args_span = span;
        let mut guard = None;
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::arg_patterns => {
                    args_span = span_of(&child);
                    args = child.into_inner().map(|p| self.arg_pattern(p)).collect();
                }
                _ => guard = child.into_inner().next().map(|e| self.expr(e)),
            }
        }
        CallPattern {
            args,
            args_span,
            guard,
            span,
        }
    }

    fn arg_pattern(&mut self, pair: Pair<Rule>) -> ArgPattern {
        let span = span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::list_pattern => {
                let mut elements = Vec::new();
                let mut rest = false;
                for child in pair.into_inner() {
                    if child.as_rule() == Rule::rest_pattern {
                        rest = true;
                    } else {
                        elements.push(self.arg_pattern(child));
                    }
                }
                ArgPatternKind::List { elements, rest }
            }
            Rule::literal_pattern => match pair.into_inner().next() {
                Some(literal) => ArgPatternKind::Value(self.expr_from_primary(literal)),
                None => ArgPatternKind::Any,
            },
            _ => {
                let name = self.ident(pair);
                if name.name == "_" {
                    ArgPatternKind::Any
                } else {
                    ArgPatternKind::Bind(name)
                }
            }
        };
        ArgPattern { kind, span }
    }

    fn path(&mut self, pair: Pair<Rule>) -> Path {
        let span = span_of(&pair);
        Path {
            segments: pair.into_inner().map(|p| self.ident(p)).collect(),
            span,
        }
    }

    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    fn type_expr(&mut self, pair: Pair<Rule>) -> TypeExpr {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let atom = inner.next().expect("grammar: a type has an atom");
        let atom_span = span_of(&atom);
        let kind = match atom.as_rule() {
            Rule::list_type => {
                let element = self.type_expr(atom.into_inner().next().expect("grammar: list<T>"));
                TypeExprKind::List(Box::new(element))
            }
            Rule::map_type => {
                let mut parts = atom.into_inner();
                let key = self.type_expr(parts.next().expect("grammar: map<K, V>"));
                let value = self.type_expr(parts.next().expect("grammar: map<K, V>"));
                TypeExprKind::Map(Box::new(key), Box::new(value))
            }
            Rule::record_type => TypeExprKind::Record(self.record_type_fields(atom)),
            _ => {
                let mut parts: Vec<Ident> = atom.into_inner().map(|p| self.ident(p)).collect();
                let name = parts.pop().expect("grammar: a named type has a name");
                TypeExprKind::Named {
                    module: parts.pop(),
                    name,
                }
            }
        };
        if inner.next().is_some() {
            TypeExpr {
                kind: TypeExprKind::Optional(Box::new(TypeExpr {
                    kind,
                    span: atom_span,
                })),
                span,
            }
        } else {
            TypeExpr { kind, span }
        }
    }

    fn record_type_fields(&mut self, pair: Pair<Rule>) -> Vec<(Ident, TypeExpr)> {
        pair.into_inner()
            .map(|field| {
                let mut inner = field.into_inner();
                let name = self.ident(inner.next().expect("grammar: field name"));
                let ty = self.type_expr(inner.next().expect("grammar: field type"));
                (name, ty)
            })
            .collect()
    }

    // ---------------------------------------------------------------------------------------
    // Expressions
    // ---------------------------------------------------------------------------------------

    /// Makes a node. One that would be taller than [`MAX_EXPR_HEIGHT`] is reported, and it and
    /// the rest of its outermost expression are replaced by empty nodes, so no tree ever gets
    /// taller.
    fn mk(&mut self, mut kind: ExprKind, span: Span) -> Expr {
        let id = ExprId(self.next_id);
        self.next_id += 1;
        let (mut height, tallest) = match self.tallest_child(&kind) {
            Some((height, child)) => (height + 1, Some(child)),
            None => (1, None),
        };
        if self.too_tall_reported {
            // The rest of a too-tall expression is dropped too: its parts would only add
            // errors about a tree that is not what was written.
            kind = ExprKind::None;
            height = 1;
        } else if height > MAX_EXPR_HEIGHT {
            self.too_tall_reported = true;
            // Point at what this node adds to its tallest child: the `+ 1` or `.b`.
            let at = match tallest {
                Some(child) if child.start == span.start && child.end < span.end => {
                    Span::new(child.end, span.end)
                }
                Some(child) if child.start > span.start => Span::new(span.start, child.start),
                _ => span,
            };
            self.report(errors::expression_too_long(self.file, at));
            kind = ExprKind::None;
            height = 1;
        }
        debug_assert_eq!(self.heights.len(), id.0 as usize);
        self.heights.push(height);
        Expr { id, kind, span }
    }

    /// The height and span of the tallest direct child of a node about to be made.
    fn tallest_child(&self, kind: &ExprKind) -> Option<(u32, Span)> {
        let mut tallest: Option<(u32, Span)> = None;
        let mut see = |child: &Expr| {
            let height = self.heights.get(child.id.0 as usize).copied().unwrap_or(1);
            if tallest.is_none_or(|(best, _)| height > best) {
                tallest = Some((height, child.span));
            }
        };
        match kind {
            ExprKind::Str(parts) => parts.iter().for_each(|part| {
                if let StrPart::Interpolation(inner) = part {
                    see(inner);
                }
            }),
            ExprKind::List(elements) => elements.iter().for_each(&mut see),
            ExprKind::Record(fields) => fields.iter().for_each(|field| see(&field.value)),
            ExprKind::Field(base, _) => see(base),
            ExprKind::Index(base, index) => {
                see(base);
                see(index);
            }
            ExprKind::Call { callee, args } => {
                see(callee);
                args.iter().for_each(|arg| see(&arg.value));
            }
            ExprKind::Unary(_, operand) => see(operand),
            ExprKind::Binary(_, lhs, rhs) => {
                see(lhs);
                see(rhs);
            }
            ExprKind::Lambda { body, .. } => see(body),
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::None
            | ExprKind::Duration(_)
            | ExprKind::Percent(_)
            | ExprKind::Name(_)
            | ExprKind::StepOutcome { .. }
            | ExprKind::ApprovalValue(_) => {}
        }
        tallest
    }

    fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = span_of(&pair);
        if self.depth == 0 {
            self.too_tall_reported = false;
        }
        if self.depth >= MAX_EXPR_DEPTH {
            self.report(errors::nesting_too_deep(
                self.file,
                span,
                errors::TooDeep::Expression,
            ));
            return self.mk(ExprKind::None, span);
        }
        self.depth += 1;
        let result = match pair.as_rule() {
            Rule::expr | Rule::expr_no_record | Rule::lambda_body => {
                let mut inner = pair.into_inner().peekable();
                if inner.peek().map(|p| p.as_rule()) == Some(Rule::lambda) {
                    let lambda = inner.next().expect("peeked");
                    self.lambda(lambda)
                } else {
                    let tokens = self.operator_tokens(inner);
                    let mut stream = tokens.into_iter().peekable();
                    self.pratt(&mut stream, 0, span)
                }
            }
            _ => self.expr_from_primary(pair),
        };
        self.depth -= 1;
        result
    }

    fn lambda(&mut self, pair: Pair<Rule>) -> Expr {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let params = inner
            .next()
            .map(|p| p.into_inner().map(|i| self.ident(i)).collect())
            .unwrap_or_default();
        let body = match inner.next() {
            Some(body) => self.expr(body),
            None => self.mk(ExprKind::None, span),
        };
        self.mk(
            ExprKind::Lambda {
                params,
                body: Box::new(body),
            },
            span,
        )
    }

    /// Splits the flat operator sequence into prefix operators, operands (with their postfix
    /// calls, fields and indexes applied) and infix operators.
    fn operator_tokens<'p>(&mut self, pairs: impl Iterator<Item = Pair<'p, Rule>>) -> Vec<Token> {
        let mut tokens = Vec::new();
        for pair in pairs {
            let span = span_of(&pair);
            match pair.as_rule() {
                Rule::not_op => tokens.push(Token::Prefix(UnaryOp::Not, span)),
                Rule::neg_op => tokens.push(Token::Prefix(UnaryOp::Neg, span)),
                Rule::or_op => tokens.push(Token::Infix(BinaryOp::Or)),
                Rule::and_op => tokens.push(Token::Infix(BinaryOp::And)),
                Rule::eq_op => tokens.push(Token::Infix(BinaryOp::Eq)),
                Rule::ne_op => tokens.push(Token::Infix(BinaryOp::Ne)),
                Rule::lt_op => tokens.push(Token::Infix(BinaryOp::Lt)),
                Rule::le_op => tokens.push(Token::Infix(BinaryOp::Le)),
                Rule::gt_op => tokens.push(Token::Infix(BinaryOp::Gt)),
                Rule::ge_op => tokens.push(Token::Infix(BinaryOp::Ge)),
                Rule::coalesce_op => tokens.push(Token::Infix(BinaryOp::Coalesce)),
                Rule::add_op => tokens.push(Token::Infix(BinaryOp::Add)),
                Rule::sub_op => tokens.push(Token::Infix(BinaryOp::Sub)),
                Rule::mul_op => tokens.push(Token::Infix(BinaryOp::Mul)),
                Rule::div_op => tokens.push(Token::Infix(BinaryOp::Div)),
                Rule::call_args | Rule::field | Rule::index => {
                    let base = match tokens.pop() {
                        Some(Token::Operand(base)) => base,
                        other => {
                            tokens.extend(other);
                            continue;
                        }
                    };
                    let applied = self.postfix(base, pair);
                    tokens.push(Token::Operand(applied));
                }
                _ => {
                    let operand = self.expr_from_primary(pair);
                    tokens.push(Token::Operand(operand));
                }
            }
        }
        tokens
    }

    fn call_args(&mut self, pair: Pair<Rule>) -> Vec<Arg> {
        pair.into_inner()
            .map(|arg| {
                let mut inner = arg.into_inner();
                let first = inner.next().expect("grammar: an argument has a value");
                if first.as_rule() == Rule::arg_name {
                    let name = first.into_inner().next().map(|w| self.ident(w));
                    let value = self.expr(inner.next().expect("grammar: named argument value"));
                    Arg { name, value }
                } else {
                    Arg {
                        name: None,
                        value: self.expr(first),
                    }
                }
            })
            .collect()
    }

    fn postfix(&mut self, base: Expr, pair: Pair<Rule>) -> Expr {
        let span = base.span.to(span_of(&pair));
        match pair.as_rule() {
            Rule::call_args => {
                let args = self.call_args(pair);
                self.mk(
                    ExprKind::Call {
                        callee: Box::new(base),
                        args,
                    },
                    span,
                )
            }
            Rule::field => {
                let field = pair
                    .into_inner()
                    .next()
                    .map(|w| self.ident(w))
                    .expect("grammar: field name");
                self.mk(ExprKind::Field(Box::new(base), field), span)
            }
            _ => {
                let index = self.expr(pair.into_inner().next().expect("grammar: index expression"));
                self.mk(ExprKind::Index(Box::new(base), Box::new(index)), span)
            }
        }
    }

    fn pratt(
        &mut self,
        tokens: &mut std::iter::Peekable<std::vec::IntoIter<Token>>,
        min_power: u8,
        whole: Span,
    ) -> Expr {
        let mut lhs = match tokens.next() {
            Some(Token::Operand(expr)) => expr,
            Some(Token::Prefix(op, span)) => {
                let power = match op {
                    UnaryOp::Not => 5,
                    UnaryOp::Neg => 15,
                };
                self.depth += 1;
                let operand = if self.depth >= MAX_EXPR_DEPTH {
                    self.report(errors::nesting_too_deep(
                        self.file,
                        span,
                        errors::TooDeep::PrefixOperators,
                    ));
                    tokens.by_ref().for_each(drop);
                    self.mk(ExprKind::None, span)
                } else {
                    self.pratt(tokens, power, whole)
                };
                self.depth -= 1;
                let span = span.to(operand.span);
                self.mk(ExprKind::Unary(op, Box::new(operand)), span)
            }
            // The grammar always puts an operand here; stay total anyway.
            _ => return self.mk(ExprKind::None, whole),
        };
        while let Some(Token::Infix(op)) = tokens.peek() {
            let op = *op;
            let (left, right) = binding_power(op);
            if left < min_power {
                break;
            }
            tokens.next();
            let rhs = self.pratt(tokens, right, whole);
            let span = lhs.span.to(rhs.span);
            lhs = self.mk(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span);
        }
        lhs
    }

    fn expr_from_primary(&mut self, pair: Pair<Rule>) -> Expr {
        let span = span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::expr | Rule::expr_no_record => return self.expr(pair),
            Rule::paren => {
                let inner = pair.into_inner().next().expect("grammar: ( expr )");
                let mut expr = self.expr(inner);
                expr.span = span;
                return expr;
            }
            Rule::name => ExprKind::Name(self.ident(pair)),
            Rule::step_ref => {
                let mut inner = pair.into_inner();
                let step = self.ident(inner.next().expect("grammar: step.NAME"));
                let outcome = match inner.next().map(|p| p.as_str()) {
                    Some("succeeded") => StepOutcome::Succeeded,
                    Some("failed") => StepOutcome::Failed,
                    Some("skipped") => StepOutcome::Skipped,
                    _ => StepOutcome::Denied,
                };
                ExprKind::StepOutcome { step, outcome }
            }
            Rule::approval_ref => ExprKind::ApprovalValue(
                self.ident(pair.into_inner().next().expect("grammar: approval.NAME")),
            ),
            Rule::int => match pair.as_str().parse::<i64>() {
                Ok(value) => ExprKind::Int(value),
                Err(_) => {
                    self.report(errors::number_out_of_range(
                        self.file,
                        span,
                        errors::TooLarge::Integer,
                    ));
                    ExprKind::Int(i64::MAX)
                }
            },
            Rule::float => ExprKind::Float(pair.as_str().parse().unwrap_or(f64::MAX)),
            Rule::bool => ExprKind::Bool(pair.as_str() == "true"),
            Rule::none_lit => ExprKind::None,
            Rule::percent => ExprKind::Percent(
                pair.as_str()
                    .trim_end_matches('%')
                    .parse()
                    .unwrap_or(f64::MAX),
            ),
            Rule::duration => ExprKind::Duration(self.duration(&pair)),
            Rule::string | Rule::multiline_string => return self.string_expr(pair),
            Rule::list_lit => ExprKind::List(pair.into_inner().map(|p| self.expr(p)).collect()),
            Rule::record_lit => {
                let fields = pair
                    .into_inner()
                    .map(|field| {
                        let mut inner = field.into_inner();
                        let key = inner.next().expect("grammar: record key");
                        let key = if key.as_rule() == Rule::string {
                            RecordKey::Str(self.plain_string(key))
                        } else {
                            RecordKey::Name(self.ident(key))
                        };
                        let value = self.expr(inner.next().expect("grammar: record value"));
                        RecordField { key, value }
                    })
                    .collect();
                ExprKind::Record(fields)
            }
            _ => ExprKind::None,
        };
        self.mk(kind, span)
    }

    fn duration(&mut self, pair: &Pair<Rule>) -> u64 {
        let text = pair.as_str();
        let mut total: Option<u64> = Some(0);
        let mut number = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit_ms: u64 = match c {
                'm' if chars.peek() == Some(&'s') => {
                    chars.next();
                    1
                }
                's' => 1_000,
                'm' => 60_000,
                'h' => 3_600_000,
                _ => 86_400_000,
            };
            let amount = number.parse::<u64>().ok();
            total = match (total, amount) {
                (Some(t), Some(a)) => a.checked_mul(unit_ms).and_then(|ms| t.checked_add(ms)),
                _ => None,
            };
            number.clear();
        }
        // Durations are at most i64::MAX milliseconds, so that adding one to a time is exact.
        total
            .filter(|&ms| i64::try_from(ms).is_ok())
            .unwrap_or_else(|| {
                self.report(errors::duration_out_of_range(self.file, span_of(pair)));
                u64::MAX
            })
    }

    fn string_expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = span_of(&pair);
        let multiline = pair.as_rule() == Rule::multiline_string;
        let mut parts: Vec<StrPart> = Vec::new();
        for child in pair.into_inner() {
            match child.as_rule() {
                Rule::interpolation => {
                    let inner = child.into_inner().next().expect("grammar: { expr }");
                    parts.push(StrPart::Interpolation(self.expr(inner)));
                }
                Rule::escape => push_text(&mut parts, unescape(child.as_str())),
                _ => push_text(&mut parts, child.as_str()),
            }
        }
        if multiline {
            if let Some(StrPart::Text(first)) = parts.first_mut() {
                if let Some(rest) = first.strip_prefix('\n') {
                    *first = rest.to_string();
                }
            }
        }
        self.mk(ExprKind::Str(parts), span)
    }

    /// A string in a place that takes no interpolation (titles, group names, reasons).
    fn plain_string(&mut self, pair: Pair<Rule>) -> StrLit {
        let span = span_of(&pair);
        let expr = self.string_expr(pair);
        match expr.as_plain_str() {
            Some(value) => StrLit { value, span },
            None if self.in_template => match placeholder_text(&expr) {
                Some(value) => StrLit { value, span },
                None => {
                    self.report(errors::interpolation_not_allowed(
                        self.file,
                        span,
                        errors::Literal::InTemplate,
                    ));
                    StrLit {
                        value: String::new(),
                        span,
                    }
                }
            },
            None => {
                self.report(errors::interpolation_not_allowed(
                    self.file,
                    span,
                    errors::Literal::Plain,
                ));
                StrLit {
                    value: String::new(),
                    span,
                }
            }
        }
    }
}

/// A template's plain text with each `{name}` kept as a placeholder for
/// `crate::templates` to fill ([`PLACEHOLDER_OPEN`] name [`PLACEHOLDER_CLOSE`], so that an
/// escaped `\{` stays a brace); `None` if an interpolation is more than a name.
pub(super) fn placeholder_text(expr: &Expr) -> Option<String> {
    let ExprKind::Str(parts) = &expr.kind else {
        return None;
    };
    let mut out = String::new();
    for part in parts {
        match part {
            StrPart::Text(text) => out.push_str(text),
            StrPart::Interpolation(Expr {
                kind: ExprKind::Name(name),
                ..
            }) => {
                out.push(PLACEHOLDER_OPEN);
                out.push_str(&name.name);
                out.push(PLACEHOLDER_CLOSE);
            }
            StrPart::Interpolation(_) => return None,
        }
    }
    Some(out)
}

/// Private-use characters around a placeholder's name in a template's plain text.
pub const PLACEHOLDER_OPEN: char = '\u{E000}';
pub const PLACEHOLDER_CLOSE: char = '\u{E001}';

enum Token {
    Operand(Expr),
    Prefix(UnaryOp, Span),
    Infix(BinaryOp),
}

/// Left and right binding power; higher binds tighter. `not` (5) sits between `and` and the
/// comparisons, unary minus (15) above `*`.
pub(super) fn binding_power(op: BinaryOp) -> (u8, u8) {
    match op {
        BinaryOp::Or => (1, 2),
        BinaryOp::And => (3, 4),
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            (7, 8)
        }
        BinaryOp::Coalesce => (9, 10),
        BinaryOp::Add | BinaryOp::Sub => (11, 12),
        BinaryOp::Mul | BinaryOp::Div => (13, 14),
    }
}

pub(super) fn push_text(parts: &mut Vec<StrPart>, text: &str) {
    if let Some(StrPart::Text(last)) = parts.last_mut() {
        last.push_str(text);
    } else {
        parts.push(StrPart::Text(text.to_string()));
    }
}

pub(super) fn unescape(escape: &str) -> &str {
    match escape {
        "\\n" => "\n",
        "\\t" => "\t",
        "\\r" => "\r",
        "\\{" => "{",
        "\\}" => "}",
        "\\\"" => "\"",
        _ => "\\",
    }
}

fn context_name(context: RecoveryContext) -> &'static str {
    match context {
        RecoveryContext::Item => "item",
        RecoveryContext::Clause => "clause",
        RecoveryContext::Statement => "statement",
        RecoveryContext::TestStatement => "test statement",
    }
}

//! Turning what the grammar could not parse into diagnostics a tired human can act on.

use pest::error::{ErrorVariant, InputLocation};

use super::errors::{nesting_too_deep, syntax_error, Syntax, TooDeep};
use super::grammar::{Rule, MAX_NESTING};
use super::scan::{scan, TokenKind};
use crate::diagnostics::Diagnostic;
use crate::syntax::Span;
use crate::FileId;

/// Refuses input whose brackets nest deeper than [`MAX_NESTING`], before the recursive parser
/// sees it. Brackets in code, `<` of `list<`/`map<` and interpolations count; string text and
/// comments do not — except in the text of a one-line string left unclosed or of any `"""`
/// string: the grammar may fail to read those as strings (unclosed, or a bad escape) and its
/// recovery then reads their brackets as code, so they count as code.
///
/// The count never undercounts what the parser can recurse on: a closer ends only the opener
/// it matches (the grammar's recovery skips a `)` inside an unclosed `{`, but it recurses on
/// every `{`).
pub fn check_nesting(file: FileId, text: &str) -> Option<Diagnostic> {
    #[derive(Clone, Copy, PartialEq)]
    enum Open {
        /// `(`, `[` or `{` in code.
        Bracket(u8),
        /// `<` of `list<` or `map<`.
        Angle,
        /// `{` of an interpolation.
        Interpolation,
        /// An open string: not a level, but where its text starts matters if the grammar may
        /// not read it as a string.
        Str { text_start: usize, triple: bool },
    }
    let bytes = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut depth = 0usize;
    // Whether the last token (comments aside) was the word `list` or `map`, whose `<` opens.
    let mut after_list_or_map = false;
    let too_deep = |at: usize| {
        let span = Span::new(at, (at + 1).min(text.len()));
        nesting_too_deep(file, span, TooDeep::Brackets)
    };
    for token in scan(text) {
        let byte = bytes.get(token.start).copied().unwrap_or(0);
        match token.kind {
            TokenKind::Open(open) => {
                stack.push(Open::Bracket(open));
                depth += 1;
            }
            TokenKind::InterpolationOpen => {
                stack.push(Open::Interpolation);
                depth += 1;
            }
            TokenKind::Punct if byte == b'<' && after_list_or_map => {
                stack.push(Open::Angle);
                depth += 1;
            }
            TokenKind::Punct if byte == b'>' && stack.last() == Some(&Open::Angle) => {
                stack.pop();
                depth -= 1;
            }
            TokenKind::Close(close) if stack.last() == Some(&Open::Bracket(opener(close))) => {
                stack.pop();
                depth -= 1;
            }
            TokenKind::StrOpen { triple } => stack.push(Open::Str {
                text_start: token.end,
                triple,
            }),
            TokenKind::InterpolationClose | TokenKind::StrClose | TokenKind::StrUnclosed => {
                // What is left open inside an interpolation or string closes with it.
                while let Some(open) = stack.pop() {
                    match open {
                        Open::Interpolation if token.kind == TokenKind::InterpolationClose => {
                            depth -= 1;
                            break;
                        }
                        Open::Str { text_start, triple } => {
                            // The grammar may fail on a `"""` string (a bad escape) or an
                            // unclosed one and read its text as code: count it as code then.
                            if triple || token.kind == TokenKind::StrUnclosed {
                                let body = &bytes[text_start.min(token.start)..token.start];
                                if let Some(at) = deepest_raw_bracket(body, depth) {
                                    return Some(too_deep(text_start + at));
                                }
                            }
                            break;
                        }
                        _ => depth -= 1,
                    }
                }
            }
            _ => {}
        }
        if depth > MAX_NESTING {
            return Some(too_deep(token.start));
        }
        if !matches!(token.kind, TokenKind::Comment | TokenKind::DocComment) {
            after_list_or_map = token.kind == TokenKind::Word
                && matches!(&bytes[token.start..token.end], b"list" | b"map");
        }
    }
    None
}

fn opener(close: u8) -> u8 {
    match close {
        b')' => b'(',
        b']' => b'[',
        _ => b'{',
    }
}

/// Where raw text, every bracket read as code on top of `depth` open levels, first nests
/// deeper than [`MAX_NESTING`].
fn deepest_raw_bracket(body: &[u8], depth: usize) -> Option<usize> {
    let mut open: Vec<u8> = Vec::new();
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'(' | b'[' | b'{' => open.push(b),
            b')' | b']' | b'}' if open.last() == Some(&opener(b)) => {
                open.pop();
            }
            _ => {}
        }
        if depth + open.len() > MAX_NESTING {
            return Some(i);
        }
    }
    None
}

/// A pest error inside a snippet that starts at `base` in the file.
pub fn pest_error_diagnostic(
    file: FileId,
    base: usize,
    error: &pest::error::Error<Rule>,
) -> Diagnostic {
    let offset = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let start = base + offset;
    // `refine` widens the span to the offending token.
    let span = Span::new(start, start);
    match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let expected = describe_expected(positives);
            syntax_error(
                file,
                span,
                Syntax::Expected {
                    expected: &expected,
                },
            )
        }
        ErrorVariant::CustomError { message } => {
            syntax_error(file, span, Syntax::Refused { message })
        }
    }
}

/// Adds what we know about common mistakes to a generic syntax error.
pub fn refine(mut diagnostic: Diagnostic, snippet: &str, base: usize, context: &str) -> Diagnostic {
    let local = diagnostic.primary.span.start.saturating_sub(base);
    let rest = snippet.get(local..).unwrap_or("");
    let token: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace())
        .take(40)
        .collect();
    let token_len = if token.is_empty() { 0 } else { token.len() };
    diagnostic.primary.span.end = diagnostic.primary.span.start + token_len;
    if token_len == 0 && diagnostic.primary.span.start > 0 {
        // Point at the end of what was there rather than at nothing.
        diagnostic.primary.span.start -= 1;
    }
    if let Some(brace) = open_interpolation(snippet, local) {
        // `"up{job=\"api\"}"`: PromQL, JSON or a template meant a literal brace.
        return syntax_error(
            diagnostic.file,
            Span::new(base + brace, base + brace + 1),
            Syntax::BraceStartsNoInterpolation,
        );
    }
    if let Some(open) = unclosed_bracket(snippet) {
        let (bracket, closer) = (
            snippet.as_bytes()[open] as char,
            closing(snippet.as_bytes()[open]),
        );
        return syntax_error(
            diagnostic.file,
            Span::new(base + open, base + open + 1),
            Syntax::NeverClosed { bracket, closer },
        );
    }
    let first_word: String = snippet
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let help = match (context, first_word.as_str()) {
        ("statement", "approval" | "retry" | "timeout" | "on") => Some(
            "step options (`approval`, `retry`, `timeout`, `on failure`) must come first in the step block, before any statement",
        ),
        ("clause", "let" | "log" | "if" | "for" | "expect" | "fail") => {
            Some("statements belong inside a `step` or `verify` block, not directly in the runbook")
        }
        ("statement" | "clause", "runbook" | "fn" | "test" | "use" | "const") => {
            Some("this looks like an item: is a closing `}` missing above it?")
        }
        _ => None,
    };
    if let Some(help) = help {
        diagnostic.help = help.to_string();
    } else if token.starts_with('=') && !token.starts_with("==") && context != "item" {
        diagnostic.help =
            "bindings are written `let NAME = VALUE`; comparisons use `==`".to_string();
    }
    diagnostic
}

fn describe_expected(rules: &[Rule]) -> String {
    let mut names: Vec<&str> = rules.iter().map(|rule| describe_rule(*rule)).collect();
    names.sort_unstable();
    names.dedup();
    match names.len() {
        0 => "something else".to_string(),
        1 => names[0].to_string(),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} or {}", names.join(", "), last)
        }
    }
}

fn describe_rule(rule: Rule) -> &'static str {
    use Rule::*;
    match rule {
        ident | name | word | arg_name => "a name",
        type_name | named_type | type_expr | list_type | map_type | record_type => "a type",
        expr | expr_no_record | lambda | paren | list_lit | record_lit | step_ref
        | approval_ref => "an expression",
        approval_ask => "`ask { name: type }`",
        approve_values => "`with { name: value }`",
        string | multiline_string => "a string",
        int => "a whole number",
        float => "a number",
        duration => "a duration such as `30s`",
        percent => "a percentage such as `70%`",
        bool => "`true` or `false`",
        none_lit => "`none`",
        call_args => "`(`",
        field => "`.`",
        index => "`[`",
        or_op | and_op | eq_op | ne_op | le_op | ge_op | lt_op | gt_op | coalesce_op | add_op
        | sub_op | mul_op | div_op => "an operator",
        not_op | neg_op => "an expression",
        item | use_item | runbook | fn_item | const_item | test_item | extern_item | type_item => {
            "an item (`use`, `runbook`, `fn`, `const`, `type`, `extern`, `test`)"
        }
        doc_comment | doc_line => "a doc comment",
        title_clause | owner_clause | trigger_clause | input_clause | concurrency_clause
        | rate_clause | timeout_clause | escalate_clause | step_clause | verify_clause
        | notify_clause | mode_clause => {
            "a runbook clause (`title`, `trigger`, `input`, `step`, `verify`, `notify`, ...)"
        }
        let_stmt | if_stmt | for_stmt | expect_stmt | fail_stmt | log_stmt | return_stmt
        | expr_stmt => "a statement",
        approval_required | approval_none | retry_option | timeout_option | failure_option => {
            "a step option"
        }
        mock_stmt | set_stmt | approve_stmt | deny_stmt | run_stmt | expect_step
        | expect_escalated | expect_called | expect_trigger | run_alerts => "a test statement",
        run_mode => "`shadow` or `live`",
        trigger_outcome => "`triggered`, `coalesced` or `suppressed`",
        when_clause => "`when`",
        step_block | block => "`{`",
        param_list => "`(`",
        param => "a parameter",
        return_type => "`->`",
        effect_name => "`read`, `write` or `destructive`",
        timeout_outcome => "`deny`, `approve` or `escalate`",
        failure_mode => "`continue` or `abort`",
        step_outcome => "`succeeded`, `failed`, `skipped` or `denied`",
        set_kind => "`env` or `secret`",
        input_field => "an input field",
        record_field | record_type_field => "a field",
        path => "an action name",
        call_pattern | arg_patterns => "`(` and argument patterns",
        pattern_guard => "`where`",
        list_pattern | literal_pattern | bind_pattern | rest_pattern => {
            "an argument pattern (`_`, a name, a literal or `[...]`)"
        }
        EOI => "the end of the input",
        _ => "something else",
    }
}

/// The offset of the `{` of the interpolation that `offset` lies in, if it lies in one.
fn open_interpolation(snippet: &str, offset: usize) -> Option<usize> {
    let before = snippet.get(..offset)?;
    let mut open: Vec<usize> = Vec::new();
    for token in scan(before) {
        match token.kind {
            TokenKind::InterpolationOpen => open.push(token.start),
            TokenKind::InterpolationClose => {
                open.pop();
            }
            _ => {}
        }
    }
    open.last().copied()
}

/// The offset of the first bracket in `snippet` that is never closed (strings skipped).
pub(super) fn unclosed_bracket(snippet: &str) -> Option<usize> {
    let bytes = snippet.as_bytes();
    let mut open: Vec<usize> = Vec::new();
    for token in scan(snippet) {
        match token.kind {
            TokenKind::Open(_) => open.push(token.start),
            TokenKind::Close(close) => {
                if let Some(last) = open.pop() {
                    if closing(bytes[last]) != close as char {
                        return None;
                    }
                }
            }
            _ => {}
        }
    }
    open.first().copied()
}

fn closing(open: u8) -> char {
    match open {
        b'(' => ')',
        b'[' => ']',
        _ => '}',
    }
}

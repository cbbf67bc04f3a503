//! Turning what the grammar could not parse into diagnostics a tired human can act on.

use pest::error::{ErrorVariant, InputLocation};

use super::parser::{Rule, MAX_NESTING};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::Span;
use crate::FileId;

/// Refuses input whose brackets nest deeper than [`MAX_NESTING`], before the recursive parser
/// sees it. String text and comments do not count; interpolations inside strings do.
pub fn check_nesting(file: FileId, text: &str) -> Option<Diagnostic> {
    #[derive(Clone, Copy, PartialEq)]
    enum Open {
        Bracket,
        /// `<` of `list<` or `map<`.
        Angle,
        /// `{` of an interpolation; closing it returns to a string (`true`: a `"""` string).
        Interpolation(bool),
    }
    let bytes = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    // `Some(triple)` while inside string text.
    let mut string: Option<bool> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(triple) = string {
            match c {
                b'\\' => i += 1,
                b'"' if !triple => string = None,
                b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                    string = None;
                    i += 2;
                }
                b'{' => {
                    stack.push(Open::Interpolation(triple));
                    string = None;
                }
                _ => {}
            }
        } else {
            match c {
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                    string = Some(true);
                    i += 2;
                }
                b'"' => string = Some(false),
                b'(' | b'[' | b'{' => stack.push(Open::Bracket),
                b'<' if text[..i].trim_end().ends_with("list")
                    || text[..i].trim_end().ends_with("map") =>
                {
                    stack.push(Open::Angle)
                }
                b'>' if stack.last() == Some(&Open::Angle) => {
                    stack.pop();
                }
                b')' | b']' | b'}' => {
                    if let Some(Open::Interpolation(triple)) = stack.pop() {
                        string = Some(triple);
                    }
                }
                _ => {}
            }
        }
        if stack.len() > MAX_NESTING {
            let span = Span::new(i, i + 1);
            return Some(
                Diagnostic::new(Code::NestingTooDeep, file, span, "brackets are nested too deeply")
                    .label(format!("nesting level {} starts here", MAX_NESTING + 1))
                    .help(format!(
                        "at most {MAX_NESTING} levels of (), [] and {{}} are allowed; name intermediate values with `let`"
                    )),
            );
        }
        i += 1;
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
    let (message, label) = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let expected = describe_expected(positives);
            (
                format!("expected {expected}"),
                format!("expected {expected} here"),
            )
        }
        ErrorVariant::CustomError { message } => (message.clone(), String::new()),
    };
    Diagnostic::new(Code::SyntaxError, file, span, message)
        .label(label)
        .help("see docs/language.md for the syntax of this construct")
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
    if let Some(open) = unclosed_bracket(snippet) {
        let (bracket, closer) = (
            snippet.as_bytes()[open] as char,
            closing(snippet.as_bytes()[open]),
        );
        return Diagnostic::new(
            Code::SyntaxError,
            diagnostic.file,
            Span::new(base + open, base + open + 1),
            format!("this `{bracket}` is never closed"),
        )
        .label("opened here")
        .help(format!("add the missing `{closer}`"));
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
        expr | expr_no_record | lambda | paren | list_lit | record_lit => "an expression",
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
        | notify_clause => {
            "a runbook clause (`title`, `trigger`, `input`, `step`, `verify`, `notify`, ...)"
        }
        let_stmt | if_stmt | for_stmt | expect_stmt | fail_stmt | log_stmt | return_stmt
        | expr_stmt => "a statement",
        approval_required | approval_none | retry_option | timeout_option | failure_option => {
            "a step option"
        }
        mock_stmt | set_stmt | approve_stmt | deny_stmt | run_stmt | expect_step
        | expect_escalated | expect_called => "a test statement",
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
        EOI => "the end of the input",
        _ => "something else",
    }
}

/// The offset of the first bracket in `snippet` that is never closed (strings skipped).
fn unclosed_bracket(snippet: &str) -> Option<usize> {
    let bytes = snippet.as_bytes();
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => open.push(i),
            b')' | b']' | b'}' => {
                if let Some(last) = open.pop() {
                    if closing(bytes[last]) != bytes[i] as char {
                        return None;
                    }
                }
            }
            _ => {}
        }
        i += 1;
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

//! Parser tests: every construct of LANGUAGE.md and docs/SYNTAX-DECISIONS.md parses to the
//! expected tree, and syntax errors are reported (and recovered from) as documented.
//!
//! Expressions are compared through a compact S-expression rendering (`sx`), so a test states
//! the shape of a tree in one line: `(and (not (== a b)) c)`.

use super::*;
use crate::diagnostics::{Code, Diagnostic};
use crate::FileId;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn parse_all(src: &str) -> ParseOutput {
    parse(FileId(0), src)
}

/// Parses `src`, asserting that it produced no diagnostics.
fn parse_ok(src: &str) -> SourceFile {
    let out = parse_all(src);
    assert!(
        out.diagnostics.is_empty(),
        "unexpected diagnostics for\n{src}\n{:#?}",
        out.diagnostics
    );
    out.file
}

fn errors(src: &str) -> Vec<Diagnostic> {
    parse_all(src).diagnostics
}

fn only_item(src: &str) -> Item {
    let mut file = parse_ok(src);
    assert_eq!(
        file.items.len(),
        1,
        "expected one item in\n{src}\n{:#?}",
        file.items
    );
    file.items.remove(0)
}

fn runbook_of(item: &Item) -> &Runbook {
    match &item.kind {
        ItemKind::Runbook(runbook) => runbook,
        other => panic!("expected a runbook, got {other:#?}"),
    }
}

/// The clauses of `runbook r { BODY }`.
fn clauses(body: &str) -> Vec<ClauseKind> {
    let item = only_item(&format!("runbook r {{\n{body}\n}}\n"));
    runbook_of(&item)
        .clauses
        .iter()
        .map(|c| c.kind.clone())
        .collect()
}

fn only_clause(body: &str) -> ClauseKind {
    let mut all = clauses(body);
    assert_eq!(all.len(), 1, "expected one clause in\n{body}\n{all:#?}");
    all.remove(0)
}

fn step_clause(clause: ClauseKind) -> Step {
    match clause {
        ClauseKind::Step(step) => step,
        other => panic!("expected a step, got {other:#?}"),
    }
}

/// The step of `runbook r { step s { BODY } }`.
fn step(body: &str) -> Step {
    step_clause(only_clause(&format!("step s {{\n{body}\n}}")))
}

fn options(body: &str) -> Vec<StepOptionKind> {
    step(body).options.into_iter().map(|o| o.kind).collect()
}

fn only_option(body: &str) -> StepOptionKind {
    let mut all = options(body);
    assert_eq!(all.len(), 1, "expected one option in\n{body}\n{all:#?}");
    all.remove(0)
}

fn stmts(body: &str) -> Vec<StmtKind> {
    step(body).body.into_iter().map(|s| s.kind).collect()
}

fn only_stmt(body: &str) -> StmtKind {
    let mut all = stmts(body);
    assert_eq!(all.len(), 1, "expected one statement in\n{body}\n{all:#?}");
    all.remove(0)
}

/// The statements of `test "t" { BODY }`.
fn test_stmts(body: &str) -> Vec<TestStmtKind> {
    let item = only_item(&format!("test \"t\" {{\n{body}\n}}\n"));
    match item.kind {
        ItemKind::Test(test) => test.body.into_iter().map(|s| s.kind).collect(),
        other => panic!("expected a test, got {other:#?}"),
    }
}

fn only_test_stmt(body: &str) -> TestStmtKind {
    let mut all = test_stmts(body);
    assert_eq!(
        all.len(),
        1,
        "expected one test statement in\n{body}\n{all:#?}"
    );
    all.remove(0)
}

/// The expression `src`, parsed as the value of a `let` in a `fn`, rendered by [`sx`]. Also
/// checks that `parse_expression` agrees.
fn e(src: &str) -> String {
    let via_let = match only_stmt_in_fn(&format!("let v = {src}")) {
        StmtKind::Let { value, .. } => sx(&value),
        other => panic!("expected a let, got {other:#?}"),
    };
    let direct = parse_expression(FileId(0), src)
        .unwrap_or_else(|d| panic!("parse_expression({src:?}) failed: {d:#?}"));
    assert_eq!(
        via_let,
        sx(&direct),
        "let and parse_expression disagree on {src:?}"
    );
    via_let
}

fn only_stmt_in_fn(body: &str) -> StmtKind {
    let item = only_item(&format!("fn f() {{\n{body}\n}}\n"));
    match item.kind {
        ItemKind::Fn(mut f) => {
            assert_eq!(
                f.body.len(),
                1,
                "expected one statement in\n{body}\n{:#?}",
                f.body
            );
            f.body.remove(0).kind
        }
        other => panic!("expected a fn, got {other:#?}"),
    }
}

/// A compact, unambiguous rendering of an expression tree.
fn sx(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Int(n) => n.to_string(),
        ExprKind::Float(f) => format!("{f:?}f"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::None => "none".to_string(),
        ExprKind::Duration(ms) => format!("{ms}ms"),
        ExprKind::Percent(p) => format!("{p}%"),
        ExprKind::Str(parts) => {
            let mut out = String::from("\"");
            for part in parts {
                match part {
                    StrPart::Text(text) => out.push_str(&format!("{text:?}").replace('"', "")),
                    StrPart::Interpolation(e) => out.push_str(&format!("${{{}}}", sx(e))),
                }
            }
            out.push('"');
            out
        }
        ExprKind::List(items) => {
            format!("[{}]", items.iter().map(sx).collect::<Vec<_>>().join(" "))
        }
        ExprKind::Record(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|f| {
                    let key = match &f.key {
                        RecordKey::Name(i) => i.name.clone(),
                        RecordKey::Str(s) => format!("{:?}", s.value),
                    };
                    format!("{key}: {}", sx(&f.value))
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::Name(ident) => ident.name.clone(),
        ExprKind::StepOutcome { step, outcome } => format!("(step {} {outcome})", step.name),
        ExprKind::ApprovalValue(field) => format!("(approval {})", field.name),
        ExprKind::Field(base, field) => format!("(. {} {})", sx(base), field.name),
        ExprKind::Index(base, index) => format!("(idx {} {})", sx(base), sx(index)),
        ExprKind::Call { callee, args } => {
            let mut out = format!("(call {}", sx(callee));
            for arg in args {
                out.push(' ');
                if let Some(name) = &arg.name {
                    out.push_str(&format!("{}: ", name.name));
                }
                out.push_str(&sx(&arg.value));
            }
            out.push(')');
            out
        }
        ExprKind::Unary(UnaryOp::Not, operand) => format!("(not {})", sx(operand)),
        ExprKind::Unary(UnaryOp::Neg, operand) => format!("(neg {})", sx(operand)),
        ExprKind::Binary(op, lhs, rhs) => format!("({} {} {})", op.symbol(), sx(lhs), sx(rhs)),
        ExprKind::Lambda { params, body } => format!(
            "(lambda ({}) {})",
            params
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            sx(body)
        ),
    }
}

fn sx_opt(expr: &Option<Expr>) -> Option<String> {
    expr.as_ref().map(sx)
}

fn names(idents: &[Ident]) -> Vec<&str> {
    idents.iter().map(|i| i.name.as_str()).collect()
}

/// A compact rendering of a type expression.
fn ty(t: &TypeExpr) -> String {
    match &t.kind {
        TypeExprKind::Named {
            module: Some(m),
            name,
        } => format!("{}.{}", m.name, name.name),
        TypeExprKind::Named { module: None, name } => name.name.clone(),
        TypeExprKind::List(el) => format!("list<{}>", ty(el)),
        TypeExprKind::Map(k, v) => format!("map<{}, {}>", ty(k), ty(v)),
        TypeExprKind::Record(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(n, t)| format!("{}: {}", n.name, ty(t)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TypeExprKind::Optional(inner) => format!("{}?", ty(inner)),
    }
}

fn syntax_errors(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|d| d.code == Code::SyntaxError)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The full example
// ---------------------------------------------------------------------------------------------

#[test]
fn full_language_example_parses_without_diagnostics() {
    let src = include_str!("../../../examples/db_pool_exhaustion.rbk");
    let file = parse_ok(src);
    let kinds: Vec<&str> = file
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Use(_) => "use",
            ItemKind::Runbook(_) => "runbook",
            ItemKind::Fn(_) => "fn",
            ItemKind::Const(_) => "const",
            ItemKind::Test(_) => "test",
            ItemKind::Extern(_) => "extern",
            ItemKind::Type(_) => "type",
            ItemKind::Template(_) => "template",
            ItemKind::Instance(_) => "instance",
        })
        .collect();
    assert_eq!(kinds[..5], ["use", "use", "use", "use", "runbook"]);
    assert!(kinds[5..].iter().all(|k| *k == "test"), "{kinds:?}");
    let runbook = runbook_of(&file.items[4]);
    assert_eq!(runbook.name.name, "db_pool_exhaustion");
    let steps: Vec<(&str, StepKind)> = runbook
        .clauses
        .iter()
        .filter_map(|c| match &c.kind {
            ClauseKind::Step(s) => Some((s.name.name.as_str(), s.kind)),
            _ => None,
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("count", StepKind::Step),
            ("find_idle", StepKind::Step),
            ("kill", StepKind::Step),
            ("pool_ok", StepKind::Verify),
            ("restart", StepKind::Step),
        ]
    );
    assert!(file.items[4]
        .doc
        .as_deref()
        .unwrap_or("")
        .contains("connection pool"));
}

#[test]
fn every_example_parses_without_diagnostics() {
    for (name, src) in [
        (
            "certificate_expiry",
            include_str!("../../../examples/certificate_expiry.rbk"),
        ),
        (
            "crashlooping_pod",
            include_str!("../../../examples/crashlooping_pod.rbk"),
        ),
        (
            "db_pool_exhaustion",
            include_str!("../../../examples/db_pool_exhaustion.rbk"),
        ),
        (
            "disk_almost_full",
            include_str!("../../../examples/disk_almost_full.rbk"),
        ),
        (
            "replication_lag",
            include_str!("../../../examples/replication_lag.rbk"),
        ),
    ] {
        let out = parse_all(src);
        assert!(out.diagnostics.is_empty(), "{name}: {:#?}", out.diagnostics);
        assert!(!out.file.items.is_empty(), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Lexical: comments, literals, strings
// ---------------------------------------------------------------------------------------------

#[test]
fn line_comments_are_ignored() {
    let file = parse_ok("// a comment\nuse std.k8s // trailing\n// another\n");
    assert_eq!(file.items.len(), 1);
    assert!(file.items[0].doc.is_none());
}

#[test]
fn durations() {
    assert_eq!(e("250ms"), "250ms");
    assert_eq!(e("30s"), "30000ms");
    assert_eq!(e("5m"), "300000ms");
    assert_eq!(e("1h"), "3600000ms");
    assert_eq!(e("2d"), "172800000ms");
    assert_eq!(e("1h30m"), "5400000ms");
    assert_eq!(e("1m30s"), "90000ms");
    assert_eq!(e("2m5s"), "125000ms");
    assert_eq!(e("1s500ms"), "1500ms");
    assert_eq!(e("0s"), "0ms");
}

#[test]
fn durations_compare_in_expressions() {
    assert_eq!(e("1h30m > 90m"), "(> 5400000ms 5400000ms)");
}

#[test]
fn percents() {
    assert_eq!(e("70%"), "70%");
    assert_eq!(e("12.5%"), "12.5%");
    assert_eq!(e("0%"), "0%");
    assert_eq!(e("100%"), "100%");
    match only_stmt_in_fn("let p = 12.5%") {
        StmtKind::Let { value, .. } => {
            assert!(matches!(value.kind, ExprKind::Percent(p) if (p - 12.5).abs() < 1e-9))
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn numbers_bools_none() {
    assert_eq!(e("42"), "42");
    assert_eq!(e("0"), "0");
    assert_eq!(e("1.5"), "1.5f");
    assert_eq!(e("true"), "true");
    assert_eq!(e("false"), "false");
    assert_eq!(e("none"), "none");
    assert_eq!(e("9223372036854775807"), "9223372036854775807");
}

#[test]
fn integer_too_large_is_out_of_range() {
    let diags = errors("fn f() {\n let x = 9223372036854775808\n}\n");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].code, Code::NumberOutOfRange);
    assert!(diags[0].message.contains("too large"), "{diags:#?}");
}

#[test]
fn a_literal_brace_meant_in_a_string_points_at_the_brace_and_says_to_escape_it() {
    let src = "fn f() {\n  let q = \"up{job=\\\"api\\\"}\"\n}\n";
    let diags = errors(src);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].code, Code::SyntaxError);
    assert!(
        diags[0].message.contains("starts an interpolation"),
        "{diags:#?}"
    );
    let brace = src.find("up{").unwrap() + 2;
    assert_eq!(diags[0].primary.span.start, brace, "{diags:#?}");
    assert_eq!(diags[0].primary.span.end, brace + 1);
    assert!(diags[0].help.contains("`\\{`"), "{diags:#?}");
    // The escaped form parses, and so does an interpolation beside it.
    assert!(
        errors("fn f() {\n  let job = \"api\"\n  let q = \"up\\{job=\\\"{job}\\\"}\"\n}\n")
            .is_empty()
    );
}

#[test]
fn duration_too_long_is_a_syntax_error() {
    let diags = errors("fn f() {\n let x = 99999999999999999999d\n}\n");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0].message.contains("too long"), "{diags:#?}");
}

#[test]
fn names_starting_with_literal_words_are_names() {
    assert_eq!(e("true_value"), "true_value");
    assert_eq!(e("nonexistent"), "nonexistent");
    assert_eq!(e("falsey"), "falsey");
}

#[test]
fn lists_records_maps() {
    assert_eq!(e("[]"), "[]");
    assert_eq!(e("[1, 2, 3]"), "[1 2 3]");
    assert_eq!(e("[1, 2,]"), "[1 2]");
    assert_eq!(e("[95%, 60%]"), "[95% 60%]");
    assert_eq!(e("{pid: 1, name: \"x\"}"), "{pid: 1, name: \"x\"}");
    assert_eq!(e("{}"), "{}");
    assert_eq!(
        e("{\"db\": \"orders\", \"env\": \"prod\",}"),
        "{\"db\": \"orders\", \"env\": \"prod\"}"
    );
    assert_eq!(
        e("{labels: {\"db\": \"orders\"}}"),
        "{labels: {\"db\": \"orders\"}}"
    );
    assert_eq!(e("[{a: [1]}, {a: []}]"), "[{a: [1]} {a: []}]");
    // Record fields may be named with keywords.
    assert_eq!(
        e("{timeout: 5m, for: 1, step: none}"),
        "{timeout: 300000ms, for: 1, step: none}"
    );
}

#[test]
fn string_plain() {
    assert_eq!(e("\"hello world\""), "\"hello world\"");
    assert_eq!(e("\"\""), "\"\"");
}

#[test]
fn string_interpolation() {
    assert_eq!(
        e("\"Pool usage {before} -> {pg.pool_usage(db)}\""),
        "\"Pool usage ${before} -> ${(call (. pg pool_usage) db)}\""
    );
    assert_eq!(e("\"{a + 1}\""), "\"${(+ a 1)}\"");
    assert_eq!(
        e("\"{alert.labels[\"db\"]}\""),
        "\"${(idx (. alert labels) \"db\")}\""
    );
}

#[test]
fn string_escaped_brace_is_literal_text() {
    assert_eq!(e("\"a \\{literal} b {x}\""), "\"a {literal} b ${x}\"");
    let value = match only_stmt_in_fn("let s = \"json: \\{\\\"k\\\": 1\\}\"") {
        StmtKind::Let { value, .. } => value,
        other => panic!("{other:#?}"),
    };
    assert_eq!(value.as_plain_str().as_deref(), Some("json: {\"k\": 1}"));
}

#[test]
fn string_escapes() {
    let value = match only_stmt_in_fn(r#"let s = "a\nb\tc\\d\"e\r""#) {
        StmtKind::Let { value, .. } => value,
        other => panic!("{other:#?}"),
    };
    assert_eq!(value.as_plain_str().as_deref(), Some("a\nb\tc\\d\"e\r"));
}

#[test]
fn multiline_string() {
    let src = "fn f() {\n  let sql = \"\"\"\nSELECT pid\n  FROM pg_stat_activity\n WHERE state = 'idle' AND \"quoted\" = {n}\n\"\"\"\n}\n";
    let item = only_item(src);
    let ItemKind::Fn(f) = item.kind else { panic!() };
    let StmtKind::Let { value, .. } = &f.body[0].kind else {
        panic!("{:#?}", f.body)
    };
    let ExprKind::Str(parts) = &value.kind else {
        panic!("{value:#?}")
    };
    assert_eq!(parts.len(), 3, "{parts:#?}");
    // The newline right after the opening quotes is dropped.
    assert!(
        matches!(&parts[0], StrPart::Text(t) if t == "SELECT pid\n  FROM pg_stat_activity\n WHERE state = 'idle' AND \"quoted\" = "),
        "{parts:#?}"
    );
    assert!(matches!(&parts[1], StrPart::Interpolation(x) if sx(x) == "n"));
    assert!(matches!(&parts[2], StrPart::Text(t) if t == "\n"));
}

#[test]
fn multiline_string_with_escaped_brace() {
    let src = "fn f() {\n  let q = \"\"\"\n\\{\"a\": 1\\}\n\"\"\"\n}\n";
    let item = only_item(src);
    let ItemKind::Fn(f) = item.kind else { panic!() };
    let StmtKind::Let { value, .. } = &f.body[0].kind else {
        panic!()
    };
    assert_eq!(value.as_plain_str().as_deref(), Some("{\"a\": 1}\n"));
}

#[test]
fn interpolation_not_allowed_in_plain_strings() {
    let diags = errors("runbook r {\n  title \"Hello {name}\"\n}\n");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(diags[0].message.contains("interpolation"), "{diags:#?}");
    // Escaped is fine.
    let clause = only_clause("title \"Hello \\{name}\"");
    let ClauseKind::Title(title) = clause else {
        panic!()
    };
    assert_eq!(title.value, "Hello {name}");
}

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

#[test]
fn precedence_not_binds_looser_than_comparison() {
    assert_eq!(e("not a == b and c"), "(and (not (== a b)) c)");
    assert_eq!(e("not a or b"), "(or (not a) b)");
    assert_eq!(e("not not x"), "(not (not x))");
}

#[test]
fn precedence_unary_minus_binds_tighter_than_mul() {
    assert_eq!(e("-a * b"), "(* (neg a) b)");
    assert_eq!(e("a * -b"), "(* a (neg b))");
    assert_eq!(e("- -a"), "(neg (neg a))");
    assert_eq!(e("-f(x).y"), "(neg (. (call f x) y))");
}

#[test]
fn precedence_coalesce_between_comparison_and_add() {
    assert_eq!(e("a ?? b + c"), "(?? a (+ b c))");
    assert_eq!(e("a ?? b == c"), "(== (?? a b) c)");
    assert_eq!(
        e("m[\"k\"] ?? \"default\""),
        "(?? (idx m \"k\") \"default\")"
    );
}

#[test]
fn precedence_arithmetic_and_logic() {
    assert_eq!(e("a + b * c"), "(+ a (* b c))");
    assert_eq!(e("a * b + c"), "(+ (* a b) c)");
    assert_eq!(e("a - b - c"), "(- (- a b) c)");
    assert_eq!(e("a / b / c"), "(/ (/ a b) c)");
    assert_eq!(e("(a + b) * c"), "(* (+ a b) c)");
    assert_eq!(e("a or b and c"), "(or a (and b c))");
    assert_eq!(e("a and b or c and d"), "(or (and a b) (and c d))");
    assert_eq!(
        e("a < b and b <= c or c > d and d >= e"),
        "(or (and (< a b) (<= b c)) (and (> c d) (>= d e)))"
    );
    assert_eq!(e("a != b"), "(!= a b)");
    assert_eq!(e("len(xs) + 1 > 2 * n"), "(> (+ (call len xs) 1) (* 2 n))");
}

#[test]
fn operators_glued_to_words_are_still_operators() {
    // `and`/`or`/`not` need a word boundary; names that start with them are names.
    assert_eq!(e("android and oracle"), "(and android oracle)");
    assert_eq!(e("notable or orchid"), "(or notable orchid)");
    assert_eq!(e("not notable"), "(not notable)");
}

#[test]
fn postfix_field_index_call() {
    assert_eq!(e("alert.labels[\"db\"]"), "(idx (. alert labels) \"db\")");
    assert_eq!(e("pg.pool_usage(db)"), "(call (. pg pool_usage) db)");
    assert_eq!(
        e("k8s.delete_pod(k8s.oldest(pods))"),
        "(call (. k8s delete_pod) (call (. k8s oldest) pods))"
    );
    assert_eq!(e("xs[0].name"), "(. (idx xs 0) name)");
    assert_eq!(e("f()()"), "(call (call f))");
    assert_eq!(e("run.summary"), "(. run summary)");
    assert_eq!(e("env(\"X\")"), "(call env \"X\")");
    assert_eq!(e("secret(\"X\")"), "(call secret \"X\")");
    // Field names may be keywords.
    assert_eq!(e("x.timeout.step"), "(. (. x timeout) step)");
}

#[test]
fn call_arguments_positional_and_named() {
    assert_eq!(
        e("pg.terminate(db, idle, max: 50)"),
        "(call (. pg terminate) db idle max: 50)"
    );
    assert_eq!(e("f(a,)"), "(call f a)");
    assert_eq!(e("f(a: 1, b: 2,)"), "(call f a: 1 b: 2)");
}

#[test]
fn keywords_as_named_argument_names() {
    assert_eq!(
        e("http.get(url, timeout: 10s)"),
        "(call (. http get) url timeout: 10000ms)"
    );
    assert_eq!(
        e("f(step: 1, for: 2, in: 3, not: 4, and: 5, when: 6, with: 7, none: 8, true: 9)"),
        "(call f step: 1 for: 2 in: 3 not: 4 and: 5 when: 6 with: 7 none: 8 true: 9)"
    );
}

#[test]
fn lambdas() {
    assert_eq!(e("x => x > 1"), "(lambda (x) (> x 1))");
    assert_eq!(e("(a, b) => a + b"), "(lambda (a b) (+ a b))");
    assert_eq!(e("() => 1"), "(lambda () 1)");
    assert_eq!(e("(x) => x"), "(lambda (x) x)");
    assert_eq!(
        e("filter(xs, x => x.idle > 1h)"),
        "(call filter xs (lambda (x) (> (. x idle) 3600000ms)))"
    );
    assert_eq!(
        e("sort_by(pods, p => p.started_at)"),
        "(call sort_by pods (lambda (p) (. p started_at)))"
    );
    assert_eq!(
        e("map(xs, (x) => {pid: x.pid, n: 1})"),
        "(call map xs (lambda (x) {pid: (. x pid), n: 1}))"
    );
    assert_eq!(
        e("any(xs, x => all(x.ys, y => y))"),
        "(call any xs (lambda (x) (call all (. x ys) (lambda (y) y))))"
    );
    // A parenthesised expression is not a lambda.
    assert_eq!(e("(a)"), "a");
}

#[test]
fn builtin_calls_parse_as_calls() {
    for name in [
        "len", "filter", "map", "first", "sort_by", "any", "all", "min", "max", "sum", "now",
        "contains", "string",
    ] {
        assert_eq!(e(&format!("{name}(x)")), format!("(call {name} x)"));
    }
}

#[test]
fn identifiers_that_start_with_keywords_are_names() {
    for name in [
        "letter",
        "input_size",
        "format",
        "index",
        "iffy",
        "testing",
        "step_count",
        "returns_x",
        "usage",
        "fnord",
        "typed",
        "runbooks",
        "constant",
        "external",
        "mocked",
        "settings",
        "ratelimit",
        "timeouts",
        "title_text",
        "owners",
        "trigger_name",
        "logger",
        "failure_count",
        "expected",
        "every_n",
        "within_x",
        "elsewhere",
        "format_x",
        "inbox",
        "ordinal",
        "android",
        "notes",
        "approvals",
        "retry_count",
        "on_call",
        "byte",
        "asset",
        "per_db",
        "when_x",
        "wherever",
        "nonempty",
        "called_x",
        "timesheet",
        "with_x",
        "deny_list",
        "escalation",
    ] {
        // As a let name, as an expression, as a call, as a lambda parameter.
        match only_stmt(&format!("let {name} = {name}")) {
            StmtKind::Let { name: n, value, .. } => {
                assert_eq!(n.name, name);
                assert_eq!(sx(&value), name);
            }
            other => panic!("{name}: {other:#?}"),
        }
        match only_stmt(&format!("{name}({name})")) {
            StmtKind::Expr(value) => assert_eq!(sx(&value), format!("(call {name} {name})")),
            other => panic!("{name}: {other:#?}"),
        }
        assert_eq!(
            e(&format!("{name} => {name}")),
            format!("(lambda ({name}) {name})")
        );
    }
}

#[test]
fn statement_starting_with_keyword_prefixed_names() {
    // `letter = ...` is not `let ter`, `format(x)` not `for mat`, `index` not `in dex`.
    let body = "letter(1)\nformat(\"x\")\nlet y = index\nlogger.info(\"x\")\nfailure_count(2)";
    let all = stmts(body);
    let shapes: Vec<String> = all
        .iter()
        .map(|s| match s {
            StmtKind::Expr(e) => format!("expr {}", sx(e)),
            StmtKind::Let { name, value, .. } => format!("let {} {}", name.name, sx(value)),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shapes,
        [
            "expr (call letter 1)",
            "expr (call format \"x\")",
            "let y index",
            "expr (call (. logger info) \"x\")",
            "expr (call failure_count 2)",
        ]
    );
}

#[test]
fn contextual_words_are_names() {
    for name in ["alert", "run", "env", "secret", "read", "write"] {
        assert_eq!(only_stmt_in_fn_name(&format!("let {name} = 1")), name);
    }
}

fn only_stmt_in_fn_name(body: &str) -> String {
    match only_stmt_in_fn(body) {
        StmtKind::Let { name, .. } => name.name,
        other => panic!("{other:#?}"),
    }
}

#[test]
fn reserved_keywords_are_not_names() {
    for kw in [
        "let", "step", "timeout", "for", "in", "true", "none", "not", "and", "expect",
    ] {
        let diags = errors(&format!("fn f() {{\n let {kw} = 1\n}}\n"));
        assert!(!diags.is_empty(), "`let {kw} = 1` should not parse");
        assert!(
            diags.iter().all(|d| d.code == Code::SyntaxError),
            "{diags:#?}"
        );
    }
}

#[test]
fn expression_spans_cover_their_text() {
    let src = "fn f() {\n  let v = a + b * c\n}\n";
    let item = only_item(src);
    let ItemKind::Fn(f) = item.kind else { panic!() };
    let StmtKind::Let { value, .. } = &f.body[0].kind else {
        panic!()
    };
    assert_eq!(&src[value.span.start..value.span.end], "a + b * c");
    let ExprKind::Binary(BinaryOp::Add, lhs, rhs) = &value.kind else {
        panic!()
    };
    assert_eq!(&src[lhs.span.start..lhs.span.end], "a");
    assert_eq!(&src[rhs.span.start..rhs.span.end], "b * c");
}

#[test]
fn expression_ids_are_unique() {
    let file = parse_ok(include_str!("../../../examples/db_pool_exhaustion.rbk"));
    struct Ids(Vec<u32>);
    fn walk(e: &Expr, ids: &mut Ids) {
        ids.0.push(e.id.0);
        match &e.kind {
            ExprKind::Str(parts) => parts.iter().for_each(|p| {
                if let StrPart::Interpolation(x) = p {
                    walk(x, ids)
                }
            }),
            ExprKind::List(xs) => xs.iter().for_each(|x| walk(x, ids)),
            ExprKind::Record(fs) => fs.iter().for_each(|f| walk(&f.value, ids)),
            ExprKind::Field(b, _) => walk(b, ids),
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                walk(a, ids);
                walk(b, ids)
            }
            ExprKind::Call { callee, args } => {
                walk(callee, ids);
                args.iter().for_each(|a| walk(&a.value, ids))
            }
            ExprKind::Unary(_, x) => walk(x, ids),
            ExprKind::Lambda { body, .. } => walk(body, ids),
            _ => {}
        }
    }
    let mut ids = Ids(Vec::new());
    for item in &file.items {
        if let ItemKind::Runbook(r) = &item.kind {
            for c in &r.clauses {
                if let ClauseKind::Step(s) = &c.kind {
                    for st in &s.body {
                        match &st.kind {
                            StmtKind::Let { value, .. } | StmtKind::Expr(value) => {
                                walk(value, &mut ids)
                            }
                            StmtKind::Expect { cond, .. } => walk(cond, &mut ids),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    let n = ids.0.len();
    ids.0.sort_unstable();
    ids.0.dedup();
    assert!(n > 10);
    assert_eq!(ids.0.len(), n, "expression ids repeat");
}

// ---------------------------------------------------------------------------------------------
// Items
// ---------------------------------------------------------------------------------------------

#[test]
fn use_std_with_and_without_alias() {
    let file = parse_ok("use std.postgres as pg\nuse std.k8s\n");
    let ItemKind::Use(first) = &file.items[0].kind else {
        panic!()
    };
    match &first.target {
        UseTarget::Std { path, .. } => assert_eq!(names(path), ["std", "postgres"]),
        other => panic!("{other:#?}"),
    }
    assert_eq!(first.alias.as_ref().map(|a| a.name.as_str()), Some("pg"));
    assert_eq!(first.binding().map(|b| b.name.as_str()), Some("pg"));
    let ItemKind::Use(second) = &file.items[1].kind else {
        panic!()
    };
    assert!(second.alias.is_none());
    assert_eq!(second.binding().map(|b| b.name.as_str()), Some("k8s"));
}

#[test]
fn use_local_module() {
    let item = only_item("use \"./helpers/common.rbk\" as common\n");
    let ItemKind::Use(u) = &item.kind else {
        panic!()
    };
    match &u.target {
        UseTarget::Local(path) => assert_eq!(path.value, "./helpers/common.rbk"),
        other => panic!("{other:#?}"),
    }
    assert_eq!(u.binding().map(|b| b.name.as_str()), Some("common"));
}

#[test]
fn runbook_with_doc_comment() {
    let item =
        only_item("/// Frees a pool.\n/// Second line.\nrunbook db_pool {\n  title \"T\"\n}\n");
    assert_eq!(item.doc.as_deref(), Some("Frees a pool.\nSecond line."));
    assert_eq!(runbook_of(&item).name.name, "db_pool");
}

#[test]
fn empty_runbook() {
    let item = only_item("runbook r {}");
    assert!(runbook_of(&item).clauses.is_empty());
}

#[test]
fn fn_with_params_return_type_and_return() {
    let item = only_item(
        "/// Oldest pod.\nfn oldest(pods: list<k8s.Pod>, limit: int = 1, timeout: duration) -> k8s.Pod {\n  let sorted = sort_by(pods, p => p.started_at)\n  return first(sorted)\n}\n",
    );
    assert_eq!(item.doc.as_deref(), Some("Oldest pod."));
    let ItemKind::Fn(f) = &item.kind else {
        panic!()
    };
    assert_eq!(f.name.name, "oldest");
    let params: Vec<(String, String, Option<String>)> = f
        .params
        .iter()
        .map(|p| (p.name.name.clone(), ty(&p.ty), sx_opt(&p.default)))
        .collect();
    assert_eq!(
        params,
        [
            ("pods".to_string(), "list<k8s.Pod>".to_string(), None),
            (
                "limit".to_string(),
                "int".to_string(),
                Some("1".to_string())
            ),
            ("timeout".to_string(), "duration".to_string(), None),
        ]
    );
    assert_eq!(f.ret.as_ref().map(ty).as_deref(), Some("k8s.Pod"));
    assert_eq!(f.body.len(), 2);
    assert!(matches!(&f.body[1].kind, StmtKind::Return(x) if sx(x) == "(call first sorted)"));
}

#[test]
fn fn_without_return_type_or_params() {
    let item = only_item("fn noop() {}\n");
    let ItemKind::Fn(f) = &item.kind else {
        panic!()
    };
    assert!(f.params.is_empty() && f.ret.is_none() && f.body.is_empty());
}

#[test]
fn const_item() {
    let item = only_item("const max_kill: int = 50\n");
    let ItemKind::Const(c) = &item.kind else {
        panic!()
    };
    assert_eq!(c.name.name, "max_kill");
    assert_eq!(ty(&c.ty), "int");
    assert_eq!(sx(&c.value), "50");
    let item = only_item("const limits: map<string, percent> = {\"orders\": 70%}\n");
    let ItemKind::Const(c) = &item.kind else {
        panic!()
    };
    assert_eq!(ty(&c.ty), "map<string, percent>");
    assert_eq!(sx(&c.value), "{\"orders\": 70%}");
}

#[test]
fn type_items_opaque_and_record() {
    let file = parse_ok(
        "/// A connection.\ntype Database\ntype Session = { pid: int, idle: duration, query: string?, tags: list<string>, }\ntype Empty = {}\n",
    );
    assert_eq!(file.items.len(), 3);
    assert_eq!(file.items[0].doc.as_deref(), Some("A connection."));
    let ItemKind::Type(db) = &file.items[0].kind else {
        panic!()
    };
    assert_eq!(db.name.name, "Database");
    assert!(db.fields.is_none());
    let ItemKind::Type(session) = &file.items[1].kind else {
        panic!()
    };
    assert_eq!(session.name.name, "Session");
    let fields: Vec<String> = session
        .fields
        .as_ref()
        .expect("record type")
        .iter()
        .map(|(n, t)| format!("{}: {}", n.name, ty(t)))
        .collect();
    assert_eq!(
        fields,
        [
            "pid: int",
            "idle: duration",
            "query: string?",
            "tags: list<string>"
        ]
    );
    let ItemKind::Type(empty) = &file.items[2].kind else {
        panic!()
    };
    assert_eq!(empty.fields.as_ref().map(Vec::len), Some(0));
}

#[test]
fn extern_actions_with_effects() {
    let file = parse_ok(
        "/// Terminates backends.\n/// Destructive.\nextern action terminate(db: Database, pids: list<int>, max: int = 100) -> int effect destructive\n\
         extern action post(channel: string, text: string) effect write\n\
         extern action pool_usage(db: Database) -> percent effect read\n\
         extern action restart(name: string) -> bool effect destructive safe_to_auto_approve\n\
         extern action connect(url: secret) -> Database effect read\n",
    );
    let externs: Vec<&ExternItem> = file
        .items
        .iter()
        .map(|i| match &i.kind {
            ItemKind::Extern(x) => x,
            other => panic!("{other:#?}"),
        })
        .collect();
    assert_eq!(
        file.items[0].doc.as_deref(),
        Some("Terminates backends.\nDestructive.")
    );
    assert!(file.items[1].doc.is_none());
    let summary: Vec<(String, usize, Option<String>, Effect, bool)> = externs
        .iter()
        .map(|x| {
            (
                x.name.name.clone(),
                x.params.len(),
                x.ret.as_ref().map(ty),
                x.effect,
                x.safe_to_auto_approve,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "terminate".into(),
                3,
                Some("int".into()),
                Effect::Destructive,
                false
            ),
            ("post".into(), 2, None, Effect::Write, false),
            (
                "pool_usage".into(),
                1,
                Some("percent".into()),
                Effect::Read,
                false
            ),
            (
                "restart".into(),
                1,
                Some("bool".into()),
                Effect::Destructive,
                true
            ),
            (
                "connect".into(),
                1,
                Some("Database".into()),
                Effect::Read,
                false
            ),
        ]
    );
    assert_eq!(
        sx_opt(&externs[0].params[2].default).as_deref(),
        Some("100")
    );
    assert_eq!(ty(&externs[0].params[1].ty), "list<int>");
}

#[test]
fn types_of_all_shapes() {
    let clause = only_clause(
        "input {\n  a: int\n  b: float, c: bool, d: string\n  e: duration\n  f: percent\n  g: time\n  h: secret\n  i: list<int>\n  j: map<string, list<int?>>\n  k: {pid: int, name: string?}\n  l: pg.Database?\n  m: list<{a: int}>?\n}",
    );
    let ClauseKind::Input(fields) = clause else {
        panic!()
    };
    let shapes: Vec<String> = fields
        .iter()
        .map(|f| format!("{}: {}", f.name.name, ty(&f.ty)))
        .collect();
    assert_eq!(
        shapes,
        [
            "a: int",
            "b: float",
            "c: bool",
            "d: string",
            "e: duration",
            "f: percent",
            "g: time",
            "h: secret",
            "i: list<int>",
            "j: map<string, list<int?>>",
            "k: {pid: int, name: string?}",
            "l: pg.Database?",
            "m: list<{a: int}>?",
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Runbook clauses
// ---------------------------------------------------------------------------------------------

#[test]
fn title_and_owner() {
    let all = clauses("title \"Database Connection Pool Exhaustion\"\nowner \"database-oncall\"");
    assert!(
        matches!(&all[0], ClauseKind::Title(t) if t.value == "Database Connection Pool Exhaustion")
    );
    assert!(matches!(&all[1], ClauseKind::Owner(o) if o.value == "database-oncall"));
}

#[test]
fn trigger_alert_with_where() {
    let clause = only_clause(
        "trigger alert \"PostgresConnectionsHigh\" where alert.labels[\"db\"] == \"orders\"",
    );
    match clause {
        ClauseKind::Trigger(Trigger::Alert { name, filter }) => {
            assert_eq!(name.value, "PostgresConnectionsHigh");
            assert_eq!(
                sx_opt(&filter).as_deref(),
                Some("(== (idx (. alert labels) \"db\") \"orders\")")
            );
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn trigger_alert_without_where() {
    match only_clause("trigger alert \"DiskFull\"") {
        ClauseKind::Trigger(Trigger::Alert { name, filter }) => {
            assert_eq!(name.value, "DiskFull");
            assert!(filter.is_none());
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn trigger_schedule_and_manual() {
    let all = clauses("trigger schedule \"0 3 * * *\"\ntrigger manual");
    assert!(matches!(&all[0], ClauseKind::Trigger(Trigger::Schedule(s)) if s.value == "0 3 * * *"));
    assert!(matches!(&all[1], ClauseKind::Trigger(Trigger::Manual)));
}

#[test]
fn input_clause_with_defaults_and_docs() {
    let clause = only_clause(
        "input {\n    db: pg.Database = pg.connect(secret(\"ORDERS_DATABASE_URL\"))\n    /// How long a backend must be idle.\n    idle_for: duration = 1h\n    target: percent = 70%,\n    label: string? = alert.labels[\"db\"]\n    region: string = env(\"REGION\")\n    count: int\n  }",
    );
    let ClauseKind::Input(fields) = clause else {
        panic!()
    };
    let summary: Vec<(String, String, Option<String>)> = fields
        .iter()
        .map(|f| (f.name.name.clone(), ty(&f.ty), sx_opt(&f.default)))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "db".into(),
                "pg.Database".into(),
                Some("(call (. pg connect) (call secret \"ORDERS_DATABASE_URL\"))".into())
            ),
            (
                "idle_for".into(),
                "duration".into(),
                Some("3600000ms".into())
            ),
            ("target".into(), "percent".into(), Some("70%".into())),
            (
                "label".into(),
                "string?".into(),
                Some("(idx (. alert labels) \"db\")".into())
            ),
            (
                "region".into(),
                "string".into(),
                Some("(call env \"REGION\")".into())
            ),
            ("count".into(), "int".into(), None),
        ]
    );
    assert_eq!(
        fields[1].doc.as_deref(),
        Some("How long a backend must be idle.")
    );
    assert!(fields[0].doc.is_none());
}

#[test]
fn input_clause_on_one_line_with_commas() {
    let ClauseKind::Input(fields) = only_clause("input { a: int = 1, b: string = \"x\", }") else {
        panic!()
    };
    assert_eq!(fields.len(), 2);
    let ClauseKind::Input(fields) = only_clause("input {}") else {
        panic!()
    };
    assert!(fields.is_empty());
}

#[test]
fn concurrency_with_and_without_per() {
    let all = clauses("concurrency 1\nconcurrency 2 per alert.labels[\"db\"]");
    match &all[0] {
        ClauseKind::Concurrency { limit, per } => {
            assert_eq!(sx(limit), "1");
            assert!(per.is_none());
        }
        other => panic!("{other:#?}"),
    }
    match &all[1] {
        ClauseKind::Concurrency { limit, per } => {
            assert_eq!(sx(limit), "2");
            assert_eq!(
                sx_opt(per).as_deref(),
                Some("(idx (. alert labels) \"db\")")
            );
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn rate_with_and_without_by() {
    let all = clauses("rate 3 per 1h\nrate 10 per 30m by alert.labels[\"instance\"]");
    match &all[0] {
        ClauseKind::Rate { limit, window, by } => {
            assert_eq!(
                (sx(limit).as_str(), sx(window).as_str()),
                ("3", "3600000ms")
            );
            assert!(by.is_none());
        }
        other => panic!("{other:#?}"),
    }
    match &all[1] {
        ClauseKind::Rate { limit, window, by } => {
            assert_eq!(
                (sx(limit).as_str(), sx(window).as_str()),
                ("10", "1800000ms")
            );
            assert_eq!(
                sx_opt(by).as_deref(),
                Some("(idx (. alert labels) \"instance\")")
            );
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn timeout_escalate_notify_clauses() {
    let all = clauses(
        "timeout 10m\nescalate pagerduty.page(service: \"database-oncall\", summary: \"needs a human: {run.summary}\")\nnotify slack.post(channel: \"#incidents\", text: \"done {run.id}\")",
    );
    assert!(matches!(&all[0], ClauseKind::Timeout(t) if sx(t) == "600000ms"));
    match &all[1] {
        ClauseKind::Escalate(call) => assert_eq!(
            sx(call),
            "(call (. pagerduty page) service: \"database-oncall\" summary: \"needs a human: ${(. run summary)}\")"
        ),
        other => panic!("{other:#?}"),
    }
    match &all[2] {
        ClauseKind::Notify(call) => {
            assert_eq!(
                sx(call),
                "(call (. slack post) channel: \"#incidents\" text: \"done ${(. run id)}\")"
            )
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn clauses_in_any_order() {
    let all = clauses(
        "step a { log \"x\" }\ntitle \"T\"\nnotify slack.post(text: \"x\")\ntrigger manual\nstep b { log \"y\" }\nowner \"o\"",
    );
    let shape: Vec<&str> = all
        .iter()
        .map(|c| match c {
            ClauseKind::Step(_) => "step",
            ClauseKind::Title(_) => "title",
            ClauseKind::Notify(_) => "notify",
            ClauseKind::Trigger(_) => "trigger",
            ClauseKind::Owner(_) => "owner",
            _ => "other",
        })
        .collect();
    assert_eq!(
        shape,
        ["step", "title", "notify", "trigger", "step", "owner"]
    );
}

#[test]
fn step_with_title_when_and_doc() {
    let clause = only_clause(
        "/// Restarts the oldest pod.\nstep restart \"Restart oldest app pod if still high\" when pg.pool_usage(db) > target {\n  let pods = k8s.pods(namespace: \"prod\")\n}",
    );
    let step = step_clause(clause);
    assert_eq!(step.kind, StepKind::Step);
    assert_eq!(step.doc.as_deref(), Some("Restarts the oldest pod."));
    assert_eq!(step.name.name, "restart");
    assert_eq!(
        sx_opt(&step.title).as_deref(),
        Some("\"Restart oldest app pod if still high\"")
    );
    assert_eq!(
        sx_opt(&step.when).as_deref(),
        Some("(> (call (. pg pool_usage) db) target)")
    );
    assert_eq!(step.body.len(), 1);
    assert!(step.options.is_empty());
}

#[test]
fn step_title_may_interpolate() {
    let step = step_clause(only_clause(
        "step kill \"Kill idle connections older than {idle_for}\" {\n}",
    ));
    assert_eq!(
        sx_opt(&step.title).as_deref(),
        Some("\"Kill idle connections older than ${idle_for}\"")
    );
}

#[test]
fn step_without_title_or_when() {
    let step = step_clause(only_clause("step bare { }"));
    assert!(
        step.title.is_none() && step.when.is_none() && step.body.is_empty() && step.doc.is_none()
    );
}

#[test]
fn step_when_without_title() {
    let step = step_clause(only_clause(
        "step s when x > 1 and not done {\n log \"x\"\n}",
    ));
    assert!(step.title.is_none());
    assert_eq!(
        sx_opt(&step.when).as_deref(),
        Some("(and (> x 1) (not done))")
    );
    assert_eq!(step.body.len(), 1);
}

#[test]
fn verify_with_within_and_every() {
    let step = step_clause(only_clause(
        "/// Checks the pool.\nverify pool_ok \"Pool usage below {target}\" {\n  expect pg.pool_usage(db) < target within 30s every 5s\n}",
    ));
    assert_eq!(step.kind, StepKind::Verify);
    assert_eq!(step.doc.as_deref(), Some("Checks the pool."));
    assert_eq!(step.name.name, "pool_ok");
    match &step.body[0].kind {
        StmtKind::Expect {
            cond,
            within,
            every,
            message,
        } => {
            assert_eq!(sx(cond), "(< (call (. pg pool_usage) db) target)");
            assert_eq!(sx_opt(within).as_deref(), Some("30000ms"));
            assert_eq!(sx_opt(every).as_deref(), Some("5000ms"));
            assert!(message.is_none());
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn verify_with_within_only_and_without() {
    let all = clauses("verify a {\n  expect x within 1m\n}\nverify b {\n  expect y\n}");
    let a = step_clause(all[0].clone());
    let b = step_clause(all[1].clone());
    assert!(
        matches!(&a.body[0].kind, StmtKind::Expect { within: Some(w), every: None, .. } if sx(w) == "60000ms")
    );
    assert!(matches!(
        &b.body[0].kind,
        StmtKind::Expect {
            within: None,
            every: None,
            message: None,
            ..
        }
    ));
}

// ---------------------------------------------------------------------------------------------
// Step options
// ---------------------------------------------------------------------------------------------

#[test]
fn approval_required_from_group_with_timeout_deny() {
    match only_option("approval required from \"database-oncall\" timeout 5m on timeout deny") {
        StepOptionKind::ApprovalRequired {
            quorum,
            group,
            timeout,
            on_timeout,
            reason,
            ask,
        } => {
            assert!(quorum.is_none() && ask.is_empty());
            assert_eq!(group.map(|g| g.value).as_deref(), Some("database-oncall"));
            assert!(matches!(
                timeout.as_ref().map(|t| &t.kind),
                Some(ExprKind::Duration(300_000))
            ));
            assert_eq!(on_timeout.map(|(o, _)| o), Some(TimeoutOutcome::Deny));
            assert!(reason.is_none());
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn approval_required_bare() {
    match only_option("approval required") {
        StepOptionKind::ApprovalRequired {
            quorum,
            group,
            timeout,
            on_timeout,
            reason,
            ..
        } => {
            assert!(
                quorum.is_none()
                    && group.is_none()
                    && timeout.is_none()
                    && on_timeout.is_none()
                    && reason.is_none()
            );
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn approval_required_with_quorum_and_every_outcome() {
    for (text, outcome) in [
        ("approve", TimeoutOutcome::Approve),
        ("escalate", TimeoutOutcome::Escalate),
        ("deny", TimeoutOutcome::Deny),
    ] {
        match only_option(&format!(
            "approval required 2 from \"sre\" timeout 1h30m on timeout {text}"
        )) {
            StepOptionKind::ApprovalRequired {
                quorum,
                group,
                timeout,
                on_timeout,
                ..
            } => {
                assert_eq!(quorum.map(|(n, _)| n), Some(2));
                assert_eq!(group.map(|g| g.value).as_deref(), Some("sre"));
                assert_eq!(sx_opt(&timeout).as_deref(), Some("5400000ms"));
                assert_eq!(on_timeout.map(|(o, _)| o), Some(outcome));
            }
            other => panic!("{other:#?}"),
        }
    }
}

#[test]
fn approval_required_quorum_only_and_timeout_only() {
    match only_option("approval required 3") {
        StepOptionKind::ApprovalRequired { quorum, group, .. } => {
            assert_eq!(quorum.map(|(n, _)| n), Some(3));
            assert!(group.is_none());
        }
        other => panic!("{other:#?}"),
    }
    match only_option("approval required timeout 10m on timeout escalate") {
        StepOptionKind::ApprovalRequired {
            group,
            timeout,
            on_timeout,
            ..
        } => {
            assert!(group.is_none());
            assert_eq!(sx_opt(&timeout).as_deref(), Some("600000ms"));
            assert_eq!(on_timeout.map(|(o, _)| o), Some(TimeoutOutcome::Escalate));
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn approval_required_with_group_and_reason() {
    match only_option("approval required from \"sre\" reason \"restarts a database\"") {
        StepOptionKind::ApprovalRequired { group, reason, .. } => {
            assert_eq!(group.map(|g| g.value).as_deref(), Some("sre"));
            assert_eq!(
                reason.map(|r| r.value).as_deref(),
                Some("restarts a database")
            );
        }
        other => panic!("{other:#?}"),
    }
}

// Was a bug (fixed in d30e3a8): the reason was taken as the approver group.
#[test]
fn approval_required_reason_without_group_is_a_reason() {
    for text in [
        "approval required reason \"restarts a database\"",
        "approval required 2 reason \"restarts a database\"",
    ] {
        match only_option(text) {
            StepOptionKind::ApprovalRequired { group, reason, .. } => {
                assert!(group.is_none(), "reason taken as group: {group:#?}");
                assert_eq!(
                    reason.map(|r| r.value).as_deref(),
                    Some("restarts a database")
                );
            }
            other => panic!("{other:#?}"),
        }
    }
}

#[test]
fn approval_none_with_reason() {
    match only_option(
        "approval none reason \"only idle backends are terminated, never active ones\"",
    ) {
        StepOptionKind::ApprovalNone { reason } => {
            assert_eq!(
                reason.value,
                "only idle backends are terminated, never active ones"
            )
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn approval_none_without_reason_is_an_error() {
    let diags = errors("runbook r {\n  step s {\n    approval none\n    log \"x\"\n  }\n}\n");
    assert!(!syntax_errors(&diags).is_empty(), "{diags:#?}");
}

#[test]
fn retry_options() {
    let all = options("retry 3 every 10s backoff exponential");
    assert!(
        matches!(&all[0], StepOptionKind::Retry { attempts: 3, every: Some(d), exponential: true } if sx(d) == "10000ms")
    );
    let all = options("retry 2");
    assert!(matches!(
        &all[0],
        StepOptionKind::Retry {
            attempts: 2,
            every: None,
            exponential: false
        }
    ));
    let all = options("retry 5 every 1s");
    assert!(matches!(
        &all[0],
        StepOptionKind::Retry {
            attempts: 5,
            every: Some(_),
            exponential: false
        }
    ));
    let all = options("retry 4 backoff exponential");
    assert!(matches!(
        &all[0],
        StepOptionKind::Retry {
            attempts: 4,
            every: None,
            exponential: true
        }
    ));
}

#[test]
fn timeout_and_on_failure_options() {
    let all = options("timeout 2m\non failure continue");
    assert!(matches!(&all[0], StepOptionKind::Timeout(t) if sx(t) == "120000ms"));
    assert!(matches!(
        &all[1],
        StepOptionKind::OnFailure(FailureMode::Continue)
    ));
    let all = options("on failure abort");
    assert!(matches!(
        &all[0],
        StepOptionKind::OnFailure(FailureMode::Abort)
    ));
}

#[test]
fn all_options_together_then_statements() {
    let step = step(
        "approval required 2 from \"database-oncall\" timeout 5m on timeout deny\nretry 3 every 10s backoff exponential\ntimeout 2m\non failure continue\nlet x = 1\nlog \"x = {x}\"",
    );
    let kinds: Vec<&str> = step
        .options
        .iter()
        .map(|o| match &o.kind {
            StepOptionKind::ApprovalRequired { .. } => "approval required",
            StepOptionKind::ApprovalNone { .. } => "approval none",
            StepOptionKind::Retry { .. } => "retry",
            StepOptionKind::Timeout(_) => "timeout",
            StepOptionKind::OnFailure(_) => "on failure",
        })
        .collect();
    assert_eq!(
        kinds,
        ["approval required", "retry", "timeout", "on failure"]
    );
    assert_eq!(step.body.len(), 2);
}

#[test]
fn options_on_one_line() {
    let all = options("retry 2 timeout 30s on failure continue");
    assert_eq!(all.len(), 3, "{all:#?}");
}

#[test]
fn option_spans() {
    let src = "runbook r {\n  step s {\n    retry 2 every 5s\n  }\n}\n";
    let item = only_item(src);
    let ClauseKind::Step(step) = &runbook_of(&item).clauses[0].kind else {
        panic!()
    };
    let span = step.options[0].span;
    assert_eq!(&src[span.start..span.end], "retry 2 every 5s");
    assert_eq!(
        &src[step.body_span.start..step.body_span.end],
        "{\n    retry 2 every 5s\n  }"
    );
}

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

#[test]
fn let_with_and_without_type() {
    let all =
        stmts("let before = pg.pool_usage(db)\nlet n: int = 3\nlet xs: list<pg.Session>? = none");
    match &all[0] {
        StmtKind::Let {
            name,
            ty: None,
            value,
        } => {
            assert_eq!(name.name, "before");
            assert_eq!(sx(value), "(call (. pg pool_usage) db)");
        }
        other => panic!("{other:#?}"),
    }
    assert!(matches!(&all[1], StmtKind::Let { ty: Some(t), .. } if ty(t) == "int"));
    assert!(matches!(&all[2], StmtKind::Let { ty: Some(t), .. } if ty(t) == "list<pg.Session>?"));
}

#[test]
fn call_statement() {
    assert!(
        matches!(only_stmt("pg.terminate(db, idle, max: 50)"), StmtKind::Expr(x) if sx(&x) == "(call (. pg terminate) db idle max: 50)")
    );
}

#[test]
fn if_else_if_else() {
    let stmt = only_stmt("if a > 1 {\n  log \"a\"\n} else if b {\n  log \"b\"\n  log \"c\"\n} else {\n  fail \"no\"\n}");
    let StmtKind::If {
        cond,
        then_body,
        else_body,
    } = stmt
    else {
        panic!()
    };
    assert_eq!(sx(&cond), "(> a 1)");
    assert_eq!(then_body.len(), 1);
    let else_body = else_body.expect("else");
    assert_eq!(else_body.len(), 1);
    let StmtKind::If {
        cond,
        then_body,
        else_body,
    } = &else_body[0].kind
    else {
        panic!("{else_body:#?}")
    };
    assert_eq!(sx(cond), "b");
    assert_eq!(then_body.len(), 2);
    let last = else_body.as_ref().expect("final else");
    assert!(matches!(&last[0].kind, StmtKind::Fail(m) if sx(m) == "\"no\""));
}

#[test]
fn if_without_else_and_condition_is_not_a_record() {
    // `{` after the condition opens the block, never a record literal.
    let StmtKind::If {
        cond,
        then_body,
        else_body,
    } = only_stmt("if done { log \"x\" }")
    else {
        panic!()
    };
    assert_eq!(sx(&cond), "done");
    assert_eq!(then_body.len(), 1);
    assert!(else_body.is_none());
    let StmtKind::If {
        cond, then_body, ..
    } = only_stmt("if f({a: 1}) == x {}")
    else {
        panic!()
    };
    assert_eq!(sx(&cond), "(== (call f {a: 1}) x)");
    assert!(then_body.is_empty());
}

#[test]
fn for_loop() {
    let StmtKind::For { var, iter, body } =
        only_stmt("for pod in filter(pods, p => p.restarts > 5) {\n  k8s.delete_pod(pod)\n}")
    else {
        panic!()
    };
    assert_eq!(var.name, "pod");
    assert_eq!(
        sx(&iter),
        "(call filter pods (lambda (p) (> (. p restarts) 5)))"
    );
    assert_eq!(body.len(), 1);
    let StmtKind::For { var, iter, .. } = only_stmt("for index in indexes {}") else {
        panic!()
    };
    assert_eq!(
        (var.name.as_str(), sx(&iter).as_str()),
        ("index", "indexes")
    );
}

#[test]
fn expect_with_else_message() {
    match only_stmt("expect len(idle) <= 50 else \"too many idle connections: {len(idle)}\"") {
        StmtKind::Expect {
            cond,
            within,
            every,
            message,
        } => {
            assert_eq!(sx(&cond), "(<= (call len idle) 50)");
            assert!(within.is_none() && every.is_none());
            assert_eq!(
                sx_opt(&message).as_deref(),
                Some("\"too many idle connections: ${(call len idle)}\"")
            );
        }
        other => panic!("{other:#?}"),
    }
    match only_stmt("expect ok within 1m every 10s else \"never became ok\"") {
        StmtKind::Expect {
            within,
            every,
            message,
            ..
        } => {
            assert_eq!(sx_opt(&within).as_deref(), Some("60000ms"));
            assert_eq!(sx_opt(&every).as_deref(), Some("10000ms"));
            assert_eq!(sx_opt(&message).as_deref(), Some("\"never became ok\""));
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn fail_and_log() {
    let all = stmts("log \"starting {name}\"\nfail \"pool still exhausted\"");
    assert!(matches!(&all[0], StmtKind::Log(m) if sx(m) == "\"starting ${name}\""));
    assert!(matches!(&all[1], StmtKind::Fail(m) if sx(m) == "\"pool still exhausted\""));
}

#[test]
fn return_statement_in_fn() {
    assert!(
        matches!(only_stmt_in_fn("return a ?? 1"), StmtKind::Return(x) if sx(&x) == "(?? a 1)")
    );
}

#[test]
fn statements_may_share_a_line() {
    let all = stmts("let a = 1 let b = 2 log \"x\" f(a)");
    assert_eq!(all.len(), 4, "{all:#?}");
}

#[test]
fn statement_spans() {
    let src = "fn f() {\n  let a = 1\n  log \"x\"\n}\n";
    let item = only_item(src);
    let ItemKind::Fn(f) = item.kind else { panic!() };
    let texts: Vec<&str> = f
        .body
        .iter()
        .map(|s| &src[s.span.start..s.span.end])
        .collect();
    assert_eq!(texts, ["let a = 1", "log \"x\""]);
}

// docs/language.md ("Lines"): an expression continues when the next line starts with an
// operator, `(` or `[`.
#[test]
fn a_line_starting_with_an_operator_or_bracket_continues_the_expression() {
    let all = stmts("let a = b\n- 1\nlet c = f\n(1)\nlet d = xs\n[0]\nlet e = x\nand y");
    let shapes: Vec<String> = all
        .iter()
        .map(|s| match s {
            StmtKind::Let { name, value, .. } => format!("{} = {}", name.name, sx(value)),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shapes,
        [
            "a = (- b 1)",
            "c = (call f 1)",
            "d = (idx xs 0)",
            "e = (and x y)"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Test blocks
// ---------------------------------------------------------------------------------------------

#[test]
fn the_example_test_block() {
    let all = test_stmts(
        "mock pg.pool_usage returns [95%, 60%, 60%, 60%]\nmock pg.idle_connections returns [pg.session(pid: 4242, idle: 2h)]\nmock pg.terminate returns 1\nmock slack.post returns none\nrun db_pool_exhaustion\nexpect step kill succeeded\nexpect step restart skipped\nexpect not escalated",
    );
    assert_eq!(all.len(), 8);
    match &all[0] {
        TestStmtKind::Mock {
            target,
            pattern: None,
            outcome: MockOutcome::Returns(v),
        } => {
            assert_eq!(target.to_string(), "pg.pool_usage");
            assert_eq!(sx(v), "[95% 60% 60% 60%]");
        }
        other => panic!("{other:#?}"),
    }
    assert!(
        matches!(&all[1], TestStmtKind::Mock { outcome: MockOutcome::Returns(v), .. } if sx(v) == "[(call (. pg session) pid: 4242 idle: 7200000ms)]")
    );
    assert!(
        matches!(&all[3], TestStmtKind::Mock { outcome: MockOutcome::Returns(v), .. } if sx(v) == "none")
    );
    assert!(
        matches!(&all[4], TestStmtKind::Run { runbook, inputs: None, alert: None, .. } if runbook.name == "db_pool_exhaustion")
    );
    assert!(
        matches!(&all[5], TestStmtKind::ExpectStep { step, outcome: StepOutcome::Succeeded } if step.name == "kill")
    );
    assert!(
        matches!(&all[6], TestStmtKind::ExpectStep { step, outcome: StepOutcome::Skipped } if step.name == "restart")
    );
    assert!(matches!(
        &all[7],
        TestStmtKind::ExpectEscalated { negated: true }
    ));
}

#[test]
fn test_name_is_the_string() {
    let item = only_item("test \"kills idle connections and leaves the pods alone\" {}\n");
    let ItemKind::Test(t) = item.kind else {
        panic!()
    };
    assert_eq!(
        t.name.value,
        "kills idle connections and leaves the pods alone"
    );
    assert!(t.body.is_empty());
}

#[test]
fn mock_fails() {
    match only_test_stmt("mock k8s.delete_pod fails \"forbidden\"") {
        TestStmtKind::Mock {
            target,
            pattern: None,
            outcome: MockOutcome::Fails(m),
        } => {
            assert_eq!(target.to_string(), "k8s.delete_pod");
            assert_eq!(sx(&m), "\"forbidden\"");
        }
        other => panic!("{other:#?}"),
    }
    // An unqualified action name.
    assert!(
        matches!(only_test_stmt("mock restart returns true"), TestStmtKind::Mock { target, .. } if target.segments.len() == 1)
    );
}

/// A pattern as a short string: `_`, a name, `=` and a literal, `[...]` with `..`.
fn pattern_sx(pattern: &ArgPattern) -> String {
    match &pattern.kind {
        ArgPatternKind::Any => "_".to_string(),
        ArgPatternKind::Bind(name) => name.name.clone(),
        ArgPatternKind::Value(value) => format!("={}", sx(value)),
        ArgPatternKind::List { elements, rest } => {
            let mut parts: Vec<String> = elements.iter().map(pattern_sx).collect();
            if *rest {
                parts.push("..".to_string());
            }
            format!("[{}]", parts.join(" "))
        }
    }
}

fn call_pattern_sx(pattern: &CallPattern) -> String {
    let args: Vec<String> = pattern.args.iter().map(pattern_sx).collect();
    match &pattern.guard {
        Some(guard) => format!("({}) where {}", args.join(" "), sx(guard)),
        None => format!("({})", args.join(" ")),
    }
}

#[test]
fn mocks_with_argument_patterns_and_where() {
    let all = test_stmts(
        "mock k8s.delete_pod(p) where p.name == \"api-1\" returns none\n\
         mock shell.run([\"kubectl\", \"get\", ..]) returns \"ok\"\n\
         mock k8s.logs(_, 50) fails \"gone\"\n\
         mock k8s.scale(d, \"prod\", 0) returns none\n\
         mock pg.terminate(db, [s, ..], 1) where s.pid == 42 and db != none returns 1\n\
         mock f([..], [], [a, b], [x,]) returns 1\n\
         mock g() returns 2",
    );
    let shapes: Vec<String> = all
        .iter()
        .map(|stmt| match stmt {
            TestStmtKind::Mock {
                target,
                pattern: Some(pattern),
                ..
            } => format!("{target}{}", call_pattern_sx(pattern)),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shapes,
        [
            "k8s.delete_pod(p) where (== (. p name) \"api-1\")",
            "shell.run([=\"kubectl\" =\"get\" ..])",
            "k8s.logs(_ =50)",
            "k8s.scale(d =\"prod\" =0)",
            "pg.terminate(db [s ..] =1) where (and (== (. s pid) 42) (!= db none))",
            "f([..] [] [a b] [x])",
            "g()",
        ]
    );
    // The outcome still follows.
    assert!(matches!(
        &all[0],
        TestStmtKind::Mock { outcome: MockOutcome::Returns(v), .. } if sx(v) == "none"
    ));
    assert!(matches!(
        &all[2],
        TestStmtKind::Mock { outcome: MockOutcome::Fails(v), .. } if sx(v) == "\"gone\""
    ));
}

#[test]
fn expect_called_with_patterns_where_and_times() {
    let all = test_stmts(
        "expect called k8s.delete_pod(p) where p.name == \"api-1\"\n\
         expect called k8s.delete_pod(p) where p.name == \"api-1\" times 2\n\
         expect not called shell.run([\"rm\", ..])\n\
         expect called k8s.scale(_, _, 0) times 1",
    );
    let shapes: Vec<String> = all
        .iter()
        .map(|stmt| match stmt {
            TestStmtKind::ExpectCalled {
                negated,
                target,
                pattern: Some(pattern),
                times,
            } => format!(
                "{}{target}{} {:?}",
                if *negated { "not " } else { "" },
                call_pattern_sx(pattern),
                times.map(|(n, _)| n)
            ),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shapes,
        [
            "k8s.delete_pod(p) where (== (. p name) \"api-1\") None",
            "k8s.delete_pod(p) where (== (. p name) \"api-1\") Some(2)",
            "not shell.run([=\"rm\" ..]) None",
            "k8s.scale(_ _ =0) Some(1)",
        ]
    );
}

#[test]
fn a_rest_pattern_ends_its_list_and_a_where_needs_patterns() {
    // `..` only at the end of a list pattern.
    assert!(!errors("test \"t\" {\n  mock f([.., \"x\"]) returns 1\n}\n").is_empty());
    // `..` is not a pattern outside a list.
    assert!(!errors("test \"t\" {\n  mock f(..) returns 1\n}\n").is_empty());
    // `where` without argument patterns has nothing to bind.
    assert!(!errors("test \"t\" {\n  mock f where x == 1 returns 1\n}\n").is_empty());
    // A pattern is a literal, a name, `_` or a list: not an expression.
    assert!(!errors("test \"t\" {\n  mock f(a + 1) returns 1\n}\n").is_empty());
}

#[test]
fn set_env_and_secret() {
    let all = test_stmts(
        "set env REGION = \"eu-west-1\"\nset secret ORDERS_DATABASE_URL = \"postgres://test\"",
    );
    match &all[0] {
        TestStmtKind::Set {
            kind: SetKind::Env,
            name,
            value,
        } => {
            assert_eq!(name.name, "REGION");
            assert_eq!(sx(value), "\"eu-west-1\"");
        }
        other => panic!("{other:#?}"),
    }
    assert!(
        matches!(&all[1], TestStmtKind::Set { kind: SetKind::Secret, name, .. } if name.name == "ORDERS_DATABASE_URL")
    );
}

#[test]
fn approve_and_deny_with_and_without_as() {
    let all = test_stmts(
        "approve restart\napprove kill as \"alice\"\ndeny restart\ndeny kill as \"bob\"",
    );
    assert!(
        matches!(&all[0], TestStmtKind::Approve { step, as_user: None, values: None } if step.name == "restart")
    );
    assert!(
        matches!(&all[1], TestStmtKind::Approve { step, as_user: Some(u), values: None } if step.name == "kill" && u.value == "alice")
    );
    assert!(
        matches!(&all[2], TestStmtKind::Deny { step, as_user: None } if step.name == "restart")
    );
    assert!(
        matches!(&all[3], TestStmtKind::Deny { step, as_user: Some(u) } if step.name == "kill" && u.value == "bob")
    );
}

#[test]
fn run_with_inputs_and_alert() {
    let all = test_stmts(
        "run r with { idle_for: 2h, target: 50% }\nrun r alert { labels: {\"db\": \"orders\"}, status: \"firing\" }\nrun r with {target: 1%} alert {labels: {}}\nrun r",
    );
    match &all[0] {
        TestStmtKind::Run {
            runbook,
            inputs,
            alert,
            ..
        } => {
            assert_eq!(runbook.name, "r");
            assert_eq!(
                sx_opt(inputs).as_deref(),
                Some("{idle_for: 7200000ms, target: 50%}")
            );
            assert!(alert.is_none());
        }
        other => panic!("{other:#?}"),
    }
    match &all[1] {
        TestStmtKind::Run { inputs, alert, .. } => {
            assert!(inputs.is_none());
            assert_eq!(
                sx_opt(alert).as_deref(),
                Some("{labels: {\"db\": \"orders\"}, status: \"firing\"}")
            );
        }
        other => panic!("{other:#?}"),
    }
    match &all[2] {
        TestStmtKind::Run { inputs, alert, .. } => {
            assert_eq!(sx_opt(inputs).as_deref(), Some("{target: 1%}"));
            assert_eq!(sx_opt(alert).as_deref(), Some("{labels: {}}"));
        }
        other => panic!("{other:#?}"),
    }
    assert!(matches!(
        &all[3],
        TestStmtKind::Run {
            inputs: None,
            alert: None,
            ..
        }
    ));
}

// Was a bug (fixed in d30e3a8): `with` and `alert` were told apart by the text before the
// record, so a comment ending in "alert" made the inputs the alert.
#[test]
fn run_with_comment_ending_in_alert_keeps_inputs() {
    match only_test_stmt("run r with // not an alert\n { target: 1% }") {
        TestStmtKind::Run { inputs, alert, .. } => {
            assert!(alert.is_none(), "inputs taken as the alert: {alert:#?}");
            assert_eq!(sx_opt(&inputs).as_deref(), Some("{target: 1%}"));
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn expect_step_every_outcome() {
    let all = test_stmts("expect step a succeeded\nexpect step b failed\nexpect step c skipped\nexpect step d denied");
    let outcomes: Vec<(String, StepOutcome)> = all
        .iter()
        .map(|s| match s {
            TestStmtKind::ExpectStep { step, outcome } => (step.name.clone(), *outcome),
            other => panic!("{other:#?}"),
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("a".into(), StepOutcome::Succeeded),
            ("b".into(), StepOutcome::Failed),
            ("c".into(), StepOutcome::Skipped),
            ("d".into(), StepOutcome::Denied),
        ]
    );
}

#[test]
fn expect_escalated_and_not_escalated() {
    let all = test_stmts("expect escalated\nexpect not escalated");
    assert!(matches!(
        &all[0],
        TestStmtKind::ExpectEscalated { negated: false }
    ));
    assert!(matches!(
        &all[1],
        TestStmtKind::ExpectEscalated { negated: true }
    ));
}

#[test]
fn expect_called_times_and_not_called() {
    let all = test_stmts("expect called pg.terminate\nexpect called pg.terminate times 2\nexpect not called k8s.delete_pod");
    match &all[0] {
        TestStmtKind::ExpectCalled {
            negated: false,
            target,
            pattern: None,
            times: None,
        } => assert_eq!(target.to_string(), "pg.terminate"),
        other => panic!("{other:#?}"),
    }
    match &all[1] {
        TestStmtKind::ExpectCalled {
            negated: false,
            target,
            pattern: None,
            times: Some((n, _)),
        } => {
            assert_eq!(target.to_string(), "pg.terminate");
            assert_eq!(*n, 2);
        }
        other => panic!("{other:#?}"),
    }
    match &all[2] {
        TestStmtKind::ExpectCalled {
            negated: true,
            target,
            pattern: None,
            times: None,
        } => assert_eq!(target.to_string(), "k8s.delete_pod"),
        other => panic!("{other:#?}"),
    }
}

#[test]
fn expect_expression_and_let_in_test() {
    let all = test_stmts("let n = 3\nexpect n == 3\nexpect not done\nexpect stepped");
    assert!(
        matches!(&all[0], TestStmtKind::Let { name, value, .. } if name.name == "n" && sx(value) == "3")
    );
    assert!(matches!(&all[1], TestStmtKind::Expect(x) if sx(x) == "(== n 3)"));
    // `expect not X` with a plain expression (not `escalated`/`called`).
    assert!(matches!(&all[2], TestStmtKind::Expect(x) if sx(x) == "(not done)"));
    // A name that starts with `step` is not `expect step`.
    assert!(matches!(&all[3], TestStmtKind::Expect(x) if sx(x) == "stepped"));
}

#[test]
fn expect_names_starting_with_escalated_and_called() {
    let all = test_stmts("expect escalated_count == 0\nexpect called_twice");
    assert!(
        matches!(&all[0], TestStmtKind::Expect(x) if sx(x) == "(== escalated_count 0)"),
        "{all:#?}"
    );
    assert!(
        matches!(&all[1], TestStmtKind::Expect(x) if sx(x) == "called_twice"),
        "{all:#?}"
    );
}

#[test]
fn test_statement_spans() {
    let src = "test \"t\" {\n  mock a.b returns 1\n  expect called a.b times 1\n}\n";
    let item = only_item(src);
    let ItemKind::Test(t) = item.kind else {
        panic!()
    };
    let texts: Vec<&str> = t
        .body
        .iter()
        .map(|s| &src[s.span.start..s.span.end])
        .collect();
    assert_eq!(texts, ["mock a.b returns 1", "expect called a.b times 1"]);
}

// ---------------------------------------------------------------------------------------------
// Doc comments
// ---------------------------------------------------------------------------------------------

#[test]
fn doc_comments_on_items_steps_externs_fields() {
    let file = parse_ok(
        "/// The module.\nuse std.k8s\n\n/// A runbook.\nrunbook r {\n  /// A step.\n  /// More.\n  step s { }\n  /// A verify.\n  verify v { expect true }\n  input {\n    /// A field.\n    x: int\n  }\n}\n/// A fn.\nfn f() {}\n/// A const.\nconst c: int = 1\n/// A test.\ntest \"t\" {}\n",
    );
    let docs: Vec<Option<&str>> = file.items.iter().map(|i| i.doc.as_deref()).collect();
    assert_eq!(
        docs,
        [
            Some("The module."),
            Some("A runbook."),
            Some("A fn."),
            Some("A const."),
            Some("A test.")
        ]
    );
    let r = runbook_of(&file.items[1]);
    let ClauseKind::Step(s) = &r.clauses[0].kind else {
        panic!()
    };
    assert_eq!(s.doc.as_deref(), Some("A step.\nMore."));
    let ClauseKind::Step(v) = &r.clauses[1].kind else {
        panic!()
    };
    assert_eq!(v.doc.as_deref(), Some("A verify."));
    let ClauseKind::Input(fields) = &r.clauses[2].kind else {
        panic!()
    };
    assert_eq!(fields[0].doc.as_deref(), Some("A field."));
}

#[test]
fn plain_comment_is_not_a_doc_comment() {
    let item = only_item("// Not a doc.\nrunbook r {}\n");
    assert!(item.doc.is_none());
    let item = only_item("/// Doc.\n// plain\nrunbook r {}\n");
    assert_eq!(
        item.doc.as_deref(),
        Some("Doc."),
        "a plain comment between doc and item"
    );
}

#[test]
fn doc_comment_keeps_inner_indentation_and_empty_lines() {
    let item = only_item("/// Title.\n///\n///   indented\nrunbook r {}\n");
    assert_eq!(item.doc.as_deref(), Some("Title.\n\n  indented"));
}

// ---------------------------------------------------------------------------------------------
// Errors and recovery
// ---------------------------------------------------------------------------------------------

#[test]
fn two_broken_runbooks_report_two_errors_and_keep_the_good_one() {
    let src = "runbook first {\n  title \"First\"\n  step a {\n    let = 1\n  }\n}\n\nrunbook good {\n  title \"Good\"\n  step ok {\n    log \"fine\"\n  }\n}\n\nrunbook second {\n  title \"Second\"\n  step b {\n    log \"x\" +\n  }\n}\n";
    let out = parse_all(src);
    let errs = syntax_errors(&out.diagnostics);
    assert_eq!(errs.len(), 2, "{:#?}", out.diagnostics);
    assert_eq!(out.diagnostics.len(), 2, "{:#?}", out.diagnostics);
    assert!(errs[0].primary.span.start < src.find("runbook good").unwrap());
    assert!(errs[1].primary.span.start > src.find("runbook second").unwrap());
    let names: Vec<&str> = out
        .file
        .items
        .iter()
        .filter_map(|i| match &i.kind {
            ItemKind::Runbook(r) => Some(r.name.name.as_str()),
            _ => None,
        })
        .collect();
    assert!(names.contains(&"good"), "{names:?}");
    let good = out
        .file
        .items
        .iter()
        .find_map(|i| match &i.kind {
            ItemKind::Runbook(r) if r.name.name == "good" => Some(r),
            _ => None,
        })
        .unwrap();
    let ClauseKind::Step(ok) = &good.clauses[1].kind else {
        panic!("{good:#?}")
    };
    assert_eq!(ok.name.name, "ok");
    assert_eq!(ok.body.len(), 1);
}

#[test]
fn two_broken_items_report_two_errors_and_keep_the_good_one() {
    // Errors at the item level (not inside a block).
    let src = "runbook { }\n\nrunbook good {\n  title \"Good\"\n}\n\nfn ( {\n}\n";
    let out = parse_all(src);
    assert_eq!(
        syntax_errors(&out.diagnostics).len(),
        2,
        "{:#?}",
        out.diagnostics
    );
    assert!(
        out.file
            .items
            .iter()
            .any(|i| matches!(&i.kind, ItemKind::Runbook(r) if r.name.name == "good")),
        "{:#?}",
        out.file.items
    );
}

#[test]
fn good_clauses_after_a_broken_line_still_parse() {
    let src = "runbook r {\n  title \"T\"\n  owner 42\n  trigger manual\n}\n";
    let out = parse_all(src);
    assert_eq!(out.diagnostics.len(), 1, "{:#?}", out.diagnostics);
    let ItemKind::Runbook(r) = &out.file.items[0].kind else {
        panic!()
    };
    assert!(
        matches!(
            r.clauses.last().map(|c| &c.kind),
            Some(ClauseKind::Trigger(Trigger::Manual))
        ),
        "{r:#?}"
    );
}

#[test]
fn missing_close_paren_is_never_closed() {
    let src = "runbook r {\n  step s {\n    pg.terminate(db, idle\n    log \"after\"\n  }\n}\n";
    let out = parse_all(src);
    let errs = syntax_errors(&out.diagnostics);
    assert_eq!(errs.len(), 1, "{:#?}", out.diagnostics);
    assert!(
        errs[0].message.contains("is never closed"),
        "{:#?}",
        errs[0]
    );
    let paren = src.find("(db").unwrap();
    assert_eq!(errs[0].primary.span, Span::new(paren, paren + 1));
    assert!(errs[0].help.contains(')'), "{:#?}", errs[0]);
}

#[test]
fn missing_close_paren_in_a_let_is_never_closed() {
    let out = parse_all("fn f() {\n  let x = len(xs\n}\n");
    let errs = syntax_errors(&out.diagnostics);
    assert_eq!(errs.len(), 1, "{:#?}", out.diagnostics);
    assert!(
        errs[0].message.contains("is never closed"),
        "{:#?}",
        errs[0]
    );
}

#[test]
fn options_after_statements_get_help() {
    for option in [
        "retry 3",
        "timeout 5m",
        "approval none reason \"x\"",
        "on failure continue",
        "approval required",
    ] {
        let src = format!("runbook r {{\n  step s {{\n    log \"first\"\n    {option}\n  }}\n}}\n");
        let out = parse_all(&src);
        let errs = syntax_errors(&out.diagnostics);
        assert_eq!(errs.len(), 1, "{option}: {:#?}", out.diagnostics);
        assert!(
            errs[0].help.contains("step options") && errs[0].help.contains("first"),
            "{option}: {:#?}",
            errs[0]
        );
        let at = src.find(option).unwrap();
        assert!(errs[0].primary.span.start >= at, "{option}: {:#?}", errs[0]);
    }
}

#[test]
fn statement_in_runbook_gets_help() {
    let out = parse_all("runbook r {\n  let x = 1\n}\n");
    let errs = syntax_errors(&out.diagnostics);
    assert_eq!(errs.len(), 1, "{:#?}", out.diagnostics);
    assert!(errs[0].help.contains("inside a `step`"), "{:#?}", errs[0]);
}

#[test]
fn assignment_without_let_gets_help() {
    let out = parse_all("fn f() {\n  x = 1\n}\n");
    let errs = syntax_errors(&out.diagnostics);
    assert_eq!(errs.len(), 1, "{:#?}", out.diagnostics);
    assert!(errs[0].help.contains("let NAME = VALUE"), "{:#?}", errs[0]);
}

#[test]
fn unterminated_string_is_reported() {
    let out = parse_all("runbook r {\n  title \"oops\n  trigger manual\n}\n");
    assert!(
        !syntax_errors(&out.diagnostics).is_empty(),
        "{:#?}",
        out.diagnostics
    );
}

#[test]
fn unclosed_runbook_brace_is_reported() {
    let out = parse_all("runbook r {\n  title \"x\"\n");
    assert!(
        !syntax_errors(&out.diagnostics).is_empty(),
        "{:#?}",
        out.diagnostics
    );
}

#[test]
fn garbage_at_top_level_is_one_error() {
    let out = parse_all("this is not rbk\nneither is this\nrunbook ok {}\n");
    assert_eq!(
        syntax_errors(&out.diagnostics).len(),
        1,
        "{:#?}",
        out.diagnostics
    );
    assert!(out
        .file
        .items
        .iter()
        .any(|i| matches!(&i.kind, ItemKind::Runbook(r) if r.name.name == "ok")));
}

#[test]
fn error_in_test_block_is_reported_and_rest_parses() {
    let out = parse_all("test \"t\" {\n  mock returns 1\n  run r\n  expect step s succeeded\n}\n");
    assert_eq!(
        syntax_errors(&out.diagnostics).len(),
        1,
        "{:#?}",
        out.diagnostics
    );
    let ItemKind::Test(t) = &out.file.items[0].kind else {
        panic!()
    };
    assert_eq!(t.body.len(), 2, "{t:#?}");
}

#[test]
fn bad_step_outcome_is_reported() {
    let out = parse_all("test \"t\" {\n  expect step s exploded\n}\n");
    assert!(
        !syntax_errors(&out.diagnostics).is_empty(),
        "{:#?}",
        out.diagnostics
    );
}

#[test]
fn bad_effect_is_reported() {
    let out = parse_all("extern action a() effect catastrophic\n");
    assert!(
        !syntax_errors(&out.diagnostics).is_empty(),
        "{:#?}",
        out.diagnostics
    );
}

#[test]
fn nesting_limit() {
    let ok = format!(
        "fn f() {{\n let x = {}1{}\n}}\n",
        "(".repeat(100),
        ")".repeat(100)
    );
    assert!(errors(&ok).is_empty());
    let deep = format!(
        "fn f() {{\n let x = {}1{}\n}}\n",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    let diags = errors(&deep);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0].code, Code::NestingTooDeep);
}

#[test]
fn long_prefix_chain_is_refused_not_overflowed() {
    let src = format!("fn f() {{\n let x = {}x\n}}\n", "not ".repeat(2000));
    let result = std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || errors(&src))
        .unwrap()
        .join()
        .expect("no panic");
    assert!(
        result.iter().any(|d| d.code == Code::NestingTooDeep),
        "{result:#?}"
    );
}

#[test]
fn empty_and_whitespace_files() {
    for src in ["", "\n\n", "   \t\r\n", "// only a comment", "// a\n// b\n"] {
        let file = parse_ok(src);
        assert!(file.items.is_empty());
    }
}

#[test]
fn doc_comment_at_end_of_file_is_an_error_not_a_panic() {
    let out = parse_all("runbook r {}\n/// dangling\n");
    assert!(!out.diagnostics.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Issue 10: `mode`, several alerts in a test, what alerts did
// ---------------------------------------------------------------------------------------------

#[test]
fn mode_shadow_and_mode_live() {
    let all = clauses("mode shadow\nmode live");
    assert!(matches!(all[0], ClauseKind::Mode(RunMode::Shadow)));
    assert!(matches!(all[1], ClauseKind::Mode(RunMode::Live)));
    let item = only_item("runbook r {\n  mode shadow\n}\n");
    assert_eq!(runbook_mode(runbook_of(&item)), RunMode::Shadow);
    let item = only_item("runbook r {\n  title \"t\"\n}\n");
    assert_eq!(
        runbook_mode(runbook_of(&item)),
        RunMode::Live,
        "live by default"
    );
}

#[test]
fn mode_is_a_name_outside_the_clause() {
    let item = only_item(
        "fn f(mode: string, live: bool, shadow: int, alerts: int) -> string {\n  return mode\n}\n",
    );
    assert!(matches!(item.kind, ItemKind::Fn(_)));
}

#[test]
fn an_unknown_mode_is_a_syntax_error() {
    let found = errors("runbook r {\n  mode dry\n}\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].code, Code::SyntaxError);
}

#[test]
fn run_with_several_alerts() {
    match only_test_stmt(
        "run r alerts [{labels: {\"db\": \"orders\"}}, {labels: {\"db\": \"billing\"}},]",
    ) {
        TestStmtKind::Run { alert, alerts, .. } => {
            assert!(alert.is_none());
            let shown: Vec<String> = alerts.iter().map(sx).collect();
            assert_eq!(
                shown,
                [
                    "{labels: {\"db\": \"orders\"}}",
                    "{labels: {\"db\": \"billing\"}}"
                ]
            );
        }
        other => panic!("{other:#?}"),
    }
    match only_test_stmt("run r with {target: 1%} alerts []") {
        TestStmtKind::Run { inputs, alerts, .. } => {
            assert!(inputs.is_some());
            assert!(alerts.is_empty());
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn expect_triggered_coalesced_suppressed() {
    let all = test_stmts(
        "expect triggered\nexpect not triggered\nexpect coalesced times 2\nexpect not suppressed\nexpect suppressed times 1",
    );
    let shown: Vec<(bool, TriggerOutcome, Option<u64>)> = all
        .iter()
        .map(|s| match s {
            TestStmtKind::ExpectTrigger {
                negated,
                outcome,
                times,
            } => (*negated, *outcome, times.map(|(n, _)| n)),
            other => panic!("{other:#?}"),
        })
        .collect();
    assert_eq!(
        shown,
        [
            (false, TriggerOutcome::Triggered, None),
            (true, TriggerOutcome::Triggered, None),
            (false, TriggerOutcome::Coalesced, Some(2)),
            (true, TriggerOutcome::Suppressed, None),
            (false, TriggerOutcome::Suppressed, Some(1)),
        ]
    );
}

#[test]
fn templates_and_their_instances_parse() {
    let src = "template restart(app: string, max: int = 2) {\n  title \"Restart {app}\"\n  concurrency max\n}\n\nrunbook orders = restart(app: \"orders\")\nrunbook billing = restart(\"billing\", max: 3)\n";
    let file = parse_ok(src);
    let ItemKind::Template(template) = &file.items[0].kind else {
        panic!("a template: {:?}", file.items[0].kind)
    };
    assert_eq!(template.name.name, "restart");
    assert_eq!(template.params.len(), 2);
    assert_eq!(template.clauses.len(), 2);
    // `{app}` is kept as a placeholder for the instance to fill.
    let ClauseKind::Title(title) = &template.clauses[0].kind else {
        panic!("a title")
    };
    assert_eq!(
        title.value,
        format!(
            "Restart {}app{}",
            crate::syntax::PLACEHOLDER_OPEN,
            crate::syntax::PLACEHOLDER_CLOSE
        )
    );
    let ItemKind::Instance(billing) = &file.items[2].kind else {
        panic!("an instance")
    };
    assert_eq!(billing.name.name, "billing");
    assert_eq!(billing.template.name, "restart");
    assert_eq!(billing.args.len(), 2);
    assert_eq!(
        billing.args[1].name.as_ref().map(|n| n.name.as_str()),
        Some("max")
    );
    assert_eq!(
        &src[billing.args_span.start..billing.args_span.end],
        "(\"billing\", max: 3)"
    );
}

// ---------------------------------------------------------------------------------------------
// Decisions that carry values and branch
// ---------------------------------------------------------------------------------------------

#[test]
fn approval_asks_for_typed_values_last_in_the_gate() {
    match only_option(
        "approval required 2 from \"sre\" timeout 5m on timeout deny reason \"r\" ask { new_size: int, why: string, }",
    ) {
        StepOptionKind::ApprovalRequired {
            quorum, reason, ask, ..
        } => {
            assert_eq!(quorum.map(|(n, _)| n), Some(2));
            assert!(reason.is_some());
            let asked: Vec<(&str, Option<&str>)> = ask
                .iter()
                .map(|f| (f.name.name.as_str(), f.type_name()))
                .collect();
            assert_eq!(asked, [("new_size", Some("int")), ("why", Some("string"))]);
        }
        other => panic!("{other:#?}"),
    }
}

#[test]
fn approve_with_values() {
    let all = test_stmts("approve resize as \"frank\" with { new_size: 5 }\napprove plain with {}");
    match &all[0] {
        TestStmtKind::Approve {
            step,
            as_user: Some(user),
            values: Some(values),
        } => {
            assert_eq!(
                (step.name.as_str(), user.value.as_str()),
                ("resize", "frank")
            );
            assert_eq!(sx(values), "{new_size: 5}");
        }
        other => panic!("{other:#?}"),
    }
    assert!(matches!(
        &all[1],
        TestStmtKind::Approve {
            as_user: None,
            values: Some(_),
            ..
        }
    ));
}

#[test]
fn step_outcomes_and_asked_values_are_expressions() {
    assert_eq!(
        e("step.check.failed and not step.a.succeeded or step.b.skipped"),
        "(or (and (step check failed) (not (step a succeeded))) (step b skipped))"
    );
    assert_eq!(
        e("approval.new_size * 2 + len(approval.names)"),
        "(+ (* (approval new_size) 2) (call len (approval names)))"
    );
    // `step` and `approval` stay keywords: alone they are not names.
    assert!(!errors("runbook r {\n  step s {\n    let x = step\n  }\n}\n").is_empty());
    assert!(!errors("runbook r {\n  step s {\n    let x = step.a.done\n  }\n}\n").is_empty());
}

//! Robustness: no input makes the compiler panic, hang or overflow its stack.
//!
//! (a) random bytes and random rbk-ish token soup, (b) mutations of every example, (c) deep
//! nesting, long chains and huge literals, (d) mutated examples through the `rbk` binary.
//! Everything the library runs here runs on a thread with a 256 MB stack, as the CLI does.
//! Case counts are bounded so the whole file runs in well under a minute in a debug build.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rbk_compiler::diagnostics::{formats, MietteDiagnostic};
use rbk_compiler::project::StdOnly;
use rbk_compiler::{check, plan, Analysis, CheckOptions};

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

const STACK: usize = 256 * 1024 * 1024;

/// Runs `f` on a thread with a 256 MB stack (as the CLI does) and re-raises its panic.
fn on_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Everything a user can make the compiler do with one file: check it, render every diagnostic
/// (human, JSON, SARIF, GitHub) and build the plan. Panics on any broken span.
fn exercise(text: String) -> Analysis {
    let analysis = check(
        vec![(PathBuf::from("fuzz.rbk"), text)],
        &StdOnly(rbk_stdlib::MODULES),
        &CheckOptions::default(),
    );
    for (n, diagnostic) in analysis.diagnostics.iter().enumerate() {
        let file = analysis.file(diagnostic.file);
        for span in std::iter::once(&diagnostic.primary.span)
            .chain(diagnostic.secondary.iter().map(|l| &l.span))
        {
            assert!(
                span.start <= span.end && span.end <= file.text.len(),
                "span {span:?} outside the {} bytes of {}: {diagnostic:#?}",
                file.text.len(),
                file.path.display()
            );
        }
        // Rendering is linear in the length of the line, so thousands of diagnostics on one
        // long line are slow to render (as they are in the CLI); the first 50 are enough. Lines
        // longer than 65535 characters make miette panic: see
        // `human_output_of_a_diagnostic_past_column_65535`.
        let line = file.lines.line_of(diagnostic.primary.span.start);
        let line_len = file.text[file.lines.line_start(line).min(file.text.len())..]
            .split('\n')
            .next()
            .map_or(0, str::len);
        if n >= 50 || line_len > 60_000 {
            continue;
        }
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .with_links(false);
        let report = MietteDiagnostic::new(
            diagnostic.clone(),
            &file.path.display().to_string(),
            &file.text,
        );
        let mut out = String::new();
        let _ = handler.render_report(&mut out, &report);
    }
    let records = formats::records(&analysis, &analysis.diagnostics);
    let _ = formats::json(&records);
    let _ = formats::sarif(&records);
    let _ = formats::github(&records);
    for &root in &analysis.roots {
        let _ = plan::build(&analysis, analysis.module(root));
    }
    analysis
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        // Shrinking a slow input can take long; a few hundred steps find a small one.
        max_shrink_iters: 300,
        ..Config::default()
    }
}

/// Runs a property on a big stack; a failing case is reported (shrunk) as a test failure.
fn run_property<S, F>(cases: u32, strategy: impl FnOnce() -> S + Send + 'static, test: F)
where
    S: Strategy,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static,
{
    on_big_stack(move || {
        let mut runner = TestRunner::new(config(cases));
        if let Err(error) = runner.run(&strategy(), test) {
            panic!("{error}");
        }
    });
}

const EXAMPLES: &[(&str, &str)] = &[
    (
        "certificate_expiry.rbk",
        include_str!("../examples/certificate_expiry.rbk"),
    ),
    (
        "crashlooping_pod.rbk",
        include_str!("../examples/crashlooping_pod.rbk"),
    ),
    (
        "cronjob_failed.rbk",
        include_str!("../examples/cronjob_failed.rbk"),
    ),
    (
        "db_pool_exhaustion.rbk",
        include_str!("../examples/db_pool_exhaustion.rbk"),
    ),
    (
        "disk_almost_full.rbk",
        include_str!("../examples/disk_almost_full.rbk"),
    ),
    (
        "node_disk_filling_up.rbk",
        include_str!("../examples/node_disk_filling_up.rbk"),
    ),
    (
        "pod_crash_looping.rbk",
        include_str!("../examples/pod_crash_looping.rbk"),
    ),
    (
        "pool_exhaustion_fleet.rbk",
        include_str!("../examples/pool_exhaustion_fleet.rbk"),
    ),
    (
        "pvc_filling_up.rbk",
        include_str!("../examples/pvc_filling_up.rbk"),
    ),
    (
        "replication_lag.rbk",
        include_str!("../examples/replication_lag.rbk"),
    ),
];

#[test]
fn the_example_list_is_complete() {
    let mut on_disk: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
            .expect("examples/")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".rbk"))
            .collect();
    on_disk.sort();
    let listed: Vec<&str> = EXAMPLES.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        on_disk, listed,
        "add new examples to EXAMPLES in tests/fuzz.rs"
    );
}

#[test]
fn the_examples_check_cleanly() {
    on_big_stack(|| {
        for (name, text) in EXAMPLES {
            let analysis = exercise(text.to_string());
            assert!(
                !analysis.has_errors(),
                "{name}: {:#?}",
                analysis.diagnostics
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// (a) Random input
// ---------------------------------------------------------------------------------------------

const TOKENS: &[&str] = &[
    // keywords
    "use",
    "runbook",
    "fn",
    "const",
    "test",
    "extern",
    "action",
    "effect",
    "type",
    "title",
    "owner",
    "trigger",
    "alert",
    "schedule",
    "manual",
    "where",
    "input",
    "concurrency",
    "per",
    "rate",
    "by",
    "timeout",
    "escalate",
    "step",
    "verify",
    "notify",
    "when",
    "approval",
    "required",
    "none",
    "from",
    "on",
    "deny",
    "approve",
    "reason",
    "retry",
    "every",
    "backoff",
    "exponential",
    "failure",
    "continue",
    "abort",
    "let",
    "if",
    "else",
    "for",
    "in",
    "expect",
    "within",
    "fail",
    "log",
    "return",
    "mock",
    "returns",
    "fails",
    "set",
    "env",
    "secret",
    "run",
    "with",
    "called",
    "times",
    "not",
    "and",
    "or",
    "true",
    "false",
    "succeeded",
    "failed",
    "skipped",
    "denied",
    "escalated",
    "read",
    "write",
    "destructive",
    "safe_to_auto_approve",
    "list",
    "map",
    // names
    "x",
    "db",
    "pg",
    "k8s",
    "slack",
    "pagerduty",
    "std",
    "std.postgres",
    "std.k8s",
    "pg.Database",
    "pg.pool_usage",
    "k8s.delete_pod",
    "alert.labels",
    "run.summary",
    "len",
    "filter",
    "letter",
    "int",
    "string",
    "duration",
    "percent",
    "bool",
    "secret(\"X\")",
    "env(\"X\")",
    // punctuation and operators
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "<",
    ">",
    ",",
    ":",
    ".",
    "=",
    "==",
    "!=",
    "<=",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "??",
    "?",
    "=>",
    "->",
    "%",
    "\"",
    "\"\"\"",
    "\\{",
    "\\",
    "{x}",
    "//",
    "///",
    "#",
    // literals
    "0",
    "1",
    "42",
    "1.5",
    "70%",
    "12.5%",
    "5m",
    "30s",
    "250ms",
    "1h30m",
    "2d",
    "99999999999999999999",
    "\"text\"",
    "\"a {x} b\"",
    "\"\\{\"",
    "\"\"\"\nSQL {x}\n\"\"\"",
    // whitespace
    " ",
    " ",
    " ",
    "\n",
    "\n",
    "\t",
    "\r\n",
    // bigger pieces of real syntax
    "runbook r {",
    "step s {",
    "verify v {",
    "test \"t\" {",
    "approval required",
    "approval none reason \"x\"",
    "use std.postgres as pg\n",
    "trigger alert \"A\" where ",
    "input { a: int = 1 }",
    "x => x",
    "(a, b) => a",
    "mock pg.terminate returns ",
    "expect step s ",
    "run r with {a: 1}",
    "extern action a(x: int) -> int effect destructive",
    "type T = {a: int}",
    "é",
    "😀",
    "\u{0}",
];

fn token_soup(max_tokens: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 0..max_tokens)
        .prop_map(|tokens| tokens.concat())
}

#[test]
fn random_bytes_never_panic() {
    run_property(
        160,
        || prop::collection::vec(any::<u8>(), 0..600),
        |bytes| {
            exercise(String::from_utf8_lossy(&bytes).into_owned());
            Ok(())
        },
    );
}

#[test]
fn random_token_soup_never_panics() {
    run_property(
        240,
        || token_soup(160),
        |text| {
            exercise(text);
            Ok(())
        },
    );
}

#[test]
fn random_tokens_inside_a_step_never_panic() {
    // Inside a well-formed skeleton the checker and lints get to see the soup, not only the parser.
    run_property(
        200,
        || (token_soup(60), token_soup(20), prop::bool::ANY),
        |(body, clause, with_imports)| {
            let imports = if with_imports {
                "use std.postgres as pg\nuse std.k8s\nuse std.slack\nuse std.pagerduty\n"
            } else {
                ""
            };
            exercise(format!(
                "{imports}runbook r {{\n  title \"t\"\n  {clause}\n  step s {{\n    {body}\n  }}\n}}\ntest \"t\" {{\n  {clause}\n  run r\n}}\n"
            ));
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// (b) Mutated examples
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
    /// Insert a slice of another example (index, from, len) at a position.
    Insert(usize, usize, usize, usize),
    Swap(usize, usize, usize, usize),
    InsertToken(usize, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = any::<usize>;
    prop_oneof![
        n().prop_map(Mutation::Truncate),
        (n(), 0usize..200).prop_map(|(a, l)| Mutation::Delete(a, l)),
        (n(), 0usize..400).prop_map(|(a, l)| Mutation::Duplicate(a, l)),
        (n(), n(), 0usize..400, n()).prop_map(|(e, a, l, at)| Mutation::Insert(e, a, l, at)),
        (n(), 0usize..200, n(), 0usize..200).prop_map(|(a, l, b, m)| Mutation::Swap(a, l, b, m)),
        (n(), prop::sample::select(TOKENS)).prop_map(|(at, t)| Mutation::InsertToken(at, t)),
    ]
}

fn slice_at(len: usize, start: usize, width: usize) -> (usize, usize) {
    if len == 0 {
        return (0, 0);
    }
    let start = start % len;
    (start, (start + width).min(len))
}

fn apply(text: &mut Vec<u8>, mutation: &Mutation) {
    let len = text.len();
    match *mutation {
        Mutation::Truncate(at) => text.truncate(at % (len + 1)),
        Mutation::Delete(a, l) => {
            let (s, e) = slice_at(len, a, l);
            text.drain(s..e);
        }
        Mutation::Duplicate(a, l) => {
            let (s, e) = slice_at(len, a, l);
            let copy = text[s..e].to_vec();
            text.splice(e..e, copy);
        }
        Mutation::Insert(example, a, l, at) => {
            let source = EXAMPLES[example % EXAMPLES.len()].1.as_bytes();
            let (s, e) = slice_at(source.len(), a, l);
            let at = at % (len + 1);
            text.splice(at..at, source[s..e].iter().copied());
        }
        Mutation::Swap(a, l, b, m) => {
            let (s1, e1) = slice_at(len, a, l);
            let (s2, e2) = slice_at(len, b, m);
            let ((s1, e1), (s2, e2)) = if s1 <= s2 {
                ((s1, e1), (s2, e2))
            } else {
                ((s2, e2), (s1, e1))
            };
            if e1 <= s2 {
                let mut out = Vec::with_capacity(len);
                out.extend_from_slice(&text[..s1]);
                out.extend_from_slice(&text[s2..e2]);
                out.extend_from_slice(&text[e1..s2]);
                out.extend_from_slice(&text[s1..e1]);
                out.extend_from_slice(&text[e2..]);
                *text = out;
            }
        }
        Mutation::InsertToken(at, token) => {
            let at = at % (len + 1);
            text.splice(at..at, token.bytes());
        }
    }
}

fn mutated_example() -> impl Strategy<Value = (usize, Vec<Mutation>)> {
    (0..EXAMPLES.len(), prop::collection::vec(mutation(), 1..5))
}

fn mutate(example: usize, mutations: &[Mutation]) -> String {
    let mut text = EXAMPLES[example].1.as_bytes().to_vec();
    for m in mutations {
        apply(&mut text, m);
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn mutated_examples_never_panic() {
    run_property(250, mutated_example, |(example, mutations)| {
        exercise(mutate(example, &mutations));
        Ok(())
    });
}

#[test]
fn every_truncation_of_the_contract_example_never_panics() {
    // Exhaustive over line ends: the state a file is in while it is being typed.
    on_big_stack(|| {
        let text = EXAMPLES[2].1;
        for (at, _) in text.match_indices('\n') {
            exercise(text[..at].to_string());
        }
    });
}

// ---------------------------------------------------------------------------------------------
// (c) Deep nesting, long chains, huge literals
// ---------------------------------------------------------------------------------------------

/// Checks `text` on a big stack. Speed is not asserted (benchmarks measure it); set
/// RBK_FUZZ_TIMES to see how long each case takes.
fn survives(what: &str, text: String) -> Analysis {
    let started = Instant::now();
    let analysis = on_big_stack(move || exercise(text));
    if std::env::var_os("RBK_FUZZ_TIMES").is_some() {
        eprintln!("{what}: {:?}", started.elapsed());
    }
    analysis
}

fn in_fn(expr: &str) -> String {
    format!("fn f() -> int {{\n  let v = {expr}\n  return 1\n}}\n")
}

const DEEP: &[usize] = &[100, 129, 1_000, 100_000];

#[test]
fn deep_unclosed_brackets() {
    for &n in DEEP {
        for open in ["(", "[", "{"] {
            survives(&format!("top-level {open} x {n}"), open.repeat(n));
            // Unclosed `{` inside a block: see `unclosed_braces_in_a_block_finish_quickly`.
            if open != "{" || n > 128 {
                survives(&format!("{open} x {n}"), in_fn(&open.repeat(n)));
            }
        }
    }
}

// Error recovery inside a block was once exponential in the number of unclosed `{` (20 took
// ~17 s, each more ~2.2x). With 100 it would never finish; now it is linear, so this completes.
#[test]
fn unclosed_braces_in_a_block_finish() {
    on_big_stack(|| exercise(in_fn(&"{".repeat(100))));
}

// The same recovery from one stray `{` on each line of a step (20 lines took ~76 s), and from
// 100 unclosed `if true {` lines (never finished).
#[test]
fn stray_braces_on_many_lines_finish() {
    let lines = "    log \"x\" {\n".repeat(100);
    on_big_stack(move || exercise(format!("runbook r {{\n  step s {{\n{lines}  }}\n}}\n")));
    let ifs = "  if true {\n".repeat(100);
    on_big_stack(move || exercise(format!("fn f() {{\n{ifs}}}\n")));
}

#[test]
fn deep_closed_brackets() {
    for &n in DEEP {
        for (open, close) in [("(", ")"), ("[", "]"), ("{", "}")] {
            let inner = if open == "{" { "a: 1" } else { "1" };
            let expr = format!("{}{inner}{}", open.repeat(n), close.repeat(n));
            let analysis = survives(&format!("{open}{close} x {n}"), in_fn(&expr));
            if n > 128 {
                assert!(
                    analysis.has_errors(),
                    "{open}{close} x {n} should be refused"
                );
            }
        }
    }
}

#[test]
fn deep_mixed_brackets_and_interpolations() {
    for &n in DEEP {
        survives(&format!("([{{ x {n}"), in_fn(&"([{".repeat(n)));
        survives(&format!("f( x {n}"), in_fn(&"f(".repeat(n)));
        let interp = format!("{}x{}", "\"{".repeat(n), "}\"".repeat(n));
        survives(&format!("interpolation x {n}"), in_fn(&interp));
    }
}

#[test]
fn deep_brackets_after_a_string() {
    // The bracket-depth pre-check must also count brackets that follow a string literal.
    for &n in &[1_000usize, 100_000] {
        let expr = format!("\"\" + {}1{}", "(".repeat(n), ")".repeat(n));
        let analysis = survives(&format!("string then ( x {n}"), in_fn(&expr));
        assert!(
            analysis.has_errors(),
            "string then ( x {n} should be refused as too deep"
        );
    }
}

#[test]
fn long_operator_chains() {
    let n = 10_000;
    let chains = [
        ("1 + 1", vec!["1"; n].join(" + ")),
        ("a - b * c", vec!["1 - 2 * 3"; n / 3].join(" - ")),
        ("and/or", vec!["true and false"; n / 2].join(" or ")),
        ("??", vec!["none"; n].join(" ?? ")),
        ("==", vec!["1"; n].join(" == ")),
    ];
    for (what, expr) in chains {
        survives(what, in_fn(&expr));
    }
}

#[test]
fn long_prefix_chains() {
    survives("not x 10000", in_fn(&format!("{}x", "not ".repeat(10_000))));
    survives("- x 10000", in_fn(&format!("{}1", "-".repeat(10_000))));
    survives("- - x 10000", in_fn(&format!("{}1", "- ".repeat(10_000))));
    survives("not - x", in_fn(&format!("{}x", "not -".repeat(5_000))));
}

#[test]
fn long_postfix_chains() {
    survives("field chain", in_fn(&format!("x{}", ".y".repeat(10_000))));
    survives("call chain", in_fn(&format!("f{}", "()".repeat(10_000))));
    survives("index chain", in_fn(&format!("x{}", "[0]".repeat(10_000))));
}

#[test]
fn long_lambda_chain() {
    survives(
        "lambda chain 10000",
        in_fn(&format!("{}x", "x => ".repeat(10_000))),
    );
}

#[test]
fn long_else_if_chain() {
    let chain = format!("if a {{ }}{}", " else if a { }".repeat(1_000));
    survives(
        "else if x 1000",
        format!("fn f(a: bool) {{\n  {chain}\n}}\n"),
    );
}

// `else if` chains once recursed in the parser (10000 links overflowed a 256 MB stack); the
// grammar now reads them as a flat list and refuses more than 256 links with E0002.
#[test]
fn else_if_chain_of_10000_does_not_overflow() {
    let chain = format!("if a {{ }}{}", " else if a { }".repeat(10_000));
    survives(
        "else if x 10000",
        format!("fn f(a: bool) {{\n  {chain}\n}}\n"),
    );
}

#[test]
fn deep_type_nesting() {
    // `list<` x 10000 parses in ~4 s in a debug build (quadratic); 1000 is enough here.
    for n in [100usize, 1_000] {
        let ty = format!("{}int{}", "list<".repeat(n), ">".repeat(n));
        survives(&format!("list< x {n}"), format!("const c: {ty} = []\n"));
        let ty = format!("{}int{}", "{a: ".repeat(n), "}".repeat(n));
        survives(&format!("{{a: x {n}"), format!("const c: {ty} = none\n"));
    }
}

#[test]
fn huge_literals_and_lines() {
    let mb = 1 << 20;
    survives("1 MB string", in_fn(&format!("\"{}\"", "a".repeat(mb))));
    survives(
        "1 MB unterminated string",
        in_fn(&format!("\"{}", "a".repeat(mb))),
    );
    survives(
        "1 MB multi-line string",
        in_fn(&format!("\"\"\"{}\"\"\"", "a\n".repeat(mb / 2))),
    );
    survives(
        "1 MB of braces in a string",
        in_fn(&format!("\"{}\"", "\\{".repeat(mb / 2))),
    );
    survives(
        "1 MB comment",
        format!("// {}\nrunbook r {{}}\n", "c".repeat(mb)),
    );
    survives(
        "1 MB garbage line",
        format!("{}\nrunbook r {{}}\n", "@".repeat(mb)),
    );
    survives("1 MB name", in_fn(&"n".repeat(mb)));
    survives("1 MB number", in_fn(&"9".repeat(mb)));
    survives("1 MB duration", in_fn(&"1h".repeat(mb / 2)));
    survives(
        "1 MB doc comment",
        format!("/// {}\nrunbook r {{}}\n", "d".repeat(mb)),
    );
}

#[test]
fn many_items_and_steps() {
    let runbooks: String = (0..2_000)
        .map(|i| format!("runbook r{i} {{\n  title \"{i}\"\n  step s {{ log \"x\" }}\n}}\n"))
        .collect();
    survives("2000 runbooks", runbooks);
    let steps: String = (0..2_000)
        .map(|i| format!("  step s{i} {{ let x{i} = {i} }}\n"))
        .collect();
    survives("2000 steps", format!("runbook r {{\n{steps}}}\n"));
    let errors: String = (0..2_000)
        .map(|i| format!("runbook r{i} {{\n  step s {{ let = }}\n}}\n"))
        .collect();
    survives("2000 broken runbooks", errors);
}

// `rbk check` (human output) once exited 101 when a diagnostic started past column 65535 (miette
// cannot pad beyond u16::MAX); such lines are now reported with their position, not drawn.
#[test]
fn human_output_of_a_diagnostic_past_column_65535() {
    let dir = std::env::temp_dir().join(format!("rbk-fuzz-long-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("long.rbk");
    let text = format!(
        "runbook r {{\n  title \"t\"{}oops\n}}\n",
        " ".repeat(70_000)
    );
    std::fs::write(&path, text).expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .arg("check")
        .arg(&path)
        .env("NO_COLOR", "1")
        .output()
        .expect("run rbk");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        output.status.code(),
        Some(1),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// (d) Mutated examples through the binary
// ---------------------------------------------------------------------------------------------

const FORMATS: &[&str] = &["human", "json", "sarif", "github"];

static CASE: AtomicUsize = AtomicUsize::new(0);

#[test]
fn binary_exits_0_or_1_on_mutated_examples() {
    let dir = std::env::temp_dir().join(format!("rbk-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cleanup = dir.clone();
    run_property(
        24,
        || (mutated_example(), prop::sample::select(FORMATS)),
        move |((example, mutations), format)| {
            let text = mutate(example, &mutations);
            let case = CASE.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("case{case}.rbk"));
            std::fs::write(&path, &text).expect("write case");
            let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
                .arg("check")
                .arg("--format")
                .arg(format)
                .arg(&path)
                .env("NO_COLOR", "1")
                .output()
                .expect("run rbk");
            let code = output.status.code();
            prop_assert!(
                matches!(code, Some(0) | Some(1)),
                "rbk check --format {} exited with {:?} on {}\nstderr:\n{}",
                format,
                output.status,
                path.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            let _ = std::fs::remove_file(&path);
            Ok(())
        },
    );
    let _ = std::fs::remove_dir_all(cleanup);
}

// ---------------------------------------------------------------------------------------------
// (e) The shapes that once crashed: flat chains of 400,000 terms, unterminated strings before
// millions of brackets, deep nesting inside interpolations. Each must be diagnosed — on a small
// stack in-process, and by every command of the binary.
// ---------------------------------------------------------------------------------------------

/// Far less than the binary gives its passes (512 MB), and than a test thread gets (2 MB):
/// every input below must check, render, format and plan within it.
const SMALL_STACK: usize = 1024 * 1024;

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The length of the flat chains the binary is given, as in the report that found the crash.
const FLAT_TERMS: usize = 400_000;
/// In-process, shorter chains (still 80 times the limit, and deep enough to have overflowed
/// the small stack before the limit) keep the test fast in a debug build.
const FLAT_TERMS_IN_PROCESS: usize = 20_000;

/// Inputs a hostile or generated file may hold, each with the code it must be refused with;
/// flat chains have `n` terms.
fn hostile_shapes(n: usize) -> Vec<(&'static str, &'static str, String)> {
    let mb = 1 << 20;
    vec![
        ("1 + 1 + ...", "E0003", in_fn(&vec!["1"; n].join(" + "))),
        ("a.b.c...", "E0003", in_fn(&format!("a{}", ".b".repeat(n)))),
        ("x == x == ...", "E0003", in_fn(&vec!["x"; n].join(" == "))),
        ("and chain", "E0003", in_fn(&vec!["true"; n].join(" and "))),
        ("or chain", "E0003", in_fn(&vec!["true"; n].join(" or "))),
        (
            "&& chain",
            "E0001",
            in_fn(&vec!["true"; n / 4].join(" && ")),
        ),
        (
            "f(x)(x)...",
            "E0003",
            in_fn(&format!("f{}", "(x)".repeat(n))),
        ),
        (
            "x[0][0]...",
            "E0003",
            in_fn(&format!("x{}", "[0]".repeat(n))),
        ),
        (
            "f(f(f(... within the nesting limit, each with a chain",
            "E0003",
            in_fn(&format!(
                "{}x{}",
                format!("f({} + ", vec!["1"; 200].join(" + ")).repeat(100),
                ")".repeat(100)
            )),
        ),
        (
            "else if chain",
            "E0002",
            format!(
                "fn f(a: bool) {{\n  if a {{ }}{}\n}}\n",
                " else if a { }".repeat(n / 4)
            ),
        ),
        (
            "unterminated string, then ( x 1M on the next line",
            "E0002",
            in_fn(&format!("\"abc\n{}", "(".repeat(mb))),
        ),
        (
            "unterminated string, then ( x 1M on its line",
            "E0002",
            in_fn(&format!("\"abc {}", "(".repeat(mb))),
        ),
        (
            "unterminated string after an escape, then { x 1M",
            "E0002",
            in_fn(&format!("\"abc\\\n{}", "{".repeat(mb))),
        ),
        (
            "unterminated \"\"\" string, then ( x 1M",
            "E0002",
            in_fn(&format!("\"\"\"abc\n{}", "(".repeat(mb))),
        ),
        (
            "closed \"\"\" string with a bad escape around ( x 1M",
            "E0002",
            in_fn(&format!("\"\"\"\\q\n{}\n\"\"\"", "(".repeat(mb))),
        ),
        (
            "{ ) { ) ... in a block",
            "E0002",
            in_fn(&"{ ) ".repeat(mb / 4)),
        ),
        (
            "deep interpolations",
            "E0002",
            in_fn(&format!(
                "{}x{}",
                "\"{".repeat(mb / 4),
                "}\"".repeat(mb / 4)
            )),
        ),
        (
            "deep interpolations, unterminated",
            "E0002",
            in_fn(&"\"{(".repeat(mb / 4)),
        ),
        (
            "brackets deep inside one interpolation",
            "E0002",
            in_fn(&format!("\"{{{}x\"", "(".repeat(mb))),
        ),
    ]
}

#[test]
fn hostile_shapes_are_diagnosed_on_a_small_stack() {
    for (what, code, text) in hostile_shapes(FLAT_TERMS_IN_PROCESS) {
        let started = Instant::now();
        let (codes, formatted) = on_small_stack(move || {
            let analysis = exercise(text.clone());
            let codes: Vec<&'static str> = analysis
                .diagnostics
                .iter()
                .map(|d| d.code.as_str())
                .collect();
            let formatted = rbk_compiler::format::format(&text).is_ok();
            // Freeing the trees must not recurse deeply either.
            drop(analysis);
            (codes, formatted)
        });
        assert!(
            codes.contains(&code),
            "{what}: expected {code}, got {codes:?}"
        );
        assert!(!formatted, "{what}: a file with errors is not formatted");
        if std::env::var_os("RBK_FUZZ_TIMES").is_some() {
            eprintln!("{what}: {:?}", started.elapsed());
        }
    }
}

#[test]
fn every_command_diagnoses_hostile_shapes() {
    let dir = std::env::temp_dir().join(format!("rbk-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // One shape of each kind: every command reads files the same way, and each process run on
    // a multi-megabyte file takes a while in a debug build.
    let shapes = hostile_shapes(FLAT_TERMS).into_iter().filter(|(what, ..)| {
        [
            "1 + 1 + ...",
            "a.b.c...",
            "unterminated string, then ( x 1M on the next line",
            "deep interpolations",
        ]
        .contains(what)
    });
    for (n, (what, code, text)) in shapes.enumerate() {
        let path = dir.join(format!("shape{n}.rbk"));
        std::fs::write(&path, text).expect("write shape");
        for args in [
            vec!["check", "--format", "json"],
            vec!["check"],
            vec!["fmt", "--check"],
            vec!["plan"],
            vec!["test"],
        ] {
            let output = Command::new(env!("CARGO_BIN_EXE_rbk"))
                .args(&args)
                .arg(&path)
                .env("NO_COLOR", "1")
                .output()
                .expect("run rbk");
            assert_eq!(
                output.status.code(),
                Some(1),
                "rbk {} on {what}: stderr:\n{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
            if args == ["check", "--format", "json"] {
                let stdout = String::from_utf8_lossy(&output.stdout);
                assert!(stdout.contains(code), "{what}: expected {code} in {stdout}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

//! Formatter tests: the canonical layout on small snippets, comments kept, and idempotence.

use super::format;

/// Formats `input`, checks the result is stable, and returns it.
fn fmt(input: &str) -> String {
    let once = format(input).unwrap_or_else(|e| panic!("{e}: {input}"));
    let twice = format(&once).unwrap_or_else(|e| panic!("{e} after formatting:\n{once}"));
    assert_eq!(once, twice, "not idempotent; first pass:\n{once}");
    once
}

#[test]
fn the_seed_runbook_is_already_formatted() {
    let seed = include_str!("../../../examples/db_pool_exhaustion.rbk");
    assert_eq!(fmt(seed), seed);
}

#[test]
fn layout_is_normalised() {
    let input = "use std.slack\nrunbook   r{\ntitle \"T\"\n  step a \"A\"   {\n      let x=1+2*3\n  log \"{x}\"\n}\nstep b{\nslack.post(channel:\"#c\",text:\"t\")}\n}\n";
    assert_eq!(
        fmt(input),
        "use std.slack\n\nrunbook r {\n  title \"T\"\n\n  step a \"A\" {\n    let x = 1 + 2 * 3\n    log \"{x}\"\n  }\n\n  step b {\n    slack.post(channel: \"#c\", text: \"t\")\n  }\n}\n"
    );
}

#[test]
fn mock_patterns_are_laid_out_on_one_line() {
    let input = "test \"t\" {\n  mock k8s.delete_pod( p )where p.name==\"api-1\" returns none\n  mock shell.run([ \"kubectl\",\"get\" , .. ],_) returns \"x\"\n  mock f([..],[ ],[a,b,]) fails \"no\"\n  expect not called k8s.delete_pod(p) where p.name != \"api-1\" times 1\n  expect called g( ) times 2\n  run r\n}\n";
    assert_eq!(
        fmt(input),
        "test \"t\" {\n  mock k8s.delete_pod(p) where p.name == \"api-1\" returns none\n  mock shell.run([\"kubectl\", \"get\", ..], _) returns \"x\"\n  mock f([..], [], [a, b]) fails \"no\"\n  expect not called k8s.delete_pod(p) where p.name != \"api-1\" times 1\n  expect called g() times 2\n  run r\n}\n"
    );
}

#[test]
fn comments_stay_where_they_were_written() {
    let input = "// header\n\n/// doc\nfn f(x: int) -> int { // after brace\n  // before let\n  let y = x * 2 // trailing\n\n  // before return\n  return y\n  // at the end\n}\n// last\n";
    assert_eq!(
        fmt(input),
        "// header\n\n/// doc\nfn f(x: int) -> int { // after brace\n  // before let\n  let y = x * 2 // trailing\n\n  // before return\n  return y\n  // at the end\n}\n// last\n"
    );
}

#[test]
fn comments_inside_an_expression_are_not_lost() {
    let out = fmt("fn f(a: bool, b: bool) -> bool {\n  return a and // why\n    b\n}\n");
    assert!(out.contains("// why"), "{out}");
}

#[test]
fn parentheses_are_kept_where_written() {
    let out = fmt("fn f(a: int, b: int) -> int {\n  return (a + b) * -(a) - (((b)))\n}\n");
    assert!(out.contains("return (a + b) * -a - b"), "{out}");
    let out = fmt("fn f(a: bool, b: bool) -> bool {\n  return not (a and b) or (a)\n}\n");
    assert!(out.contains("return not (a and b) or a"), "{out}");
}

#[test]
fn else_if_chains_stay_flat() {
    let input = "fn f(x: int) -> string {\n  if x > 1 { return \"a\" } else if x > 0 {\n return \"b\" } else { if x < -5 { return \"c\" }\n return \"d\" }\n}\n";
    assert_eq!(
        fmt(input),
        "fn f(x: int) -> string {\n  if x > 1 {\n    return \"a\"\n  } else if x > 0 {\n    return \"b\"\n  } else {\n    if x < -5 {\n      return \"c\"\n    }\n    return \"d\"\n  }\n}\n"
    );
}

#[test]
fn calls_written_over_several_lines_get_one_argument_per_line() {
    let input = "fn f() -> int {\n  return g(1,\n    named: [1,2], // two\n    other: {a: 1, \"b\": 2})\n}\n";
    assert_eq!(
        fmt(input),
        "fn f() -> int {\n  return g(\n    1,\n    named: [1, 2], // two\n    other: { a: 1, \"b\": 2 },\n  )\n}\n"
    );
}

#[test]
fn strings_and_literals_are_copied_as_written() {
    let input = "const Q: string = \"\"\"\n  SELECT 1 // not a comment\n\"\"\"\nconst D: duration = 1h30m\nconst S: string = \"a\\n{1 + 2}\\{\"\n";
    assert_eq!(
        fmt(input),
        "const Q: string = \"\"\"\n  SELECT 1 // not a comment\n\"\"\"\n\nconst D: duration = 1h30m\n\nconst S: string = \"a\\n{1 + 2}\\{\"\n"
    );
}

#[test]
fn test_blocks_and_input_fields() {
    let input = "runbook r {\n  input { /// the db\n a: int = 1, b: string? }\n}\ntest \"t\" {\n  mock pg.q returns [ 1 ]\n  run r with {a: 2} alert {labels: {\"x\": \"y\"}}\n  expect not called pg.q times 2\n  expect 1 < 2 within 5s\n}\n";
    assert_eq!(
        fmt(input),
        "runbook r {\n  input {\n    /// the db\n    a: int = 1\n    b: string?\n  }\n}\n\ntest \"t\" {\n  mock pg.q returns [1]\n  run r with { a: 2 } alert { labels: { \"x\": \"y\" } }\n  expect not called pg.q times 2\n  expect 1 < 2 within 5s\n}\n"
    );
}

#[test]
fn files_with_syntax_errors_are_refused() {
    let error = format("runbook r {\n  step a {\n    let = 1\n  }\n}\n").unwrap_err();
    assert!(!error.diagnostics.is_empty());
}

#[test]
fn lambdas_types_and_externs() {
    let input = "type P = {a: int,b: list<map<string, int>>}\ntype H\nextern action go(p: P, t: duration = 10s) -> P? effect destructive safe_to_auto_approve\nfn f(ps: list<P>) -> list<P> { return filter(ps, p => p.a > 1) }\nfn g(ps: list<P>) -> list<P> { return sort_by(ps, (x) => (x.a)) }\n";
    assert_eq!(
        fmt(input),
        "type P = { a: int, b: list<map<string, int>> }\n\ntype H\n\nextern action go(p: P, t: duration = 10s) -> P? effect destructive safe_to_auto_approve\n\nfn f(ps: list<P>) -> list<P> {\n  return filter(ps, p => p.a > 1)\n}\n\nfn g(ps: list<P>) -> list<P> {\n  return sort_by(ps, x => (x.a))\n}\n"
    );
}

#[test]
fn an_end_of_line_comment_stays_after_the_element_it_followed() {
    // Several elements on a line: each comment stays after the last element before it.
    let input = "fn f() -> list<int> {\n  return [1, // one\n    2, 3, // three\n    4]\n}\n";
    assert_eq!(
        fmt(input),
        "fn f() -> list<int> {\n  return [\n    1, // one\n    2,\n    3, // three\n    4,\n  ]\n}\n"
    );
    // Record fields and call arguments, the comment after the comma or before the bracket.
    let input = "fn f() -> int {\n  return g(a: 1, b: { x: 1, // x\n    y: 2, z: 3 }, // b\n    c: 2 // c\n  )\n}\n";
    assert_eq!(
        fmt(input),
        "fn f() -> int {\n  return g(\n    a: 1,\n    b: {\n      x: 1, // x\n      y: 2,\n      z: 3,\n    }, // b\n    c: 2, // c\n  )\n}\n"
    );
    // Input fields written on one line.
    let input = "runbook r {\n  input { a: int = 1, b: int = 2 // b\n  }\n}\n";
    assert_eq!(
        fmt(input),
        "runbook r {\n  input {\n    a: int = 1\n    b: int = 2 // b\n  }\n}\n"
    );
}

#[test]
fn crlf_files_stay_crlf_and_formatted_ones_are_unchanged() {
    let lf = include_str!("../../../examples/db_pool_exhaustion.rbk");
    let crlf = lf.replace('\n', "\r\n");
    assert_eq!(fmt(&crlf), crlf);
    // Out of shape and CRLF: formatted, still CRLF, literals as written.
    let input = "const Q: string = \"\"\"\r\n  SELECT 1\r\n\"\"\"\r\nfn f()->int{\r\nreturn 1 // one\r\n}\r\n";
    assert_eq!(
        fmt(input),
        "const Q: string = \"\"\"\r\n  SELECT 1\r\n\"\"\"\r\n\r\nfn f() -> int {\r\n  return 1 // one\r\n}\r\n"
    );
    // A file that mixes line endings gets `\n` outside literals, as before.
    let mixed = "fn f() -> int {\r\n  return 1\n}\n";
    assert_eq!(fmt(mixed), "fn f() -> int {\n  return 1\n}\n");
}

#[test]
fn mode_several_alerts_and_what_alerts_did() {
    let input = "runbook r {\n  mode   shadow\n}\ntest \"t\" {\n  run r alerts [ {labels: {\"x\": \"y\"}},{name: \"A\"} ]\n  expect not   triggered\n  expect coalesced times 1\n  expect suppressed\n}\n";
    let expected = "runbook r {\n  mode shadow\n}\n\ntest \"t\" {\n  run r alerts [{ labels: { \"x\": \"y\" } }, { name: \"A\" }]\n  expect not triggered\n  expect coalesced times 1\n  expect suppressed\n}\n";
    assert_eq!(fmt(input), expected);
    assert_eq!(fmt(expected), expected, "formatting is stable");
}

#[test]
fn a_multi_line_alerts_list_keeps_its_comments() {
    let input = "test \"t\" {\n  run r with {a: 1} alerts [\n    // the first\n    {labels: {\"db\": \"a\"}},\n    {labels: {\"db\": \"b\"}} // the second\n  ]\n}\n";
    let expected = "test \"t\" {\n  run r with { a: 1 } alerts [\n    // the first\n    { labels: { \"db\": \"a\" } },\n    { labels: { \"db\": \"b\" } }, // the second\n  ]\n}\n";
    assert_eq!(fmt(input), expected);
    assert_eq!(fmt(expected), expected, "formatting is stable");
}

#[test]
fn asked_values_and_step_outcomes_are_formatted() {
    let input = "runbook r {\n  title \"T\"\n  step a {\n    on failure continue\n    log \"a\"\n  }\n  step b \"B\" when step . a . failed {\n    approval required from \"sre\" timeout 5m on timeout deny ask {n:int,why : string}\n    log \"{approval.n}\"\n  }\n}\n\ntest \"t\" {\n  approve b as \"frank\" with {n:3,why:\"x\"}\n  run r\n}\n";
    assert_eq!(
        fmt(input),
        "runbook r {\n  title \"T\"\n\n  step a {\n    on failure continue\n    log \"a\"\n  }\n\n  step b \"B\" when step.a.failed {\n    approval required from \"sre\" timeout 5m on timeout deny ask { n: int, why: string }\n    log \"{approval.n}\"\n  }\n}\n\ntest \"t\" {\n  approve b as \"frank\" with { n: 3, why: \"x\" }\n  run r\n}\n"
    );
}

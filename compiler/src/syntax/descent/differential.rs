//! The fast parser proven equal to the pest grammar: on every fixture, example, standard module
//! and `rbk` block of the docs, on thousands of deterministic mutations of them, and on inputs
//! chosen to catch where a PEG backtracks. Wherever the fast parser answers, its tree (every
//! span, every expression id) and id count equal the grammar's, and the grammar found nothing
//! to report; on the clean files of the repository it must answer.

use std::path::{Path, PathBuf};

use super::{parse_clean, parse_expression_clean};
use crate::syntax::parser::{parse_expression_with_grammar, parse_with_grammar};
use crate::syntax::recovery::check_nesting;
use crate::FileId;

/// What the two parsers made of one text.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Refused for its nesting before either parser runs.
    TooDeep,
    /// The fast parser answered, exactly as the grammar does.
    Equal,
    /// The fast parser left it to the grammar, which parsed it cleanly.
    DeclinedClean,
    /// The fast parser left it to the grammar, which reported something.
    DeclinedWithDiagnostics,
}

/// Compares the two parsers on `text`; panics (naming `what`) where they differ.
fn compare(what: &str, text: &str) -> Verdict {
    if check_nesting(FileId(0), text).is_some() {
        return Verdict::TooDeep;
    }
    let grammar = parse_with_grammar(FileId(0), text);
    let Some((file, expr_ids)) = parse_clean(text) else {
        return if grammar.diagnostics.is_empty() {
            Verdict::DeclinedClean
        } else {
            Verdict::DeclinedWithDiagnostics
        };
    };
    assert!(
        grammar.diagnostics.is_empty(),
        "{what}: the fast parser accepted what the grammar reports: {:?}\n--- text ---\n{text}",
        grammar
            .diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    let (fast_tree, grammar_tree) = (format!("{file:#?}"), format!("{:#?}", grammar.file));
    if fast_tree != grammar_tree {
        let first_difference = fast_tree
            .lines()
            .zip(grammar_tree.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        let context = |tree: &str| {
            tree.lines()
                .skip(first_difference.saturating_sub(8))
                .take(12)
                .collect::<Vec<_>>()
                .join("\n")
        };
        panic!(
            "{what}: the trees differ at line {first_difference}\n--- fast ---\n{}\n--- grammar ---\n{}\n--- text ---\n{text}",
            context(&fast_tree),
            context(&grammar_tree)
        );
    }
    assert_eq!(expr_ids, grammar.expr_ids, "{what}: expression id counts");
    Verdict::Equal
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compiler sits in the workspace")
        .to_path_buf()
}

fn rbk_files_under(dir: &Path, out: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rbk_files_under(&path, out);
        } else if path.extension().is_some_and(|e| e == "rbk") {
            let text = std::fs::read_to_string(&path).expect("readable source");
            out.push((path.display().to_string(), text));
        }
    }
}

/// Every `.rbk` file of the repository's fixtures, examples and standard library.
fn repository_sources() -> Vec<(String, String)> {
    let root = repository();
    let mut sources = Vec::new();
    for dir in ["tests/fixtures", "examples", "std"] {
        // A moved directory would otherwise shrink the corpus without a word.
        assert!(
            root.join(dir).is_dir(),
            "{dir} is gone: point the differential test at its new place"
        );
        rbk_files_under(&root.join(dir), &mut sources);
    }
    sources
}

/// The ```` ```rbk ```` blocks of every page under docs/.
fn doc_blocks() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                let page = std::fs::read_to_string(&path).expect("readable page");
                let mut block: Option<String> = None;
                for (n, line) in page.lines().enumerate() {
                    match &mut block {
                        None if line.trim_start() == "```rbk" => block = Some(String::new()),
                        Some(text) if line.trim_start() == "```" => {
                            out.push((format!("{}:{n}", path.display()), std::mem::take(text)));
                            block = None;
                        }
                        Some(text) => {
                            text.push_str(line);
                            text.push('\n');
                        }
                        None => {}
                    }
                }
            }
        }
    }
    let mut blocks = Vec::new();
    walk(&repository().join("docs"), &mut blocks);
    blocks
}

#[test]
fn the_fast_parser_takes_every_clean_source_of_the_repository_and_agrees() {
    let sources = repository_sources();
    assert!(
        sources.len() > 60,
        "fixtures, examples and std modules found"
    );
    let mut taken = 0;
    for (path, text) in &sources {
        match compare(path, text) {
            Verdict::DeclinedClean => panic!("{path}: clean, but the fast parser declined it"),
            Verdict::Equal => taken += 1,
            Verdict::TooDeep | Verdict::DeclinedWithDiagnostics => {}
        }
        // The same file written on Windows: `\r` is whitespace, and kept in `"""` text.
        let crlf = text.replace('\n', "\r\n");
        if compare(&format!("{path} (CRLF)"), &crlf) == Verdict::DeclinedClean {
            panic!("{path} (CRLF): clean, but the fast parser declined it");
        }
    }
    // Most fixtures are clean programs that fail later phases; the parser must take them.
    assert!(
        taken * 10 > sources.len() * 8,
        "took {taken} of {}",
        sources.len()
    );
}

#[test]
fn the_fast_parser_agrees_on_every_doc_block() {
    let blocks = doc_blocks();
    assert!(blocks.len() > 50, "doc blocks found: {}", blocks.len());
    for (place, text) in &blocks {
        if compare(place, text) == Verdict::DeclinedClean {
            panic!("{place}: clean, but the fast parser declined it");
        }
    }
}

/// A small deterministic generator (xorshift), so every run checks the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces the mutations insert: whole lines that keep a file clean, and the places where a
/// PEG backtracks or a hand-written parser might guess.
const INSERTS: &[&str] = &[
    "\n",
    " ",
    "// note\n",
    "/// doc\n",
    "//// four\n",
    "\n  log \"x\"\n",
    "\n  let a = 5%x\n",
    "\n  let v = 1.abs\n",
    "\n  foo\n  [1, 2]\n",
    "\n  foo\n  (1)\n",
    "\n  let a = b\n  -1\n",
    "\n  timeout 5m\n",
    "\n  approval required 5m\n",
    "\n  approval required\n  ask(1)\n",
    "\n  approval required\n  on failure continue\n",
    "\n  retry 3 every 10s backoff exponential\n",
    "\n  if a { } else if b { } else { }\n",
    "\n  expect x within 5m every 10s else \"m\"\n",
    "\n  expect not x\n",
    "\n  expect step.s.failed\n",
    "\n  let f = (a, b) => a + b * -c ?? d\n",
    "\n  let f = x => y => z\n",
    "\n  let r = {a: 1, \"b\": [1, 2,], }\n",
    "\n  log \"\"\"\n  a // b\n  \"\"\"\n",
    "\n  log \"a {x // c\n } b\"\n",
    "\n  log \"\\{ \\q\"\n",
    "\n  f(a: :b)\n",
    "\n  f(a: b, c)\n",
    "\n  x.0\n",
    "\n  1h30m + 5ms - 2.5 * 10% / 7\n",
    "\n  99999999999999999999\n",
    "\n  9999999999999999999d\n",
    "\n  not not -a.b[c](d)\n",
    "\n  a orb\n",
    "\n  a or b and c == d != e <= f >= g < h > i\n",
    "\n  step . s . failed\n",
    "\n  approval . x\n",
    "\nfn g(a: int = 1) -> int { return a }\n",
    "\nfn g(a: list<map<string, int>>?, b: k8s.Pod) {}\n",
    "\ntype T = {a: int, b: string?}\n",
    "\nconst C: int = 1\n",
    "\nuse std.k8s as k\n",
    "\nuse \"./x.rbk\"\n",
    "\nrunbook i = t(db: \"x\")\n",
    "\nextern action a(x: int) -> int effect destructive safe_to_auto_approve\n",
    "\ntest \"t\" {\n  mock pg.x([1, ..], _, \"s\", none) where a > 1 returns 1\n  expect not called pg.x times 2\n  expect triggered times 1\n  run r with {a: 1} alerts [{}, {b: 2},]\n  approve s as \"u\" with {n: 1}\n  deny s\n  set env X = \"1\"\n  expect step s succeeded\n}\n",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "\"",
    ",",
    ".",
    "=",
    "==",
    "=>",
    "->",
    "?",
    "??",
    "-",
    "not ",
    "else ",
    "step ",
    "é",
    "\u{0}",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..1 + rng.below(3) {
        let n = lines.len().max(1);
        match rng.below(7) {
            0 if !lines.is_empty() => {
                lines.remove(rng.below(n));
            }
            1 if !lines.is_empty() => {
                let line = lines[rng.below(n)].clone();
                lines.insert(rng.below(n), line);
            }
            2 if lines.len() > 1 => {
                let (a, b) = (rng.below(n), rng.below(n));
                lines.swap(a, b);
            }
            3 | 4 if !lines.is_empty() => {
                let index = rng.below(n);
                let line = &mut lines[index];
                let mut at = rng.below(line.len() + 1);
                while !line.is_char_boundary(at) {
                    at -= 1;
                }
                line.insert_str(at, INSERTS[rng.below(INSERTS.len())]);
            }
            5 if !lines.is_empty() => {
                let index = rng.below(n);
                let line = &mut lines[index];
                let mut start = rng.below(line.len() + 1);
                while !line.is_char_boundary(start) {
                    start -= 1;
                }
                let mut end = (start + 1 + rng.below(8)).min(line.len());
                while !line.is_char_boundary(end) {
                    end += 1;
                }
                line.replace_range(start..end, "");
            }
            _ => {
                let index = rng.below(n + 1);
                lines.insert(index, INSERTS[rng.below(INSERTS.len())].to_string());
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

#[test]
fn the_fast_parser_agrees_on_thousands_of_mutations() {
    let sources: Vec<(String, String)> = repository_sources()
        .into_iter()
        .filter(|(path, _)| !path.contains("fixtures/diagnostics"))
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut equal = 0;
    let mut declined_clean = 0;
    let cases = 3000;
    for case in 0..cases {
        let (path, text) = &sources[rng.below(sources.len())];
        let mutated = mutate(&mut rng, text);
        match compare(&format!("case {case} from {path}"), &mutated) {
            Verdict::Equal => equal += 1,
            Verdict::DeclinedClean => declined_clean += 1,
            Verdict::TooDeep | Verdict::DeclinedWithDiagnostics => {}
        }
    }
    // The corpus really exercises the fast path, and it declines clean text only rarely.
    println!("equal on {equal} of {cases}, declined {declined_clean} clean");
    assert!(equal > cases / 5, "equal on {equal} of {cases}");
    assert!(
        declined_clean * 10 < equal,
        "declined {declined_clean} clean texts, took {equal}"
    );
}

/// Inputs where the grammar backtracks or recovers: wherever the fast parser answers, it
/// answers as the grammar does (checked by `compare`), and it never answers for one the
/// grammar reports.
#[test]
fn the_fast_parser_never_takes_what_the_grammar_reports() {
    let step = |body: &str| format!("runbook r {{\n  step s {{\n    {body}\n  }}\n}}\n");
    let rejected = [
        step("let a = "),
        step("f(a: :b)"),
        step("x.0"),
        step("log \"\\q\""),
        step("log \"unclosed"),
        step("log \"\"\"never closed"),
        step("99999999999999999999"),
        step("9999999999999999999d"),
        step("approval required 99999999999"),
        step("let f = x => y => z"),
        step("let s = step.x.maybe"),
        step("timeout 5m\n    timeout 5m\n    log 1\n    timeout 5m"),
        step("if a { } else log 1"),
        "runbook r { title \"a {b}\" }\n".to_string(),
        "runbook r { title \"\"\"x\"\"\" }\n".to_string(),
        "runbook r { mode fast }\n".to_string(),
        "fn f(a: int = 1 -> int {}\n".to_string(),
        "type T = 5\n".to_string(),
        "use std.k8s.\n".to_string(),
        "test \"t\" { mock a.b([.., 1]) returns 1 }\n".to_string(),
        "runbook r {} é\n".to_string(),
        "\u{feff}runbook r {}\n".to_string(),
    ];
    for text in &rejected {
        assert_eq!(
            compare("rejected input", text),
            Verdict::DeclinedWithDiagnostics,
            "the grammar reports this, and the fast parser leaves it to it:\n{text}"
        );
    }
    // Clean, but only because the grammar backtracks (`[1, 2]` is no index, so it is a second
    // statement): the fast parser declines rather than backtrack.
    assert_eq!(
        compare("backtracking", &step("foo\n[1, 2]")),
        Verdict::DeclinedClean
    );
    // Clean inputs on the grammar's fine edges: taken, and equal.
    let accepted = [
        step("let a = 5%x"),
        step("a orb"),
        "test \"t\" { expect not maybe }\n".to_string(),
        "/// doc\n// comment\nrunbook r {}\n".to_string(),
        step("let v = 1.abs"),
        step("foo\n    (1)"),
        step("let a = b\n    -1"),
        step("approval required\n    on failure continue"),
        step("approval required 2 from \"sre\" timeout 5m on timeout escalate reason \"r\" ask { n: int }"),
        step("expect not x"),
        step("expect x within 5m every 10s else \"m\""),
        step("step . s . failed"),
        step("let f = (a, b) => a + b * -c ?? d"),
        step("log \"\"\"\n  a // b\n  \"\"\""),
        step("log \"a {x // c\n } b\""),
        step("not not -a.b[c](d: 1, 2,)"),
        "/// one\n///two\n\n/// three\nrunbook r {\n  /// s\n  step s { }\n}\n".to_string(),
        "template t(db: string) {\n  title \"pool {db}\"\n}\nrunbook i = t(db: \"x\")\n"
            .to_string(),
        "fn g(a: list<map<string, int>>?, b: k8s.Pod, c: {x: int,}) -> int? { return none }\n"
            .to_string(),
    ];
    for text in &accepted {
        assert_eq!(
            compare("accepted input", text),
            Verdict::Equal,
            "the fast parser declined:\n{text}"
        );
    }
}

#[test]
fn the_fast_expression_parser_agrees() {
    for text in [
        "1 + 2 * 3",
        " {a: [1, 2], b: \"x{y}\"} ",
        "(a) => a",
        "not a or b and c",
        "x.y[0](z: 1)",
        "5m",
    ] {
        let fast = parse_expression_clean(text).expect("taken");
        let grammar = parse_expression_with_grammar(FileId(0), text).expect("clean");
        assert_eq!(format!("{fast:?}"), format!("{grammar:?}"));
    }
    for text in ["1 +", "a b", "", "{a: }"] {
        assert!(parse_expression_clean(text).is_none(), "{text}");
    }
}

/// The shapes of the benchmark workspace (`python3 bench/gen_workspace.py bench/work`), when it
/// was generated: every file is taken, and equal.
#[test]
fn the_fast_parser_takes_the_benchmark_workspace_when_generated() {
    let mut sources = Vec::new();
    rbk_files_under(&repository().join("bench/work/rbk"), &mut sources);
    for (path, text) in sources.iter().step_by(25) {
        assert_eq!(compare(path, text), Verdict::Equal, "{path}");
    }
}

//! `rbk fmt`: every example, standard module and diagnostic fixture is formatted, formatting is
//! idempotent, keeps every comment, and does not change what the checker reports.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use rbk_compiler::format::format;
use rbk_compiler::project::StdOnly;
use rbk_compiler::{check, CheckOptions};
use support::{rbk, rbk_in, repo_root};

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples", "std", "tests/fixtures/diagnostics"] {
        let mut found: Vec<PathBuf> = fs::read_dir(repo_root().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "rbk"))
            .collect();
        found.sort();
        files.extend(found);
    }
    assert!(files.len() > 20, "found only {files:?}");
    files
}

fn codes(path: &Path, text: &str) -> Vec<&'static str> {
    let analysis = check(
        vec![(path.to_path_buf(), text.to_string())],
        &StdOnly(rbk_stdlib::MODULES),
        &CheckOptions::default(),
    );
    let mut codes: Vec<&'static str> = analysis
        .diagnostics
        .iter()
        .map(|d| d.code.as_str())
        .collect();
    codes.sort();
    codes
}

/// The `//` comments of a file, found the simple way (none of these files has `//` in a string).
fn comment_texts(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| line.find("//").map(|i| line[i..].trim_end()))
        .filter(|c| !c.starts_with("///"))
        .collect()
}

#[test]
fn formatting_is_idempotent_keeps_comments_and_checks_the_same() {
    let mut formatted_files = 0;
    for path in sources() {
        let text = fs::read_to_string(&path).unwrap();
        let Ok(once) = format(&text) else {
            // Only the fixtures of parse errors are refused.
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(
                [
                    "E0001.rbk",
                    "E0002.rbk",
                    "E0003.rbk",
                    "E0004.rbk",
                    "E0005.rbk"
                ]
                .contains(&name.as_ref()),
                "{name} was refused"
            );
            continue;
        };
        formatted_files += 1;
        let twice = format(&once).expect("formatted text parses");
        assert_eq!(
            once,
            twice,
            "{} is not formatted idempotently",
            path.display()
        );
        assert_eq!(
            codes(&path, &text),
            codes(&path, &once),
            "{}",
            path.display()
        );
        for comment in comment_texts(&text) {
            assert!(
                once.contains(comment),
                "{}: lost {comment:?}",
                path.display()
            );
        }
        for doc in text.lines().filter(|l| l.trim_start().starts_with("///")) {
            assert!(
                once.contains(doc.trim()),
                "{}: lost {doc:?}",
                path.display()
            );
        }
    }
    assert!(formatted_files > 20);
}

#[test]
fn examples_stdlib_and_fixtures_are_formatted() {
    let run = rbk(&["fmt", "--check", "examples"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    for path in sources() {
        let text = fs::read_to_string(&path).unwrap();
        if let Ok(formatted) = format(&text) {
            assert_eq!(formatted, text, "run `rbk fmt {}`", path.display());
        }
    }
}

#[test]
fn the_seed_runbook_is_the_language_reference_layout() {
    let seed = fs::read_to_string(repo_root().join("examples/db_pool_exhaustion.rbk")).unwrap();
    assert_eq!(format(&seed).unwrap(), seed);
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rbk-fmt-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

const MESSY: &str = "use std.slack\nrunbook hello{\n  title   \"Say hello\"\n  step greet{ // greet\n  slack.post(channel:\"#ops\",text:\"hi\")\n  }\n}\n";
const TIDY: &str = "use std.slack\n\nrunbook hello {\n  title \"Say hello\"\n\n  step greet { // greet\n    slack.post(channel: \"#ops\", text: \"hi\")\n  }\n}\n";

#[test]
fn check_names_the_files_that_would_change_and_exits_1() {
    let dir = tempdir("check");
    fs::write(dir.join("messy.rbk"), MESSY).unwrap();
    fs::write(dir.join("tidy.rbk"), TIDY).unwrap();
    let run = rbk_in(&dir, &["fmt", "--check"]);
    assert_eq!(run.status, 1);
    insta::assert_snapshot!(run.stdout.replace('\\', "/"));
    assert_eq!(fs::read_to_string(dir.join("messy.rbk")).unwrap(), MESSY);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn fmt_rewrites_files_in_place() {
    let dir = tempdir("write");
    fs::write(dir.join("messy.rbk"), MESSY).unwrap();
    let run = rbk_in(&dir, &["fmt", "messy.rbk"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(fs::read_to_string(dir.join("messy.rbk")).unwrap(), TIDY);
    let again = rbk_in(&dir, &["fmt", "--check", "messy.rbk"]);
    assert_eq!(again.status, 0, "{}", again.stdout);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn files_with_syntax_errors_are_left_alone() {
    let dir = tempdir("broken");
    let broken = "runbook r {\n  step a {\n    let = 1\n  }\n}\n";
    fs::write(dir.join("broken.rbk"), broken).unwrap();
    let run = rbk_in(&dir, &["fmt", "broken.rbk"]);
    assert_eq!(run.status, 1);
    assert!(run.stderr.contains("broken.rbk:3:"), "{}", run.stderr);
    assert!(run.stderr.contains("not formatted"), "{}", run.stderr);
    assert_eq!(fs::read_to_string(dir.join("broken.rbk")).unwrap(), broken);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn crlf_files_stay_crlf_and_check_accepts_them_when_formatted() {
    let dir = tempdir("crlf");
    let tidy = TIDY.replace('\n', "\r\n");
    fs::write(dir.join("tidy.rbk"), &tidy).unwrap();
    let run = rbk_in(&dir, &["fmt", "--check", "tidy.rbk"]);
    assert_eq!(run.status, 0, "{}", run.stdout);
    fs::write(dir.join("messy.rbk"), MESSY.replace('\n', "\r\n")).unwrap();
    let run = rbk_in(&dir, &["fmt", "messy.rbk"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert_eq!(fs::read_to_string(dir.join("messy.rbk")).unwrap(), tidy);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn an_end_of_line_comment_stays_after_the_element_it_followed() {
    let dir = tempdir("element-comments");
    let source = "fn f() -> list<int> {\n  return [1, // one\n    2, 3, // three\n    4]\n}\n\nfn g() -> int {\n  return h(a: 1, b: 2, // b\n    c: 3)\n}\n";
    fs::write(dir.join("comments.rbk"), source).unwrap();
    let run = rbk_in(&dir, &["fmt", "comments.rbk"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let formatted = fs::read_to_string(dir.join("comments.rbk")).unwrap();
    for (element, comment) in [("1,", "// one"), ("3,", "// three"), ("b: 2,", "// b")] {
        let line = formatted
            .lines()
            .find(|line| line.contains(comment))
            .unwrap_or_else(|| panic!("{comment} lost:\n{formatted}"));
        assert_eq!(
            line.trim(),
            format!("{element} {comment}"),
            "{comment} moved:\n{formatted}"
        );
    }
    let _ = fs::remove_dir_all(&dir);
}

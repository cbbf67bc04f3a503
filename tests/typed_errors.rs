//! Errors travel typed: no `Result<…, String>` in the production code of any crate (their
//! `src/`, outside `#[cfg(test)]` modules), except the places listed in [`ALLOWED`], each with
//! the reason a text is the product there. A new one fails here, naming its file and line, so
//! strings do not creep back in place of error enums.

use std::fs;
use std::path::{Path, PathBuf};

/// The crates whose `src/` is read ("." is the binary).
const CRATES: &[&str] = &[
    ".",
    "compiler",
    "interpreter",
    "std",
    "stdlib",
    "lsp",
    "server",
    "importer",
];

/// (file, text of the line that has the `Result`): where a String error is allowed, and why.
const ALLOWED: &[(&str, &str, &str)] = &[(
    "src/main.rs",
    "fn parse_asked_value(text: &str) -> Result<(String, String), String>",
    // clap shows a value parser's `Err` to the user as is: the text is the product.
    "a clap value parser",
)];

#[test]
fn no_result_carries_a_string_error_outside_the_allowlist() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    let mut allowed_seen = vec![false; ALLOWED.len()];
    for krate in CRATES {
        let mut files = Vec::new();
        rust_files(&repo.join(krate).join("src"), &mut files);
        files.sort();
        for file in files {
            let relative = file
                .strip_prefix(repo)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = fs::read_to_string(&file).unwrap();
            for (line, code) in string_errors(&text) {
                match ALLOWED
                    .iter()
                    .position(|(path, at, _)| *path == relative && code.contains(at))
                {
                    Some(index) => allowed_seen[index] = true,
                    None => found.push(format!("{relative}:{line}: {code}")),
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "a Result with a String error: give it an error enum (thiserror) whose Display is the \
         message, or, where the text is the product (a clap value parser, a message at the \
         very edge), add it to ALLOWED in tests/typed_errors.rs with the reason:\n{}",
        found.join("\n")
    );
    let stale: Vec<_> = ALLOWED
        .iter()
        .zip(&allowed_seen)
        .filter(|(_, seen)| !**seen)
        .map(|((path, at, _), _)| format!("{path}: {at}"))
        .collect();
    assert!(
        stale.is_empty(),
        "ALLOWED lists places that no longer have a String error; remove them:\n{}",
        stale.join("\n")
    );
}

#[test]
fn the_scanner_sees_nested_and_multi_line_results_and_skips_test_modules() {
    let text = "fn a() -> Result<Vec<(u8, String)>, String> {}\n\
                fn b() -> Result<String, Error> {}\n\
                fn c() -> BoxFuture<'a, Result<\n    (),\n    String,\n>> {}\n\
                fn d() -> Result<BTreeMap<String, String>, Problem> {}\n\
                fn e(f: impl Fn() -> String) -> Result<u8, String> {}\n\
                #[cfg(test)]\nmod tests {\n    fn t() -> Result<(), String> { Ok(()) }\n}\n\
                fn g() -> Result<(), String> {}\n\
                #[cfg(test)]\nmod more {\n    const A: char = '{';\n    const B: &str = \"{{\";\n    \
                // }\n    fn u<'a>(x: &'a str) -> Result<(), String> { Ok(()) }\n}\n\
                fn h() -> Result<(), String> {}\n";
    let lines: Vec<usize> = string_errors(text).into_iter().map(|(l, _)| l).collect();
    assert_eq!(lines, vec![1, 3, 8, 13, 21]);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") && !is_test_file(&path) {
            out.push(path);
        }
    }
}

/// Files that are `#[cfg(test)] mod tests;` by the crates' convention (`tests.rs`,
/// `*_tests.rs`), compiled only for tests.
fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    name == "tests.rs" || name.ends_with("_tests.rs")
}

/// Every `Result<T, String>` outside `#[cfg(test)]` blocks: (1-based line, that line trimmed).
fn string_errors(text: &str) -> Vec<(usize, String)> {
    let skipped = test_blocks(text);
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("Result<") {
        let start = from + at;
        from = start + "Result<".len();
        if skipped.iter().any(|range| range.contains(&start)) {
            continue;
        }
        // Words that end in `Result` (`ParseResult<`) are other types.
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let Some(mut arguments) = generic_arguments(&text[from..]) else {
            continue;
        };
        // A trailing comma (`Result<\n    T,\n    String,\n>`) ends the list, adding nothing.
        if arguments.last().is_some_and(|a| a.trim().is_empty()) {
            arguments.pop();
        }
        if arguments.len() == 2 && arguments[1].trim() == "String" {
            let line = text[..start].matches('\n').count();
            found.push((
                line + 1,
                text.lines().nth(line).unwrap_or("").trim().to_string(),
            ));
        }
    }
    found
}

/// The top-level arguments of a generic list whose `<` was just read, up to its `>`.
fn generic_arguments(text: &str) -> Option<Vec<String>> {
    let mut depth = 0usize;
    let mut arguments = vec![String::new()];
    let mut previous = ' ';
    for c in text.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            // `->` and `=>` are arrows, not closing brackets.
            '>' if previous == '-' || previous == '=' => {}
            '>' | ')' | ']' if depth == 0 => {
                return (c == '>').then_some(arguments);
            }
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                arguments.push(String::new());
                previous = c;
                continue;
            }
            '{' | ';' => return None,
            _ => {}
        }
        arguments.last_mut()?.push(c);
        previous = c;
    }
    None
}

/// Byte ranges of the items marked `#[cfg(test)]` that have a `{ … }` body.
fn test_blocks(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut blocks = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("#[cfg(test)]") {
        let start = from + at;
        from = start + 1;
        let after = &text[start..];
        let Some(open) = after.find(['{', ';']) else {
            continue;
        };
        if after.as_bytes()[open] == b';' {
            continue;
        }
        if let Some(length) = block_length(&after[open..]) {
            blocks.push(start..start + open + length);
            from = start + open + length;
        }
    }
    blocks
}

/// The length of the `{ … }` block `text` starts with, skipping braces in strings, character
/// literals and comments.
fn block_length(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += text[i..].find('\n').unwrap_or(text.len() - i);
                continue;
            }
            b'r' if bytes.get(i + 1).is_some_and(|b| *b == b'"' || *b == b'#')
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let hashes = text[i + 1..].bytes().take_while(|b| *b == b'#').count();
                if bytes.get(i + 1 + hashes) == Some(&b'"') {
                    let close = format!("\"{}", "#".repeat(hashes));
                    let body = i + 2 + hashes;
                    i = body + text[body..].find(&close)? + close.len();
                    continue;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            // A character literal (`'{'`, `'\''`), not a lifetime (`'a`).
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            _ => {}
        }
        i += 1;
    }
    None
}

//! One constructor per code: every place in compiler/src that builds a `Diagnostic` with a
//! code, read from the sources, and the test that each code is built in exactly one function.
//!
//! A construction is a `Diagnostic::new(Code::…` call (or a parser `error(Code::…`, should one
//! come back) outside diagnostics/ (the registry and renderers name codes but describe no
//! program). The function around it is the code's constructor; when that function takes a
//! situation enum (a parameter whose type's variants are the arms of a `match` in its body,
//! `Mismatch::ForNeedsList { found } => (…)`), each arm is one wording of the code, and
//! sites.rs holds each arm to a case.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rbk_compiler::diagnostics::Code;

/// One `Diagnostic::new(Code::…)` in the sources.
pub struct Construction {
    /// Path under compiler/src.
    pub file: String,
    pub line: usize,
    /// `Code::` variant name as written.
    pub variant: String,
    /// The function the call is in, with its text (signature and body).
    pub function: Option<Function>,
    /// The call and its builder chain, whitespace collapsed.
    pub chain: String,
}

pub struct Function {
    pub name: String,
    /// The 1-based line of `fn`.
    pub line: usize,
    /// Each arm of a `match` over a situation enum the function takes: `Enum::Variant`, the
    /// arm's line and its text (up to the next arm), whitespace collapsed.
    pub arms: Vec<(String, usize, String)>,
}

pub fn src_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every construction in compiler/src, in file order.
pub fn constructions() -> Vec<Construction> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let call = regex::Regex::new(r"(?:Diagnostic::new|\berror)\(\s*Code::(\w+)").unwrap();
    let mut found = Vec::new();
    for path in files {
        let relative = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        // The registry and renderers name codes; they create no diagnostic about a program.
        if relative.starts_with("diagnostics/") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for capture in call.captures_iter(&text) {
            let whole = capture.get(0).unwrap();
            let open = whole.start() + whole.as_str().find('(').unwrap();
            let end = end_of_chain(&text, open);
            found.push(Construction {
                file: relative.clone(),
                line: line_of(&text, whole.start()),
                variant: capture[1].to_string(),
                function: enclosing_function(&text, whole.start()),
                chain: collapse(&text[whole.start()..end]),
            });
        }
    }
    found
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// The innermost `fn` whose body holds `offset`, with the arms of its situation enums.
fn enclosing_function(text: &str, offset: usize) -> Option<Function> {
    let fn_name = regex::Regex::new(r"\bfn\s+(\w+)\s*(?:<[^>]*>)?\s*\(").unwrap();
    let param_type = regex::Regex::new(r":\s*&?(?:'\w+\s+)?(?:mut\s+)?([A-Z]\w*)").unwrap();
    let mut best: Option<(usize, Function)> = None;
    for found in fn_name.captures_iter(&text[..offset]) {
        let whole = found.get(0).unwrap();
        let open = whole.end() - 1;
        let params_end = matching(text, open, b'(', b')');
        let Some(body_start) = text[params_end..].find('{').map(|i| params_end + i) else {
            continue;
        };
        let body_end = matching(text, body_start, b'{', b'}');
        if !(body_start < offset && offset < body_end) {
            continue;
        }
        // Later starts are nested deeper.
        if best
            .as_ref()
            .is_some_and(|(start, _)| *start > whole.start())
        {
            continue;
        }
        let signature = &text[open..params_end];
        let body = &text[body_start..body_end];
        let mut arms = Vec::new();
        for ty in param_type.captures_iter(signature) {
            arms.extend(situation_arms(text, body_start, body, &ty[1]));
        }
        best = Some((
            whole.start(),
            Function {
                name: found[1].to_string(),
                line: line_of(text, whole.start()),
                arms,
            },
        ));
    }
    best.map(|(_, function)| function)
}

/// The arms `ty::Variant … =>` of `body` (which starts at `base` in `text`), each up to the
/// next one.
fn situation_arms(text: &str, base: usize, body: &str, ty: &str) -> Vec<(String, usize, String)> {
    let arm = regex::Regex::new(&format!(
        r"\b{ty}::(\w+)\s*(?:\{{[^{{}}]*\}}|\([^()]*\))?\s*=>"
    ))
    .unwrap();
    let starts: Vec<(usize, String)> = arm
        .captures_iter(body)
        .map(|c| (c.get(0).unwrap().start(), format!("{ty}::{}", &c[1])))
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, (start, name))| {
            let end = starts.get(i + 1).map_or(body.len(), |(next, _)| *next);
            (
                name.clone(),
                line_of(text, base + start),
                collapse(&body[*start..end]),
            )
        })
        .collect()
}

/// Where the call whose `(` is at `open` ends, with the `.method(...)` calls chained on it.
pub fn end_of_chain(text: &str, open: usize) -> usize {
    let mut end = matching(text, open, b'(', b')');
    loop {
        let rest = &text[end..];
        let trimmed = rest.trim_start();
        let Some(after_dot) = trimmed.strip_prefix('.') else {
            return end;
        };
        let name_len = after_dot
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after_dot.len());
        if !after_dot[name_len..].starts_with('(') {
            return end;
        }
        let paren = end + (rest.len() - trimmed.len()) + 1 + name_len;
        end = matching(text, paren, b'(', b')');
    }
}

/// The offset just past the closer matching the opener at `open`, skipping string and char
/// literals.
pub fn matching(text: &str, open: usize, opener: u8, closer: u8) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b if b == opener => depth += 1,
            b if b == closer => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') && bytes.get(i + 3) == Some(&b'\'') => i += 3,
            _ => {}
        }
        i += 1;
    }
    text.len()
}

pub fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_code_is_built_by_exactly_one_function() {
    let found = constructions();
    assert!(
        found.len() >= Code::ALL.len(),
        "found only {} constructions: has the way diagnostics are created changed? update \
         constructions()",
        found.len()
    );
    let mut by_code: BTreeMap<String, Vec<&Construction>> = BTreeMap::new();
    for construction in &found {
        by_code
            .entry(construction.variant.clone())
            .or_default()
            .push(construction);
    }
    let mut wrong = Vec::new();
    for code in Code::ALL {
        let variant = format!("{code:?}");
        match by_code.get(&variant).map(Vec::as_slice) {
            None | Some([]) => wrong.push(format!(
                "{} (Code::{variant}): built nowhere in compiler/src",
                code.as_str()
            )),
            Some([_]) => {}
            Some(many) => {
                let places: Vec<String> = many
                    .iter()
                    .map(|c| {
                        let function = c
                            .function
                            .as_ref()
                            .map_or("outside any fn".to_string(), |f| format!("fn {}", f.name));
                        format!("    {}:{} in {function}", c.file, c.line)
                    })
                    .collect();
                wrong.push(format!(
                    "{} (Code::{variant}) is built in {} places; build it in one constructor \
                     and pass the situation:\n{}",
                    code.as_str(),
                    many.len(),
                    places.join("\n")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_construction_is_in_a_function_of_its_own_code() {
    // A constructor builds one code: two codes in one function would make it two constructors.
    let found = constructions();
    let mut by_function: BTreeMap<(String, usize), Vec<&str>> = BTreeMap::new();
    let mut outside = Vec::new();
    for construction in &found {
        match &construction.function {
            Some(function) => by_function
                .entry((construction.file.clone(), function.line))
                .or_default()
                .push(&construction.variant),
            None => outside.push(format!("{}:{}", construction.file, construction.line)),
        }
    }
    assert!(
        outside.is_empty(),
        "constructions outside any fn: {outside:?}"
    );
    let shared: Vec<String> = by_function
        .iter()
        .filter(|(_, codes)| codes.len() > 1)
        .map(|((file, line), codes)| format!("{file}:{line} builds {codes:?}"))
        .collect();
    assert!(
        shared.is_empty(),
        "functions that build more than one diagnostic:\n{}",
        shared.join("\n")
    );
}

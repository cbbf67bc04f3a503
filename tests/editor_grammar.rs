//! Keeps the editor grammars in step with `grammar/rbk.pest`: every reserved word of the
//! `keyword` rule and every word of the `contextual` rule (`rbk_compiler::syntax::keywords`,
//! which a compiler test keeps equal to the grammar) must be highlighted by the VS Code
//! TextMate grammar, every escape of the `escape` rule must be highlighted as an escape (not as
//! an invalid one), and the extension manifest must point at files that exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rbk_compiler::syntax::keywords::{CONTEXTUAL, RESERVED};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every pattern object (with `name` / `match`) anywhere in the grammar.
fn patterns(v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(m)) = map.get("match") {
                let name = map
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                out.push((name, m.clone()));
            }
            map.values().for_each(|x| patterns(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| patterns(x, out)),
        _ => {}
    }
}

/// The words of a `\b(a|b|c)\b` alternation, or an empty set for any other regex.
fn alternation(re: &str) -> BTreeSet<String> {
    let Some(inner) = re.strip_prefix("\\b(") else {
        return BTreeSet::new();
    };
    let Some(end) = inner.find(")\\b") else {
        return BTreeSet::new();
    };
    inner[..end].split('|').map(str::to_string).collect()
}

fn tm_grammar() -> Value {
    let path = root().join("editors/vscode/syntaxes/rbk.tmLanguage.json");
    serde_json::from_str(&read(&path)).expect("rbk.tmLanguage.json is valid JSON")
}

#[test]
fn textmate_grammar_highlights_every_keyword() {
    let grammar = tm_grammar();
    assert_eq!(grammar["scopeName"], "source.rbk");

    let mut pats = Vec::new();
    patterns(&grammar, &mut pats);
    let keyword_pats: Vec<_> = pats
        .iter()
        .filter(|(name, _)| name.starts_with("keyword.control"))
        .collect();
    assert_eq!(
        keyword_pats.len(),
        1,
        "expected one keyword.control pattern: {keyword_pats:?}"
    );
    let reserved = alternation(&keyword_pats[0].1);
    assert!(
        !reserved.is_empty(),
        "keyword pattern is not a \\b(a|b)\\b alternation"
    );

    let missing: Vec<_> = RESERVED
        .iter()
        .filter(|k| !reserved.contains(**k))
        .collect();
    assert!(
        missing.is_empty(),
        "keywords not highlighted by the TextMate grammar: {missing:?}"
    );

    // Contextual words are highlighted where they have a meaning, by some other pattern.
    let all: BTreeSet<String> = pats.iter().flat_map(|(_, m)| alternation(m)).collect();
    let missing: Vec<_> = CONTEXTUAL.iter().filter(|w| !all.contains(**w)).collect();
    assert!(
        missing.is_empty(),
        "contextual words not highlighted: {missing:?}"
    );

    // No word in the alternation that the compiler does not reserve.
    let known: BTreeSet<String> = RESERVED.iter().map(|w| w.to_string()).collect();
    let extra: Vec<_> = reserved.difference(&known).collect();
    assert!(
        extra.is_empty(),
        "keyword pattern lists words that are not reserved: {extra:?}"
    );
}

/// The pest string literals in `text`, unescaped.
fn pest_strings(text: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => literal.extend(chars.next()),
                c => literal.push(c),
            }
        }
        strings.push(literal);
    }
    strings
}

/// The characters the `escape` rule of grammar/rbk.pest accepts after a backslash.
fn pest_escapes() -> Vec<String> {
    let pest = read(&root().join("grammar/rbk.pest"));
    let rule = pest
        .lines()
        .find(|line| line.trim_start().starts_with("escape "))
        .expect("grammar/rbk.pest has an `escape` rule");
    let alternatives = rule
        .split_once("\"\\\\\"")
        .expect("the escape rule starts with a backslash")
        .1;
    let escapes = pest_strings(alternatives);
    assert!(
        escapes.len() >= 6,
        "could not read the escape rule: {rule} -> {escapes:?}"
    );
    escapes
}

#[test]
fn textmate_grammar_highlights_every_escape_the_language_accepts() {
    let grammar = tm_grammar();
    let escapes = &grammar["repository"]["string-escapes"]["patterns"];
    let pattern = |scope: &str| {
        let found = escapes
            .as_array()
            .expect("string-escapes patterns")
            .iter()
            .find(|p| p["name"] == scope)
            .unwrap_or_else(|| panic!("no {scope} pattern"));
        // Anchored: the pattern must match the whole escape, as TextMate tries it at the `\`.
        regex::Regex::new(&format!("^(?:{})", found["match"].as_str().unwrap())).unwrap()
    };
    let (valid, invalid) = (
        pattern("constant.character.escape.rbk"),
        pattern("invalid.illegal.escape.rbk"),
    );
    for escape in pest_escapes() {
        let written = format!("\\{escape}");
        assert!(
            valid
                .find(&written)
                .is_some_and(|m| m.len() == written.len()),
            "the language accepts `{written}` but the TextMate grammar does not highlight it \
             as an escape (so it shows it as invalid)"
        );
    }
    // What the language refuses is not shown as an escape.
    for refused in ["\\q", "\\x", "\\0"] {
        assert!(!valid.is_match(refused), "{refused}");
        assert!(invalid.is_match(refused), "{refused}");
    }
}

#[test]
fn manifest_points_at_existing_files() {
    let dir = root().join("editors/vscode");
    let manifest: Value =
        serde_json::from_str(&read(&dir.join("package.json"))).expect("package.json is valid JSON");
    assert_eq!(manifest["name"], "rbk");
    assert!(dir.join(manifest["main"].as_str().expect("main")).is_file());

    let grammars = manifest["contributes"]["grammars"]
        .as_array()
        .expect("grammars");
    assert_eq!(grammars.len(), 1);
    assert_eq!(grammars[0]["scopeName"], "source.rbk");
    let grammar_path = dir.join(grammars[0]["path"].as_str().expect("grammar path"));
    assert!(
        grammar_path.is_file(),
        "{} does not exist",
        grammar_path.display()
    );

    let languages = manifest["contributes"]["languages"]
        .as_array()
        .expect("languages");
    assert_eq!(languages[0]["id"], "rbk");
    let config = dir.join(
        languages[0]["configuration"]
            .as_str()
            .expect("configuration"),
    );
    let config: Value = serde_json::from_str(&read(&config)).expect("language configuration");
    assert_eq!(config["comments"]["lineComment"], "//");
}

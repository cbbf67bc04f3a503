//! Keeps the editor grammars in step with `grammar/rbk.pest`: every reserved word of the
//! `keyword` rule and every word of the `contextual` rule must be highlighted by the VS Code
//! TextMate grammar, and the extension manifest must point at files that exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The double-quoted literals of one line of pest source, in order.
fn quoted(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// The body of the rule `name = ...{ ... }`: from the line defining it up to its closing brace.
fn rule_body<'a>(pest: &'a str, name: &str) -> &'a str {
    let start = pest
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].trim_start().starts_with('='))
        .unwrap_or_else(|| panic!("rule `{name}` not found in grammar/rbk.pest"));
    let offset = start.as_ptr() as usize - pest.as_ptr() as usize;
    let from = &pest[offset..];
    let open = from.find('{').expect("rule body opens with `{`");
    // Rules are either one line (`x = { ... }`) or end with a `}` alone at the start of a line.
    let first_line = from.lines().next().unwrap();
    if first_line.trim_end().ends_with('}') {
        &first_line[open + 1..first_line.trim_end().len() - 1]
    } else {
        let end = from
            .find("\n}")
            .expect("multi-line rule ends with `}` on its own line");
        &from[open + 1..end]
    }
}

/// Every reserved word of the `keyword` trie: `"a" ~ ("pproval" | "nd")` gives `approval`, `and`.
fn keywords(pest: &str) -> Vec<String> {
    let mut words = Vec::new();
    for line in rule_body(pest, "keyword").lines() {
        let q = quoted(line);
        if let Some((first, suffixes)) = q.split_first() {
            assert!(!suffixes.is_empty(), "trie branch without suffixes: {line}");
            words.extend(suffixes.iter().map(|s| format!("{first}{s}")));
        }
    }
    words
}

fn contextual(pest: &str) -> Vec<String> {
    quoted(rule_body(pest, "contextual"))
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
fn keyword_trie_is_extracted() {
    let pest = read(&root().join("grammar/rbk.pest"));
    let kws = keywords(&pest);
    assert!(kws.len() > 50, "too few keywords extracted: {kws:?}");
    for known in [
        "runbook",
        "step",
        "approval",
        "escalate",
        "safe_to_auto_approve",
        "in",
        "input",
    ] {
        assert!(
            kws.iter().any(|k| k == known),
            "`{known}` missing from {kws:?}"
        );
    }
    let unique: BTreeSet<_> = kws.iter().collect();
    assert_eq!(
        unique.len(),
        kws.len(),
        "duplicate keyword in the trie: {kws:?}"
    );
    let ctx = contextual(&pest);
    assert_eq!(ctx, ["alert", "run", "env", "secret", "read", "write"]);
}

#[test]
fn textmate_grammar_highlights_every_keyword() {
    let pest = read(&root().join("grammar/rbk.pest"));
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

    let missing: Vec<_> = keywords(&pest)
        .into_iter()
        .filter(|k| !reserved.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "keywords not highlighted by the TextMate grammar: {missing:?}"
    );

    // Contextual words are highlighted where they have a meaning, by some other pattern.
    let all: BTreeSet<String> = pats.iter().flat_map(|(_, m)| alternation(m)).collect();
    let missing: Vec<_> = contextual(&pest)
        .into_iter()
        .filter(|w| !all.contains(w))
        .collect();
    assert!(
        missing.is_empty(),
        "contextual words not highlighted: {missing:?}"
    );

    // No word in the alternation that the compiler does not reserve.
    let known: BTreeSet<String> = keywords(&pest).into_iter().collect();
    let extra: Vec<_> = reserved.difference(&known).collect();
    assert!(
        extra.is_empty(),
        "keyword pattern lists words that are not reserved: {extra:?}"
    );
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

//! Spelling values as `.rbk` source: string literals with interpolated inputs, names.

use crate::words::{Part, Word};

/// A string literal holding `text` exactly.
pub fn string(text: &str) -> String {
    rbk_compiler::syntax::string_literal(text)
}

use rbk_compiler::syntax::escape_text as escape;

/// A word as an expression: a literal, an input's name, or an interpolating string.
pub fn word(word: &Word) -> String {
    match word.as_slice() {
        [Part::Input(name)] => name.clone(),
        parts => {
            let mut out = String::from("\"");
            for part in parts {
                match part {
                    Part::Text(text) => out.push_str(&escape(text)),
                    Part::Input(name) => out.push_str(&format!("{{{name}}}")),
                }
            }
            out.push('"');
            out
        }
    }
}

/// The word's value in a test, where every input has its `sample_value`.
pub fn sample(word: &Word) -> String {
    word.iter()
        .map(|part| match part {
            Part::Text(text) => text.clone(),
            Part::Input(name) => sample_value(name),
        })
        .collect()
}

/// The value tests give an input.
pub fn sample_value(input: &str) -> String {
    format!("example-{}", input.replace('_', "-"))
}

/// Words that say little in a step's name.
const FILLER: &[&str] = &[
    "a", "an", "the", "and", "of", "to", "for", "if", "on", "in", "its", "it", "is", "that",
    "with", "by", "at", "then",
];

/// A `snake_case` name made of the first telling words of `text` (`KubeJobFailed` is three
/// words), or `None` if it has no letters.
pub fn snake_name(text: &str, max_words: usize) -> Option<String> {
    let mut spaced = String::new();
    let mut previous: Option<char> = None;
    for c in text.chars() {
        if c.is_ascii_uppercase()
            && previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            spaced.push(' ');
        }
        spaced.push(c);
        previous = Some(c);
    }
    let words: Vec<String> = spaced
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .filter(|w| max_words > 3 || !FILLER.contains(&w.to_ascii_lowercase().as_str()))
        .take(max_words)
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let name = words.join("_");
    match name.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => Some(name),
        Some(_) => Some(format!("s_{name}")),
        None => None,
    }
}

/// `text` as `//` comment lines of at most `width` columns (long words are not broken).
pub fn comment_lines(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(format!("// {line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(format!("// {line}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_what_the_language_would_read() {
        assert_eq!(string(r#"a "b" {c} \d"#), r#""a \"b\" \{c\} \\d""#);
        let mixed = vec![Part::Text("app=".into()), Part::Input("app".into())];
        assert_eq!(word(&mixed), "\"app={app}\"");
        assert_eq!(word(&vec![Part::Input("pod".into())]), "pod");
        assert_eq!(sample(&mixed), "app=example-app");
    }

    #[test]
    fn names_and_comments() {
        assert_eq!(
            snake_name("Restart the API (carefully)", 3).as_deref(),
            Some("restart_api_carefully")
        );
        assert_eq!(
            snake_name("KubeJobFailed", 8).as_deref(),
            Some("kube_job_failed")
        );
        assert_eq!(snake_name("2. go", 3).as_deref(), Some("s_2_go"));
        assert_eq!(snake_name("!!", 3), None);
        assert_eq!(comment_lines("a bb ccc", 4), vec!["// a bb", "// ccc"]);
    }
}

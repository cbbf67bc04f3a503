//! One command line of a fenced block, split the way a shell would split it, with its
//! placeholders (`<pod>`, `$NAMESPACE`, `${NAMESPACE}`, `{{ $labels.namespace }}`) found and
//! named. A line that needs a shell (pipes, redirections, `$(…)`, loops) is kept whole as a
//! script whose placeholders become positional arguments, so an alert label can never inject
//! shell syntax.

use std::sync::OnceLock;

use rbk_compiler::syntax::keywords::{CONTEXTUAL, RESERVED};
use regex::Regex;

/// A placeholder as written in the Markdown and the input it becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// The `.rbk` input name (`namespace`, `pod_name`).
    pub input: String,
    /// The alert label its default reads.
    pub label: String,
    /// The spelling in the Markdown (`<pod-name>`).
    pub written: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// The value of an input.
    Input(String),
}

/// One argument: literal text and inputs run together (`orders-<env>`).
pub type Word = Vec<Part>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Plain words, run without a shell.
    Argv(Vec<Word>),
    /// Needs `sh -c`: the script refers to `inputs` as `"$1"`, `"$2"`, ….
    Script { script: String, inputs: Vec<String> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub shape: Shape,
    pub placeholders: Vec<Placeholder>,
}

/// Names the draft itself declares: its modules, the database input and the built-in
/// functions, which an input of the same name would hide.
const DRAFT_NAMES: &[&str] = &[
    "k8s",
    "pg",
    "shell",
    "pagerduty",
    "db",
    "idle_for",
    "len",
    "filter",
    "map",
    "first",
    "sort_by",
    "any",
    "all",
    "min",
    "max",
    "sum",
    "now",
    "env",
    "secret",
];

/// Whether `name` cannot name an input or a step: a word of the language (the compiler's own
/// lists) or a name the draft uses.
pub fn is_taken(name: &str) -> bool {
    RESERVED.contains(&name) || CONTEXTUAL.contains(&name) || DRAFT_NAMES.contains(&name)
}

/// Text in a line that stands for a placeholder while it is split (private-use characters).
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

fn placeholder_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(concat!(
            r"\{\{\s*\$?\.?[Ll]abels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}",
            r"|<([A-Za-z][A-Za-z0-9_\-]*)>",
            r"|\$\{([A-Z][A-Z0-9_]*)\}",
            r"|\$([A-Z][A-Z0-9_]*)",
        ))
        .expect("the placeholder pattern is valid")
    })
}

/// The input name for a placeholder spelled `raw` (`pod-name`, `NAMESPACE`).
pub fn input_name(raw: &str) -> String {
    let mut name = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('_') && !name.is_empty() {
            name.push('_');
        }
    }
    let mut name = name.trim_end_matches('_').to_string();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "value_");
    }
    if is_taken(&name) {
        name.push_str("_value");
    }
    name
}

/// Finds the placeholders of `line` and splits it.
pub fn split(line: &str) -> Line {
    let mut placeholders: Vec<Placeholder> = Vec::new();
    let mut marked = String::new();
    let mut last = 0;
    for found in placeholder_pattern().captures_iter(line) {
        let whole = found.get(0).expect("group 0 always matches");
        let raw = (1..=4)
            .find_map(|group| found.get(group))
            .map(|m| m.as_str())
            .unwrap_or_default();
        let input = input_name(raw);
        let label = if found.get(1).is_some() {
            raw.to_string()
        } else {
            input.clone()
        };
        marked.push_str(&line[last..whole.start()]);
        let index = match placeholders.iter().position(|p| p.input == input) {
            Some(index) => index,
            None => {
                placeholders.push(Placeholder {
                    input,
                    label,
                    written: whole.as_str().to_string(),
                });
                placeholders.len() - 1
            }
        };
        marked.push(OPEN);
        marked.push_str(&index.to_string());
        marked.push(CLOSE);
        last = whole.end();
    }
    marked.push_str(&line[last..]);
    let shape = match tokenize(&marked) {
        Some(words) => Shape::Argv(
            words
                .iter()
                .map(|word| to_word(word, &placeholders))
                .collect(),
        ),
        None => script(&marked, &placeholders),
    };
    Line {
        shape,
        placeholders,
    }
}

/// Splits on blanks, honouring quotes and backslashes; `None` when the line needs a shell.
fn tokenize(marked: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = marked.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        inner => word.push(inner),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.next()? {
                            escaped @ ('"' | '\\' | '$' | '`') => word.push(escaped),
                            other => {
                                word.push('\\');
                                word.push(other);
                            }
                        },
                        '$' | '`' => return None,
                        inner => word.push(inner),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            '|' | '&' | ';' | '<' | '>' | '`' | '$' | '(' | ')' | '*' | '?' | '~' | '#'
                if !(c == '#' && in_word) =>
            {
                return None;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

fn to_word(marked: &str, placeholders: &[Placeholder]) -> Word {
    let mut parts = Vec::new();
    let mut rest = marked;
    while let Some(open) = rest.find(OPEN) {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_string()));
        }
        let after = &rest[open + OPEN.len_utf8()..];
        let close = after.find(CLOSE).unwrap_or(after.len());
        let index: usize = after[..close].parse().unwrap_or(0);
        parts.push(Part::Input(placeholders[index].input.clone()));
        rest = after.get(close + CLOSE.len_utf8()..).unwrap_or("");
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    parts
}

/// The line as an `sh -c` script: each placeholder becomes a quoted positional parameter.
fn script(marked: &str, placeholders: &[Placeholder]) -> Shape {
    let mut script = String::new();
    let mut inputs: Vec<String> = Vec::new();
    let (mut single, mut double) = (false, false);
    let mut chars = marked.chars();
    while let Some(c) = chars.next() {
        match c {
            OPEN => {
                let digits: String = chars.by_ref().take_while(|&d| d != CLOSE).collect();
                let input = &placeholders[digits.parse::<usize>().unwrap_or(0)].input;
                let position = match inputs.iter().position(|i| i == input) {
                    Some(p) => p + 1,
                    None => {
                        inputs.push(input.clone());
                        inputs.len()
                    }
                };
                let parameter = format!("${{{position}}}");
                if single {
                    script.push_str(&format!("'\"{parameter}\"'"));
                } else if double {
                    script.push_str(&parameter);
                } else {
                    script.push_str(&format!("\"{parameter}\""));
                }
            }
            '\'' if !double => {
                single = !single;
                script.push(c);
            }
            '"' if !single => {
                double = !double;
                script.push(c);
            }
            '\\' if !single => {
                script.push(c);
                if let Some(next) = chars.next() {
                    script.push(next);
                }
            }
            other => script.push(other),
        }
    }
    Shape::Script { script, inputs }
}

/// The word's text when it has no placeholder.
pub fn literal(word: &Word) -> Option<&str> {
    match word.as_slice() {
        [] => Some(""),
        [Part::Text(text)] => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Part {
        Part::Text(s.to_string())
    }

    #[test]
    fn every_placeholder_spelling_becomes_an_input() {
        let line = split("kubectl delete pod <pod-name> -n $NAMESPACE --context ${CLUSTER} -l app={{ $labels.app }}");
        let inputs: Vec<_> = line.placeholders.iter().map(|p| p.input.as_str()).collect();
        assert_eq!(inputs, vec!["pod_name", "namespace", "cluster", "app"]);
        let Shape::Argv(words) = line.shape else {
            panic!("{line:?}")
        };
        assert_eq!(words[3], vec![Part::Input("pod_name".into())]);
        assert_eq!(words[9], vec![text("app="), Part::Input("app".into())]);
    }

    #[test]
    fn quotes_group_words_and_are_removed() {
        let Shape::Argv(words) = split(r#"psql -c "SELECT 1 FROM t" 'a b' c\ d"#).shape else {
            panic!()
        };
        assert_eq!(words.len(), 5);
        assert_eq!(literal(&words[2]), Some("SELECT 1 FROM t"));
        assert_eq!(literal(&words[3]), Some("a b"));
        assert_eq!(literal(&words[4]), Some("c d"));
    }

    #[test]
    fn shell_syntax_keeps_the_line_as_a_script_with_positional_inputs() {
        let line = split("kubectl get pods -n $NAMESPACE | grep '<pod>' > /tmp/out");
        assert_eq!(
            line.shape,
            Shape::Script {
                script: "kubectl get pods -n \"${1}\" | grep ''\"${2}\"'' > /tmp/out".into(),
                inputs: vec!["namespace".into(), "pod".into()],
            }
        );
        // A lower-case variable is the shell's own, not a placeholder.
        assert!(matches!(split("echo $pod").shape, Shape::Script { .. }));
        assert!(split("echo $pod").placeholders.is_empty());
    }

    #[test]
    fn names_that_the_language_or_the_draft_use_are_renamed() {
        assert_eq!(input_name("STEP"), "step_value");
        assert_eq!(input_name("db"), "db_value");
        assert_eq!(input_name("2fa-code"), "value_2fa_code");
        assert_eq!(input_name("Pod--Name"), "pod_name");
    }
}

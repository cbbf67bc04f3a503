//! The words of the language, as `grammar/rbk.pest` lists them (a test keeps the two equal):
//! reserved words may not name anything; contextual ones mean something in one place only
//! (`alert.labels`, `run.summary`, `env("X")`, `effect read`) and are names elsewhere.

/// The grammar's `keyword` rule.
pub const RESERVED: &[&str] = &[
    "action",
    "abort",
    "and",
    "approval",
    "approve",
    "as",
    "backoff",
    "by",
    "called",
    "coalesced",
    "concurrency",
    "const",
    "continue",
    "denied",
    "deny",
    "destructive",
    "effect",
    "else",
    "escalate",
    "escalated",
    "every",
    "expect",
    "exponential",
    "extern",
    "fail",
    "failed",
    "fails",
    "failure",
    "false",
    "fn",
    "for",
    "from",
    "if",
    "in",
    "input",
    "let",
    "log",
    "manual",
    "mock",
    "none",
    "not",
    "notify",
    "on",
    "or",
    "owner",
    "per",
    "rate",
    "reason",
    "required",
    "retry",
    "return",
    "returns",
    "runbook",
    "safe_to_auto_approve",
    "schedule",
    "set",
    "skipped",
    "step",
    "succeeded",
    "suppressed",
    "test",
    "timeout",
    "times",
    "title",
    "trigger",
    "triggered",
    "true",
    "type",
    "use",
    "verify",
    "when",
    "where",
    "with",
    "within",
];

/// The grammar's `contextual` rule.
pub const CONTEXTUAL: &[&str] = &[
    "alert", "run", "env", "secret", "read", "write", "mode", "shadow", "live", "alerts", "ask",
    "template",
];

/// Every word of the language: [`RESERVED`] then [`CONTEXTUAL`].
pub const KEYWORDS: &[&str] = &[
    "action",
    "abort",
    "and",
    "approval",
    "approve",
    "as",
    "backoff",
    "by",
    "called",
    "coalesced",
    "concurrency",
    "const",
    "continue",
    "denied",
    "deny",
    "destructive",
    "effect",
    "else",
    "escalate",
    "escalated",
    "every",
    "expect",
    "exponential",
    "extern",
    "fail",
    "failed",
    "fails",
    "failure",
    "false",
    "fn",
    "for",
    "from",
    "if",
    "in",
    "input",
    "let",
    "log",
    "manual",
    "mock",
    "none",
    "not",
    "notify",
    "on",
    "or",
    "owner",
    "per",
    "rate",
    "reason",
    "required",
    "retry",
    "return",
    "returns",
    "runbook",
    "safe_to_auto_approve",
    "schedule",
    "set",
    "skipped",
    "step",
    "succeeded",
    "suppressed",
    "test",
    "timeout",
    "times",
    "title",
    "trigger",
    "triggered",
    "true",
    "type",
    "use",
    "verify",
    "when",
    "where",
    "with",
    "within",
    "alert",
    "run",
    "env",
    "secret",
    "read",
    "write",
    "mode",
    "shadow",
    "live",
    "alerts",
    "template",
    "ask",
];

/// Whether `word` may not be used as a name.
pub fn is_reserved(word: &str) -> bool {
    RESERVED.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAMMAR: &str = include_str!("../../grammar/rbk.pest");

    /// The body of the rule `name = ... { ... }` in the grammar.
    fn rule(name: &str) -> &'static str {
        let start = GRAMMAR
            .lines()
            .scan(0, |offset, line| {
                let here = *offset;
                *offset += line.len() + 1;
                Some((here, line))
            })
            .find(|(_, line)| {
                line.starts_with(name) && line[name.len()..].trim_start().starts_with('=')
            })
            .map(|(offset, _)| offset)
            .expect("the rule");
        let body = &GRAMMAR[start..];
        let open = body.find('{').unwrap();
        let mut depth = 0;
        for (i, c) in body[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return &body[open + 1..open + i];
                    }
                }
                _ => {}
            }
        }
        panic!("unclosed rule {name}")
    }

    fn quoted(text: &str) -> Vec<&str> {
        text.split('"').skip(1).step_by(2).collect()
    }

    #[test]
    fn the_lists_are_the_grammars() {
        // `"a" ~ ("pproval" | "pprove" | ...)`: a first letter, then the rests.
        let mut reserved: Vec<String> = Vec::new();
        for line in rule("keyword").lines() {
            let Some((first, rests)) = line.split_once('~') else {
                continue;
            };
            let first = quoted(first);
            let [first] = first.as_slice() else {
                continue;
            };
            reserved.extend(quoted(rests).iter().map(|rest| format!("{first}{rest}")));
        }
        assert!(
            reserved.len() > 50,
            "too few keywords extracted: {reserved:?}"
        );
        for known in [
            "runbook",
            "step",
            "approval",
            "safe_to_auto_approve",
            "in",
            "input",
        ] {
            assert!(reserved.iter().any(|k| k == known), "`{known}` missing");
        }
        let count = reserved.len();
        reserved.sort();
        reserved.dedup();
        assert_eq!(reserved.len(), count, "a keyword twice in the trie");
        let mut listed: Vec<String> = RESERVED.iter().map(|w| w.to_string()).collect();
        listed.sort();
        assert_eq!(listed, reserved);
        let mut contextual = quoted(rule("contextual"));
        contextual.sort();
        let mut listed = CONTEXTUAL.to_vec();
        listed.sort();
        assert_eq!(listed, contextual);
        assert_eq!(KEYWORDS.len(), RESERVED.len() + CONTEXTUAL.len());
        assert!(KEYWORDS
            .iter()
            .all(|w| RESERVED.contains(w) || CONTEXTUAL.contains(w)));
    }
}

//! Text written back as rbk source: a string literal that holds exactly the given text. Fixes
//! (an owner or group name put into a new clause) and `rbk import` (commands and prose from a
//! Markdown page) both write such literals; a `"` or `{` in the text must not end the string
//! or start an interpolation.

/// `text` escaped for the inside of a string literal: quotes, backslashes and braces get a
/// backslash, line breaks and tabs their escapes.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out
}

/// A string literal, quotes included, holding `text` exactly.
pub fn string_literal(text: &str) -> String {
    format!("\"{}\"", escape_text(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse_expression, ExprKind, StrPart};
    use crate::FileId;

    #[test]
    fn what_would_end_or_interpolate_is_escaped() {
        assert_eq!(string_literal("db-oncall"), "\"db-oncall\"");
        assert_eq!(string_literal("a\"b{c}\\\n"), r#""a\"b\{c\}\\\n""#);
    }

    /// The attack: text full of quotes, braces and escapes reads back as exactly itself.
    #[test]
    fn a_literal_parses_back_to_its_text() {
        for text in [
            "",
            "plain",
            "a\"b",
            "{x}",
            "\\{",
            "tab\there\r\nnext",
            "ünï{cø}de\"\\",
        ] {
            let expr = parse_expression(FileId(0), &string_literal(text)).expect("parses");
            let ExprKind::Str(parts) = &expr.kind else {
                panic!("not a string: {expr:?}")
            };
            let read: String = parts
                .iter()
                .map(|part| match part {
                    StrPart::Text(t) => t.clone(),
                    other => panic!("interpolation in {text:?}: {other:?}"),
                })
                .collect();
            assert_eq!(read, text);
        }
    }
}

//! Who a person is, as far as rbk can tell: the name they give, normalised so that one person
//! cannot count twice by spelling their name two ways. `bob`, `bob `, `Bob` and `b\u{200b}ob`
//! are one person; the normal form is what runs record and what approval rules compare.
//!
//! The command line trusts the local user's word for their name (`--as`, `$RBK_USER`): this
//! makes the comparison exact, it does not authenticate anyone (see docs/trust.md).

use unicode_normalization::UnicodeNormalization;

/// Characters that print as nothing: a name padded with them looks like another name.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}' | '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}'
    )
}

/// The normal form of a person's name: Unicode NFC, invisible characters removed, runs of
/// whitespace as one space, no leading or trailing whitespace, lower case. Names are compared
/// only in this form.
pub fn normalize_person(name: &str) -> String {
    let composed: String = name.nfc().filter(|c| !is_invisible(*c)).collect();
    composed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether two names are the same person.
pub fn same_person(a: &str, b: &str) -> bool {
    normalize_person(a) == normalize_person(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_case_and_invisible_characters_do_not_make_a_second_person() {
        for spelling in [
            "bob",
            "bob ",
            " bob",
            "Bob",
            "BOB\t",
            "b\u{200b}ob",
            "\u{feff}bob",
        ] {
            assert_eq!(normalize_person(spelling), "bob", "{spelling:?}");
        }
    }

    #[test]
    fn composed_and_decomposed_accents_are_one_person() {
        assert!(same_person("ren\u{e9}", "rene\u{301}"));
    }

    #[test]
    fn inner_whitespace_is_kept_as_one_space_and_different_names_stay_different() {
        assert_eq!(normalize_person("Mary  Ann"), "mary ann");
        assert!(!same_person("alice", "alicia"));
        assert_eq!(normalize_person("   "), "");
    }
}

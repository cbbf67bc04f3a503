//! Fixes that travel with their diagnostic: the lint that finds a problem also says how to
//! repair it, as text edits in the diagnostic's file. The language server offers them as code
//! actions and `rbk check --fix` applies the safe ones, both without looking for the problem
//! again.
//!
//! The rule for [`Fix::safe`]: a fix is safe when applying it unattended cannot change what a
//! run does or who must agree to it — it only adds descriptive text (a `title`). A fix that
//! guesses (an approver group, a PagerDuty service, which of two names was meant) or that
//! deletes what someone wrote is offered in the editor, where a person reads it, and never
//! applied by `--fix`.

use super::Diagnostic;
use crate::syntax::Span;

/// One replacement of the bytes in `span` (empty for an insertion) by `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

impl Edit {
    pub fn insert(at: usize, text: impl Into<String>) -> Edit {
        Edit {
            span: Span::new(at, at),
            replacement: text.into(),
        }
    }

    pub fn replace(span: Span, text: impl Into<String>) -> Edit {
        Edit {
            span,
            replacement: text.into(),
        }
    }
}

/// One way to repair a diagnostic: all its edits are applied together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// What the fix does, as an editor lists it ("Add the title \"Db pool\"").
    pub title: String,
    /// In the diagnostic's file; they do not overlap.
    pub edits: Vec<Edit>,
    /// Whether `rbk check --fix` may apply it (see the rule at the top of this file).
    pub safe: bool,
}

impl Fix {
    /// A fix `rbk check --fix` applies.
    pub fn safe(title: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix {
            title: title.into(),
            edits,
            safe: true,
        }
    }

    /// A fix only a person applies, in the editor.
    pub fn for_review(title: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix {
            title: title.into(),
            edits,
            safe: false,
        }
    }
}

/// Why a set of edits cannot be applied to a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditError {
    /// Two edits touch the same bytes, or insert at the same place (their order would be a
    /// guess).
    Overlap { first: Span, second: Span },
    /// An edit's span ends past the text or does not fall on character boundaries.
    OutOfText { span: Span },
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::Overlap { first, second } => write!(
                f,
                "edits at bytes {}..{} and {}..{} overlap",
                first.start, first.end, second.start, second.end
            ),
            EditError::OutOfText { span } => write!(
                f,
                "edit at bytes {}..{} is not within the text",
                span.start, span.end
            ),
        }
    }
}

impl std::error::Error for EditError {}

/// Whether `edit` can be applied to `text` together with every edit in `taken`.
pub fn fits(text: &str, taken: &[&Edit], edit: &Edit) -> Result<(), EditError> {
    let span = edit.span;
    if span.start > span.end
        || span.end > text.len()
        || !text.is_char_boundary(span.start)
        || !text.is_char_boundary(span.end)
    {
        return Err(EditError::OutOfText { span });
    }
    for other in taken {
        let (a, b) = (other.span, span);
        let same_place = a.start == b.start;
        let intersect = a.start < b.end && b.start < a.end;
        if same_place || intersect {
            return Err(EditError::Overlap {
                first: a.min(b),
                second: a.max(b),
            });
        }
    }
    Ok(())
}

/// `text` with all `edits` applied, from the end of the text backwards so earlier offsets stay
/// valid. Refuses overlapping edits and edits outside the text rather than guess.
pub fn apply_edits(text: &str, edits: &[&Edit]) -> Result<String, EditError> {
    for (index, edit) in edits.iter().enumerate() {
        fits(text, &edits[..index], edit)?;
    }
    let mut ordered = edits.to_vec();
    ordered.sort_by_key(|e| std::cmp::Reverse(e.span.start));
    let mut out = text.to_string();
    for edit in ordered {
        out.replace_range(edit.span.start..edit.span.end, &edit.replacement);
    }
    Ok(out)
}

/// What applying the safe fixes of one file's diagnostics made of its text.
#[derive(Debug)]
pub struct SafeFixes<'a> {
    /// The text with the fixes applied.
    pub text: String,
    /// The diagnostics a fix was applied for, each with that fix.
    pub applied: Vec<(&'a Diagnostic, &'a Fix)>,
    /// Diagnostics whose safe fix overlaps one applied before it: a second run applies it to
    /// the new text.
    pub held_back: Vec<&'a Diagnostic>,
}

/// Applies the first safe fix of each of `diagnostics` (all of one file whose text is `text`),
/// in their order, leaving out any fix whose edits overlap the ones already taken.
pub fn apply_safe_fixes<'a>(
    text: &str,
    diagnostics: impl IntoIterator<Item = &'a Diagnostic>,
) -> SafeFixes<'a> {
    let mut taken: Vec<&Edit> = Vec::new();
    let mut applied = Vec::new();
    let mut held_back = Vec::new();
    for diagnostic in diagnostics {
        let Some(fix) = diagnostic.fixes.iter().find(|f| f.safe) else {
            continue;
        };
        let mut with_fix = taken.clone();
        let mut fits_all = true;
        for edit in &fix.edits {
            if fits(text, &with_fix, edit).is_err() {
                fits_all = false;
                break;
            }
            with_fix.push(edit);
        }
        if fits_all {
            taken = with_fix;
            applied.push((diagnostic, fix));
        } else {
            held_back.push(diagnostic);
        }
    }
    match apply_edits(text, &taken) {
        Ok(text) => SafeFixes {
            text,
            applied,
            held_back,
        },
        // Unreachable, as every edit was checked to fit; keep the text rather than guess.
        Err(_) => SafeFixes {
            text: text.to_string(),
            applied: Vec::new(),
            held_back: applied.into_iter().map(|(d, _)| d).collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, edits: &[Edit]) -> Result<String, EditError> {
        apply_edits(text, &edits.iter().collect::<Vec<_>>())
    }

    #[test]
    fn edits_apply_from_the_end_whatever_their_order() {
        let text = "runbook a {\n}\n";
        let edits = [
            Edit::insert(11, "\n  title \"A\""),
            Edit::replace(Span::new(8, 9), "b"),
        ];
        assert_eq!(
            apply(text, &edits).unwrap(),
            "runbook b {\n  title \"A\"\n}\n"
        );
    }

    #[test]
    fn overlapping_edits_are_refused() {
        let text = "0123456789";
        let crossing = [
            Edit::replace(Span::new(2, 5), "x"),
            Edit::replace(Span::new(4, 7), "y"),
        ];
        assert_eq!(
            apply(text, &crossing),
            Err(EditError::Overlap {
                first: Span::new(2, 5),
                second: Span::new(4, 7)
            })
        );
        let inside = [Edit::replace(Span::new(2, 8), "x"), Edit::insert(5, "y")];
        assert!(matches!(
            apply(text, &inside),
            Err(EditError::Overlap { .. })
        ));
        // Two insertions at one place: which goes first would be a guess.
        let same_place = [Edit::insert(3, "a"), Edit::insert(3, "b")];
        assert!(matches!(
            apply(text, &same_place),
            Err(EditError::Overlap { .. })
        ));
    }

    #[test]
    fn touching_edits_are_not_overlapping() {
        let text = "0123456789";
        let edits = [
            Edit::replace(Span::new(2, 5), "x"),
            Edit::insert(5, "y"),
            Edit::replace(Span::new(5, 7), "z"),
        ];
        // The insertion at 5 and the replacement from 5 start at one place: refused.
        assert!(apply(text, &edits).is_err());
        let edits = [
            Edit::replace(Span::new(2, 5), "x"),
            Edit::replace(Span::new(5, 7), "z"),
        ];
        assert_eq!(apply(text, &edits).unwrap(), "01xz789");
    }

    fn diagnostic_with(fixes: Vec<Fix>) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(
            crate::diagnostics::Code::MissingTitle,
            crate::FileId(0),
            Span::new(0, 1),
            "m",
        );
        diagnostic.fixes = fixes;
        diagnostic
    }

    #[test]
    fn only_safe_fixes_are_applied_and_overlapping_ones_wait() {
        let text = "abcdef";
        let unsafe_only = diagnostic_with(vec![Fix::for_review("X", vec![Edit::insert(0, "X")])]);
        let first = diagnostic_with(vec![
            Fix::for_review("guess", vec![Edit::insert(1, "?")]),
            Fix::safe("B", vec![Edit::replace(Span::new(1, 2), "B")]),
        ]);
        let crossing = diagnostic_with(vec![Fix::safe(
            "C",
            vec![Edit::insert(5, "!"), Edit::replace(Span::new(1, 3), "C")],
        )]);
        let last = diagnostic_with(vec![Fix::safe(
            "F",
            vec![Edit::replace(Span::new(5, 6), "F")],
        )]);
        let result = apply_safe_fixes(text, [&unsafe_only, &first, &crossing, &last]);
        assert_eq!(result.text, "aBcdeF");
        let titles: Vec<_> = result
            .applied
            .iter()
            .map(|(_, f)| f.title.as_str())
            .collect();
        assert_eq!(titles, ["B", "F"]);
        // A fix applies whole or not at all: `crossing`'s insertion at 5 is not applied alone.
        assert_eq!(result.held_back.len(), 1);
        assert!(std::ptr::eq(result.held_back[0], &crossing));
    }

    #[test]
    fn multi_byte_text_is_edited_on_character_boundaries() {
        let text = "title \"Café ☕\"\n";
        let cafe = text.find("Café").unwrap();
        let edit = Edit::replace(Span::new(cafe, cafe + "Café".len()), "Thé 🍵");
        assert_eq!(apply(text, &[edit]).unwrap(), "title \"Thé 🍵 ☕\"\n");
        // Inside the two bytes of `é`: refused, not a panic.
        let inside = cafe + "Caf".len() + 1;
        assert_eq!(
            apply(text, &[Edit::insert(inside, "x")]),
            Err(EditError::OutOfText {
                span: Span::new(inside, inside)
            })
        );
        assert!(apply(text, &[Edit::insert(text.len() + 1, "x")]).is_err());
        assert!(apply(text, &[Edit::replace(Span::new(3, 2), "x")]).is_err());
    }
}

//! Quick fixes: each compiler diagnostic carries its repairs as edits (see
//! `rbk_compiler::diagnostics::fixes`); this module only turns them into code actions, with
//! ranges in the editor's UTF-16 columns. Nothing is looked up again here.

use std::collections::HashMap;

use rbk_compiler::diagnostics::Diagnostic;
use tower_lsp_server::ls_types::{
    self as lsp, CodeAction, CodeActionKind, Range, TextEdit, Uri, WorkspaceEdit,
};

use crate::convert::SourceText;

/// The code actions for one diagnostic of the buffer at `uri`, in the order the compiler lists
/// its fixes; the first is the preferred one.
pub fn quick_fixes(
    source: &SourceText,
    uri: &Uri,
    diagnostic: &Diagnostic,
    lsp_diagnostic: &lsp::Diagnostic,
) -> Vec<CodeAction> {
    diagnostic
        .fixes
        .iter()
        .enumerate()
        .map(|(index, fix)| {
            let edits: Vec<TextEdit> = fix
                .edits
                .iter()
                .map(|edit| TextEdit::new(source.range(edit.span), edit.replacement.clone()))
                .collect();
            CodeAction {
                title: fix.title.clone(),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![lsp_diagnostic.clone()]),
                edit: Some(WorkspaceEdit::new(HashMap::from([(uri.clone(), edits)]))),
                is_preferred: Some(index == 0),
                ..Default::default()
            }
        })
        .collect()
}

/// Whether a code-action request for `range` with the client's `context` diagnostics asks for
/// the fixes of `diagnostic`: it is one the client names, or it lies on a line the request
/// touches. Editors ask at the cursor (Neovim, Emacs) or for the line, which is rarely inside
/// the diagnostic's own range.
pub fn asked_for(diagnostic: &lsp::Diagnostic, range: Range, context: &[lsp::Diagnostic]) -> bool {
    let named = context
        .iter()
        .any(|d| d.range == diagnostic.range && d.code == diagnostic.code);
    let on_a_requested_line = diagnostic.range.start.line <= range.end.line
        && diagnostic.range.end.line >= range.start.line;
    named || on_a_requested_line
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbk_compiler::diagnostics::{Code, Edit, Fix, LineIndex};
    use rbk_compiler::syntax::Span;
    use rbk_compiler::FileId;
    use tower_lsp_server::ls_types::Position;

    /// The action is the diagnostic's fix, whatever it says: a fix no lint would make, after
    /// text whose characters take two UTF-16 units, comes out with the same text and the
    /// editor's columns.
    #[test]
    fn an_action_is_the_diagnostics_own_fix() {
        let text = "// 😀 é\nrunbook r {\n}\n";
        let lines = LineIndex::new(text);
        let source = SourceText {
            text,
            lines: &lines,
        };
        let uri: Uri = "file:///r.rbk".parse().unwrap();
        let after_emoji = text.find('😀').unwrap() + '😀'.len_utf8();
        let brace = text.find('{').unwrap() + 1;
        let diagnostic = Diagnostic::new(Code::MissingTitle, FileId(0), Span::new(11, 12), "m")
            .with_fix(Fix::for_review(
                "first",
                vec![
                    Edit::replace(Span::new(after_emoji, after_emoji + 3), "ë"),
                    Edit::insert(brace, "\n  title \"R\""),
                ],
            ))
            .with_fix(Fix::safe("second", vec![Edit::insert(0, "x")]));
        let lsp_diagnostic = crate::convert::diagnostic(&source, &uri, &diagnostic);
        let actions = quick_fixes(&source, &uri, &diagnostic, &lsp_diagnostic);
        let titles: Vec<_> = actions.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["first", "second"]);
        assert_eq!(actions[0].is_preferred, Some(true));
        assert_eq!(actions[1].is_preferred, Some(false));
        let edits = &actions[0].edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri];
        // `// 😀` is 3 + 2 UTF-16 units; ` é` is 2 more (3 bytes).
        assert_eq!(
            edits[0],
            TextEdit::new(
                Range::new(Position::new(0, 5), Position::new(0, 7)),
                "ë".into()
            )
        );
        assert_eq!(
            edits[1],
            TextEdit::new(
                Range::new(Position::new(1, 11), Position::new(1, 11)),
                "\n  title \"R\"".into()
            )
        );
    }
}

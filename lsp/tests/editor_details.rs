//! Protocol details other editors than VS Code depend on, found with Neovim and Emacs/eglot:
//! code actions asked for at the cursor (not the diagnostic's range) or for the diagnostics
//! named in the request's context, and formatting of `\r\n` files that edits only what changes.

mod support;

use serde_json::{json, Value};

use support::*;

/// The example with its approval waiver removed: E0301 on the step `kill`.
fn ungated() -> (String, String) {
    let (uri, text) = example("db_pool_exhaustion.rbk");
    let waiver =
        "    approval none reason \"only idle backends are terminated, never active ones\"\n";
    assert!(text.contains(waiver));
    (uri, text.replace(waiver, ""))
}

async fn code_actions(editor: &mut Editor, uri: &str, range: Value, context: Value) -> Vec<String> {
    let actions = editor
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": range, "context": { "diagnostics": context } }),
        )
        .await;
    actions
        .as_array()
        .expect("a list of code actions")
        .iter()
        .map(|action| action["title"].as_str().unwrap().to_string())
        .collect()
}

fn at(line: u64, character: u64) -> Value {
    json!({ "start": { "line": line, "character": character }, "end": { "line": line, "character": character } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_fixes_are_offered_wherever_the_cursor_is_on_the_line() {
    let mut editor = Editor::start().await;
    let (uri, text) = ungated();
    let diagnostics = editor.open(&uri, &text).await;
    let e0301 = diagnostics
        .iter()
        .find(|d| d["code"] == "E0301")
        .expect("E0301")
        .clone();
    let line = e0301["range"]["start"]["line"].as_u64().unwrap();
    let line_text = text.lines().nth(line as usize).unwrap();
    assert!(line_text.contains("step kill"), "{line_text}");

    // Neovim and eglot send the cursor: the start of the line, the end, the title string.
    for character in [
        0,
        line_text.len() as u64,
        line_text.find('"').unwrap() as u64 + 3,
    ] {
        let titles = code_actions(&mut editor, &uri, at(line, character), json!([])).await;
        assert!(
            titles.iter().any(|t| t.starts_with("Require approval")),
            "cursor at {line}:{character}: {titles:?}"
        );
    }

    // A request elsewhere (eglot's region) that names the diagnostic in its context.
    let titles = code_actions(&mut editor, &uri, at(0, 0), json!([e0301])).await;
    assert!(
        titles.iter().any(|t| t.starts_with("Require approval")),
        "{titles:?}"
    );

    // A line with no diagnostic and no context: nothing.
    let titles = code_actions(&mut editor, &uri, at(line + 1, 0), json!([])).await;
    assert!(titles.is_empty(), "{titles:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formatting_a_crlf_file_keeps_crlf_and_edits_only_what_changed() {
    let mut editor = Editor::start().await;
    let (uri, text) = example("db_pool_exhaustion.rbk");
    let crlf = text.replace('\n', "\r\n");

    // Formatted already, only with `\r\n`: no edit at all.
    editor.open(&uri, &crlf).await;
    assert_eq!(editor.formatting(&uri).await, json!([]));

    // One line out of shape: one edit, on that line, with no `\n` that is not part of `\r\n`.
    let messy = crlf.replacen(
        "let before = pg.pool_usage(db)",
        "let before=pg.pool_usage( db )",
        1,
    );
    assert_ne!(messy, crlf);
    editor.change(&uri, 2, &messy).await;
    let edits = editor.formatting(&uri).await;
    let edits = edits.as_array().unwrap();
    assert_eq!(edits.len(), 1, "{edits:?}");
    let range = &edits[0]["range"];
    let line = messy[..messy.find("let before=").unwrap()]
        .matches('\n')
        .count() as u64;
    assert_eq!(range["start"]["line"], line, "{edits:?}");
    assert_eq!(range["end"]["line"], line, "{edits:?}");
    let new_text = edits[0]["newText"].as_str().unwrap();
    assert!(!new_text.replace("\r\n", "").contains('\n'), "{new_text:?}");
    assert_eq!(apply(&messy, edits), crlf);
}

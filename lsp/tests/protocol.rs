//! The server driven in-process through real JSON-RPC messages, as an editor would.

mod support;

use std::path::PathBuf;

use serde_json::{json, Value};

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_hover_completion_and_the_approval_fix() {
    let mut editor = Editor::start().await;
    let (uri, text) = example("db_pool_exhaustion.rbk");

    let diagnostics = editor.open(&uri, &text).await;
    assert!(
        no_errors(&diagnostics),
        "the example has no errors: {diagnostics:?}"
    );

    // Hover on an action: its effect and signature.
    let hover = editor
        .request(
            "textDocument/hover",
            json!({ "textDocument": { "uri": uri }, "position": position_of(&text, "pg.terminate(", 4) }),
        )
        .await;
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(shown.contains("terminate"), "{shown}");
    assert!(shown.contains("destructive"), "{shown}");
    // … and on a keyword, what it means.
    let hover = editor
        .at(
            "textDocument/hover",
            &uri,
            position_of(&text, "approval required", 2),
            json!({}),
        )
        .await;
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(
        shown.contains("approval required [N]") && shown.contains("E0301"),
        "{shown}"
    );

    // Completion after `pg.` in code being typed.
    let typing = text.replace(
        "    let before = pg.pool_usage(db)\n",
        "    let before = pg.pool_usage(db)\n    let x = pg.\n",
    );
    let diagnostics = editor.change(&uri, 2, &typing).await;
    assert!(
        codes(&diagnostics).contains(&"E0001".to_string()),
        "{diagnostics:?}"
    );
    let at = typing.find("let x = pg.").unwrap() + "let x = pg.".len();
    let line = typing[..at].matches('\n').count();
    let column = at - typing[..at].rfind('\n').unwrap() - 1;
    let completion = editor
        .request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": column } }),
        )
        .await;
    let labels: Vec<&str> = completion
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"terminate"), "{labels:?}");
    assert!(labels.contains(&"pool_usage"), "{labels:?}");

    // A destructive step without approval: E0301, and its quick fix removes it.
    let ungated = text.replace(
        "    approval none reason \"only idle backends are terminated, never active ones\"\n",
        "",
    );
    let diagnostics = editor.change(&uri, 3, &ungated).await;
    let e0301 = diagnostics
        .iter()
        .find(|d| d["code"] == "E0301")
        .expect("E0301")
        .clone();
    assert!(e0301["message"].as_str().unwrap().contains("help:"));
    let actions = editor
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": { "uri": uri },
                "range": e0301["range"],
                "context": { "diagnostics": [e0301] },
            }),
        )
        .await;
    let actions = actions.as_array().unwrap();
    assert_eq!(actions.len(), 2, "{actions:?}");
    let edits = actions[0]["edit"]["changes"][&uri].as_array().unwrap();
    let mut fixed = ungated.clone();
    for edit in edits.iter().rev() {
        let at = offset_of(&fixed, &edit["range"]["start"]);
        fixed.insert_str(at, edit["newText"].as_str().unwrap());
    }
    assert!(fixed.contains(
        "  step kill \"Kill idle connections older than {idle_for}\" {\n    approval required from \"database-oncall\" timeout 5m on timeout deny\n"
    ), "{fixed}");
    let diagnostics = editor.change(&uri, 4, &fixed).await;
    assert!(no_errors(&diagnostics), "{diagnostics:?}");

    // Formatting a formatted file changes nothing; symbols list the runbook and its steps.
    let edits = editor.formatting(&uri).await;
    assert_eq!(edits, json!([]));
    let symbols = editor
        .request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await;
    assert_eq!(symbols[0]["name"], "db_pool_exhaustion");
    assert!(symbols[0]["children"].as_array().unwrap().len() >= 5);

    // Go to definition: a `let` binding, and a step named in a test.
    let use_of_idle = fixed.find("pg.terminate(db, idle").unwrap() + "pg.terminate(db, ".len();
    let line = fixed[..use_of_idle].matches('\n').count();
    let column = use_of_idle - fixed[..use_of_idle].rfind('\n').unwrap() - 1;
    let definition = editor
        .request(
            "textDocument/definition",
            json!({ "textDocument": { "uri": uri }, "position": { "line": line, "character": column } }),
        )
        .await;
    assert_eq!(
        definition["range"]["start"],
        position_of(&fixed, "idle = pg.idle_connections", 0)
    );
    let definition = editor
        .request(
            "textDocument/definition",
            json!({ "textDocument": { "uri": uri }, "position": position_of(&fixed, "expect step kill", 12) }),
        )
        .await;
    assert_eq!(
        definition["range"]["start"],
        position_of(&fixed, "kill \"Kill", 0)
    );
}

/// `text` with the one `§` taken out, and the LSP position where it was (ASCII before it).
fn marked(text: &str) -> (String, Value) {
    let position = position_of(text, "§", 0);
    (text.replacen('§', "", 1), position)
}

fn labels(completion: &Value) -> Vec<String> {
    completion
        .as_array()
        .expect("a completion list")
        .iter()
        .map(|item| item["label"].as_str().unwrap().to_string())
        .collect()
}

impl Editor {
    /// Sends `text` (with a `§` for the cursor) as the buffer's next version and completes there.
    async fn complete_at(&mut self, uri: &str, version: i32, text: &str) -> Value {
        let (text, position) = marked(text);
        self.change(uri, version, &text).await;
        self.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": uri }, "position": position }),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_knows_where_the_cursor_is() {
    let mut editor = Editor::start().await;
    let (uri, text) = example("db_pool_exhaustion.rbk");
    editor.open(&uri, &text).await;

    // Parameters not given yet, by position or by name.
    let call = "pg.terminate(db, idle, max: 50)";
    let typing = text.replace(call, "pg.terminate(db, §");
    let items = labels(&editor.complete_at(&uri, 2, &typing).await);
    assert!(items.contains(&"sessions:".to_string()), "{items:?}");
    assert!(items.contains(&"max:".to_string()), "{items:?}");
    assert!(!items.contains(&"db:".to_string()), "{items:?}");
    let typing = text.replace(call, "pg.terminate(db, max: 5, §");
    let items = labels(&editor.complete_at(&uri, 3, &typing).await);
    assert!(items.contains(&"sessions:".to_string()), "{items:?}");
    assert!(!items.contains(&"max:".to_string()), "{items:?}");

    // Step names in tests, the ones of the runbook the test runs.
    let typing = text.replace("expect step restart skipped", "expect step §");
    let items = labels(&editor.complete_at(&uri, 4, &typing).await);
    for step in ["count", "find_idle", "kill", "pool_ok", "restart"] {
        assert!(items.contains(&step.to_string()), "{step}: {items:?}");
    }
    assert!(!items.contains(&"runbook".to_string()), "{items:?}");

    // Approver groups from rbk.toml, quoted or not yet.
    let gate = "approval required from \"database-oncall\" timeout 5m on timeout deny";
    let typing = text.replace(gate, "approval required from §");
    let completion = editor.complete_at(&uri, 5, &typing).await;
    assert_eq!(
        labels(&completion),
        vec!["database-oncall", "platform-oncall", "sre"]
    );
    assert_eq!(completion[2]["textEdit"]["newText"], "\"sre\"");
    let typing = text.replace(gate, "approval required from \"pl§");
    let completion = editor.complete_at(&uri, 6, &typing).await;
    let (typed, _) = marked(&typing);
    let fixed = apply(&typed, &[completion[1]["textEdit"].clone()]);
    assert!(
        fixed.contains("approval required from \"platform-oncall\"\n"),
        "{fixed}"
    );

    // Clauses at the runbook's level, statements in a step, the inputs in scope.
    let typing = text.replace("  concurrency 1\n", "  §\n");
    let items = labels(&editor.complete_at(&uri, 7, &typing).await);
    for clause in ["step", "verify", "escalate", "notify", "input"] {
        assert!(items.contains(&clause.to_string()), "{clause}: {items:?}");
    }
    assert!(!items.contains(&"mock".to_string()), "{items:?}");
    let typing = text.replace(
        "    let before = pg.pool_usage(db)\n",
        "    let before = pg.pool_usage(db)\n    §\n",
    );
    let items = labels(&editor.complete_at(&uri, 8, &typing).await);
    for name in [
        "let", "approval", "idle_for", "target", "before", "pg", "len",
    ] {
        assert!(items.contains(&name.to_string()), "{name}: {items:?}");
    }

    // A runbook's inputs after `run NAME with {`, and `run.` fields in escalate.
    let typing = text.replace(
        "  run db_pool_exhaustion\n",
        "  run db_pool_exhaustion with { idle_for: 2h, § }\n",
    );
    let items = labels(&editor.complete_at(&uri, 9, &typing).await);
    assert!(items.contains(&"target:".to_string()), "{items:?}");
    assert!(!items.contains(&"idle_for:".to_string()), "{items:?}");
    let typing = text.replace("{run.summary}", "{run.§}");
    let items = labels(&editor.complete_at(&uri, 10, &typing).await);
    assert!(items.contains(&"summary".to_string()), "{items:?}");
    assert!(items.contains(&"failed_step".to_string()), "{items:?}");

    // Nothing inside comments.
    let typing = text.replace("/// Frees", "/// Fr§ees");
    assert_eq!(editor.complete_at(&uri, 11, &typing).await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_rename_and_definitions_in_the_standard_library() {
    let mut editor = Editor::start().await;
    let (uri, text) = example("db_pool_exhaustion.rbk");
    editor.open(&uri, &text).await;

    // Every use of an input: its declaration, an argument, and an interpolation in a title.
    let references = editor
        .at(
            "textDocument/references",
            &uri,
            position_of(&text, "older_than: idle_for", 12),
            json!({ "context": { "includeDeclaration": true } }),
        )
        .await;
    let lines: Vec<u64> = references
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["range"]["start"]["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![13, 26, 29], "{references}");

    // Rename a `let`: the binding and its use change, nothing else.
    let edit = editor
        .at(
            "textDocument/rename",
            &uri,
            position_of(&text, "let idle", 4),
            json!({ "newName": "aged" }),
        )
        .await;
    let renamed = apply(&text, edit["changes"][&uri].as_array().unwrap());
    assert!(
        renamed.contains("let aged = pg.idle_connections"),
        "{renamed}"
    );
    assert!(
        renamed.contains("pg.terminate(db, aged, max: 50)"),
        "{renamed}"
    );
    assert!(renamed.contains("idle_for"), "other names untouched");
    let diagnostics = editor.change(&uri, 2, &renamed).await;
    assert!(no_errors(&diagnostics), "{diagnostics:?}");

    // A step renamed in the runbook and in its test.
    let edit = editor
        .at(
            "textDocument/rename",
            &uri,
            position_of(&renamed, "step kill", 6),
            json!({ "newName": "terminate_idle" }),
        )
        .await;
    let renamed = apply(&renamed, edit["changes"][&uri].as_array().unwrap());
    assert!(renamed.contains("step terminate_idle \""), "{renamed}");
    assert!(
        renamed.contains("expect step terminate_idle succeeded"),
        "{renamed}"
    );
    editor.change(&uri, 3, &renamed).await;

    // What cannot be renamed says why.
    let at = position_of(&renamed, "pg.terminate(", 4);
    let message = json!({ "jsonrpc": "2.0", "id": 99, "method": "textDocument/prepareRename",
        "params": { "textDocument": { "uri": uri }, "position": at } });
    let response = editor.send(message).await.unwrap();
    let why = response["error"]["message"].as_str().unwrap();
    assert!(
        why.contains("standard library (std.postgres)"),
        "{response}"
    );
    let message = json!({ "jsonrpc": "2.0", "id": 100, "method": "textDocument/rename",
        "params": { "textDocument": { "uri": uri }, "position": position_of(&renamed, "let aged", 4), "newName": "step" } });
    let response = editor.send(message).await.unwrap();
    assert!(
        response["error"]["message"]
            .as_str()
            .unwrap()
            .contains("keyword"),
        "{response}"
    );
    let range = editor
        .at(
            "textDocument/prepareRename",
            &uri,
            position_of(&renamed, "let aged", 5),
            json!({}),
        )
        .await;
    assert_eq!(range["start"], position_of(&renamed, "aged =", 0));

    // Go to definition on an action opens the embedded standard library's source.
    let definition = editor
        .at("textDocument/definition", &uri, at.clone(), json!({}))
        .await;
    let target = definition["uri"].as_str().unwrap();
    assert!(
        target.starts_with("file://") && target.ends_with("/postgres.rbk"),
        "{definition}"
    );
    let source = std::fs::read_to_string(target.trim_start_matches("file://")).unwrap();
    let line = definition["range"]["start"]["line"].as_u64().unwrap() as usize;
    assert!(
        source
            .lines()
            .nth(line)
            .unwrap()
            .starts_with("extern action terminate("),
        "{definition}"
    );
    // … and on the alias, the `use` that names it.
    let definition = editor
        .at(
            "textDocument/definition",
            &uri,
            position_of(&renamed, "pg.terminate(", 0),
            json!({}),
        )
        .await;
    assert_eq!(
        definition["range"]["start"],
        position_of(&renamed, "pg\n", 0)
    );
}

/// The quick fixes for a missing `escalate` (W0103) and a missing `title` (W0001) remove the
/// warning they are offered for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_fixes_for_escalate_and_title() {
    let mut editor = Editor::start().await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/diagnostics")
        .canonicalize()
        .unwrap();
    for code in ["W0103", "W0001"] {
        let path = dir.join(format!("{code}.rbk"));
        let uri = format!("file://{}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        let diagnostics = editor.open(&uri, &text).await;
        let warning = diagnostics
            .iter()
            .find(|d| d["code"] == code)
            .unwrap_or_else(|| panic!("{code}: {diagnostics:?}"))
            .clone();
        let actions = editor
            .request(
                "textDocument/codeAction",
                json!({ "textDocument": { "uri": uri }, "range": warning["range"], "context": { "diagnostics": [warning] } }),
            )
            .await;
        let action = &actions.as_array().unwrap()[0];
        let fixed = apply(&text, action["edit"]["changes"][&uri].as_array().unwrap());
        let diagnostics = editor.change(&uri, 2, &fixed).await;
        assert!(
            !codes(&diagnostics).contains(&code.to_string()),
            "{code} fixed by {}:\n{fixed}\n{diagnostics:?}",
            action["title"]
        );
        assert!(
            no_errors(&diagnostics),
            "{code}: the fix adds no error: {fixed}\n{diagnostics:?}"
        );
        let formatted = editor.formatting(&uri).await;
        assert_eq!(
            formatted,
            json!([]),
            "{code}: the fix is formatted: {fixed}"
        );
    }
}

/// The server asks for incremental sync; edits by range keep its copy equal to the editor's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_edits_keep_the_buffer_in_step() {
    let mut editor = Editor::start().await;
    assert_eq!(editor.capabilities["textDocumentSync"], json!(2));
    let (uri, text) = example("db_pool_exhaustion.rbk");
    editor.open(&uri, &text).await;
    let at = position_of(&text, "concurrency 1", 0);
    let change = |version: i32, range: Value, new_text: &str| {
        json!({ "textDocument": { "uri": uri, "version": version },
                "contentChanges": [{ "range": range, "text": new_text }] })
    };
    // Type `é (` before a clause: a syntax error on that line.
    editor
        .notify(
            "textDocument/didChange",
            change(2, json!({ "start": at, "end": at }), "é ("),
        )
        .await;
    let diagnostics = editor.diagnostics(&uri).await;
    assert!(
        codes(&diagnostics).contains(&"E0001".to_string()),
        "{diagnostics:?}"
    );
    // Delete the three UTF-16 units again: the file is as before.
    let end = json!({ "line": at["line"], "character": at["character"].as_u64().unwrap() + 3 });
    editor
        .notify(
            "textDocument/didChange",
            change(3, json!({ "start": at, "end": end }), ""),
        )
        .await;
    let diagnostics = editor.diagnostics(&uri).await;
    assert!(no_errors(&diagnostics), "{diagnostics:?}");
    let formatted = editor.formatting(&uri).await;
    assert_eq!(
        formatted,
        json!([]),
        "the server's text is the file's again"
    );
}

/// A file that uses another open file is checked again when that file changes or closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_of_a_changed_module_are_checked_again() {
    let dir = std::env::temp_dir().join(format!("rbk-lsp-users-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lib_text = "fn double(x: int) -> int {\n  return x * 2\n}\n";
    let main_text = "use \"./lib.rbk\" as lib\n\nrunbook r {\n  title \"t\"\n\n  step s {\n    log \"{lib.double(2)}\"\n  }\n}\n";
    std::fs::write(dir.join("lib.rbk"), lib_text).unwrap();
    std::fs::write(dir.join("main.rbk"), main_text).unwrap();
    let lib = format!("file://{}", dir.join("lib.rbk").display());
    let main = format!("file://{}", dir.join("main.rbk").display());

    let mut editor = Editor::start().await;
    editor.open(&lib, lib_text).await;
    let diagnostics = editor.open(&main, main_text).await;
    assert!(no_errors(&diagnostics), "{diagnostics:?}");

    // Renaming the fn in the open (unsaved) lib breaks main, which is told without being edited.
    editor
        .change(&lib, 2, &lib_text.replace("double", "twice"))
        .await;
    let diagnostics = editor.diagnostics(&main).await;
    assert!(
        !no_errors(&diagnostics),
        "main sees the unsaved lib: {diagnostics:?}"
    );

    // Closed without saving: main is checked against the file on disk again.
    editor
        .notify(
            "textDocument/didClose",
            json!({ "textDocument": { "uri": lib } }),
        )
        .await;
    let diagnostics = editor.diagnostics(&main).await;
    assert!(no_errors(&diagnostics), "{diagnostics:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

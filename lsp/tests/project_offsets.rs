//! The every-position robustness of the one-file requests, for a project of several files:
//! definition, references, prepareRename and rename at every UTF-16 position of every line of
//! every file (past the line's end too, and inside a surrogate pair) never fail or panic, and
//! their answers make sense: locations name files of the project (or the standard library) at
//! ranges inside them, references and rename edits all cover the same name, and applying a
//! rename (to a fresh name, or to one already in use) adds no error.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use support::Editor;

const LIB: &str = "// Helpers: caf\u{e9} \u{1F600} moves UTF-16 columns.\nconst limit: int = 3\n\nfn double(x: int) -> int {\n  return x * 2 + limit\n}\n\nfn half(x: int) -> int {\n  let y = x / 2\n  return y\n}\n";
const MAIN: &str = "use \"./lib.rbk\" as lib\nuse std.postgres as pg\n\nrunbook r {\n  title \"R \u{e9}\u{1F600}\"\n  input { db_url: string }\n\n  step count {\n    let db = pg.connect(db_url)\n    let n = lib.double(lib.limit)\n    log \"{n} \u{1F600} {lib.half(n)}\"\n  }\n}\n";
const OTHER: &str = "use \"./lib.rbk\" as helpers\n\nfn quadruple(x: int) -> int {\n  return helpers.double(helpers.double(x))\n}\n";

/// The byte offset of an LSP position, or `None` when it does not fall on a character.
fn byte_offset(text: &str, position: &Value) -> Option<usize> {
    let line = position["line"].as_u64()? as usize;
    let units = position["character"].as_u64()? as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let line_text = text[start..].split('\n').next()?;
    let mut seen = 0;
    for (index, c) in line_text.char_indices() {
        if seen == units {
            return Some(start + index);
        }
        seen += c.len_utf16();
    }
    (seen == units).then_some(start + line_text.len())
}

/// The text a range covers in `text`; panics when the range is not on characters of it.
fn covered<'a>(text: &'a str, range: &Value, context: &str) -> &'a str {
    let start = byte_offset(text, &range["start"]).unwrap_or_else(|| panic!("{context}: {range}"));
    let end = byte_offset(text, &range["end"]).unwrap_or_else(|| panic!("{context}: {range}"));
    assert!(start <= end, "{context}: {range}");
    &text[start..end]
}

fn is_name(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && word.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Errors of a check of the files (texts by path) through the project loader.
fn errors(files: &HashMap<PathBuf, String>) -> usize {
    let roots: Vec<(PathBuf, String)> = files.iter().map(|(p, t)| (p.clone(), t.clone())).collect();
    let loader = rbk_lsp::documents::buffer_loader(files.clone());
    let analysis = rbk_lsp::compiler::check(roots, &loader, &Default::default());
    analysis.diagnostics.iter().filter(|d| d.is_error()).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_position_of_every_file_of_a_project_answers_sensibly() {
    let dir = std::env::temp_dir().join(format!("rbk-lsp-project-offsets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.canonicalize().unwrap();
    std::fs::write(dir.join("rbk.toml"), "").unwrap();
    let files: HashMap<PathBuf, String> =
        [("lib.rbk", LIB), ("main.rbk", MAIN), ("other.rbk", OTHER)]
            .into_iter()
            .map(|(name, text)| (dir.join(name), text.to_string()))
            .collect();
    for (path, text) in &files {
        std::fs::write(path, text).unwrap();
    }
    let uri = |path: &Path| format!("file://{}", path.display());
    let by_uri: HashMap<String, &String> = files.iter().map(|(p, t)| (uri(p), t)).collect();
    let errors_before = errors(&files);

    let mut editor = Editor::start().await;
    // lib.rbk stays closed: served from disk.
    for name in ["main.rbk", "other.rbk"] {
        editor
            .open(&uri(&dir.join(name)), &files[&dir.join(name)])
            .await;
    }
    let mut id = 1000;
    let mut renames = 0;
    // main.rbk and other.rbk first, with lib.rbk read from disk; then lib.rbk open too.
    for name in ["main.rbk", "other.rbk", "lib.rbk"] {
        let (path, text) = files.get_key_value(&dir.join(name)).unwrap();
        if name == "lib.rbk" {
            editor.open(&uri(path), text).await;
        }
        let document = uri(path);
        for (line, line_text) in text.split('\n').enumerate() {
            let units: usize = line_text.chars().map(char::len_utf16).sum();
            for column in 0..=units + 1 {
                let at = json!({ "line": line, "character": column });
                let context = format!("{} {line}:{column}", path.display());
                let mut ask = |method: &str, extra: Value| {
                    id += 1;
                    let mut params = json!({ "textDocument": { "uri": document }, "position": at });
                    for (key, value) in extra.as_object().unwrap() {
                        params[key] = value.clone();
                    }
                    json!({ "jsonrpc": "2.0", "id": id, "method": format!("textDocument/{method}"), "params": params })
                };

                let response = editor.send(ask("definition", json!({}))).await.unwrap();
                assert!(response.get("error").is_none(), "{context}: {response}");
                let target = &response["result"];
                if let Some(file) = target["uri"].as_str() {
                    if let Some(text) = by_uri.get(file) {
                        covered(text, &target["range"], &context);
                    } else {
                        assert!(file.contains("/std-"), "{context}: {response}");
                    }
                }

                let response = editor
                    .send(ask(
                        "references",
                        json!({ "context": { "includeDeclaration": true } }),
                    ))
                    .await
                    .unwrap();
                assert!(response.get("error").is_none(), "{context}: {response}");
                let mut names = Vec::new();
                for location in response["result"].as_array().unwrap() {
                    let file = location["uri"].as_str().unwrap();
                    let Some(text) = by_uri.get(file) else {
                        assert!(file.contains("/std-"), "{context}: {response}");
                        continue;
                    };
                    names.push(covered(text, &location["range"], &context));
                }
                assert!(
                    names.iter().all(|n| is_name(n) && *n == names[0]),
                    "{context}: {names:?}"
                );

                let response = editor.send(ask("prepareRename", json!({}))).await.unwrap();
                if response.get("error").is_some() {
                    assert!(
                        response["error"]["message"]
                            .as_str()
                            .is_some_and(|m| !m.is_empty()),
                        "{context}: {response}"
                    );
                } else if !response["result"].is_null() {
                    assert!(
                        is_name(covered(text, &response["result"], &context)),
                        "{context}: {response}"
                    );
                }

                // A fresh name, and one the files already use (`x` is a parameter: a rename
                // to it must be refused wherever it would clash).
                for new_name in ["renamed_x", "x"] {
                    let response = editor
                        .send(ask("rename", json!({ "newName": new_name })))
                        .await
                        .unwrap();
                    if let Some(error) = response.get("error") {
                        assert!(
                            error["message"].as_str().is_some_and(|m| !m.is_empty()),
                            "{context}: {response}"
                        );
                        continue;
                    }
                    let Some(changes) = response["result"]["changes"].as_object() else {
                        continue;
                    };
                    renames += 1;
                    let mut renamed = files.clone();
                    let mut old_names = Vec::new();
                    for (file, edits) in changes {
                        let path = PathBuf::from(file.trim_start_matches("file://"));
                        let text = renamed.get_mut(&path).unwrap_or_else(|| {
                            panic!("{context}: edits outside the project: {file}")
                        });
                        let mut spans: Vec<(usize, usize)> = edits
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|edit| {
                                old_names.push(
                                    covered(&files[&path], &edit["range"], &context).to_string(),
                                );
                                assert_eq!(edit["newText"], new_name);
                                (
                                    byte_offset(text, &edit["range"]["start"]).unwrap(),
                                    byte_offset(text, &edit["range"]["end"]).unwrap(),
                                )
                            })
                            .collect();
                        spans.sort();
                        for (start, end) in spans.into_iter().rev() {
                            text.replace_range(start..end, new_name);
                        }
                    }
                    assert!(
                        old_names.iter().all(|n| is_name(n) && *n == old_names[0]),
                        "{context}: {old_names:?}"
                    );
                    assert!(
                        errors(&renamed) <= errors_before,
                        "{context}: the rename adds an error: {renamed:?}"
                    );
                }
            }
        }
    }
    assert!(
        renames > 20,
        "renames are made, not only refused: {renames}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

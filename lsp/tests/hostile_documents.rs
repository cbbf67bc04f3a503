//! Documents built to crash or stall the server: flat chains of hundreds of thousands of
//! terms, unterminated strings before millions of brackets, deep interpolations, and a 10 MB
//! buffer. Each is diagnosed, every feature still answers, and the server stays usable.

mod support;

use serde_json::json;

use support::*;

fn in_fn(expr: &str) -> String {
    format!("fn f() -> int {{\n  let v = {expr}\n  return 1\n}}\n")
}

/// Each shape with the code it must be reported with.
fn hostile_shapes() -> Vec<(&'static str, &'static str, String)> {
    let n = 400_000;
    let mb = 1 << 20;
    vec![
        ("1 + 1 + ...", "E0003", in_fn(&vec!["1"; n].join(" + "))),
        ("a.b.c...", "E0003", in_fn(&format!("a{}", ".b".repeat(n)))),
        ("x == x == ...", "E0003", in_fn(&vec!["x"; n].join(" == "))),
        ("or chain", "E0003", in_fn(&vec!["true"; n].join(" or "))),
        (
            "unterminated string, then ( x 1M",
            "E0002",
            in_fn(&format!("\"abc\n{}", "(".repeat(mb))),
        ),
        (
            "deep interpolations",
            "E0002",
            in_fn(&format!(
                "{}x{}",
                "\"{".repeat(mb / 4),
                "}\"".repeat(mb / 4)
            )),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_documents_are_diagnosed_and_every_feature_answers() {
    let mut editor = Editor::start().await;
    for (n, (what, code, text)) in hostile_shapes().into_iter().enumerate() {
        let uri = format!("file:///hostile/shape{n}.rbk");
        let diagnostics = editor.open(&uri, &text).await;
        assert!(
            codes(&diagnostics).contains(&code.to_string()),
            "{what}: expected {code}, got {:?}",
            codes(&diagnostics)
        );
        let end = json!({ "line": 1, "character": 12 });
        for method in [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
        ] {
            editor.at(method, &uri, end.clone(), json!({})).await;
        }
        for method in [
            "textDocument/semanticTokens/full",
            "textDocument/foldingRange",
            "textDocument/documentSymbol",
        ] {
            editor
                .request(method, json!({ "textDocument": { "uri": uri } }))
                .await;
        }
        editor.formatting(&uri).await;
        editor
            .notify(
                "textDocument/didClose",
                json!({ "textDocument": { "uri": uri } }),
            )
            .await;
    }
    let response = editor
        .send(json!({ "jsonrpc": "2.0", "id": 999, "method": "shutdown" }))
        .await
        .expect("a response to shutdown");
    assert!(response.get("error").is_none(), "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_10_mb_document_gets_diagnostics_but_not_the_whole_document_features() {
    let mut editor = Editor::start().await;
    // 10 MB of runbooks, one with an error at the very end.
    let runbook = "runbook r {\n  title \"t\"\n  step s {\n    log \"x\"\n  }\n}\n";
    let mut text = String::new();
    let mut i = 0;
    while text.len() < 10 << 20 {
        text.push_str(&runbook.replace("runbook r", &format!("runbook r{i}")));
        i += 1;
    }
    text.push_str("runbook last {\n  step s {\n    log nope\n  }\n}\n");
    let uri = "file:///hostile/big.rbk";
    let diagnostics = editor.open(uri, &text).await;
    assert!(
        codes(&diagnostics).contains(&"E0101".to_string()),
        "{:?}",
        codes(&diagnostics)
    );
    for method in [
        "textDocument/semanticTokens/full",
        "textDocument/foldingRange",
        "textDocument/documentSymbol",
    ] {
        let answer = editor
            .request(method, json!({ "textDocument": { "uri": uri } }))
            .await;
        assert!(answer.is_null(), "{method} on 10 MB: skipped, got {answer}");
    }
    let hover = editor
        .at(
            "textDocument/hover",
            uri,
            json!({ "line": 0, "character": 1 }),
            json!({}),
        )
        .await;
    assert!(!hover.is_null(), "hover still answers on a large document");
}

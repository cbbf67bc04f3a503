//! An editor for the tests: drives the server in-process through real JSON-RPC messages.
// Each test file uses its own share of these.
#![allow(dead_code)]

use std::path::PathBuf;

use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;
use tower_lsp_server::LspService;

use rbk_lsp::Backend;

pub struct Editor {
    service: LspService<Backend>,
    from_server: mpsc::UnboundedReceiver<Request>,
    next_id: i64,
    /// What `initialize` answered.
    pub capabilities: Value,
}

impl Editor {
    pub async fn start() -> Editor {
        let (service, socket) = LspService::new(Backend::new);
        let (tx, from_server) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut socket = socket;
            while let Some(message) = socket.next().await {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let mut editor = Editor {
            service,
            from_server,
            next_id: 0,
            capabilities: Value::Null,
        };
        let result = editor
            .request("initialize", json!({ "capabilities": {} }))
            .await;
        editor.capabilities = result["capabilities"].clone();
        editor.notify("initialized", json!({})).await;
        editor
    }

    /// Sends one message; the response, if it was a request.
    pub async fn send(&mut self, message: Value) -> Option<Value> {
        let request: Request = serde_json::from_value(message).expect("a JSON-RPC message");
        let response = self
            .service
            .ready()
            .await
            .expect("server ready")
            .call(request)
            .await
            .expect("server alive");
        response.map(|r| serde_json::to_value(r).unwrap())
    }

    /// A request's result; panics on an error response.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let message =
            json!({ "jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params });
        let response = self.send(message).await.expect("a response");
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    /// A request at a position of a document, with more parameters from `extra`.
    pub async fn at(&mut self, method: &str, uri: &str, position: Value, extra: Value) -> Value {
        let mut params = json!({ "textDocument": { "uri": uri }, "position": position });
        for (key, value) in extra.as_object().unwrap() {
            params[key] = value.clone();
        }
        self.request(method, params).await
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        let message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        assert!(self.send(message).await.is_none());
    }

    /// The next `publishDiagnostics` for `uri` (the buffer has then been checked); panics on a
    /// logged internal error.
    pub async fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        loop {
            let message =
                tokio::time::timeout(std::time::Duration::from_secs(30), self.from_server.recv())
                    .await
                    .expect("diagnostics in time")
                    .expect("server still talking");
            let message = serde_json::to_value(message).unwrap();
            match message["method"].as_str() {
                Some("textDocument/publishDiagnostics") if message["params"]["uri"] == uri => {
                    return message["params"]["diagnostics"].as_array().unwrap().clone();
                }
                Some("window/logMessage") => {
                    let text = message["params"]["message"].as_str().unwrap_or("");
                    assert!(!text.contains("internal error"), "{text}");
                }
                _ => {}
            }
        }
    }

    pub async fn open(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "rbk", "version": 1, "text": text } }),
        )
        .await;
        self.diagnostics(uri).await
    }

    /// The edits `textDocument/formatting` answers for the buffer.
    pub async fn formatting(&mut self, uri: &str) -> Value {
        self.request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 2, "insertSpaces": true } }),
        )
        .await
    }

    pub async fn change(&mut self, uri: &str, version: i32, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        )
        .await;
        self.diagnostics(uri).await
    }
}

/// The `file://` URI and text of `examples/NAME`.
pub fn example(name: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .canonicalize()
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    (format!("file://{}", path.display()), text)
}

/// The names of every `examples/*.rbk`, sorted.
pub fn examples() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".rbk"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    names
}

/// The LSP position (ASCII text) of the first occurrence of `needle`, plus `shift` columns.
pub fn position_of(text: &str, needle: &str, shift: usize) -> Value {
    let offset = text.find(needle).expect(needle) + shift;
    let line = text[..offset].matches('\n').count();
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": column })
}

/// The byte offset of an LSP position in ASCII text.
pub fn offset_of(text: &str, position: &Value) -> usize {
    let line = position["line"].as_u64().unwrap() as usize;
    let character = position["character"].as_u64().unwrap() as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    start + character
}

/// The codes of published diagnostics.
pub fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

/// Whether the diagnostics are warnings only.
pub fn no_errors(diagnostics: &[Value]) -> bool {
    codes(diagnostics).iter().all(|c| c.starts_with('W'))
}

/// Applies LSP text edits (non-overlapping) to ASCII `text`.
pub fn apply(text: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                offset_of(text, &e["range"]["start"]),
                offset_of(text, &e["range"]["end"]),
                e["newText"].as_str().unwrap(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (start, end, new) in spans {
        out.replace_range(start..end, new);
    }
    out
}

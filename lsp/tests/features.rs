//! Inlay hints, semantic tokens and folding ranges, driven in-process through real JSON-RPC
//! messages as an editor would (the harness is a copy of the one in `protocol.rs`).

use std::path::PathBuf;

use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tower::{Service, ServiceExt};
use tower_lsp_server::jsonrpc::Request;
use tower_lsp_server::LspService;

use rbk_lsp::Backend;

struct Editor {
    service: LspService<Backend>,
    from_server: mpsc::UnboundedReceiver<Request>,
    next_id: i64,
    /// What `initialize` answered.
    capabilities: Value,
}

impl Editor {
    async fn start() -> Editor {
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

    async fn send(&mut self, message: Value) -> Option<Value> {
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

    async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let message =
            json!({ "jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params });
        let response = self.send(message).await.expect("a response");
        assert!(response.get("error").is_none(), "{method}: {response}");
        response["result"].clone()
    }

    async fn notify(&mut self, method: &str, params: Value) {
        let message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        assert!(self.send(message).await.is_none());
    }

    /// Waits for the `publishDiagnostics` of `uri` (the buffer has then been checked); panics
    /// on a logged internal error.
    async fn checked(&mut self, uri: &str) {
        loop {
            let message =
                tokio::time::timeout(std::time::Duration::from_secs(30), self.from_server.recv())
                    .await
                    .expect("diagnostics in time")
                    .expect("server still talking");
            let message = serde_json::to_value(message).unwrap();
            match message["method"].as_str() {
                Some("textDocument/publishDiagnostics") if message["params"]["uri"] == uri => {
                    return;
                }
                Some("window/logMessage") => {
                    let text = message["params"]["message"].as_str().unwrap_or("");
                    assert!(!text.contains("internal error"), "{text}");
                }
                _ => {}
            }
        }
    }

    async fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "rbk", "version": 1, "text": text } }),
        )
        .await;
        self.checked(uri).await;
    }

    async fn change(&mut self, uri: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        )
        .await;
        self.checked(uri).await;
    }

    /// Hints in the whole document.
    async fn inlay_hints(&mut self, uri: &str) -> Vec<Value> {
        let everything = json!({ "start": { "line": 0, "character": 0 }, "end": { "line": 100000, "character": 0 } });
        self.request(
            "textDocument/inlayHint",
            json!({ "textDocument": { "uri": uri }, "range": everything }),
        )
        .await
        .as_array()
        .expect("a list of hints")
        .clone()
    }

    /// The semantic tokens of `text` (the open buffer at `uri`), decoded and checked.
    async fn tokens(&mut self, uri: &str, text: &str) -> Vec<Decoded> {
        let result = self
            .request(
                "textDocument/semanticTokens/full",
                json!({ "textDocument": { "uri": uri } }),
            )
            .await;
        let legend = &self.capabilities["semanticTokensProvider"]["legend"];
        decode(text, &result["data"], legend)
    }

    async fn folding_ranges(&mut self, uri: &str) -> Vec<Value> {
        self.request(
            "textDocument/foldingRange",
            json!({ "textDocument": { "uri": uri } }),
        )
        .await
        .as_array()
        .expect("a list of ranges")
        .clone()
    }
}

fn example(name: &str) -> (String, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .canonicalize()
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    (format!("file://{}", path.display()), text)
}

fn examples() -> Vec<String> {
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

/// The 0-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    let offset = text.find(needle).expect(needle);
    text[..offset].matches('\n').count() as u64
}

/// The LSP position (ASCII text) of the first occurrence of `needle`, plus `shift` columns.
fn position_of(text: &str, needle: &str, shift: usize) -> Value {
    let offset = text.find(needle).expect(needle) + shift;
    let line = text[..offset].matches('\n').count();
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": column })
}

/// One semantic token, back in absolute terms.
#[derive(Debug)]
struct Decoded {
    text: String,
    kind: String,
    modifiers: Vec<String>,
}

/// The byte offset of a UTF-16 column in a line, if it falls on a character boundary.
fn byte_column(line: &str, units: u64) -> Option<usize> {
    let mut seen = 0u64;
    for (index, ch) in line.char_indices() {
        if seen == units {
            return Some(index);
        }
        if seen > units {
            return None;
        }
        seen += ch.len_utf16() as u64;
    }
    (seen == units).then_some(line.len())
}

/// Decodes the protocol's relative encoding, checking on the way that tokens are non-empty,
/// on one line, in order and non-overlapping, and of types and modifiers in the legend.
fn decode(text: &str, data: &Value, legend: &Value) -> Vec<Decoded> {
    let data: Vec<u64> = data
        .as_array()
        .expect("token data")
        .iter()
        .map(|n| n.as_u64().expect("an unsigned integer"))
        .collect();
    assert_eq!(data.len() % 5, 0);
    let types = legend["tokenTypes"].as_array().unwrap();
    let modifiers = legend["tokenModifiers"].as_array().unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    let (mut line, mut column, mut previous_end) = (0u64, 0u64, None::<(u64, u64)>);
    let mut out = Vec::new();
    for chunk in data.chunks(5) {
        let [delta_line, delta_start, length, kind, bits] = chunk else {
            unreachable!()
        };
        if *delta_line > 0 {
            line += delta_line;
            column = *delta_start;
        } else {
            column += delta_start;
        }
        assert!(*length > 0, "an empty token at {line}:{column}");
        if let Some((end_line, end_column)) = previous_end {
            assert!(
                line > end_line || (line == end_line && column >= end_column),
                "token at {line}:{column} overlaps or precedes the one ending at {end_line}:{end_column}"
            );
        }
        previous_end = Some((line, column + length));
        let source = lines
            .get(line as usize)
            .unwrap_or_else(|| panic!("line {line} is past the end"));
        let source = source.strip_suffix('\r').unwrap_or(source);
        let start = byte_column(source, column).expect("a start inside its line");
        let end = byte_column(source, column + length).expect("an end inside its line");
        let kind = types
            .get(*kind as usize)
            .expect("a type in the legend")
            .as_str()
            .unwrap()
            .to_string();
        assert!(*bits < 1 << modifiers.len(), "modifiers outside the legend");
        out.push(Decoded {
            text: source[start..end].to_string(),
            kind,
            modifiers: modifiers
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, m)| m.as_str().unwrap().to_string())
                .collect(),
        });
    }
    out
}

fn has(tokens: &[Decoded], text: &str, kind: &str) -> bool {
    tokens.iter().any(|t| t.text == text && t.kind == kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_show_their_effect_as_inlay_hints() {
    let mut editor = Editor::start().await;
    assert_eq!(editor.capabilities["inlayHintProvider"], json!(true));
    let (uri, text) = example("db_pool_exhaustion.rbk");
    editor.open(&uri, &text).await;

    let hints = editor.inlay_hints(&uri).await;
    let shown: Vec<(Value, &str)> = hints
        .iter()
        .map(|h| (h["position"].clone(), h["label"].as_str().unwrap()))
        .collect();
    // Each hint sits right after its step's name.
    let expected = [
        ("step count", "read"),
        ("step find_idle", "read"),
        ("step kill", "destructive"),
        ("verify pool_ok", "read"),
        ("step restart", "destructive"),
    ];
    let expected: Vec<(Value, &str)> = expected
        .iter()
        .map(|(header, effect)| (position_of(&text, header, header.len()), *effect))
        .collect();
    assert_eq!(shown, expected);
    for hint in &hints {
        assert_eq!(hint["paddingLeft"], json!(true));
        assert_eq!(hint["kind"], json!(1), "a type hint");
    }
    // The tooltip is the step's part of `rbk plan`: the action and the gate.
    let restart = hints[4]["tooltip"]["value"].as_str().unwrap();
    assert!(restart.contains("k8s.delete_pod"), "{restart}");
    assert!(restart.contains("from \"database-oncall\""), "{restart}");

    // Only the hints inside the requested range.
    let kill = line_of(&text, "step kill");
    let ranged = editor
        .request(
            "textDocument/inlayHint",
            json!({
                "textDocument": { "uri": uri },
                "range": { "start": { "line": kill, "character": 0 }, "end": { "line": kill + 1, "character": 0 } },
            }),
        )
        .await;
    let labels: Vec<&str> = ranged
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, vec!["destructive"]);

    // An edit that takes the destructive call out changes the hint.
    let edited = text.replace("    k8s.delete_pod(k8s.oldest(pods))\n", "");
    editor.change(&uri, 2, &edited).await;
    let hints = editor.inlay_hints(&uri).await;
    assert_eq!(hints[4]["label"], "read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_tokens_classify_the_example() {
    let mut editor = Editor::start().await;
    let provider = &editor.capabilities["semanticTokensProvider"];
    assert_eq!(provider["full"], json!(true));
    let (uri, text) = example("db_pool_exhaustion.rbk");
    editor.open(&uri, &text).await;
    let tokens = editor.tokens(&uri, &text).await;

    for (text, kind) in [
        ("use", "keyword"),
        ("runbook", "keyword"),
        ("step", "keyword"),
        ("approval", "keyword"),
        ("pg", "namespace"),
        ("k8s", "namespace"),
        ("db_pool_exhaustion", "class"),
        ("kill", "method"),
        ("restart", "method"),
        ("terminate", "function"),
        ("pool_usage", "function"),
        ("secret", "function"),
        ("db", "parameter"),
        ("idle_for", "parameter"),
        ("idle", "variable"),
        ("pods", "variable"),
        ("Database", "type"),
        ("duration", "type"),
        ("labels", "property"),
        ("older_than", "parameter"),
        ("\"Database Connection Pool Exhaustion\"", "string"),
        ("\"Kill idle connections older than ", "string"),
        ("1h", "number"),
        ("10m", "number"),
        ("70%", "number"),
        ("50", "number"),
        (
            "/// Frees a nearly exhausted connection pool on the orders database.",
            "comment",
        ),
    ] {
        assert!(
            has(&tokens, text, kind),
            "no ({text:?}, {kind}) in {tokens:#?}"
        );
    }
    let modifiers_of = |text: &str| {
        tokens
            .iter()
            .filter(|t| t.text == text)
            .map(|t| t.modifiers.clone())
            .collect::<Vec<_>>()
    };
    // Destructive actions are marked where called and mocked; read ones are not.
    assert!(modifiers_of("terminate")
        .iter()
        .all(|m| m.contains(&"destructive".to_string())));
    assert!(modifiers_of("delete_pod")
        .iter()
        .all(|m| m.contains(&"destructive".to_string())));
    assert!(modifiers_of("pool_usage")
        .iter()
        .all(|m| !m.contains(&"destructive".to_string())));
    assert!(modifiers_of("db_pool_exhaustion")[0].contains(&"declaration".to_string()));
    assert!(
        modifiers_of("/// Frees a nearly exhausted connection pool on the orders database.")[0]
            .contains(&"documentation".to_string())
    );
    // Interpolated names inside strings are tokens of their own.
    assert!(has(&tokens, "idle_for", "parameter"));
    assert!(has(&tokens, "before", "variable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_tokens_split_multi_line_strings_and_count_utf16() {
    let mut editor = Editor::start().await;
    let uri = "file:///tmp/rbk-features-utf16.rbk";
    let text =
        "// caf\u{e9} \u{1F600}\nconst q: string = \"\"\"\nselect \u{1F600}\n  from {x}\n\"\"\"\n";
    editor.open(uri, text).await;
    let tokens = editor.tokens(uri, text).await;
    let shown: Vec<(&str, &str)> = tokens
        .iter()
        .map(|t| (t.text.as_str(), t.kind.as_str()))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("// caf\u{e9} \u{1F600}", "comment"),
            ("const", "keyword"),
            ("q", "variable"),
            ("string", "type"),
            ("\"\"\"", "string"),
            ("select \u{1F600}", "string"),
            ("  from ", "string"),
            ("x", "variable"),
            ("\"\"\"", "string"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folding_ranges_cover_runbooks_steps_blocks_comments_and_imports() {
    let mut editor = Editor::start().await;
    let (uri, text) = example("db_pool_exhaustion.rbk");
    editor.open(&uri, &text).await;
    let ranges = editor.folding_ranges(&uri).await;
    let folds: Vec<(u64, u64, Option<&str>)> = ranges
        .iter()
        .map(|r| {
            (
                r["startLine"].as_u64().unwrap(),
                r["endLine"].as_u64().unwrap(),
                r["kind"].as_str(),
            )
        })
        .collect();
    let fold_at = |needle: &str| {
        let line = line_of(&text, needle);
        folds
            .iter()
            .find(|f| f.0 == line)
            .unwrap_or_else(|| panic!("no fold at {needle:?}: {folds:?}"))
    };
    assert_eq!(fold_at("use std.postgres"), &(0, 3, Some("imports")));
    // A block folds up to the line before its closing brace.
    let runbook = fold_at("runbook db_pool_exhaustion");
    assert_eq!(runbook.1, line_of(&text, "  notify slack.post"));
    for step in [
        "step count",
        "step find_idle",
        "step kill",
        "verify pool_ok",
        "step restart",
    ] {
        let fold = fold_at(step);
        assert!(fold.1 > fold.0, "{step}: {fold:?}");
    }
    assert_eq!(
        fold_at("step restart").1,
        line_of(&text, "    k8s.delete_pod(")
    );
    assert_eq!(fold_at("input {").1, line_of(&text, "    target: percent"));
    assert_eq!(
        fold_at("test \"kills idle").1,
        line_of(&text, "  expect not escalated")
    );

    // Blocks inside steps, and a run of comment lines.
    let nested = "// one\n// two\nfn f(xs: list<int>) -> int {\n  for x in xs {\n    if x > 1 {\n      return x\n    } else {\n      log \"no\"\n    }\n  }\n  return 0\n}\n";
    let nested_uri = "file:///tmp/rbk-features-folding.rbk";
    editor.open(nested_uri, nested).await;
    let ranges = editor.folding_ranges(nested_uri).await;
    let folds: Vec<(u64, u64)> = ranges
        .iter()
        .map(|r| {
            (
                r["startLine"].as_u64().unwrap(),
                r["endLine"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(folds, vec![(0, 1), (2, 10), (3, 8), (4, 5), (6, 7)]);
    assert_eq!(ranges[0]["kind"], "comment");
}

/// Every example cut at every 13th byte, as if typed: all three requests answer, and the
/// tokens stay well formed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_examples_answer_all_three_requests() {
    let mut editor = Editor::start().await;
    for name in examples() {
        let (uri, text) = example(&name);
        editor.open(&uri, "").await;
        let mut version = 1;
        for cut in (0..=text.len())
            .step_by(13)
            .filter(|&i| text.is_char_boundary(i))
        {
            version += 1;
            let partial = &text[..cut];
            editor.change(&uri, version, partial).await;
            editor.inlay_hints(&uri).await;
            editor.tokens(&uri, partial).await;
            let line_count = partial.split('\n').count() as u64;
            for range in editor.folding_ranges(&uri).await {
                let (start, end) = (
                    range["startLine"].as_u64().unwrap(),
                    range["endLine"].as_u64().unwrap(),
                );
                assert!(
                    start < end && end < line_count,
                    "{name} cut at {cut}: {range}"
                );
            }
        }
    }
}

/// Buffers no one would write still get answers (and well-formed tokens).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_buffers_answer_all_three_requests() {
    let mut editor = Editor::start().await;
    let deep = format!(
        "runbook r {{ step s {{ let x = {}1{} }} }}",
        "(".repeat(300),
        ")".repeat(300)
    );
    let long_sum = format!("const c: int = {}1\n", "1 + ".repeat(2000));
    let texts = [
        "\"{\"{\"{\"{",
        "}}}{{{)))(((]]][[[",
        "runbook { step { approval required from",
        "\"\"\"\n{ \"\"\" }\n\u{1F600}\"\"\"",
        "/// \u{e9}\n///\n// \u{1F600}\n\r\n\r\nuse std.\nuse",
        "step 12abc 1.2.3 70%% \\ \u{0} \t",
        &deep,
        &long_sum,
    ];
    for (index, text) in texts.iter().enumerate() {
        let uri = format!("file:///tmp/rbk-features-garbage-{index}.rbk");
        editor.open(&uri, text).await;
        editor.inlay_hints(&uri).await;
        editor.tokens(&uri, text).await;
        editor.folding_ranges(&uri).await;
    }
}

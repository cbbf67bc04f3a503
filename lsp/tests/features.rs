//! Inlay hints, semantic tokens and folding ranges, driven in-process through real JSON-RPC
//! messages as an editor would (the harness is in `support/`).

mod support;

use serde_json::{json, Value};

use support::*;

impl Editor {
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

/// The 0-based line of the first occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    let offset = text.find(needle).expect(needle);
    text[..offset].matches('\n').count() as u64
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

/// Every example, cut short at every character offset, as if typed: each version is checked and
/// its diagnostics published, every request at the end answers, and nothing panics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_prefix_of_every_example_answers_every_request() {
    let mut editor = Editor::start().await;
    for name in examples() {
        let (uri, text) = example(&name);
        editor.open(&uri, "").await;
        let mut version = 1;
        for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            version += 1;
            let partial = &text[..cut];
            for d in editor.change(&uri, version, partial).await {
                assert!(d["code"].is_string() && d["range"].is_object(), "{d}");
            }
            let end = position_of(&format!("{partial}\u{0}"), "\u{0}", 0);
            for method in ["hover", "completion", "definition", "prepareRename"] {
                let message = json!({ "jsonrpc": "2.0", "id": 1, "method": format!("textDocument/{method}"),
                    "params": { "textDocument": { "uri": uri }, "position": end } });
                let response = editor.send(message).await.expect("a response");
                // prepareRename refuses most places, with a reason; nothing else may fail.
                assert!(
                    response.get("error").is_none() || method == "prepareRename",
                    "{name} cut at {cut}: {method}: {response}"
                );
            }
            editor
                .at(
                    "textDocument/references",
                    &uri,
                    end,
                    json!({ "context": { "includeDeclaration": true } }),
                )
                .await;
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

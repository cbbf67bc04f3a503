//! `rbk lsp` as an editor starts and stops it, through the built binary over stdio: the
//! transport flags language clients add, and the exit status the protocol asks for (0 on `exit`
//! after `shutdown`, 1 without), also while a large document is being checked. And what spans
//! the files of a project: references, rename and definitions across them, and an import
//! that cannot be loaded reported in the words `rbk check` uses.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};
use support::{rbk, rbk_in};

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rbk"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rbk lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Server {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next message from the server.
    fn receive(&mut self) -> Value {
        let mut length = None;
        loop {
            let mut line = String::new();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed stdout"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length:") {
                length = Some(value.trim().parse::<usize>().unwrap());
            }
        }
        let mut body = vec![0; length.expect("a Content-Length header")];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// Sends a request and returns its response, skipping the server's notifications.
    fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let message = self.receive();
            if message["id"] == id && message.get("method").is_none() {
                return message;
            }
        }
    }

    fn initialize(&mut self) {
        let response = self.request(1, "initialize", json!({ "capabilities": {} }));
        assert_eq!(
            response["result"]["serverInfo"]["name"], "rbk",
            "{response}"
        );
        self.send(json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
    }

    /// Opens a file as the editor does; its published diagnostics.
    fn open(&mut self, path: &Path) -> Vec<Value> {
        let uri = uri_of(path);
        let text = std::fs::read_to_string(path).unwrap();
        self.send(json!({
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": { "textDocument": { "uri": uri, "languageId": "rbk", "version": 1, "text": text } },
        }));
        loop {
            let message = self.receive();
            if message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
            {
                return message["params"]["diagnostics"].as_array().unwrap().clone();
            }
        }
    }

    fn exit(&mut self) {
        self.send(json!({ "jsonrpc": "2.0", "method": "exit" }));
    }

    /// Waits for the process to end; its exit status.
    fn status(mut self) -> i32 {
        drop(self.stdin);
        let status = self.child.wait().expect("rbk lsp ends");
        status
            .code()
            .expect("rbk lsp exits rather than being killed")
    }
}

#[test]
fn the_stdio_flag_language_clients_add_is_accepted() {
    // vscode-languageclient starts `rbk lsp --stdio --clientProcessId=N` for TransportKind.stdio.
    let pid = std::process::id().to_string();
    let mut server = Server::start(&["lsp", "--stdio", &format!("--clientProcessId={pid}")]);
    server.initialize();
    let response = server.request(2, "shutdown", Value::Null);
    assert!(response.get("error").is_none(), "{response}");
    server.exit();
    assert_eq!(server.status(), 0);
}

#[test]
fn other_transports_are_refused_with_a_usage_error() {
    for flag in ["--socket=6009", "--pipe=/tmp/rbk.sock", "--node-ipc"] {
        let run = rbk(&["lsp", flag]);
        assert_eq!(run.status, 2, "{flag}: {}", run.stderr);
        assert!(run.stderr.contains(flag), "{flag}: {}", run.stderr);
        assert!(run.stderr.contains("--stdio"), "{flag}: {}", run.stderr);
    }
    insta::assert_snapshot!(rbk(&["lsp", "--socket=6009"]).stderr);
}

#[test]
fn exit_after_shutdown_is_a_clean_exit() {
    let mut server = Server::start(&["lsp"]);
    server.initialize();
    server.request(2, "shutdown", Value::Null);
    server.exit();
    assert_eq!(server.status(), 0);
}

#[test]
fn exit_without_shutdown_exits_1() {
    let mut server = Server::start(&["lsp"]);
    server.initialize();
    server.exit();
    assert_eq!(server.status(), 1);
}

#[test]
fn stdin_closing_without_shutdown_exits_1() {
    let mut server = Server::start(&["lsp"]);
    server.initialize();
    assert_eq!(server.status(), 1);
}

#[test]
fn exit_is_obeyed_while_a_large_document_is_checked() {
    let mut server = Server::start(&["lsp"]);
    server.initialize();
    // A document that takes the checker a while, and `exit` right behind it: the server ends
    // with 1 (no shutdown). `exit` is read by a thread of its own and does not wait for the
    // check; `rbk_lsp::stdio`'s tests show that with a server that never reads its input.
    let mut text = String::from("runbook big {\n  title \"Big\"\n  step s {\n");
    for i in 0..40_000 {
        text.push_str(&format!("    let v{i} = {i} + {i} * 2\n"));
    }
    text.push_str("  }\n}\n");
    server.send(json!({
        "jsonrpc": "2.0",
        "method": "textDocument/didOpen",
        "params": { "textDocument": { "uri": "file:///tmp/big.rbk", "languageId": "rbk", "version": 1, "text": text } },
    }));
    server.exit();
    assert_eq!(server.status(), 1);
}

fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// A scratch project directory, by its real path (URIs name real paths).
fn project_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rbk-lsp-session-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// The zero-based position of the first `needle` in ASCII `text`, plus `shift` columns.
fn position(text: &str, needle: &str, shift: usize) -> Value {
    let offset = text.find(needle).expect(needle) + shift;
    let line = text[..offset].matches('\n').count();
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": column })
}

/// Applies LSP edits (single-line ranges, ASCII text) to `text`.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + p["character"].as_u64().unwrap() as usize
    };
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
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

const LIB: &str = "fn double(x: int) -> int {\n  return x * 2\n}\n\nfn half(x: int) -> int {\n  return x / 2\n}\n";
const MAIN: &str = "use \"./lib.rbk\" as lib\n\nrunbook twice {\n  title \"Twice\"\n\n  step compute {\n    log \"{lib.double(21)}\"\n  }\n}\n";
const OTHER: &str = "use \"./shared/../lib.rbk\" as helpers\n\nfn quadruple(x: int) -> int {\n  return helpers.double(helpers.double(x))\n}\n";

/// lib.rbk, main.rbk (uses it as `lib`) and other.rbk (as `helpers`, by a roundabout path),
/// under an rbk.toml.
fn three_file_project(name: &str) -> PathBuf {
    let dir = project_dir(name);
    std::fs::create_dir_all(dir.join("shared")).unwrap();
    std::fs::write(dir.join("rbk.toml"), "").unwrap();
    std::fs::write(dir.join("lib.rbk"), LIB).unwrap();
    std::fs::write(dir.join("main.rbk"), MAIN).unwrap();
    std::fs::write(dir.join("other.rbk"), OTHER).unwrap();
    dir
}

#[test]
fn references_and_definitions_cross_the_files_of_the_project() {
    let dir = three_file_project("references");
    let mut server = Server::start(&["lsp"]);
    server.initialize();
    // Only main.rbk is open: the others are read from disk.
    let main = dir.join("main.rbk");
    assert_eq!(server.open(&main), Vec::<Value>::new());
    let at_double = json!({ "textDocument": { "uri": uri_of(&main) }, "position": position(MAIN, "double", 0) });

    let mut params = at_double.clone();
    params["context"] = json!({ "includeDeclaration": true });
    let response = server.request(2, "textDocument/references", params);
    let mut found: Vec<(String, u64)> = response["result"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"))
        .iter()
        .map(|l| {
            let file = l["uri"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            (file, l["range"]["start"]["line"].as_u64().unwrap())
        })
        .collect();
    found.sort();
    let expected = [
        ("lib.rbk", 0),
        ("main.rbk", 6),
        ("other.rbk", 3),
        ("other.rbk", 3),
    ];
    assert_eq!(
        found,
        expected.map(|(f, l)| (f.to_string(), l)).to_vec(),
        "{response}"
    );

    // Definition from a use of the fn lands on it in lib.rbk.
    let response = server.request(3, "textDocument/definition", at_double);
    assert_eq!(
        response["result"]["uri"],
        uri_of(&dir.join("lib.rbk")),
        "{response}"
    );
    assert_eq!(
        response["result"]["range"]["start"],
        position(LIB, "double", 0)
    );
    // … and from the path of the `use`, the file itself.
    let response = server.request(
        4,
        "textDocument/definition",
        json!({ "textDocument": { "uri": uri_of(&main) }, "position": position(MAIN, "lib.rbk", 2) }),
    );
    assert_eq!(
        response["result"]["uri"],
        uri_of(&dir.join("lib.rbk")),
        "{response}"
    );
    assert_eq!(
        response["result"]["range"]["start"],
        json!({ "line": 0, "character": 0 })
    );

    server.request(5, "shutdown", Value::Null);
    server.exit();
    assert_eq!(server.status(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rename_edits_every_file_of_the_project_and_refuses_a_clash() {
    let dir = three_file_project("rename");
    let mut server = Server::start(&["lsp"]);
    server.initialize();
    let main = dir.join("main.rbk");
    server.open(&main);
    let rename = |new_name: &str| json!({ "textDocument": { "uri": uri_of(&main) }, "position": position(MAIN, "double", 2), "newName": new_name });

    // To a name lib.rbk already defines: refused, and so is a keyword.
    let response = server.request(2, "textDocument/rename", rename("half"));
    let why = response["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{response}"));
    assert!(why.contains("half"), "{why}");
    let response = server.request(3, "textDocument/rename", rename("step"));
    let why = response["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{response}"));
    assert!(why.contains("keyword"), "{why}");

    let response = server.request(4, "textDocument/rename", rename("times_two"));
    let changes = response["result"]["changes"]
        .as_object()
        .unwrap_or_else(|| panic!("{response}"));
    assert_eq!(changes.len(), 3, "{response}");
    for (name, text) in [("lib.rbk", LIB), ("main.rbk", MAIN), ("other.rbk", OTHER)] {
        let path = dir.join(name);
        let edits = changes[&uri_of(&path)].as_array().unwrap();
        let renamed = apply(text, edits);
        assert!(
            !renamed.contains("double") && renamed.contains("times_two"),
            "{renamed}"
        );
        std::fs::write(&path, renamed).unwrap();
    }
    // The renamed project checks clean.
    let run = rbk_in(&dir, &["check", "."]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);

    server.request(5, "shutdown", Value::Null);
    server.exit();
    assert_eq!(server.status(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The CLI and the language server load a project through one loader: a missing module and
/// one that is not UTF-8 are reported with the same messages by both.
#[test]
fn an_import_that_cannot_be_loaded_reads_the_same_in_rbk_check_and_the_editor() {
    let dir = project_dir("bad-import");
    std::fs::write(dir.join("rbk.toml"), "").unwrap();
    std::fs::write(
        dir.join("latin1.rbk"),
        b"// caf\xe9\nfn f() -> int {\n  return 1\n}\n",
    )
    .unwrap();
    let main = dir.join("main.rbk");
    std::fs::write(
        &main,
        "use \"./missing.rbk\" as gone\nuse \"./latin1.rbk\" as latin\n\nrunbook r {\n  title \"R\"\n}\n",
    )
    .unwrap();
    let messages_of = |records: &[Value], code_key: &str| {
        let mut messages: Vec<String> = records
            .iter()
            .filter(|r| r[code_key] == "E0105")
            .map(|r| r["message"].as_str().unwrap().to_string())
            .collect();
        messages.sort();
        messages
    };

    let run = rbk_in(&dir, &["check", "--format", "json", "main.rbk"]);
    let records: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    let from_cli = messages_of(&records, "code");
    // The editor shows the help line under the message.
    let help = records[0]["help"].as_str().unwrap();
    assert!(records.iter().all(|r| r["help"] == help), "{records:?}");

    let mut server = Server::start(&["lsp"]);
    server.initialize();
    let from_editor = messages_of(&server.open(&main), "code");
    server.request(2, "shutdown", Value::Null);
    server.exit();
    assert_eq!(server.status(), 0);

    assert_eq!(
        from_cli,
        vec![
            "cannot load module \"./latin1.rbk\": not valid UTF-8 text".to_string(),
            "cannot load module \"./missing.rbk\": no such file".to_string(),
        ]
    );
    let with_help: Vec<String> = from_cli
        .iter()
        .map(|m| format!("{m}\nhelp: {help}"))
        .collect();
    assert_eq!(from_editor, with_help);
    std::fs::remove_dir_all(&dir).unwrap();
}

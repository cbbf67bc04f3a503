//! `rbk lsp` as an editor starts and stops it, through the built binary over stdio: the
//! transport flags language clients add, and the exit status the protocol asks for (0 on `exit`
//! after `shutdown`, 1 without), also while a large document is being checked.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};
use support::rbk;

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

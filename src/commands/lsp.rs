//! `rbk lsp`: serves the Language Server Protocol on stdin/stdout.
//!
//! Editors' client libraries add a transport flag to the command they start:
//! vscode-languageclient appends `--stdio` (or `--node-ipc`, `--socket=N`, `--pipe=NAME`), and
//! some add `--clientProcessId=N`. The server speaks stdio only, so `--stdio` is accepted (it is
//! what happens anyway), the other transports are refused with a message saying what to use,
//! and `--clientProcessId` is accepted and ignored: the client's process id also arrives in
//! `initialize`, and the server ends when its stdin closes.

use super::check::usage_error;

#[derive(clap::Args, Debug, Default)]
pub struct TransportArgs {
    /// Talk over stdin/stdout (the default; accepted because language clients pass it).
    #[arg(long)]
    stdio: bool,
    /// Not supported: Node IPC (use `--stdio`).
    #[arg(long, hide = true)]
    node_ipc: bool,
    /// Not supported: a TCP socket (use `--stdio`).
    #[arg(long, hide = true, value_name = "PORT")]
    socket: Option<String>,
    /// Not supported: a named pipe (use `--stdio`).
    #[arg(long, hide = true, value_name = "NAME")]
    pipe: Option<String>,
    /// The editor's process id; accepted and ignored (clients pass it, `initialize` carries it).
    #[arg(long = "clientProcessId", value_name = "PID")]
    client_process_id: Option<String>,
}

impl TransportArgs {
    /// The transport asked for other than stdio, as it was written, if any.
    fn unsupported(&self) -> Option<String> {
        if self.node_ipc {
            return Some("--node-ipc".to_string());
        }
        if let Some(port) = &self.socket {
            return Some(format!("--socket={port}"));
        }
        self.pipe.as_ref().map(|name| format!("--pipe={name}"))
    }
}

pub fn run(transport: &TransportArgs) -> u8 {
    if let Some(flag) = transport.unsupported() {
        return usage_error(format!(
            "rbk lsp talks over stdin/stdout only; the transport `{flag}` is not supported\n\
             help: start `rbk lsp` (or `rbk lsp --stdio`) and let the editor talk to it over \
             stdio; in VS Code that is `TransportKind.stdio`"
        ));
    }
    rbk_lsp::run_stdio(rbk_stdlib::natives::catalog().clone())
}

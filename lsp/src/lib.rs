//! The rbk language server: `rbk lsp` speaks the Language Server Protocol over stdio.
//!
//! A thin layer over the compiler: every answer comes from one [`rbk_compiler::check`] of the
//! open buffer (imports served from open buffers first, then disk, then the embedded standard
//! library, by the project loader the CLI uses too), except references and rename of names
//! other files can use, which check the files of the project that mention them
//! ([`workspace`]). The compiler's diagnostics are converted once ([`convert`]), with the same codes
//! and messages as `rbk check`.

pub mod actions;
pub mod completion;
pub mod convert;
pub mod definition;
pub mod documents;
pub mod folding;
pub mod formatting;
pub mod hover;
pub mod inlay_hints;
pub mod keyword_docs;
pub mod natives;
pub mod query;
pub mod references;
pub mod rename;
pub mod semantic_tokens;
pub mod server;
pub mod std_sources;
pub mod stdio;
pub mod symbols;
pub mod workspace;

pub use rbk_compiler as compiler;
// Forgiving scanners of raw (often broken) text; they know the syntax, so they live in the compiler.
pub use rbk_compiler::syntax::{cursor, lexer};
pub use server::Backend;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tower_lsp_server::{LspService, Server};

/// Serves the protocol on stdin/stdout until the client says `exit` or closes stdin, checking
/// with the given native actions (what this binary implements). Returns the exit status: 0
/// after `shutdown`, else 1 (and 2 if the server cannot start).
///
/// On `exit` the process ends at once, from the thread that reads stdin (see [`stdio`]): a
/// check still running has nothing to save.
pub fn run_stdio(natives: rbk_compiler::lints::natives::NativeCatalog) -> u8 {
    natives::provide(natives);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(64 * 1024 * 1024)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rbk lsp: cannot start: {error}");
            return 2;
        }
    };
    let shutdown_requested = Arc::new(AtomicBool::new(false));
    let (to_server, forwarded) = tokio::sync::mpsc::unbounded_channel();
    let reader = {
        let shutdown_requested = shutdown_requested.clone();
        std::thread::Builder::new()
            .name("rbk-lsp-stdin".to_string())
            .spawn(move || {
                let stdin = std::io::stdin().lock();
                let forward = |bytes| {
                    // The server is gone only when the process is ending anyway.
                    let _ = to_server.send(bytes);
                };
                if let Some(status) = stdio::watch(stdin, forward, &shutdown_requested) {
                    std::process::exit(i32::from(status));
                }
            })
    };
    if let Err(error) = reader {
        eprintln!("rbk lsp: cannot start: {error}");
        return 2;
    }
    runtime.block_on(async {
        let stdin = stdio::ForwardedInput::new(forwarded);
        let (service, socket) = LspService::new(Backend::new);
        Server::new(stdin, tokio::io::stdout(), socket)
            .serve(service)
            .await;
    });
    // A check still running on the blocking pool must not hold up the end: dropping the runtime
    // would wait for it.
    runtime.shutdown_background();
    // stdin ended without `exit`.
    stdio::exit_status(shutdown_requested.load(Ordering::SeqCst))
}

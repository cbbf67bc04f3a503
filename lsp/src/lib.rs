//! The rbk language server: `rbk lsp` speaks the Language Server Protocol over stdio.
//!
//! A thin layer over the compiler: every answer comes from one [`rbk_compiler::check`] of the
//! open buffer (imports served from open buffers first, then disk, then the embedded standard
//! library). The compiler's diagnostics are converted once ([`convert`]), with the same codes
//! and messages as `rbk check`.

pub mod actions;
pub mod completion;
pub mod convert;
pub mod definition;
pub mod documents;
pub mod folding;
pub mod hover;
pub mod inlay_hints;
pub mod keyword_docs;
pub mod query;
pub mod references;
pub mod semantic_tokens;
pub mod server;
pub mod std_sources;
pub mod symbols;

pub use rbk_compiler as compiler;
// Forgiving scanners of raw (often broken) text; they know the syntax, so they live in the compiler.
pub use rbk_compiler::syntax::{cursor, lexer};
pub use server::Backend;

use tower_lsp_server::{LspService, Server};

/// Serves the protocol on stdin/stdout until the client says `exit`. Returns the exit status.
pub fn run_stdio() -> u8 {
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
    runtime.block_on(async {
        let (stdin, stdout) = (tokio::io::stdin(), tokio::io::stdout());
        let (service, socket) = LspService::new(Backend::new);
        Server::new(stdin, stdout, socket).serve(service).await;
    });
    // A check still running on the blocking pool must not hold up `exit`: dropping the runtime
    // would wait for it.
    runtime.shutdown_background();
    0
}

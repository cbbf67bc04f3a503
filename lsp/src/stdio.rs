//! The stdio transport, with the protocol's rules for ending a session.
//!
//! The LSP says the server exits with status 0 on `exit` after a `shutdown` request and with 1
//! on an `exit` without one, and that it exits at once. The protocol server answers messages
//! in turn, so an `exit` that arrives while a large document is being checked would wait for
//! that check. Instead a thread of its own reads stdin: it hands every byte to the protocol
//! server unchanged, through an unbounded channel that never makes it wait, and watches the
//! messages go by for `shutdown` and `exit`, so `exit` is acted on the moment it is read.

use std::io::Read;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

/// Messages at least this long are not looked into: `shutdown` and `exit` are a few dozen
/// bytes, and parsing every large `didOpen` would cost time for nothing.
const LARGEST_WATCHED_MESSAGE: usize = 4096;

/// The exit status for a session that ends now: 0 after `shutdown`, else 1.
pub fn exit_status(shutdown_requested: bool) -> u8 {
    if shutdown_requested {
        0
    } else {
        1
    }
}

/// Splits the client's bytes into messages by their `Content-Length` headers and names the
/// method of each small one.
#[derive(Default)]
pub struct MessageWatcher {
    /// Header bytes of the message being read, or the body of a small one.
    pending: Vec<u8>,
    /// Body bytes still to come of the current message, once its headers are read.
    body_left: Option<usize>,
    /// Whether the current body is small enough to be kept and looked into.
    keep_body: bool,
}

impl MessageWatcher {
    /// Takes the next bytes of the stream; the methods of the messages they complete, in order
    /// (`None` for a message that was not looked into or has no method).
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Option<String>> {
        let mut methods = Vec::new();
        while !bytes.is_empty() {
            match self.body_left {
                None => {
                    // Headers end at an empty line; keep at most what can still be a header.
                    let Some(end) = self.header_end(bytes) else {
                        self.pending.extend_from_slice(bytes);
                        if self.pending.len() > LARGEST_WATCHED_MESSAGE {
                            // Not a header: the protocol server reports the garbage itself.
                            self.pending.clear();
                        }
                        return methods;
                    };
                    self.pending.extend_from_slice(&bytes[..end]);
                    bytes = &bytes[end..];
                    let length = content_length(&self.pending);
                    self.pending.clear();
                    match length {
                        Some(length) => {
                            self.body_left = Some(length);
                            self.keep_body = length <= LARGEST_WATCHED_MESSAGE;
                        }
                        None => continue,
                    }
                }
                Some(left) => {
                    let taken = left.min(bytes.len());
                    if self.keep_body {
                        self.pending.extend_from_slice(&bytes[..taken]);
                    }
                    bytes = &bytes[taken..];
                    self.body_left = Some(left - taken);
                }
            }
            // (A message with an empty body completes with its headers.)
            if self.body_left == Some(0) {
                let method = self.keep_body.then(|| method_of(&self.pending)).flatten();
                methods.push(method);
                self.pending.clear();
                self.body_left = None;
            }
        }
        methods
    }

    /// Where the headers end (just past the empty line) within `pending` + `bytes`, as an
    /// index into `bytes`.
    fn header_end(&self, bytes: &[u8]) -> Option<usize> {
        let before = self.pending.len();
        // The `\r\n\r\n` may straddle the bytes kept from earlier reads.
        let tail_start = before.saturating_sub(3);
        let mut window = self.pending[tail_start..].to_vec();
        window.extend_from_slice(bytes);
        let at = window.windows(4).position(|w| w == b"\r\n\r\n")?;
        let end_in_window = at + 4;
        Some(end_in_window - (before - tail_start))
    }
}

/// The value of the `Content-Length` header.
fn content_length(headers: &[u8]) -> Option<usize> {
    let headers = std::str::from_utf8(headers).ok()?;
    headers.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            value.trim().parse().ok()
        } else {
            None
        }
    })
}

fn method_of(body: &[u8]) -> Option<String> {
    let message: serde_json::Value = serde_json::from_slice(body).ok()?;
    message.get("method")?.as_str().map(str::to_string)
}

/// Reads the client's stream until `exit` or its end, passing every byte before `exit` to
/// `forward`. Returns the exit status if `exit` was read (the protocol server never sees it,
/// so the status is decided here alone), `None` at the end of the stream. `shutdown_requested`
/// is set before the `shutdown` request is forwarded.
pub fn watch(
    mut input: impl Read,
    mut forward: impl FnMut(Vec<u8>),
    shutdown_requested: &AtomicBool,
) -> Option<u8> {
    let mut watcher = MessageWatcher::default();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = match input.read(&mut buffer) {
            Ok(0) => return None,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        let bytes = &buffer[..read];
        for method in watcher.push(bytes) {
            match method.as_deref() {
                Some("shutdown") => shutdown_requested.store(true, Ordering::SeqCst),
                Some("exit") => {
                    return Some(exit_status(shutdown_requested.load(Ordering::SeqCst)));
                }
                _ => {}
            }
        }
        forward(bytes.to_vec());
    }
}

/// The protocol server's stdin: the bytes the reading thread forwards.
pub struct ForwardedInput {
    chunks: mpsc::UnboundedReceiver<Vec<u8>>,
    current: Vec<u8>,
    read: usize,
}

impl ForwardedInput {
    pub fn new(chunks: mpsc::UnboundedReceiver<Vec<u8>>) -> Self {
        ForwardedInput {
            chunks,
            current: Vec::new(),
            read: 0,
        }
    }
}

impl AsyncRead for ForwardedInput {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.read == self.current.len() {
            match self.chunks.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => {
                    self.current = chunk;
                    self.read = 0;
                }
                // The sender is gone: end of input.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let start = self.read;
        let n = buf.remaining().min(self.current.len() - start);
        buf.put_slice(&self.current[start..start + n]);
        self.read += n;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &str) -> Vec<u8> {
        format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
    }

    fn methods_of(stream: &[u8], chunk: usize) -> Vec<Option<String>> {
        let mut watcher = MessageWatcher::default();
        stream.chunks(chunk).flat_map(|c| watcher.push(c)).collect()
    }

    #[test]
    fn messages_are_found_however_the_stream_is_cut() {
        let mut stream = frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#);
        stream.extend(frame(&format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"text":"{}"}}}}"#,
            "x".repeat(10_000)
        )));
        // Header names in any case, other headers, spaces around the value.
        let exit = r#"{"jsonrpc":"2.0","method":"exit"} "#;
        stream
            .extend(format!("content-length:  {}\r\nContent-Type: x\r\n\r\n", exit.len()).bytes());
        stream.extend(exit.bytes());
        let expected = vec![Some("shutdown".to_string()), None, Some("exit".to_string())];
        for chunk in [1, 2, 3, 7, 4096, stream.len()] {
            assert_eq!(methods_of(&stream, chunk), expected, "chunks of {chunk}");
        }
    }

    #[test]
    fn exit_is_acted_on_while_the_server_reads_nothing() {
        // The protocol server is busy (it never takes what is forwarded): `exit` still ends
        // the session, with 1 because no `shutdown` came first.
        let mut stream = frame(&format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"text":"{}"}}}}"#,
            "let x = 1\n".repeat(100_000)
        ));
        stream.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        // Bytes after `exit` are never read.
        stream.extend(frame(r#"{"jsonrpc":"2.0","id":9,"method":"shutdown"}"#));
        let (to_server, _server_never_reads) = mpsc::unbounded_channel();
        let shutdown = AtomicBool::new(false);
        let status = watch(
            stream.as_slice(),
            |bytes| to_server.send(bytes).unwrap(),
            &shutdown,
        );
        assert_eq!(status, Some(1));
    }

    #[test]
    fn exit_after_shutdown_is_status_0_and_end_of_input_is_no_exit() {
        let mut stream = frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#);
        stream.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
        let shutdown = AtomicBool::new(false);
        assert_eq!(watch(stream.as_slice(), drop, &shutdown), Some(0));

        let shutdown = AtomicBool::new(false);
        let only_shutdown = frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#);
        assert_eq!(watch(only_shutdown.as_slice(), drop, &shutdown), None);
        assert!(shutdown.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn the_server_reads_exactly_the_bytes_forwarded() {
        use tokio::io::AsyncReadExt;
        let (sender, receiver) = mpsc::unbounded_channel();
        for chunk in [
            b"Content-".to_vec(),
            Vec::new(),
            b"Length: 2\r\n\r\n{}".to_vec(),
        ] {
            sender.send(chunk).unwrap();
        }
        drop(sender);
        let mut read = String::new();
        ForwardedInput::new(receiver)
            .read_to_string(&mut read)
            .await
            .unwrap();
        assert_eq!(read, "Content-Length: 2\r\n\r\n{}");
    }
}

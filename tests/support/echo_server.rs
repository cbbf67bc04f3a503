//! A local HTTP server that records every request (line, headers and body) and answers each
//! with a fixed text followed by the body it was sent: an endpoint that echoes, standing in for
//! Slack, PagerDuty and any `std.http` target in end-to-end tests.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

pub struct EchoServer {
    pub url: String,
    received: Arc<Mutex<Vec<String>>>,
}

impl EchoServer {
    /// Listens on a free local port until the test process ends; every reply starts with
    /// `preamble`.
    pub fn start(preamble: &str) -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
        let url = format!("http://{}", listener.local_addr().expect("a bound address"));
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = received.clone();
        let preamble = preamble.to_string();
        std::thread::spawn(move || {
            for mut socket in listener.incoming().map_while(Result::ok) {
                let request = read_request(&mut socket);
                let body = request.split_once("\r\n\r\n").map_or("", |(_, b)| b);
                let reply = format!("{preamble}{body}");
                let _ = write!(
                    socket,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                    reply.len()
                );
                record
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(request);
            }
        });
        EchoServer { url, received }
    }

    /// Every request received so far, whole.
    pub fn requests(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One request: the head, then as much body as its `content-length` says.
fn read_request(socket: &mut std::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = socket.read(&mut buffer).unwrap_or(0);
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or(0);
            if body.len() >= length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&data).into_owned()
}

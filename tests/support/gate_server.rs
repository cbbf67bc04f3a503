//! A local HTTP endpoint for a runbook's `http.get` calls that counts them by path and holds
//! every request under `/hold/` until the test opens the gate: a step the test can catch in
//! the middle, for as long as it likes.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};

pub struct GateServer {
    pub url: String,
    state: Arc<(Mutex<State>, Condvar)>,
}

#[derive(Default)]
struct State {
    hits: BTreeMap<String, usize>,
    open: bool,
}

impl GateServer {
    pub fn start() -> GateServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
        let shared = state.clone();
        std::thread::spawn(move || {
            for mut socket in listener.incoming().map_while(Result::ok) {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let path = read_path(&mut socket);
                    let (lock, changed) = &*shared;
                    let mut state = lock.lock().unwrap_or_else(|e| e.into_inner());
                    *state.hits.entry(path.clone()).or_default() += 1;
                    changed.notify_all();
                    while path.starts_with("/hold/") && !state.open {
                        state = changed.wait(state).unwrap_or_else(|e| e.into_inner());
                    }
                    drop(state);
                    let _ = socket.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    );
                });
            }
        });
        GateServer { url, state }
    }

    /// How many requests arrived for `path` so far (held ones included).
    pub fn hits(&self, path: &str) -> usize {
        let state = self.state.0.lock().unwrap_or_else(|e| e.into_inner());
        state.hits.get(path).copied().unwrap_or(0)
    }

    /// Every path and its count, for a failing test's message.
    pub fn all_hits(&self) -> String {
        let state = self.state.0.lock().unwrap_or_else(|e| e.into_inner());
        format!("{:?}", state.hits)
    }

    /// Lets held requests (and every later one) through.
    pub fn open(&self) {
        let (lock, changed) = &*self.state;
        lock.lock().unwrap_or_else(|e| e.into_inner()).open = true;
        changed.notify_all();
    }
}

/// The request's path, after reading its head (GET requests have no body to wait for).
fn read_path(socket: &mut std::net::TcpStream) -> String {
    let mut data = Vec::new();
    let mut buffer = [0u8; 4096];
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => data.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&data)
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string()
}

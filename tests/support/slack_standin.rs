//! A local stand-in for Slack's Web API (`[integrations.slack] api_url`): records every call
//! (method, bot token, JSON body) and answers as Slack does (`{"ok": true, "channel", "ts"}`).
//! It also takes the replies sent to a click's `response_url` (`/response/...`) and the posts
//! of `slack.post` to an incoming webhook (`/hook/...`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

#[derive(Clone, Debug)]
pub struct Call {
    /// `chat.postMessage`, `chat.update`, `chat.postEphemeral`, or `response/...`.
    pub method: String,
    pub authorization: Option<String>,
    pub body: Value,
}

pub struct SlackStandIn {
    pub url: String,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl SlackStandIn {
    pub fn start() -> SlackStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
        let shared = calls.clone();
        std::thread::spawn(move || {
            for socket in listener.incoming().map_while(Result::ok) {
                let shared = shared.clone();
                std::thread::spawn(move || answer(socket, &shared));
            }
        });
        SlackStandIn { url, calls }
    }

    /// Where a click's private replies go: a path of this stand-in.
    pub fn response_url(&self, name: &str) -> String {
        format!("{}/response/{name}", self.url)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The calls of one method, in order.
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| call.method == method)
            .collect()
    }

    /// Every call, for a failing test's message.
    pub fn dump(&self) -> String {
        self.calls()
            .iter()
            .map(|call| format!("{} {}", call.method, call.body))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn answer(mut socket: TcpStream, calls: &Mutex<Vec<Call>>) {
    let Some((head, body)) = read_request(&mut socket) else {
        return;
    };
    let mut lines = head.lines();
    let path = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_string();
    let authorization = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, value)| value.trim().to_string());
    let body: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let reply = {
        let mut calls = calls.lock().unwrap_or_else(|e| e.into_inner());
        let reply = match path.as_str() {
            "chat.postMessage" => {
                let posted = calls
                    .iter()
                    .filter(|c| c.method == "chat.postMessage")
                    .count();
                json!({
                    "ok": true,
                    "channel": body.get("channel").cloned().unwrap_or(json!("C0UNKNOWN")),
                    "ts": format!("1700000000.{:06}", posted + 1),
                    "message": {"text": body.get("text").cloned().unwrap_or_default()},
                })
            }
            "chat.update" => json!({
                "ok": true,
                "channel": body.get("channel").cloned().unwrap_or_default(),
                "ts": body.get("ts").cloned().unwrap_or_default(),
            }),
            "chat.postEphemeral" => json!({"ok": true, "message_ts": "1700000000.999999"}),
            // A click's response_url, and the incoming webhook `slack.post` uses.
            p if p.starts_with("response/") || p.starts_with("hook/") => json!({"ok": true}),
            _ => json!({"ok": false, "error": "unknown_method"}),
        };
        calls.push(Call {
            method: path,
            authorization,
            body,
        });
        reply
    };
    let text = reply.to_string();
    let _ = socket.write_all(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        )
        .as_bytes(),
    );
}

/// The head and the body (as long as content-length says).
fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 8192];
    let end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        match socket.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buffer[..n]),
        }
    };
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = data[end + 4..].to_vec();
    while body.len() < length {
        match socket.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buffer[..n]),
        }
    }
    Some((head, body))
}

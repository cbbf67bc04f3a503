//! Running the built `rbk` binary the way a user would.
#![allow(dead_code)]

pub mod alerting;
pub mod echo_server;
pub mod gate_server;
pub mod http;
pub mod pg;
pub mod rbk_serve;
pub mod slack_standin;
pub mod tcp_proxy;
pub mod waiting;
pub mod web;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `rbk ARGS` from the repository root, without colour and without a terminal.
pub fn rbk(args: &[&str]) -> Run {
    rbk_in(&repo_root(), args)
}

pub fn rbk_in(dir: &Path, args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("the rbk binary runs");
    Run {
        status: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A background `rbk` whose standard output arrives line by line.
pub struct Spawned {
    pub child: std::process::Child,
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl Spawned {
    /// Reads lines until one satisfies `stop`; returns every line read. Waits on output, never
    /// on a clock.
    pub fn read_until(&self, mut stop: impl FnMut(&str) -> bool) -> Vec<String> {
        let mut seen = Vec::new();
        for line in self.lines.iter() {
            let done = stop(&line);
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    }

    /// Waits for the process; returns its exit code and the rest of its output.
    pub fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().expect("rbk ends");
        let rest: Vec<String> = self.lines.iter().collect();
        (status.code().unwrap_or(-1), rest.join("\n"))
    }
}

pub fn spawn_rbk(dir: &Path, args: &[&str]) -> Spawned {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rbk"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rbk starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    Spawned { child, lines }
}

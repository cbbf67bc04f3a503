//! `rbk serve` as a background process of a test: on a loopback port it picks itself (and
//! reports in its `listening` log line, so no other process can take the port between a test
//! choosing it and the server binding it), its output in a log file, killed when dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::http;
use super::waiting::until;

pub struct Serve {
    child: Child,
    pub url: String,
    log: PathBuf,
}

impl Serve {
    /// `rbk serve ARGS --listen 127.0.0.1:0` in `dir` with `env` added; returns once it has
    /// said where it listens and `/healthz` there answers 200.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Serve {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let nth = STARTED.fetch_add(1, Ordering::Relaxed);
        let log = dir.join(format!("serve-{}-{nth}.log", std::process::id()));
        let file = File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_rbk"));
        command
            .arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("RBK_INTAKE_TOKEN")
            .env_remove("RBK_STORE")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut serve = Serve {
            child: command.spawn().expect("rbk serve starts"),
            url: String::new(),
            log,
        };
        let log = serve.log.clone();
        let child = &mut serve.child;
        let listening = until(
            "rbk serve to say where it listens",
            Duration::from_secs(60),
            || match child.try_wait() {
                Ok(Some(status)) => Some(Err(status)),
                _ => listening_address(&std::fs::read_to_string(&log).unwrap_or_default()).map(Ok),
            },
            || std::fs::read_to_string(&log).unwrap_or_default(),
        );
        match listening {
            Ok(address) => serve.url = format!("http://{address}"),
            Err(status) => panic!("rbk serve exited ({status}):\n{}", serve.log()),
        }
        let health = format!("{}/healthz", serve.url);
        let child = &mut serve.child;
        let up = until(
            "rbk serve to answer /healthz",
            Duration::from_secs(60),
            || match child.try_wait() {
                Ok(Some(status)) => Some(Err(status)),
                _ => http::get(&health)
                    .ok()
                    .filter(|a| a.status == 200)
                    .map(|_| Ok(())),
            },
            || std::fs::read_to_string(&log).unwrap_or_default(),
        );
        if let Err(status) = up {
            panic!("rbk serve exited ({status}):\n{}", serve.log());
        }
        serve
    }

    /// `POST /v1/alertmanager` with `token` as the bearer token.
    pub fn post_alertmanager(&self, token: &str, body: &str) -> http::Answer {
        http::post_json(
            &format!("{}/v1/alertmanager", self.url),
            &[("authorization", &format!("Bearer {token}"))],
            body,
        )
        .unwrap_or_else(|e| panic!("POST to rbk serve: {e}\n{}", self.log()))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the process dies mid-whatever, as on a crash or a lost machine.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then its exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address of the server's `listening` log line, once it has been written.
fn listening_address(log: &str) -> Option<String> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["event"] == "listening")
        .and_then(|line| line["address"].as_str().map(str::to_string))
}

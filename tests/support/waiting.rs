//! Waiting for a condition with a generous deadline (never asserting how long it took), and
//! free loopback ports for the servers a test starts.

use std::time::{Duration, Instant};

/// Polls `check` every 100 ms until it gives a value; after `deadline` panics with `what` and
/// whatever `explain` says about the state of things then.
pub fn until<T>(
    what: &str,
    deadline: Duration,
    mut check: impl FnMut() -> Option<T>,
    explain: impl FnOnce() -> String,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        if start.elapsed() > deadline {
            panic!(
                "gave up after {} s waiting for {what}\n{}",
                deadline.as_secs(),
                explain()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A port nobody listens on right now: bound, read and released. Whoever binds it next wins;
/// callers check that their server came up on it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

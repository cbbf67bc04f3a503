//! Which process executes a run, and whether that process is still alive: what lets `rbk resume`
//! refuse a run that is still running, and lets a dead run give back its `concurrency` slot.
//!
//! A process is named by its host, its pid and its start time. The pid alone is not enough: after
//! a crash the kernel may give the same pid to an unrelated process. On Linux the start time is
//! field 22 of `/proc/PID/stat` (clock ticks since boot), qualified by the boot id so that a pid
//! and tick count seen again after a reboot (a power loss) do not pass for the dead process.
//! Elsewhere, and for a process on another host, liveness cannot be checked from here.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOwner {
    /// The host name of the machine the process runs on.
    pub host: String,
    pub pid: u32,
    /// `BOOT_ID:TICKS` on Linux; empty where it cannot be read.
    pub started: String,
}

/// What can be said from this process about a run's owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// That very process still runs.
    Alive,
    /// It is gone: no such pid, another process under its pid, or the machine rebooted.
    Dead,
    /// It runs on another host, or its start time was not recorded: rbk cannot tell.
    Unknown,
}

impl RunOwner {
    /// The current process.
    pub fn this_process() -> RunOwner {
        let pid = std::process::id();
        RunOwner {
            host: host_name(),
            pid,
            started: process_start(pid).unwrap_or_default(),
        }
    }

    pub fn liveness(&self) -> Liveness {
        if self.host != host_name() || self.started.is_empty() {
            return Liveness::Unknown;
        }
        let Some((boot, _)) = self.started.split_once(':') else {
            return Liveness::Unknown;
        };
        if boot_id().as_deref() != Some(boot) {
            return Liveness::Dead;
        }
        match process_start(self.pid) {
            Some(now) if now == self.started => Liveness::Alive,
            _ => Liveness::Dead,
        }
    }
}

impl std::fmt::Display for RunOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {} on {}", self.pid, self.host)
    }
}

/// Whether a run that has not ended still holds its `concurrency` slot: unless its process is
/// known to be dead, it does (a run on another machine may well be running).
pub fn holds_slot(owner: Option<&RunOwner>) -> bool {
    owner.is_none_or(|owner| owner.liveness() != Liveness::Dead)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

/// `BOOT_ID:TICKS` for a running (not zombie) process; `None` when there is no such process.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may itself contain spaces and
    // parentheses: the fields after it start after the last `)`.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // fields[0] is field 3 (the state); field 22 (the start time) is fields[19].
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    let ticks = fields.get(19)?;
    Some(format!("{}:{ticks}", boot_id()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive() {
        let me = RunOwner::this_process();
        if cfg!(target_os = "linux") {
            assert_eq!(me.liveness(), Liveness::Alive);
            assert!(holds_slot(Some(&me)));
        }
    }

    #[test]
    fn a_reused_pid_is_not_the_owner() {
        let mut me = RunOwner::this_process();
        if cfg!(target_os = "linux") {
            // Same host and pid, another start time: a different process under a reused pid.
            let (boot, _) = me.started.split_once(':').unwrap();
            me.started = format!("{boot}:1");
            assert_eq!(me.liveness(), Liveness::Dead);
            assert!(!holds_slot(Some(&me)));
        }
    }

    #[test]
    fn after_a_reboot_the_owner_is_dead() {
        let mut me = RunOwner::this_process();
        if cfg!(target_os = "linux") {
            let (_, ticks) = me.started.split_once(':').unwrap();
            me.started = format!("00000000-0000-0000-0000-000000000000:{ticks}");
            assert_eq!(me.liveness(), Liveness::Dead);
        }
    }

    #[test]
    fn another_host_cannot_be_checked_and_keeps_its_slot() {
        let mut me = RunOwner::this_process();
        me.host = format!("{}-elsewhere", me.host);
        assert_eq!(me.liveness(), Liveness::Unknown);
        assert!(holds_slot(Some(&me)));
        assert!(
            holds_slot(None),
            "a run with no recorded owner keeps its slot"
        );
    }
}

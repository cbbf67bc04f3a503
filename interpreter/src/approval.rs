//! Approval gates: who is asked, and what they answered.

use crate::action::BoxFuture;
use rbk_compiler::syntax::TimeoutOutcome;

#[derive(Clone, Debug)]
pub struct ApprovalRequest {
    pub run_id: String,
    pub step: String,
    pub group: Option<String>,
    pub quorum: u32,
    /// Milliseconds to wait; `None` waits until answered.
    pub timeout: Option<u64>,
    pub on_timeout: TimeoutOutcome,
    /// The person or alert that started the run; never counts as an approver.
    pub started_by: String,
    /// The actions the step will take, as written (resolved where that is possible).
    pub actions: Vec<String>,
    /// The same actions for approvers to read: call, effect and resolved arguments.
    pub planned: Vec<crate::present::PlannedAction>,
    /// Binds answers to this plan: the program, the step, and the values it will act on.
    pub digest: String,
    /// The values the gate asks its approver for (`ask { ... }`); empty when none.
    pub asks: Vec<crate::asked_values::AskedValue>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ApprovalDecision {
    Granted {
        by: Vec<String>,
        channel: String,
        /// The asked values, as the approvers typed them (all approvers gave the same).
        values: crate::asked_values::GivenValues,
    },
    Denied {
        by: String,
        channel: String,
    },
    TimedOut,
}

pub trait Approver: Send + Sync {
    fn request<'a>(&'a self, request: &'a ApprovalRequest) -> BoxFuture<'a, ApprovalDecision>;
}

/// Where `env("X")` and `secret("X")` read from.
pub trait Environment: Send + Sync {
    fn env(&self, name: &str) -> Option<String>;
    fn secret(&self, name: &str) -> Option<String>;

    /// The secret `name`, or why it cannot be had: where rbk looked, or what is wrong with the
    /// file it is in. `secret("X")` fails the step with this message.
    fn read_secret(&self, name: &str) -> Result<String, crate::secret_sources::SecretError> {
        self.secret(name)
            .ok_or_else(|| crate::secret_sources::SecretError::NotSet {
                name: name.to_string(),
                searched: vec![format!("no environment variable {name}")],
            })
    }

    /// Secrets rbk reads for the project itself (integration credentials): every run masks
    /// their values from its start, as it masks what `secret()` read.
    fn credential_names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The process environment: `env` and, by default, `secret` both read environment variables.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn secret(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

//! The boundary to the outside world: every extern action is called through [`Actions`], so
//! the engine runs the same way against real systems, a dry run, or a test's mocks.

use std::future::Future;
use std::pin::Pin;

use rbk_compiler::syntax::Effect;
use rbk_compiler::types::Ty;

use crate::value::Value;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One call of an extern action, with its arguments in declaration order (defaults filled in).
#[derive(Clone, Debug)]
pub struct ActionCall {
    /// `postgres.terminate`.
    pub action: String,
    pub effect: Effect,
    /// The action returns an opaque handle (`pg.connect`): tests give it a placeholder.
    pub returns_handle: Option<String>,
    /// The declared return type.
    pub returns: Ty,
    pub args: Vec<(String, Value)>,
    /// The run making the call (PagerDuty deduplicates a run's events by it); empty outside a
    /// run (`rbk test` expressions).
    pub run_id: String,
}

impl ActionCall {
    pub fn arg(&self, name: &str) -> Option<&Value> {
        self.args.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// `postgres.terminate(db: <postgres.Database 1>, max: 50)`, for logs and approvals.
    pub fn describe(&self) -> String {
        let args: Vec<String> = self.args.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        format!("{}({})", self.action, args.join(", "))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionError {
    pub message: String,
    /// The harness itself failed (an unmocked call in a test): the run stops whatever the
    /// step's `on failure` says.
    pub fatal: bool,
}

impl ActionError {
    pub fn new(message: impl Into<String>) -> Self {
        ActionError {
            message: message.into(),
            fatal: false,
        }
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        ActionError {
            message: message.into(),
            fatal: true,
        }
    }
}

/// Performs extern action calls.
pub trait Actions: Send + Sync {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>>;
}

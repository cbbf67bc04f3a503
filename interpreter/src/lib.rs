//! The rbk interpreter: runs a checked program. Steps, conditions, approval gates, retries,
//! timeouts, verification, notification and escalation, with every decision journaled.
//!
//! External systems sit behind small traits ([`Actions`], [`Approver`], [`Environment`],
//! [`Journal`]), so real runs, dry runs and `test` blocks use the same engine.

pub mod action;
pub mod alerts;
pub mod approval;
pub mod approvals;
pub mod asked_values;
pub mod audit;
pub mod decisions;
pub mod dry_run;
pub mod engine;
pub mod identity;
pub mod journal;
mod operators;
pub mod present;
pub mod secret_sources;
pub mod secrets;
pub mod start;
pub mod store;
pub mod test_runner;
mod text_builtins;
pub mod value;

pub use action::{ActionCall, ActionError, Actions, BoxFuture};
pub use approval::{ApprovalDecision, ApprovalRequest, Approver, Environment, ProcessEnvironment};
pub use engine::{run, RunError, RunReport, RunRequest, RunStatus, Services, StepState};
pub use journal::{Event, EventKind, Journal, JournalError, MemoryJournal};
pub use value::Value;

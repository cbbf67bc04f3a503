//! Why a run could not start or go on, by kind: a caller tells a lost lease (another worker has
//! the run; this one stops quietly) from a run that must end `failed`, and the journal's own
//! error stays attached as the source. The texts are the messages users read.

use crate::journal::JournalError;
use crate::secrets::SecretMask;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("there is no runbook `{runbook}` in {file}")]
    NoSuchRunbook { runbook: String, file: String },
    #[error("input `{name}` is required: give it with --input {name}=VALUE")]
    MissingInput { name: String },
    /// rbk never acts without an audit trail: an event that cannot be written stops the run.
    #[error("the journal could not be written, so the run stops: {0}")]
    Journal(#[source] JournalError),
}

impl RunError {
    /// Another worker holds the run now: this one must stop without writing its outcome.
    pub fn is_lease_lost(&self) -> bool {
        matches!(self, RunError::Journal(JournalError::LeaseLost { .. }))
    }

    /// The same error with every secret in its text masked: it is shown and stored.
    pub(super) fn masked(self, secrets: &SecretMask) -> RunError {
        match self {
            RunError::NoSuchRunbook { runbook, file } => RunError::NoSuchRunbook {
                runbook: secrets.mask(&runbook),
                file: secrets.mask(&file),
            },
            RunError::MissingInput { name } => RunError::MissingInput {
                name: secrets.mask(&name),
            },
            RunError::Journal(error) => RunError::Journal(error.masked(secrets)),
        }
    }
}

/// Inside a step a journal failure ends the run as the report's `fatal` text.
impl From<RunError> for String {
    fn from(error: RunError) -> String {
        error.to_string()
    }
}

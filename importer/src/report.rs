//! What one import made, for people (`rbk import`'s text) and for measuring a wiki
//! (`--format json`).

use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    /// The Markdown file.
    pub source: String,
    /// The `.rbk` file written (set by the caller that writes it).
    pub draft: String,
    pub runbook: String,
    pub title: String,
    /// The alert named by the file or its heading, if any: the draft's trigger.
    pub alert: Option<String>,
    pub steps: usize,
    /// Steps that can write or destroy, and so wait for an approval.
    pub gated_steps: usize,
    /// Steps with no command: a person's instruction kept as a logged step.
    pub manual_steps: usize,
    /// Commands translated to a typed std action.
    pub commands_typed: usize,
    /// Commands kept as `shell.run`.
    pub commands_shell: usize,
    pub commands: Vec<CommandReport>,
    pub placeholders: Vec<PlaceholderReport>,
    pub skipped: Vec<SkippedReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CommandReport {
    /// 1-based line in the Markdown.
    pub line: usize,
    pub command: String,
    pub step: String,
    /// The std action that runs it.
    pub action: String,
    /// `read` or `destructive`, as the checker will infer it.
    pub effect: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlaceholderReport {
    pub written: String,
    pub input: String,
    /// The alert label the input's default reads (when the draft has an alert trigger).
    pub alert_label: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SkippedReport {
    pub line: usize,
    pub what: String,
    pub reason: String,
}

//! `rbk import`: a Markdown runbook (title, "Meaning / Impact / Diagnosis / Mitigation"
//! sections, numbered steps, fenced shell and SQL blocks) becomes a `.rbk` draft that checks
//! and whose tests pass, so converting a wiki is review work rather than typing.
//!
//! The pipeline, one file per stage: `markdown` (sections, steps, code blocks) → `commands`
//! (command lines and SQL statements) → `words` (shell words and placeholders) → `translate`
//! (typed std action or `shell.run`) → `draft` (the runbook and its tests) → the compiler's
//! formatter. `templates` holds the runbooks `rbk new --template` scaffolds.

mod alert_name;
mod commands;
mod draft;
mod markdown;
mod rbk_text;
pub mod report;
pub mod templates;
mod translate;
mod words;

pub use report::FileReport;

/// What the caller knows that the Markdown does not.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The group every approval asks (`--approvers`, else rbk.toml's first group).
    pub approvers: String,
    /// rbk.toml's `[shell] read_only` entries, so the draft gates exactly what `rbk check` will.
    pub shell_read_only: Vec<String>,
    /// The Markdown file's name as the draft's doc comment and the report name it.
    pub source_name: String,
}

/// The approver group when neither `--approvers` nor an rbk.toml names one.
pub const DEFAULT_APPROVERS: &str = "oncall";

pub struct Draft {
    /// The `.rbk` text, in the layout `rbk fmt` gives.
    pub text: String,
    pub report: FileReport,
}

/// Translates one Markdown runbook. `stem` is the file name without `.md`; it names the
/// runbook (and the alert, when it is spelled like one).
pub fn import(markdown: &str, stem: &str, options: &ImportOptions) -> Result<Draft, ImportError> {
    let document = markdown::parse(markdown);
    let (text, report) = draft::build(&document, stem, options);
    let text =
        rbk_compiler::format::format(&text).map_err(|error| ImportError::DraftDoesNotParse {
            first: error
                .diagnostics
                .first()
                .map(|d| d.message.clone())
                .unwrap_or_default(),
        })?;
    Ok(Draft { text, report })
}

/// Why a Markdown runbook has no draft.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The draft rbk wrote is not valid rbk: rbk's fault, never the Markdown's. `first` is the
    /// parser's first complaint.
    #[error(
        "the draft does not parse ({first}); this is a bug in rbk import, please report it with the Markdown file"
    )]
    DraftDoesNotParse { first: String },
}

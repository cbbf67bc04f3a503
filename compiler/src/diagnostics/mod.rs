//! One diagnostic model for the whole compiler. Each phase creates [`Diagnostic`]s; they are
//! rendered here for people (`human`, miette) and machines (`formats`: JSON, SARIF, GitHub),
//! and the language server converts them, all from this one type. A diagnostic carries its repairs as text edits
//! ([`fixes`]).

mod codes;
pub mod fixes;
pub mod formats;
mod human;
mod positions;

pub use codes::{Code, Severity};
pub use fixes::{Edit, Fix};
pub use human::{human, HumanStyle, MietteDiagnostic};
pub use positions::{LineIndex, Location};

use crate::syntax::Span;
use crate::FileId;

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub code: Code,
    pub file: FileId,
    pub message: String,
    /// The place the message is about; its label says what is wrong there.
    pub primary: Label,
    /// Other places that explain the problem (where a name was first defined, ...).
    pub secondary: Vec<Label>,
    /// What to do about it.
    pub help: String,
    /// Repairs as edits in this diagnostic's file, the one to prefer first; often none.
    pub fixes: Vec<Fix>,
}

impl Diagnostic {
    pub fn new(code: Code, file: FileId, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            file,
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: String::new(),
            fixes: Vec::new(),
        }
    }

    pub fn label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fixes.push(fix);
        self
    }

    pub fn severity(&self) -> Severity {
        self.code.severity()
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
    }
}

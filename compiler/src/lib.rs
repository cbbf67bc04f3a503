//! The rbk compiler: `.rbk` text in, a checked program and diagnostics out.
//!
//! The pipeline, one phase per module:
//! 1. [`syntax`] parses each file (pest grammar, error recovery) into a tree with spans;
//! 2. [`templates`] turns each `runbook NAME = TEMPLATE(ARGS)` into the runbook it stands for;
//!    [`resolve`] loads `use`d modules and builds each module's table of names;
//! 3. [`types`] resolves every name and checks every expression's type;
//! 4. [`effects`] computes what each `fn`, step and runbook can do to the world;
//! 5. [`lints`] applies the safety rules (approval gates, blast radius, secrets, ...);
//! 6. [`plan`] describes each runbook's effect-level plan for reviewers.
//!
//! The compiler does no I/O beyond reading sources: they come in through a [`ModuleLoader`];
//! [`project`] is the one loader the CLI and the language server share (it reads `.rbk` files
//! and `rbk.toml` with [`source_files`]).

pub mod config;
pub mod diagnostics;
pub mod effects;
pub mod format;
pub mod graph;
pub mod lints;
pub mod plan;
pub mod project;
pub mod resolve;
pub mod source_files;
pub mod syntax;
pub mod templates;
pub mod types;

mod analysis;
mod parallel;

pub use analysis::{
    check, check_incremental, Analysis, CheckOptions, ModuleLoader, SourceFileInfo,
};
pub use project::ModuleUnavailable;

/// Identifies one source file within an [`Analysis`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

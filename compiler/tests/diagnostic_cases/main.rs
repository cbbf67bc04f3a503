//! The compiler's own diagnostic snapshots. Each case is rbk source checked for real (the
//! standard modules from the rbk-std crate), snapshotted with the human report `rbk check` prints and
//! the JSON of `--format json`: a change to a message, span, label or help shows in review.
//!
//! Cases are grouped by the part of the compiler that raises them; sites.rs lists every place
//! in compiler/src that creates a diagnostic with the case that reaches it, and fails when a
//! new place has none. registry.rs holds the code registry to its fixtures and pages.

#[macro_use]
mod harness;
#[path = "../support/mod.rs"]
mod support;

mod builtins;
mod clean;
mod decisions;
mod lints;
mod modules;
mod registry;
mod rendering;
mod sites;
mod syntax;
mod templates;
mod test_blocks;
mod types;
mod wordings;

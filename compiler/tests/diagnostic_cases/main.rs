//! The compiler's own diagnostic snapshots. Each case is rbk source checked for real (the
//! standard modules from the rbk-std crate), snapshotted with the human report `rbk check` prints and
//! the JSON of `--format json`: a change to a message, span, label or help shows in review.
//!
//! Cases are grouped by the part of the compiler that raises them; constructors.rs proves each
//! code is built by one constructor in compiler/src; sites.rs lists every wording of those
//! constructors with the case that reaches it, and fails when a new one has none. registry.rs
//! holds the code registry to its fixtures and pages.

#[macro_use]
mod harness;
#[path = "../support/mod.rs"]
mod support;

mod builtins;
mod clean;
mod constructors;
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

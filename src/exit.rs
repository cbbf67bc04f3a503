//! Exit statuses, as documented in docs/cli.md.

/// Clean: no errors (and no warnings under `--deny warnings`).
pub const OK: u8 = 0;
/// The checked files have errors (or warnings under `--deny warnings`).
pub const FINDINGS: u8 = 1;
/// Usage or I/O problem: bad arguments, unreadable file, broken rbk.toml.
pub const USAGE: u8 = 2;
/// A bug in rbk.
pub const INTERNAL: u8 = 101;

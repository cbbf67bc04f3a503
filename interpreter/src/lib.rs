//! The rbk interpreter: runs a checked program (steps, approvals, escalation, the audit
//! journal). It arrives with the interpreter issue; the crate exists now so the dependency
//! direction (compiler <- interpreter <- stdlib <- CLI) is fixed from the start.

pub use rbk_compiler as compiler;

//! The rbk language server. It arrives with the editor-support issue; the crate exists now so
//! that it depends on the compiler and never the other way round.

pub use rbk_compiler as compiler;

//! Text to syntax tree: the pest grammar, error recovery, and the tree itself.

pub mod ast;
mod parser;
mod recovery;
pub mod visit;

pub use ast::*;
pub use parser::{parse, parse_expression, ParseOutput, MAX_NESTING};

#[cfg(test)]
mod tests;

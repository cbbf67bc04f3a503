//! Text to syntax tree: the pest grammar, error recovery, and the tree itself.

pub mod ast;
pub mod cursor;
mod descent;
mod errors;
mod grammar;
mod incremental;
pub mod keywords;
pub mod lexer;
mod literals;
mod parser;
mod recovery;
pub mod scan;
mod shift;
pub mod visit;

pub use ast::*;
pub use grammar::{MAX_EXPR_HEIGHT, MAX_NESTING};
pub use incremental::{item_starts, ParseCache};
pub use literals::{escape_text, string_literal};
pub use parser::{parse, parse_expression, ParseOutput, PLACEHOLDER_CLOSE, PLACEHOLDER_OPEN};

/// Each pass of [`parse`] on its own, for the parse benchmark (`cargo bench -p rbk-compiler
/// --bench parse`); programs call [`parse`], which runs them in order.
#[doc(hidden)]
pub mod passes {
    pub use super::descent::parse_clean;
    pub use super::parser::parse_with_grammar;
    pub use super::recovery::check_nesting;
}

#[cfg(test)]
mod scan_agreement;
#[cfg(test)]
mod tests;

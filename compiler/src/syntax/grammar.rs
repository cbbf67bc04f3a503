//! The grammar as the compiler sees it: pest's parser derived from `grammar/rbk.pest` (and its
//! `Rule`s), and the limits every parser of that grammar enforces. Its own module so that the
//! tree builder (parser.rs), the error explainer (recovery.rs) and the fast parser (descent/)
//! all depend on it and not on one another.

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/rbk.pest"]
pub(crate) struct RbkParser;

/// Brackets nested deeper than this are refused before parsing, so no input can exhaust the stack.
pub const MAX_NESTING: usize = 128;
/// `else if` branches of one `if` beyond this are refused.
pub(super) const MAX_ELSE_IF: usize = 256;
/// Prefix operators and lambdas chained deeper than this are refused while building the tree.
pub(super) const MAX_EXPR_DEPTH: usize = 256;
/// No expression tree is taller than this (`1 + 1 + ...` and `a.b.c...` grow one level per
/// operator): every later phase walks the tree recursively, so its height bounds their stack.
pub const MAX_EXPR_HEIGHT: u32 = 256;

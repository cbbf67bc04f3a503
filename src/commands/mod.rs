//! One module per subcommand; each turns arguments into library calls and output.

pub mod check;
pub mod explain;
pub mod plan;
mod render;
pub mod test;

//! One module per subcommand; each turns arguments into library calls and output.

mod alert_arg;
pub mod answer;
pub mod check;
mod check_fix;
pub mod explain;
pub mod fmt;
pub mod graph;
pub mod head;
pub mod import;
pub mod lsp;
pub mod new;
pub mod plan;
pub mod remote_answer;
mod render;
pub mod resume;
pub mod run;
pub mod runs;
pub mod serve;
mod session;
pub mod test;
pub mod token;

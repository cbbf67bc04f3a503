//! Human output for the terminal: the compiler's human report (diagnostics::human), in colour
//! only when stdout is a terminal and NO_COLOR is unset. The environment is read here, not in
//! the compiler, so the compiler's rendering stays a pure function its tests can snapshot.

use std::io::IsTerminal;

use rbk_compiler::diagnostics::{self, Diagnostic, HumanStyle};
use rbk_compiler::Analysis;

fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

pub fn human(analysis: &Analysis, diagnostic: &Diagnostic) -> String {
    let style = HumanStyle {
        color: use_color(),
        ..HumanStyle::PLAIN
    };
    diagnostics::human(analysis, diagnostic, style)
}

//! Human output: miette's graphical report, without colour when NO_COLOR is set or stdout is
//! not a terminal.

use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme};
use rbk_compiler::diagnostics::{Diagnostic, MietteDiagnostic};
use rbk_compiler::Analysis;

pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

pub fn human(analysis: &Analysis, diagnostic: &Diagnostic) -> String {
    let theme = if use_color() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let file = analysis.file(diagnostic.file);
    let report = MietteDiagnostic::new(
        diagnostic.clone(),
        &file.path.display().to_string(),
        &file.text,
    );
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {}\n", diagnostic.code.as_str(), diagnostic.message);
    }
    out
}

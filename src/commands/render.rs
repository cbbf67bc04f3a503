//! Human output: miette's graphical report, without colour when NO_COLOR is set or stdout is
//! not a terminal.

use std::io::IsTerminal;

use miette::{GraphicalReportHandler, GraphicalTheme};
use rbk_compiler::diagnostics::{Diagnostic, MietteDiagnostic};
use rbk_compiler::Analysis;

pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Lines longer than this are not drawn (miette cannot draw columns past 65,535, and nobody
/// can read such a line anyway): the diagnostic is printed with its position instead.
const LONGEST_DRAWN_LINE: usize = 4_096;

pub fn human(analysis: &Analysis, diagnostic: &Diagnostic) -> String {
    let file = analysis.file(diagnostic.file);
    let spans = std::iter::once(&diagnostic.primary).chain(&diagnostic.secondary);
    let too_long = spans.into_iter().any(|label| {
        let line = file.lines.line_of(label.span.start.min(file.text.len()));
        let start = file.lines.line_start(line).min(file.text.len());
        let end = file.text[start..]
            .find('\n')
            .map_or(file.text.len(), |i| start + i);
        end - start > LONGEST_DRAWN_LINE || label.span.len() > LONGEST_DRAWN_LINE
    });
    if too_long {
        let at = file
            .lines
            .location(&file.text, diagnostic.primary.span.start);
        let mut out = format!(
            "{} {}: {}\n  --> {}:{}:{}\n",
            severity(diagnostic),
            diagnostic.code.as_str(),
            diagnostic.message,
            file.path.display(),
            at.line,
            at.column
        );
        if !diagnostic.help.is_empty() {
            out.push_str(&format!("  help: {}\n", diagnostic.help));
        }
        return out;
    }
    let theme = if use_color() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let report = MietteDiagnostic::with_lines(
        diagnostic.clone(),
        &file.path.display().to_string(),
        &file.text,
        &file.lines,
    );
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {}\n", diagnostic.code.as_str(), diagnostic.message);
    }
    out
}

fn severity(diagnostic: &Diagnostic) -> &'static str {
    if diagnostic.is_error() {
        "error"
    } else {
        "warning"
    }
}

//! The human rendering of a diagnostic: miette's graphical report (source lines, labels, help),
//! or a one-line position when a line is too long to draw. Colour and width are parameters:
//! whether the output is a terminal, or NO_COLOR is set, is for the caller to decide, so the
//! compiler's own tests can snapshot exactly what `rbk check` prints.

use miette::{GraphicalReportHandler, GraphicalTheme};

use super::{Diagnostic, LineIndex, Severity};
use crate::Analysis;

/// How a human report is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanStyle {
    /// ANSI colours (the caller's decision: a terminal, and NO_COLOR unset).
    pub color: bool,
    /// Columns the report is wrapped to.
    pub width: usize,
}

impl HumanStyle {
    /// What `rbk check` prints when its output is not a terminal, and what snapshots hold.
    pub const PLAIN: HumanStyle = HumanStyle {
        color: false,
        width: 100,
    };
}

/// Lines longer than this are not drawn (miette cannot draw columns past 65,535, and nobody
/// can read such a line anyway): the diagnostic is printed with its position instead.
const LONGEST_DRAWN_LINE: usize = 4_096;

/// One diagnostic of `analysis` as a person reads it, ending in a newline.
pub fn human(analysis: &Analysis, diagnostic: &Diagnostic, style: HumanStyle) -> String {
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
            severity_word(diagnostic),
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
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
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

fn severity_word(diagnostic: &Diagnostic) -> &'static str {
    if diagnostic.is_error() {
        "error"
    } else {
        "warning"
    }
}

/// A diagnostic together with its source, in the shape miette renders.
pub struct MietteDiagnostic {
    diagnostic: Diagnostic,
    source: SourceWindow,
}

impl MietteDiagnostic {
    /// For one diagnostic; indexes `text`'s lines first. Rendering many diagnostics of one
    /// text, use [`MietteDiagnostic::with_lines`] with the index computed once.
    pub fn new(diagnostic: Diagnostic, file_name: &str, text: &str) -> Self {
        Self::with_lines(diagnostic, file_name, text, &LineIndex::new(text))
    }

    /// Keeps only the lines around the diagnostic's labels: miette finds a span's line by
    /// reading its source from the start, so handing it the whole file made printing N
    /// diagnostics of a long file take N times the file (10^5 diagnostics took minutes).
    pub fn with_lines(
        diagnostic: Diagnostic,
        file_name: &str,
        text: &str,
        lines: &LineIndex,
    ) -> Self {
        let spans = std::iter::once(&diagnostic.primary)
            .chain(&diagnostic.secondary)
            .map(|label| label.span);
        let first = spans
            .clone()
            .map(|s| s.start)
            .min()
            .unwrap_or(0)
            .min(text.len());
        let last = spans.map(|s| s.end).max().unwrap_or(0).min(text.len());
        // The context lines miette shows (one each side), and one more for safety.
        let first_line = lines.line_of(first).saturating_sub(CONTEXT_LINES);
        let start = lines.line_start(first_line).min(text.len());
        let end = lines
            .line_start(lines.line_of(last) + CONTEXT_LINES + 1)
            .min(text.len());
        MietteDiagnostic {
            diagnostic,
            source: SourceWindow {
                name: file_name.to_string(),
                text: text[start..end].to_string(),
                offset: start,
                first_line,
            },
        }
    }
}

/// Lines kept around a diagnostic's labels on each side (miette draws one).
const CONTEXT_LINES: usize = 2;

/// A slice of a file's lines that miette reads as if it were the whole file: spans and line
/// numbers are the file's.
struct SourceWindow {
    name: String,
    text: String,
    /// Where `text` starts in the file.
    offset: usize,
    /// The 0-based line of the file `text` starts at.
    first_line: usize,
}

impl miette::SourceCode for SourceWindow {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let start = span
            .offset()
            .saturating_sub(self.offset)
            .min(self.text.len());
        let len = span.len().min(self.text.len() - start);
        let local = miette::SourceSpan::new(start.into(), len);
        let contents =
            self.text
                .as_str()
                .read_span(&local, context_lines_before, context_lines_after)?;
        let data = contents.data();
        let found = contents.span();
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            data,
            miette::SourceSpan::new((found.offset() + self.offset).into(), found.len()),
            contents.line() + self.first_line,
            contents.column(),
            contents.line_count(),
        )))
    }
}

impl std::fmt::Debug for MietteDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.diagnostic.fmt(f)
    }
}

impl std::fmt::Display for MietteDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for MietteDiagnostic {}

impl miette::Diagnostic for MietteDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        if self.diagnostic.help.is_empty() {
            None
        } else {
            Some(Box::new(&self.diagnostic.help))
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let primary = &self.diagnostic.primary;
        let text = if primary.message.is_empty() {
            None
        } else {
            Some(primary.message.clone())
        };
        let mut labels = vec![miette::LabeledSpan::new_primary_with_span(
            text,
            (primary.span.start, primary.span.len()),
        )];
        for label in &self.diagnostic.secondary {
            labels.push(miette::LabeledSpan::new_with_span(
                Some(label.message.clone()),
                (label.span.start, label.span.len()),
            ));
        }
        Some(Box::new(labels.into_iter()))
    }
}

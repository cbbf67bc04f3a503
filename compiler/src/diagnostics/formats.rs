//! Machine-readable renderings of diagnostics: JSON for scripts, SARIF for code scanning, and
//! GitHub workflow commands for annotations. The human rendering is miette's (see `human`).
//! JSON and SARIF also carry each diagnostic's fixes, with positions a script can apply.

use serde::Serialize;
use serde_json::json;

use super::{Code, Diagnostic, Fix, Severity};
use crate::{Analysis, SourceFileInfo};

/// One diagnostic with resolved positions, as `--format json` prints it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DiagnosticRecord {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub help: Option<String>,
    /// Omitted when the diagnostic has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<FixRecord>,
}

/// One fix of a diagnostic, as `--format json` prints it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FixRecord {
    pub title: String,
    /// Whether `rbk check --fix` applies it.
    pub safe: bool,
    pub edits: Vec<EditRecord>,
}

/// One edit of a fix in the diagnostic's file: 1-based lines and character columns like the
/// diagnostic's, and the byte range too. Equal start and end insert.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct EditRecord {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub start_byte: usize,
    pub end_byte: usize,
    pub replacement: String,
}

impl FixRecord {
    pub fn new(file: &SourceFileInfo, fix: &Fix) -> Self {
        FixRecord {
            title: fix.title.clone(),
            safe: fix.safe,
            edits: fix
                .edits
                .iter()
                .map(|edit| {
                    let start = file.lines.location(&file.text, edit.span.start);
                    let end = file.lines.location(&file.text, edit.span.end);
                    EditRecord {
                        line: start.line,
                        column: start.column,
                        end_line: end.line,
                        end_column: end.column,
                        start_byte: edit.span.start,
                        end_byte: edit.span.end,
                        replacement: edit.replacement.clone(),
                    }
                })
                .collect(),
        }
    }
}

impl DiagnosticRecord {
    pub fn new(analysis: &Analysis, diagnostic: &Diagnostic) -> Self {
        let file = analysis.file(diagnostic.file);
        let start = file
            .lines
            .location(&file.text, diagnostic.primary.span.start);
        let end = file.lines.location(&file.text, diagnostic.primary.span.end);
        DiagnosticRecord {
            code: diagnostic.code.as_str(),
            severity: diagnostic.severity(),
            message: diagnostic.message.clone(),
            file: file.path.display().to_string().replace('\\', "/"),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
            help: (!diagnostic.help.is_empty()).then(|| diagnostic.help.clone()),
            fixes: diagnostic
                .fixes
                .iter()
                .map(|fix| FixRecord::new(file, fix))
                .collect(),
        }
    }
}

pub fn records(analysis: &Analysis, diagnostics: &[Diagnostic]) -> Vec<DiagnosticRecord> {
    let mut records: Vec<DiagnosticRecord> = diagnostics
        .iter()
        .map(|d| DiagnosticRecord::new(analysis, d))
        .collect();
    records.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.code).cmp(&(&b.file, b.line, b.column, b.code))
    });
    records
}

pub fn json(records: &[DiagnosticRecord]) -> String {
    serde_json::to_string_pretty(records).unwrap_or_else(|_| "[]".to_string())
}

pub fn sarif(records: &[DiagnosticRecord]) -> String {
    let mut codes: Vec<&str> = records.iter().map(|r| r.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let rules: Vec<_> = codes
        .iter()
        .filter_map(|c| Code::parse(c))
        .map(|code| {
            json!({
                "id": code.as_str(),
                "name": code.title(),
                "shortDescription": { "text": code.title() },
                // The long form, as `rbk explain CODE` prints it (docs/diagnostics/CODE.md).
                "fullDescription": { "text": code.explanation() },
                "defaultConfiguration": { "level": level(code.severity()) },
            })
        })
        .collect();
    let results: Vec<_> = records
        .iter()
        .map(|r| {
            let mut text = r.message.clone();
            if let Some(help) = &r.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let mut result = json!({
                "ruleId": r.code,
                "ruleIndex": codes.iter().position(|c| *c == r.code),
                "level": level(r.severity),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": r.file },
                        "region": {
                            "startLine": r.line,
                            "startColumn": r.column,
                            "endLine": r.end_line,
                            "endColumn": r.end_column,
                        }
                    }
                }]
            });
            if !r.fixes.is_empty() {
                result["fixes"] = sarif_fixes(r);
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "rbk",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            } },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

/// SARIF's `fixes` of one result: each an artifact change of the result's file whose
/// replacements delete a region (empty for an insertion) and insert text.
fn sarif_fixes(r: &DiagnosticRecord) -> serde_json::Value {
    r.fixes
        .iter()
        .map(|fix| {
            let replacements: Vec<_> = fix
                .edits
                .iter()
                .map(|edit| {
                    json!({
                        "deletedRegion": {
                            "startLine": edit.line,
                            "startColumn": edit.column,
                            "endLine": edit.end_line,
                            "endColumn": edit.end_column,
                        },
                        "insertedContent": { "text": edit.replacement },
                    })
                })
                .collect();
            json!({
                "description": { "text": fix.title },
                "artifactChanges": [{
                    "artifactLocation": { "uri": r.file },
                    "replacements": replacements,
                }],
            })
        })
        .collect()
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// GitHub Actions workflow commands, one line per diagnostic.
pub fn github(records: &[DiagnosticRecord]) -> String {
    let mut out = String::new();
    for r in records {
        let kind = level(r.severity);
        let mut message = r.message.clone();
        if let Some(help) = &r.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        out.push_str(&format!(
            "::{kind} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(&r.file),
            r.line,
            r.column,
            r.end_line,
            r.end_column,
            escape_property(r.code),
            escape_data(&message)
        ));
    }
    out
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

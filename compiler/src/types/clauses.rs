//! Clauses a runbook has at most once. A second `trigger`, `escalate` or `timeout` used to be
//! accepted and one of them silently ignored: a runbook that looked as if two alerts started
//! it answered only one.

use std::collections::HashMap;

use super::checker::Checker;
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::{ClauseKind, Runbook, Span};
use crate::FileId;

impl Checker<'_> {
    pub(super) fn report_repeated_clauses(&mut self, file: FileId, runbook: &Runbook) {
        let mut first: HashMap<&'static str, Span> = HashMap::new();
        for clause in &runbook.clauses {
            let Some(keyword) = singular_keyword(&clause.kind) else {
                continue;
            };
            let Some(&previous) = first.get(keyword) else {
                first.insert(keyword, clause.span);
                continue;
            };
            let (message, help) = match &clause.kind {
                ClauseKind::Mode(mode) => (
                    format!("the runbook's `mode` is given twice (here `{mode}`)"),
                    "keep one `mode` clause: `mode shadow` or `mode live` (the default)".to_string(),
                ),
                ClauseKind::Trigger(_) => (
                    "the runbook has a second `trigger`; only one starts it".to_string(),
                    "keep one `trigger`; for another alert or schedule, write a second runbook that calls the same `fn`s".to_string(),
                ),
                _ => (
                    format!("the runbook's `{keyword}` is given twice"),
                    format!("keep one `{keyword}` clause"),
                ),
            };
            self.report(
                Diagnostic::new(Code::DuplicateDefinition, file, clause.span, message)
                    .label("given again here")
                    .with_secondary(previous, "first given here")
                    .help(help),
            );
        }
    }
}

fn singular_keyword(kind: &ClauseKind) -> Option<&'static str> {
    Some(match kind {
        ClauseKind::Title(_) => "title",
        ClauseKind::Owner(_) => "owner",
        ClauseKind::Trigger(_) => "trigger",
        ClauseKind::Concurrency { .. } => "concurrency",
        ClauseKind::Rate { .. } => "rate",
        ClauseKind::Timeout(_) => "timeout",
        ClauseKind::Escalate(_) => "escalate",
        ClauseKind::Mode(_) => "mode",
        ClauseKind::Input(_) | ClauseKind::Step(_) | ClauseKind::Notify(_) => return None,
    })
}

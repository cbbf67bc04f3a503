//! Clauses a runbook has at most once. A second `trigger`, `escalate` or `timeout` used to be
//! accepted and one of them silently ignored: a runbook that looked as if two alerts started
//! it answered only one.

use std::collections::HashMap;

use super::checker::Checker;
use crate::resolve::{duplicate_definition, Duplicate};
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
            let mode_text;
            let duplicate = match &clause.kind {
                ClauseKind::Mode(mode) => {
                    mode_text = mode.to_string();
                    Duplicate::Mode {
                        mode: &mode_text,
                        previous,
                    }
                }
                ClauseKind::Trigger(_) => Duplicate::Trigger { previous },
                _ => Duplicate::Clause { keyword, previous },
            };
            self.report(duplicate_definition(file, clause.span, duplicate));
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

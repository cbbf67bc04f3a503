use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic, Edit, Fix};
use crate::syntax::visit::stmt_blocks;
use crate::syntax::{Span, Stmt, StmtKind};
use crate::FileId;

/// W0003: statements after `fail` never run.
pub struct AfterFail;

impl Lint for AfterFail {
    fn codes(&self) -> &'static [Code] {
        &[Code::UnreachableAfterFail]
    }

    fn check(&self, _cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
        for (step, _) in &facts.steps {
            check_block(facts.module.file, &step.body, out);
        }
    }
}

pub fn check_block(file: FileId, stmts: &[Stmt], out: &mut Vec<Diagnostic>) {
    for (index, stmt) in stmts.iter().enumerate() {
        if matches!(stmt.kind, StmtKind::Fail(_) | StmtKind::Return(_)) {
            if let Some(next) = stmts.get(index + 1) {
                let last = stmts.last().map_or(next.span, |s| s.span);
                let keyword = if matches!(stmt.kind, StmtKind::Fail(_)) {
                    "fail"
                } else {
                    "return"
                };
                out.push(unreachable_after_fail(
                    file,
                    next.span.to(last),
                    stmt.span,
                    keyword,
                ));
            }
        }
        for block in stmt_blocks(stmt) {
            check_block(file, block, out);
        }
    }
}

/// W0003: fires when statements (`unreachable`) follow a `fail` or `return` (`stop`, written
/// `keyword`) in the same block.
fn unreachable_after_fail(
    file: FileId,
    unreachable: Span,
    stop: Span,
    keyword: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::UnreachableAfterFail,
        file,
        unreachable,
        format!("this code never runs: it follows `{keyword}`"),
    )
    .label("unreachable")
    .with_secondary(stop, format!("the step stops at this `{keyword}`"))
    .help("remove it, or put the `fail` inside an `if` so the code after it can run")
    // Not safe: the other repair (a conditional `fail`) may be the meant one, and deleting
    // what someone wrote is theirs to decide.
    .with_fix(Fix::for_review(
        "Remove the code that never runs",
        vec![Edit::replace(Span::new(stop.end, unreachable.end), "")],
    ))
}

//! Safety lints. Each lint is a small type with a stable code; adding one is adding a file and
//! a line to [`ALL`], not editing a god function.

mod alert_limits;
mod approval;
mod blast_radius;
mod clause_insertion;
mod const_values;
mod escalation;
mod gateless_clauses;
pub mod natives;
mod sql_interpolation;
mod title;
mod unreachable;

use crate::diagnostics::{Code, Diagnostic};
use crate::effects::{ActionUse, EffectInfo};
use crate::resolve::Module;
use crate::syntax::{ClauseKind, ItemKind, Runbook, Step};
use crate::types::{ApproverGroups, TypeInfo};
use crate::{FileId, SourceFileInfo};

/// What every lint may look at.
pub struct LintContext<'a> {
    pub modules: &'a [Module],
    /// The texts the modules were parsed from, by [`FileId`]: fixes are edits of them.
    pub files: &'a [SourceFileInfo],
    pub types: &'a TypeInfo,
    pub effects: &'a EffectInfo,
    /// From `rbk.toml`, when one was found.
    pub approver_groups: Option<&'a ApproverGroups>,
    /// The build's native actions; `None` when the embedder implements the externs itself.
    pub native_actions: Option<&'a natives::NativeCatalog>,
}

impl LintContext<'_> {
    /// The text of `file` ("" for a file the analysis does not hold).
    pub fn text(&self, file: FileId) -> &str {
        self.files
            .get(file.0 as usize)
            .map_or("", |f| f.text.as_str())
    }
}

/// One runbook with the actions each of its steps can reach.
pub struct RunbookFacts<'a> {
    pub module: &'a Module,
    pub runbook: &'a Runbook,
    pub steps: Vec<(&'a Step, Vec<ActionUse>)>,
}

pub trait Lint {
    fn codes(&self) -> &'static [Code];
    fn check(&self, cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>);
}

pub const ALL: &[&dyn Lint] = &[
    &approval::ApprovalGates,
    &gateless_clauses::GatelessClauses,
    &blast_radius::BlastRadius,
    &escalation::MissingEscalation,
    &alert_limits::AlertLimits,
    &title::MissingTitle,
    &unreachable::AfterFail,
    &sql_interpolation::SqlInterpolation,
];

/// Runs every lint on every module, on `threads` threads (1: on this one); the diagnostics
/// come out in module order whatever the number.
pub fn run_all(cx: &LintContext, threads: usize, out: &mut Vec<Diagnostic>) {
    let found = crate::parallel::map_chunks(cx.modules, threads, |_, modules| {
        let mut found = Vec::new();
        for module in modules {
            lint_module(cx, module, &mut found);
        }
        found
    });
    out.extend(found.into_iter().flatten());
}

fn lint_module(cx: &LintContext, module: &Module, out: &mut Vec<Diagnostic>) {
    for item in &module.ast.items {
        match &item.kind {
            ItemKind::Runbook(runbook) => {
                let steps = runbook
                    .clauses
                    .iter()
                    .filter_map(|clause| match &clause.kind {
                        ClauseKind::Step(step) => Some((
                            step,
                            cx.effects
                                .step_actions(cx.modules, cx.types, module.id, step),
                        )),
                        _ => None,
                    })
                    .collect();
                let facts = RunbookFacts {
                    module,
                    runbook,
                    steps,
                };
                for lint in ALL {
                    let before = out.len();
                    lint.check(cx, &facts, out);
                    // `codes()` is what the docs and `rbk explain` say a lint raises.
                    debug_assert!(
                        out[before..].iter().all(|d| lint.codes().contains(&d.code)),
                        "a lint raised {:?}, but declares only {:?}",
                        out[before..].iter().map(|d| d.code).collect::<Vec<_>>(),
                        lint.codes()
                    );
                }
            }
            ItemKind::Fn(function) => unreachable::check_block(module.file, &function.body, out),
            ItemKind::Const(constant) => {
                const_values::check_const(cx.modules, cx.types, cx.effects, module, constant, out)
            }
            ItemKind::Extern(external) => {
                if let Some(catalog) = cx.native_actions {
                    natives::check_extern(catalog, module, external, out);
                }
            }
            _ => {}
        }
    }
}

//! Inlay hints: after each step's name, the strongest effect the step can reach (`read`, `write`,
//! `destructive`, or `pure` when it reaches no action), exactly as `rbk plan` reports it: the
//! hints come from [`rbk_compiler::plan::build`], which follows calls through `fn`s.
//!
//! `pure` is shown too, as `rbk plan` does: a reviewer learns as much from "this step cannot
//! touch anything" as from "this one can". When a call in the step does not resolve (a typo, an
//! unknown module), the effect is only a lower bound and the hint says so with a `?`.

use rbk_compiler::plan::{self, StepPlan};
use rbk_compiler::syntax::visit::walk_step;
use rbk_compiler::syntax::{ClauseKind, Effect, ExprKind, ItemKind, Step};
use tower_lsp_server::ls_types::{
    InlayHint, InlayHintKind, InlayHintLabel, InlayHintTooltip, MarkupContent, MarkupKind, Range,
};

use crate::documents::Checked;

/// The hints of the steps whose name ends inside `range`.
pub fn inlay_hints(checked: &Checked, range: Range) -> Vec<InlayHint> {
    let module = checked.module();
    let source = checked.source();
    let plans = plan::build(&checked.analysis, module);
    let runbooks = module.ast.items.iter().filter_map(|item| match &item.kind {
        ItemKind::Runbook(runbook) => Some(runbook),
        _ => None,
    });
    let mut hints = Vec::new();
    // `plan::build` makes one plan per runbook and one step plan per step, in source order.
    for (runbook, plan) in runbooks.zip(&plans) {
        let steps = runbook
            .clauses
            .iter()
            .filter_map(|clause| match &clause.kind {
                ClauseKind::Step(step) => Some(step),
                _ => None,
            });
        for (step, step_plan) in steps.zip(&plan.steps) {
            if step.name.name != step_plan.name {
                continue;
            }
            let position = source.position(step.name.span.end);
            if position < range.start || position > range.end {
                continue;
            }
            let unresolved = unresolved_calls(checked, step);
            let label = if unresolved && step_plan.effect != Effect::Destructive.to_string() {
                format!("{}?", step_plan.effect)
            } else {
                step_plan.effect.clone()
            };
            hints.push(InlayHint {
                position,
                label: InlayHintLabel::String(label),
                kind: Some(InlayHintKind::TYPE),
                text_edits: None,
                tooltip: Some(InlayHintTooltip::MarkupContent(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: tooltip(step_plan, unresolved),
                })),
                padding_left: Some(true),
                padding_right: None,
                data: None,
            });
        }
    }
    hints
}

/// Whether a call in the step does not resolve, so its effect is unknown.
fn unresolved_calls(checked: &Checked, step: &Step) -> bool {
    let mut unresolved = false;
    walk_step(step, &mut |expr| {
        if matches!(expr.kind, ExprKind::Call { .. })
            && checked
                .analysis
                .types
                .callee(checked.root, expr.id)
                .is_none()
        {
            unresolved = true;
        }
    });
    unresolved
}

/// The step's part of `rbk plan`: effect, actions, gate.
fn tooltip(step: &StepPlan, unresolved: bool) -> String {
    let mut out = format!(
        "**{}**: the strongest effect this {} can reach (as `rbk plan` reports it)",
        step.effect, step.kind
    );
    if unresolved {
        out.push_str("\n\nSome calls do not resolve, so the effect may be stronger.");
    }
    if !step.actions.is_empty() {
        out.push_str("\n\n");
        for action in &step.actions {
            let via = action
                .via
                .as_deref()
                .map(|v| format!(" via `{v}`"))
                .unwrap_or_default();
            out.push_str(&format!("- `{}` [{}]{via}\n", action.action, action.effect));
        }
    }
    out.push_str(&format!("\n\ngate: {}", step.gate));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use tower_lsp_server::ls_types::Position;

    use super::*;

    fn hints(text: &str) -> Vec<(u32, u32, String)> {
        let checked = Checked::new(PathBuf::from("/t/x.rbk"), text.to_string(), HashMap::new())
            .expect("checked");
        let everything = Range::new(Position::new(0, 0), Position::new(u32::MAX, 0));
        inlay_hints(&checked, everything)
            .into_iter()
            .map(|h| match h.label {
                InlayHintLabel::String(label) => (h.position.line, h.position.character, label),
                InlayHintLabel::LabelParts(_) => panic!("a plain label"),
            })
            .collect()
    }

    #[test]
    fn effects_reach_through_fns_and_unknown_calls_say_so() {
        let text = "use std.k8s\n\
            fn wipe(p: k8s.Pod) { k8s.delete_pod(p) }\n\
            runbook r {\n\
            \x20 title \"t\"\n\
            \x20 escalate k8s.pods(namespace: \"x\", selector: \"y\")\n\
            \x20 step a { log \"x\" }\n\
            \x20 step b { let pods = k8s.pods(namespace: \"x\", selector: \"y\") }\n\
            \x20 step c {\n\
            \x20   approval none reason \"test\"\n\
            \x20   wipe(k8s.oldest(pods))\n\
            \x20 }\n\
            \x20 step d { nothing_here() }\n\
            }\n";
        assert_eq!(
            hints(text),
            vec![
                (5, 8, "pure".to_string()),
                (6, 8, "read".to_string()),
                (7, 8, "destructive".to_string()),
                (11, 8, "pure?".to_string()),
            ]
        );
    }
}

//! The effect-level plan of a runbook, for a reviewer: what each step can do, behind which gate,
//! under which condition, and what escalates. Nothing runs to produce it.

use std::fmt;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::effects::{strongest, ActionUse};
use crate::resolve::Module;
use crate::syntax::*;

#[derive(Clone, Debug, Serialize)]
pub struct RunbookPlan {
    pub name: String,
    pub title: Option<String>,
    pub trigger: String,
    pub inputs: Vec<String>,
    pub limits: Vec<String>,
    pub effect: String,
    pub steps: Vec<StepPlan>,
    pub notify: Vec<ActionPlan>,
    pub escalate: Option<ActionPlan>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepPlan {
    pub name: String,
    pub kind: &'static str,
    pub title: Option<String>,
    pub effect: String,
    pub actions: Vec<ActionPlan>,
    pub gate: String,
    pub condition: Option<String>,
    pub options: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ActionPlan {
    pub action: String,
    pub effect: String,
    pub via: Option<String>,
    /// The call as written, e.g. `pg.terminate(db, idle, max: 50)`.
    pub call: String,
}

fn action_plans(actions: &[ActionUse], text: &str) -> Vec<ActionPlan> {
    let mut plans: Vec<ActionPlan> = Vec::new();
    for action in actions {
        let call = text
            .get(action.call_span.start..action.call_span.end)
            .unwrap_or("")
            .to_string();
        if plans
            .iter()
            .any(|p| p.action == action.name && p.call == call)
        {
            continue;
        }
        plans.push(ActionPlan {
            action: action.name.clone(),
            effect: action.effect.to_string(),
            via: action.via.clone(),
            call,
        });
    }
    plans
}

/// The plans of every runbook in one module (a file given to `rbk plan`).
pub fn build(analysis: &Analysis, module: &Module) -> Vec<RunbookPlan> {
    let text = analysis.files[module.file.0 as usize].text.as_str();
    let source = |span: Span| text.get(span.start..span.end).unwrap_or("").to_string();
    let mut plans = Vec::new();
    for item in &module.ast.items {
        let ItemKind::Runbook(runbook) = &item.kind else {
            continue;
        };
        let mut plan = RunbookPlan {
            name: runbook.name.name.clone(),
            title: None,
            trigger: "manual".into(),
            inputs: Vec::new(),
            limits: Vec::new(),
            effect: Effect::Pure.to_string(),
            steps: Vec::new(),
            notify: Vec::new(),
            escalate: None,
        };
        let mut overall = Effect::Pure;
        for clause in &runbook.clauses {
            match &clause.kind {
                ClauseKind::Title(title) => plan.title = Some(title.value.clone()),
                ClauseKind::Trigger(_)
                | ClauseKind::Concurrency { .. }
                | ClauseKind::Rate { .. }
                | ClauseKind::Timeout(_) => {
                    let written = source(clause.span);
                    if matches!(clause.kind, ClauseKind::Trigger(_)) {
                        plan.trigger = written.trim_start_matches("trigger").trim().to_string();
                    } else {
                        plan.limits.push(written);
                    }
                }
                ClauseKind::Input(fields) => {
                    plan.inputs.extend(fields.iter().map(|f| source(f.span)))
                }
                ClauseKind::Step(step) => {
                    let actions = analysis.effects.step_actions(
                        &analysis.modules,
                        &analysis.types,
                        module.id,
                        step,
                    );
                    let effect = strongest(&actions);
                    overall = overall.max(effect);
                    plan.steps.push(step_plan(step, &actions, text, effect));
                }
                ClauseKind::Notify(call) | ClauseKind::Escalate(call) => {
                    let actions = analysis.effects.expr_actions(
                        &analysis.modules,
                        &analysis.types,
                        module.id,
                        call,
                    );
                    overall = overall.max(strongest(&actions));
                    let mut plans = action_plans(&actions, text);
                    if matches!(clause.kind, ClauseKind::Notify(_)) {
                        plan.notify.append(&mut plans);
                    } else {
                        plan.escalate = plans.into_iter().next();
                    }
                }
                ClauseKind::Owner(_) => {}
            }
        }
        plan.effect = overall.to_string();
        plans.push(plan);
    }
    plans
}

fn step_plan(step: &Step, actions: &[ActionUse], text: &str, effect: Effect) -> StepPlan {
    let source = |span: Span| text.get(span.start..span.end).unwrap_or("").to_string();
    let mut gate = if effect == Effect::Destructive {
        "MISSING (does not compile)".to_string()
    } else {
        "none needed".to_string()
    };
    let mut options = Vec::new();
    for option in &step.options {
        match &option.kind {
            StepOptionKind::ApprovalRequired { .. } => {
                gate = source(option.span)
                    .trim_start_matches("approval ")
                    .to_string()
            }
            StepOptionKind::ApprovalNone { reason } => {
                gate = format!("waived: \"{}\"", reason.value)
            }
            _ => options.push(source(option.span)),
        }
    }
    StepPlan {
        name: step.name.name.clone(),
        kind: if step.kind == StepKind::Verify {
            "verify"
        } else {
            "step"
        },
        title: step.title.as_ref().map(|t| source(t.span)),
        effect: effect.to_string(),
        actions: action_plans(actions, text),
        gate,
        condition: step.when.as_ref().map(|w| source(w.span)),
        options,
    }
}

impl fmt::Display for RunbookPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.title {
            Some(title) => writeln!(f, "runbook {} — {title}", self.name)?,
            None => writeln!(f, "runbook {}", self.name)?,
        }
        writeln!(f, "  trigger:  {}", self.trigger)?;
        for input in &self.inputs {
            writeln!(f, "  input:    {input}")?;
        }
        for limit in &self.limits {
            writeln!(f, "  limit:    {limit}")?;
        }
        writeln!(f, "  effect:   {} (strongest reachable)", self.effect)?;
        for (index, step) in self.steps.iter().enumerate() {
            let title = step
                .title
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default();
            writeln!(f)?;
            writeln!(f, "  {}. {} {}{title}", index + 1, step.kind, step.name)?;
            writeln!(f, "     effect:    {}", step.effect)?;
            for action in &step.actions {
                let via = action
                    .via
                    .as_deref()
                    .map(|v| format!(" via {v}"))
                    .unwrap_or_default();
                writeln!(
                    f,
                    "     action:    {} [{}]{via}  {}",
                    action.action, action.effect, action.call
                )?;
            }
            writeln!(f, "     gate:      {}", step.gate)?;
            writeln!(
                f,
                "     condition: {}",
                step.condition.as_deref().unwrap_or("always")
            )?;
            for option in &step.options {
                writeln!(f, "     option:    {option}")?;
            }
        }
        for action in &self.notify {
            writeln!(f)?;
            writeln!(
                f,
                "  notify:   {} [{}]  (failure is logged, not fatal)",
                action.action, action.effect
            )?;
        }
        writeln!(f)?;
        match &self.escalate {
            Some(action) => writeln!(
                f,
                "  on failure, denial or approval timeout: {} [{}]  {}",
                action.action, action.effect, action.call
            ),
            None => writeln!(
                f,
                "  on failure, denial or approval timeout: nobody is told (no `escalate`)"
            ),
        }
    }
}

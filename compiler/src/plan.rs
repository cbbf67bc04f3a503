//! The effect-level plan of a runbook, for a reviewer: what each step can do, behind which gate,
//! under which condition, and what escalates. Nothing runs to produce it.
//!
//! Every clause that evaluates an expression (the trigger filter, input defaults, limits,
//! conditions, `notify`, `escalate`) shows what it can reach, and the runbook's effect is the
//! strongest of them all: a runbook is only called `pure` when no clause of it can act.

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
    /// For a runbook made from a template: `TEMPLATE(param: value, …)` with every parameter's
    /// value, defaults included. The clauses below are the template's as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// `manual`, `schedule "..."` or `alert "..." [where ...]`.
    pub trigger: ClausePlan,
    /// `live` (the default) or `shadow` (`mode shadow`: alert- and schedule-started runs only
    /// report their write and destructive actions).
    pub mode: &'static str,
    pub inputs: Vec<ClausePlan>,
    pub limits: Vec<ClausePlan>,
    /// The strongest effect any clause can reach.
    pub effect: String,
    pub steps: Vec<StepPlan>,
    pub notify: Vec<ClausePlan>,
    pub escalate: Option<ClausePlan>,
}

/// A clause outside the steps, as written, with what evaluating it can reach.
#[derive(Clone, Debug, Serialize)]
pub struct ClausePlan {
    pub written: String,
    pub effect: String,
    pub actions: Vec<ActionPlan>,
    /// False for a clause with no expression (an input without default, a manual trigger).
    #[serde(skip)]
    pub evaluates: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepPlan {
    pub name: String,
    pub kind: &'static str,
    pub title: Option<String>,
    pub effect: String,
    pub actions: Vec<ActionPlan>,
    pub gate: String,
    /// What the gate asks its approver for, as `name (type)`; empty when nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub asks: Vec<String>,
    pub condition: Option<String>,
    /// What evaluating the condition can reach (`None` without a condition).
    pub condition_effect: Option<String>,
    pub options: Vec<String>,
    /// Each `expect … within … every …` of the step, as written: what it polls, how long and
    /// how often (every poll calls the condition's actions again).
    pub polls: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ActionPlan {
    pub action: String,
    pub effect: String,
    pub via: Option<String>,
    /// The call as written, e.g. `pg.terminate(db, idle, max: 50)`.
    pub call: String,
    /// Why the effect is not the one the action declares (`shell.run` of a read-only command).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
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
            why: action.reason.clone(),
        });
    }
    plans
}

/// The plans of every runbook in one module (a file given to `rbk plan`).
pub fn build(analysis: &Analysis, module: &Module) -> Vec<RunbookPlan> {
    let text = analysis.files[module.file.0 as usize].text.as_str();
    let source = |span: Span| text.get(span.start..span.end).unwrap_or("").to_string();
    let actions_of = |expr: &Expr| {
        analysis
            .effects
            .expr_actions(&analysis.modules, &analysis.types, module.id, expr)
    };
    // What a clause can reach: the actions of all its expressions.
    let clause_plan = |written: String, exprs: &[&Expr]| {
        let actions: Vec<ActionUse> = exprs.iter().flat_map(|e| actions_of(e)).collect();
        ClausePlan {
            written,
            effect: strongest(&actions).to_string(),
            actions: action_plans(&actions, text),
            evaluates: !exprs.is_empty(),
        }
    };
    let mut plans = Vec::new();
    for item in &module.ast.items {
        let ItemKind::Runbook(runbook) = &item.kind else {
            continue;
        };
        let mut plan = RunbookPlan {
            name: runbook.name.name.clone(),
            title: None,
            template: runbook.template.as_ref().map(|origin| {
                let arguments: Vec<String> = origin
                    .arguments
                    .iter()
                    .map(|(name, value)| format!("{name}: {value}"))
                    .collect();
                format!("{}({})", origin.name.name, arguments.join(", "))
            }),
            trigger: clause_plan("manual".into(), &[]),
            mode: runbook_mode(runbook).as_str(),
            inputs: Vec::new(),
            limits: Vec::new(),
            effect: Effect::Pure.to_string(),
            steps: Vec::new(),
            notify: Vec::new(),
            escalate: None,
        };
        for clause in &runbook.clauses {
            let written = || source(clause.span);
            match &clause.kind {
                ClauseKind::Title(title) => plan.title = Some(title.value.clone()),
                ClauseKind::Trigger(trigger) => {
                    let filter: Vec<&Expr> = match trigger {
                        Trigger::Alert {
                            filter: Some(filter),
                            ..
                        } => vec![filter],
                        _ => Vec::new(),
                    };
                    let mut written = written().trim_start_matches("trigger").trim().to_string();
                    if let Trigger::Alert { name, .. } | Trigger::Schedule(name) = trigger {
                        written = with_value(written, &source(name.span), &name.value);
                    }
                    plan.trigger = clause_plan(written, &filter);
                }
                ClauseKind::Concurrency { limit, per } => {
                    let exprs: Vec<&Expr> = std::iter::once(limit).chain(per).collect();
                    plan.limits.push(clause_plan(written(), &exprs));
                }
                ClauseKind::Rate { limit, window, by } => {
                    let exprs: Vec<&Expr> = [limit, window].into_iter().chain(by).collect();
                    plan.limits.push(clause_plan(written(), &exprs));
                }
                ClauseKind::Timeout(limit) => plan.limits.push(clause_plan(written(), &[limit])),
                ClauseKind::Input(fields) => {
                    for field in fields {
                        let default: Vec<&Expr> = field.default.iter().collect();
                        plan.inputs.push(clause_plan(source(field.span), &default));
                    }
                }
                ClauseKind::Step(step) => {
                    let actions = analysis.effects.step_actions(
                        &analysis.modules,
                        &analysis.types,
                        module.id,
                        step,
                    );
                    let effect = strongest(&actions);
                    let condition_effect = step
                        .when
                        .as_ref()
                        .map(|when| strongest(&actions_of(when)).to_string());
                    let mut step_plan = step_plan(step, &actions, text, effect);
                    step_plan.condition_effect = condition_effect;
                    plan.steps.push(step_plan);
                }
                ClauseKind::Notify(call) => plan.notify.push(clause_plan(written(), &[call])),
                ClauseKind::Escalate(call) => {
                    plan.escalate = Some(clause_plan(source(call.span), &[call]))
                }
                ClauseKind::Owner(_) | ClauseKind::Mode(_) => {}
            }
        }
        let clause_effects = std::iter::once(&plan.trigger)
            .chain(&plan.inputs)
            .chain(&plan.limits)
            .chain(&plan.notify)
            .chain(&plan.escalate)
            .map(|c| c.effect.as_str());
        let step_effects = plan.steps.iter().map(|s| s.effect.as_str());
        plan.effect = clause_effects
            .chain(step_effects)
            .filter_map(parse_effect)
            .max()
            .unwrap_or(Effect::Pure)
            .to_string();
        plans.push(plan);
    }
    plans
}

fn parse_effect(text: &str) -> Option<Effect> {
    [
        Effect::Pure,
        Effect::Read,
        Effect::Write,
        Effect::Destructive,
    ]
    .into_iter()
    .find(|e| e.to_string() == text)
}

/// `text` with the string literal `written` shown as the value it has: a template's
/// `"{group}"` reads as the group its instance asks.
fn with_value(text: String, written: &str, value: &str) -> String {
    let value = format!("{value:?}");
    if written == value {
        text
    } else {
        text.replacen(written, &value, 1)
    }
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
            StepOptionKind::ApprovalRequired { ask, group, .. } => {
                // The asked fields get their own line; the gate line ends before `ask`.
                let end = ask
                    .first()
                    .and_then(|first| {
                        text.get(option.span.start..first.name.span.start)?
                            .rfind("ask")
                            .map(|at| option.span.start + at)
                    })
                    .unwrap_or(option.span.end);
                gate = source(Span::new(option.span.start, end))
                    .trim_start_matches("approval ")
                    .trim_end()
                    .to_string();
                if let Some(group) = group {
                    gate = with_value(gate, &source(group.span), &group.value);
                }
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
        asks: asked_fields(&step.options)
            .iter()
            .map(|field| format!("{} ({})", field.name.name, source(field.ty.span)))
            .collect(),
        condition: step.when.as_ref().map(|w| source(w.span)),
        condition_effect: None,
        options,
        polls: polls(&step.body, &source),
    }
}

/// The polling `expect`s of a block and the blocks inside it, in order.
fn polls(stmts: &[Stmt], source: &dyn Fn(Span) -> String) -> Vec<String> {
    let mut found = Vec::new();
    for stmt in stmts {
        if let StmtKind::Expect {
            cond,
            within,
            every,
            ..
        } = &stmt.kind
        {
            if within.is_some() || every.is_some() {
                let mut written = source(cond.span);
                if let Some(within) = within {
                    written.push_str(&format!(" within {}", source(within.span)));
                }
                if let Some(every) = every {
                    written.push_str(&format!(" every {}", source(every.span)));
                }
                found.push(written);
            }
        }
        for block in crate::syntax::visit::stmt_blocks(stmt) {
            found.extend(polls(block, source));
        }
    }
    found
}

impl ClausePlan {
    /// `[pure]`, or the strongest effect and the actions behind it: `[read: postgres.connect]`.
    pub fn effect_note(&self) -> String {
        if self.actions.is_empty() {
            return format!("[{}]", self.effect);
        }
        let mut names: Vec<&str> = Vec::new();
        for action in &self.actions {
            if !names.contains(&action.action.as_str()) {
                names.push(&action.action);
            }
        }
        format!("[{}: {}]", self.effect, names.join(", "))
    }
}

impl fmt::Display for RunbookPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.title {
            Some(title) => writeln!(f, "runbook {} — {title}", self.name)?,
            None => writeln!(f, "runbook {}", self.name)?,
        }
        if let Some(template) = &self.template {
            writeln!(f, "  template: {template}")?;
        }
        if self.trigger.evaluates {
            writeln!(
                f,
                "  trigger:  {}  {}",
                self.trigger.written,
                self.trigger.effect_note()
            )?;
        } else {
            writeln!(f, "  trigger:  {}", self.trigger.written)?;
        }
        match self.mode {
            "shadow" => writeln!(
                f,
                "  mode:     shadow (runs started by an alert or a schedule only report their write and destructive actions)"
            )?,
            mode => writeln!(f, "  mode:     {mode}")?,
        }
        for input in &self.inputs {
            if input.evaluates {
                writeln!(f, "  input:    {}  {}", input.written, input.effect_note())?;
            } else {
                writeln!(f, "  input:    {}", input.written)?;
            }
        }
        for limit in &self.limits {
            writeln!(f, "  limit:    {}  {}", limit.written, limit.effect_note())?;
        }
        writeln!(
            f,
            "  effect:   {} (strongest reachable from any clause)",
            self.effect
        )?;
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
                if let Some(why) = &action.why {
                    writeln!(f, "                {why}")?;
                }
            }
            writeln!(f, "     gate:      {}", step.gate)?;
            if !step.asks.is_empty() {
                writeln!(f, "     asks:      {}", step.asks.join(", "))?;
            }
            match (&step.condition, &step.condition_effect) {
                (Some(condition), Some(effect)) => writeln!(
                    f,
                    "     condition: {condition}  [{effect}, evaluated before the gate]"
                )?,
                (Some(condition), None) => writeln!(f, "     condition: {condition}")?,
                (None, _) => writeln!(f, "     condition: always")?,
            }
            for option in &step.options {
                writeln!(f, "     option:    {option}")?;
            }
            for poll in &step.polls {
                writeln!(f, "     polls:     {poll}")?;
            }
        }
        for notify in &self.notify {
            writeln!(f)?;
            writeln!(
                f,
                "  notify:   {}  {}  (failure is logged, not fatal)",
                notify.effect_note(),
                notify.written.trim_start_matches("notify").trim_start()
            )?;
        }
        writeln!(f)?;
        match &self.escalate {
            Some(escalate) => writeln!(
                f,
                "  on failure, denial or approval timeout: {}  {}",
                escalate.effect_note(),
                escalate.written
            ),
            None => writeln!(
                f,
                "  on failure, denial or approval timeout: nobody is told (no `escalate`)"
            ),
        }
    }
}

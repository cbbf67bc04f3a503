//! The picture of a runbook as data: what starts it, its steps in order with their conditions,
//! gates, actions, retries and checks, its notifications, and where a failure goes. Built from
//! the checked program; the renderers (mermaid, dot, svg) only draw it.

use crate::analysis::Analysis;
use crate::effects::{strongest, ActionUse};
use crate::resolve::ModuleId;
use crate::syntax::visit::{stmt_blocks, walk_stmts};
use crate::syntax::*;

/// One runbook, ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct RunbookGraph {
    pub name: String,
    pub title: Option<String>,
    /// `manual`, `schedule "0 3 * * *"`, `alert "Name"`.
    pub trigger: String,
    /// The alert trigger's `where` filter, as written.
    pub trigger_filter: Option<String>,
    /// `shadow` when alert- and schedule-started runs only report what they would do.
    pub shadow: bool,
    /// `name: type = default`, as written.
    pub inputs: Vec<String>,
    /// `concurrency 1`, `timeout 10m`, `rate 3 per 1h`.
    pub limits: Vec<String>,
    /// Steps, verifications and notifications, in the order they run.
    pub nodes: Vec<Node>,
    /// The call made when the run fails, is denied or times out.
    pub escalate: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Step(Box<StepNode>),
    /// A `notify` clause: its call, as written. A failing notification does not stop the run.
    Notify(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepNode {
    pub name: String,
    pub verify: bool,
    /// The title without its quotes; `{...}` interpolations as written.
    pub title: Option<String>,
    /// `when ...`, as written: the step is skipped when it is false.
    pub condition: Option<String>,
    /// The actions the body can reach, in the order written.
    pub actions: Vec<ActionNode>,
    /// The strongest effect of the body.
    pub effect: Effect,
    pub gate: Gate,
    /// `retry 3 every 10s exponential`, as written.
    pub retry: Option<String>,
    /// The step's own `timeout`, as written (`30s`).
    pub timeout: Option<String>,
    /// `on failure continue`: a failure does not stop the run (and does not escalate).
    pub continue_on_failure: bool,
    /// The `expect`s of the body (a verification's checks).
    pub expects: Vec<Expectation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionNode {
    /// `postgres.terminate`.
    pub action: String,
    pub effect: Effect,
    /// The call as written in the step, e.g. `pg.terminate(db, idle, max: 50)`.
    pub call: String,
    /// The `fn` the action is reached through, if any.
    pub via: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Gate {
    /// No gate written (and none needed: the step does not destroy).
    None,
    /// `approval none reason "..."`.
    Waived { reason: String },
    Required {
        group: Option<String>,
        quorum: u32,
        /// As written (`5m`).
        timeout: Option<String>,
        on_timeout: TimeoutOutcome,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    pub condition: String,
    pub within: Option<String>,
    pub every: Option<String>,
}

impl RunbookGraph {
    /// The graph of the runbook at `item` of `module`; an empty graph (no steps) when that
    /// item is not a runbook.
    pub fn of(analysis: &Analysis, module: ModuleId, item: usize) -> RunbookGraph {
        RunbookGraph::try_of(analysis, module, item).unwrap_or_else(|| RunbookGraph {
            name: String::new(),
            title: None,
            trigger: "manual".into(),
            trigger_filter: None,
            shadow: false,
            inputs: Vec::new(),
            limits: Vec::new(),
            nodes: Vec::new(),
            escalate: None,
        })
    }

    /// The graph of the runbook at `item` of `module`, if that item is a runbook.
    pub fn try_of(analysis: &Analysis, module: ModuleId, item: usize) -> Option<RunbookGraph> {
        let module = analysis.modules.get(module.0 as usize)?;
        let ItemKind::Runbook(runbook) = &module.ast.items.get(item)?.kind else {
            return None;
        };
        let text = analysis.files[module.file.0 as usize].text.as_str();
        let source = |span: Span| one_line(text.get(span.start..span.end).unwrap_or(""));
        let mut graph = RunbookGraph {
            name: runbook.name.name.clone(),
            title: None,
            trigger: "manual".into(),
            trigger_filter: None,
            shadow: runbook_mode(runbook) == RunMode::Shadow,
            inputs: Vec::new(),
            limits: Vec::new(),
            nodes: Vec::new(),
            escalate: None,
        };
        for clause in &runbook.clauses {
            match &clause.kind {
                ClauseKind::Title(title) => graph.title = Some(one_line(&title.value)),
                ClauseKind::Trigger(Trigger::Manual) => graph.trigger = "manual".into(),
                ClauseKind::Trigger(Trigger::Schedule(cron)) => {
                    graph.trigger = format!("schedule \"{}\"", one_line(&cron.value))
                }
                ClauseKind::Trigger(Trigger::Alert { name, filter }) => {
                    graph.trigger = format!("alert \"{}\"", one_line(&name.value));
                    graph.trigger_filter = filter.as_ref().map(|f| source(f.span));
                }
                ClauseKind::Input(fields) => graph
                    .inputs
                    .extend(fields.iter().map(|field| source(field.span))),
                ClauseKind::Concurrency { .. }
                | ClauseKind::Rate { .. }
                | ClauseKind::Timeout(_) => graph.limits.push(source(clause.span)),
                ClauseKind::Escalate(call) => graph.escalate = Some(source(call.span)),
                ClauseKind::Notify(call) => graph.nodes.push(Node::Notify(source(call.span))),
                ClauseKind::Step(step) => graph.nodes.push(Node::Step(Box::new(step_node(
                    analysis, module.id, step, &source,
                )))),
                ClauseKind::Owner(_) | ClauseKind::Mode(_) => {}
            }
        }
        Some(graph)
    }

    pub fn steps(&self) -> impl Iterator<Item = &StepNode> {
        self.nodes.iter().filter_map(|node| match node {
            Node::Step(step) => Some(step.as_ref()),
            Node::Notify(_) => None,
        })
    }
}

fn step_node(
    analysis: &Analysis,
    module: ModuleId,
    step: &Step,
    source: &dyn Fn(Span) -> String,
) -> StepNode {
    let mut uses: Vec<ActionUse> = Vec::new();
    walk_stmts(&step.body, &mut |expr| {
        if matches!(expr.kind, ExprKind::Call { .. }) {
            uses.extend(analysis.effects.call_actions(
                &analysis.modules,
                &analysis.types,
                module,
                expr,
            ));
        }
    });
    let mut actions: Vec<ActionNode> = Vec::new();
    for used in &uses {
        let call = source(used.call_span);
        if !actions
            .iter()
            .any(|a| a.action == used.name && a.call == call)
        {
            actions.push(ActionNode {
                action: used.name.clone(),
                effect: used.effect,
                call,
                via: used.via.clone(),
            });
        }
    }
    let mut node = StepNode {
        name: step.name.name.clone(),
        verify: step.kind == StepKind::Verify,
        title: step.title.as_ref().map(|t| {
            let written = source(t.span);
            written
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .map(str::to_string)
                .unwrap_or(written)
        }),
        condition: step.when.as_ref().map(|w| source(w.span)),
        actions,
        effect: strongest(&uses),
        gate: Gate::None,
        retry: None,
        timeout: None,
        continue_on_failure: false,
        expects: Vec::new(),
    };
    for option in &step.options {
        match &option.kind {
            StepOptionKind::ApprovalRequired {
                quorum,
                group,
                timeout,
                on_timeout,
                ..
            } => {
                node.gate = Gate::Required {
                    group: group.as_ref().map(|g| one_line(&g.value)),
                    quorum: quorum.map_or(1, |(n, _)| n),
                    timeout: timeout.as_ref().map(|t| source(t.span)),
                    on_timeout: on_timeout.map_or(TimeoutOutcome::Deny, |(o, _)| o),
                }
            }
            StepOptionKind::ApprovalNone { reason } => {
                node.gate = Gate::Waived {
                    reason: one_line(&reason.value),
                }
            }
            StepOptionKind::Retry { .. } => node.retry = Some(source(option.span)),
            StepOptionKind::Timeout(limit) => node.timeout = Some(source(limit.span)),
            StepOptionKind::OnFailure(mode) => {
                node.continue_on_failure = *mode == FailureMode::Continue
            }
        }
    }
    collect_expects(&step.body, source, &mut node.expects);
    node
}

fn collect_expects(stmts: &[Stmt], source: &dyn Fn(Span) -> String, out: &mut Vec<Expectation>) {
    for stmt in stmts {
        if let StmtKind::Expect {
            cond,
            within,
            every,
            ..
        } = &stmt.kind
        {
            out.push(Expectation {
                condition: source(cond.span),
                within: within.as_ref().map(|e| source(e.span)),
                every: every.as_ref().map(|e| source(e.span)),
            });
        }
        for block in stmt_blocks(stmt) {
            collect_expects(block, source, out);
        }
    }
}

/// Written text on one line: a call spread over lines reads as it would on one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

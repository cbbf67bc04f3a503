//! The graph as boxes and arrows, the one drawing all three renderers share: which boxes there
//! are, what each says, and which arrows join them (with their labels).

use super::model::{Gate, Node, RunbookGraph, StepNode};
use crate::syntax::{Effect, TimeoutOutcome};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// What starts the run (rounded).
    Start,
    Inputs,
    /// A step's `when` (a diamond).
    Condition,
    /// An approval gate (a hexagon).
    Gate,
    Step,
    Verify,
    Notify,
    /// The run succeeded.
    Done,
    /// Where failures, denials and timeouts go.
    Escalate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    Plain,
    Muted,
    Effect(Effect),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Line {
    pub text: String,
    pub tone: Tone,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Block {
    /// A stable identifier: `step_kill`, `when_restart`, `gate_restart`, `notify_1`.
    pub id: String,
    pub shape: Shape,
    pub title: String,
    pub lines: Vec<Line>,
    /// The strongest effect inside (steps only).
    pub effect: Option<Effect>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EdgeKind {
    /// The run goes on.
    Next,
    /// A condition was false: the step is skipped.
    Skip,
    /// To escalation: a failure, a denial, a gate timing out.
    Failure,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Edge {
    pub from: usize,
    pub to: usize,
    pub label: Option<String>,
    pub kind: EdgeKind,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Flow {
    pub blocks: Vec<Block>,
    pub edges: Vec<Edge>,
}

impl Flow {
    fn add(&mut self, block: Block) -> usize {
        self.blocks.push(block);
        self.blocks.len() - 1
    }

    fn edge(&mut self, from: usize, to: usize, label: Option<&str>, kind: EdgeKind) {
        self.edges.push(Edge {
            from,
            to,
            label: label.map(str::to_string),
            kind,
        });
    }
}

fn line(text: impl Into<String>, tone: Tone) -> Line {
    Line {
        text: text.into(),
        tone,
    }
}

/// The boxes in the order they run (the escalation box last), and the arrows between them.
pub(crate) fn flow(graph: &RunbookGraph) -> Flow {
    let mut flow = Flow::default();
    let mut start_lines = Vec::new();
    if let Some(filter) = &graph.trigger_filter {
        start_lines.push(line(format!("where {filter}"), Tone::Plain));
    }
    if graph.shadow {
        start_lines.push(line(
            "mode shadow: alert and schedule runs only report writes",
            Tone::Plain,
        ));
    }
    for limit in &graph.limits {
        start_lines.push(line(limit.clone(), Tone::Muted));
    }
    let start = flow.add(Block {
        id: "start".into(),
        shape: Shape::Start,
        title: format!("{}  ·  {}", graph.name, graph.trigger),
        lines: start_lines,
        effect: None,
    });
    if let Some(title) = &graph.title {
        flow.blocks[start]
            .lines
            .insert(0, line(title.clone(), Tone::Plain));
    }
    // Arrows waiting for the next box: (from, label, kind).
    let mut open: Vec<(usize, Option<&'static str>, EdgeKind)> =
        vec![(start, None, EdgeKind::Next)];
    if !graph.inputs.is_empty() {
        let inputs = flow.add(Block {
            id: "inputs".into(),
            shape: Shape::Inputs,
            title: "inputs".into(),
            lines: graph
                .inputs
                .iter()
                .map(|i| line(i.clone(), Tone::Plain))
                .collect(),
            effect: None,
        });
        connect(&mut flow, &mut open, inputs);
        open.push((inputs, None, EdgeKind::Next));
    }
    // Failure arrows are added once the escalation box exists: (from, label).
    let mut failures: Vec<(usize, &'static str)> = Vec::new();
    let mut notifications = 0;
    for node in &graph.nodes {
        match node {
            Node::Notify(call) => {
                notifications += 1;
                let notify = flow.add(Block {
                    id: format!("notify_{notifications}"),
                    shape: Shape::Notify,
                    title: "notify".into(),
                    lines: vec![line(call.clone(), Tone::Effect(Effect::Write))],
                    effect: None,
                });
                connect(&mut flow, &mut open, notify);
                open.push((notify, None, EdgeKind::Next));
            }
            Node::Step(step) => {
                let mut skipped = None;
                if let Some(condition) = &step.condition {
                    let when = flow.add(Block {
                        id: format!("when_{}", step.name),
                        shape: Shape::Condition,
                        title: condition.clone(),
                        lines: Vec::new(),
                        effect: None,
                    });
                    connect(&mut flow, &mut open, when);
                    open.push((when, Some("yes"), EdgeKind::Next));
                    skipped = Some(when);
                }
                if let Gate::Required {
                    group,
                    quorum,
                    timeout,
                    on_timeout,
                } = &step.gate
                {
                    let mut lines = Vec::new();
                    let who = group
                        .as_deref()
                        .map_or("any approver".to_string(), |g| format!("from \"{g}\""));
                    match quorum {
                        1 => lines.push(line(who, Tone::Plain)),
                        n => lines.push(line(format!("{n} approvals {who}"), Tone::Plain)),
                    }
                    if let Some(timeout) = timeout {
                        lines.push(line(
                            format!("timeout {timeout}: {on_timeout}"),
                            Tone::Plain,
                        ));
                    }
                    let gate = flow.add(Block {
                        id: format!("gate_{}", step.name),
                        shape: Shape::Gate,
                        title: "approval required".into(),
                        lines,
                        effect: None,
                    });
                    connect(&mut flow, &mut open, gate);
                    open.push((gate, Some("approved"), EdgeKind::Next));
                    let refused = match (timeout, on_timeout) {
                        (Some(_), TimeoutOutcome::Approve) | (None, _) => "denied",
                        (Some(_), _) => "denied or timed out",
                    };
                    failures.push((gate, refused));
                }
                let block = flow.add(step_block(step));
                connect(&mut flow, &mut open, block);
                open.push((block, None, EdgeKind::Next));
                if !step.continue_on_failure {
                    failures.push((block, "fails"));
                }
                if let Some(when) = skipped {
                    open.push((when, Some("no: skipped"), EdgeKind::Skip));
                }
            }
        }
    }
    let done = flow.add(Block {
        id: "done".into(),
        shape: Shape::Done,
        title: "succeeded".into(),
        lines: Vec::new(),
        effect: None,
    });
    connect(&mut flow, &mut open, done);
    let escalate = flow.add(Block {
        id: "escalate".into(),
        shape: Shape::Escalate,
        title: match graph.escalate {
            Some(_) => "escalate".into(),
            None => "run fails (no escalate clause)".into(),
        },
        lines: graph
            .escalate
            .iter()
            .map(|call| line(call.clone(), Tone::Effect(Effect::Write)))
            .collect(),
        effect: None,
    });
    if let Some(limit) = graph.limits.iter().find(|l| l.starts_with("timeout")) {
        flow.blocks[escalate].lines.push(line(
            format!("also when the run exceeds {limit}"),
            Tone::Muted,
        ));
    }
    for (from, label) in failures {
        flow.edge(from, escalate, Some(label), EdgeKind::Failure);
    }
    flow
}

fn connect(flow: &mut Flow, open: &mut Vec<(usize, Option<&'static str>, EdgeKind)>, to: usize) {
    for (from, label, kind) in open.drain(..) {
        flow.edge(from, to, label, kind);
    }
}

fn step_block(step: &StepNode) -> Block {
    let mut lines = Vec::new();
    if let Some(title) = &step.title {
        lines.push(line(title.clone(), Tone::Plain));
    }
    if let Gate::Waived { reason } = &step.gate {
        lines.push(line(format!("no approval: {reason}"), Tone::Muted));
    }
    for action in &step.actions {
        let via = action
            .via
            .as_deref()
            .map(|v| format!(" (via {v})"))
            .unwrap_or_default();
        lines.push(line(
            format!("{}: {}{via}", action.effect, action.call),
            Tone::Effect(action.effect),
        ));
    }
    for expect in &step.expects {
        let mut text = format!("expect {}", expect.condition);
        if let Some(within) = &expect.within {
            text.push_str(&format!(" within {within}"));
        }
        if let Some(every) = &expect.every {
            text.push_str(&format!(" every {every}"));
        }
        lines.push(line(text, Tone::Plain));
    }
    for option in step.retry.iter() {
        lines.push(line(option.clone(), Tone::Muted));
    }
    if let Some(timeout) = &step.timeout {
        lines.push(line(format!("timeout {timeout}"), Tone::Muted));
    }
    if step.continue_on_failure {
        lines.push(line("on failure continue", Tone::Muted));
    }
    Block {
        id: format!("step_{}", step.name),
        shape: if step.verify {
            Shape::Verify
        } else {
            Shape::Step
        },
        title: format!(
            "{} {}",
            if step.verify { "verify" } else { "step" },
            step.name
        ),
        lines,
        effect: Some(step.effect),
    }
}

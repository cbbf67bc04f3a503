//! Graphviz DOT text (`dot -Tsvg`, `dot -Tpng`).

use super::flow::{flow, EdgeKind, Shape, Tone};
use super::model::RunbookGraph;
use crate::syntax::Effect;

impl RunbookGraph {
    pub fn to_dot(&self) -> String {
        let flow = flow(self);
        let mut out = format!(
            "digraph \"{}\" {{\n    rankdir=TB;\n    node [fontname=\"Helvetica\", fontsize=11, style=filled];\n    edge [fontname=\"Helvetica\", fontsize=10];\n",
            escape(&self.name)
        );
        for block in &flow.blocks {
            let title = match block.shape {
                Shape::Condition => format!("when {}", block.title),
                _ => block.title.clone(),
            };
            let mut label = format!("{}\\n", escape(&title));
            for line in &block.lines {
                let text = escape(&line.text);
                match line.tone {
                    Tone::Effect(Effect::Destructive) => label.push_str(&format!("! {text}\\l")),
                    _ => label.push_str(&format!("{text}\\l")),
                }
            }
            let attributes = match block.shape {
                Shape::Start => "shape=box, style=\"rounded,filled\", fillcolor=\"#1f2937\", fontcolor=\"#ffffff\"",
                Shape::Inputs => "shape=parallelogram, fillcolor=\"#f3f4f6\", color=\"#9ca3af\"",
                Shape::Condition => "shape=diamond, fillcolor=\"#eff6ff\", color=\"#3b82f6\"",
                Shape::Gate => "shape=hexagon, fillcolor=\"#fef3c7\", color=\"#d97706\", penwidth=2",
                Shape::Step if block.effect == Some(Effect::Destructive) => {
                    "shape=box, fillcolor=\"#fef2f2\", color=\"#dc2626\", penwidth=2"
                }
                Shape::Step => "shape=box, fillcolor=\"#ffffff\", color=\"#6b7280\"",
                Shape::Verify => "shape=box, fillcolor=\"#ecfdf5\", color=\"#059669\"",
                Shape::Notify => "shape=note, fillcolor=\"#f5f3ff\", color=\"#7c3aed\"",
                Shape::Done => "shape=box, style=\"rounded,filled\", fillcolor=\"#dcfce7\", color=\"#16a34a\"",
                Shape::Escalate => "shape=box, style=\"filled,dashed\", fillcolor=\"#fff1f2\", color=\"#e11d48\"",
            };
            out.push_str(&format!(
                "    {} [label=\"{label}\", {attributes}];\n",
                block.id
            ));
        }
        for edge in &flow.edges {
            let mut attributes = Vec::new();
            if let Some(label) = &edge.label {
                attributes.push(format!("label=\"{}\"", escape(label)));
            }
            match edge.kind {
                EdgeKind::Next => {}
                EdgeKind::Skip => attributes.push("style=dashed, color=\"#3b82f6\"".into()),
                EdgeKind::Failure => attributes.push("style=dashed, color=\"#e11d48\"".into()),
            }
            let attributes = match attributes.is_empty() {
                true => String::new(),
                false => format!(" [{}]", attributes.join(", ")),
            };
            out.push_str(&format!(
                "    {} -> {}{attributes};\n",
                flow.blocks[edge.from].id, flow.blocks[edge.to].id
            ));
        }
        out.push_str("}\n");
        out
    }
}

/// Text inside a quoted DOT string: backslashes and quotes escaped, lines joined.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn quotes_and_backslashes_cannot_end_a_label() {
        assert_eq!(escape("a\"b\\\"c\nd"), "a\\\"b\\\\\\\"c d");
    }
}

//! Mermaid `flowchart TD` text (GitHub and most wikis draw it).

use super::flow::{flow, Block, EdgeKind, Shape, Tone};
use super::model::RunbookGraph;
use crate::syntax::Effect;

impl RunbookGraph {
    pub fn to_mermaid(&self) -> String {
        let flow = flow(self);
        let mut out = String::from("flowchart TD\n");
        for block in &flow.blocks {
            let label = label(block);
            let (open, close) = match block.shape {
                Shape::Start | Shape::Done => ("([", "])"),
                Shape::Inputs => ("[/", "/]"),
                Shape::Condition => ("{", "}"),
                Shape::Gate => ("{{", "}}"),
                Shape::Step | Shape::Verify => ("[", "]"),
                Shape::Notify => (">", "]"),
                Shape::Escalate => ("[[", "]]"),
            };
            out.push_str(&format!("    {}{open}\"{label}\"{close}\n", block.id));
        }
        for edge in &flow.edges {
            let (from, to) = (&flow.blocks[edge.from].id, &flow.blocks[edge.to].id);
            let arrow = match (edge.kind, &edge.label) {
                (EdgeKind::Failure | EdgeKind::Skip, Some(label)) => {
                    format!("-.->|\"{}\"|", escape(label))
                }
                (EdgeKind::Failure | EdgeKind::Skip, None) => "-.->".into(),
                (EdgeKind::Next, Some(label)) => format!("-->|\"{}\"|", escape(label)),
                (EdgeKind::Next, None) => "-->".into(),
            };
            out.push_str(&format!("    {from} {arrow} {to}\n"));
        }
        out.push_str(
            "    classDef start fill:#1f2937,stroke:#111827,color:#ffffff\n\
             \x20   classDef inputs fill:#f3f4f6,stroke:#9ca3af,color:#111827\n\
             \x20   classDef condition fill:#eff6ff,stroke:#3b82f6,color:#1e3a8a\n\
             \x20   classDef gate fill:#fef3c7,stroke:#d97706,color:#78350f\n\
             \x20   classDef step fill:#ffffff,stroke:#6b7280,color:#111827\n\
             \x20   classDef destructive fill:#fef2f2,stroke:#dc2626,stroke-width:2px,color:#7f1d1d\n\
             \x20   classDef verify fill:#ecfdf5,stroke:#059669,color:#064e3b\n\
             \x20   classDef notify fill:#f5f3ff,stroke:#7c3aed,color:#3b0764\n\
             \x20   classDef done fill:#dcfce7,stroke:#16a34a,color:#14532d\n\
             \x20   classDef escalate fill:#fff1f2,stroke:#e11d48,color:#881337\n",
        );
        for block in &flow.blocks {
            out.push_str(&format!("    class {} {}\n", block.id, class_of(block)));
        }
        for (kind, colour) in [(EdgeKind::Skip, "#3b82f6"), (EdgeKind::Failure, "#e11d48")] {
            let indices: Vec<String> = flow
                .edges
                .iter()
                .enumerate()
                .filter(|(_, edge)| edge.kind == kind)
                .map(|(index, _)| index.to_string())
                .collect();
            if !indices.is_empty() {
                out.push_str(&format!(
                    "    linkStyle {} stroke:{colour},color:{colour}\n",
                    indices.join(",")
                ));
            }
        }
        out
    }
}

pub(super) fn class_of(block: &Block) -> &'static str {
    match block.shape {
        Shape::Start => "start",
        Shape::Inputs => "inputs",
        Shape::Condition => "condition",
        Shape::Gate => "gate",
        Shape::Step if block.effect == Some(Effect::Destructive) => "destructive",
        Shape::Step => "step",
        Shape::Verify => "verify",
        Shape::Notify => "notify",
        Shape::Done => "done",
        Shape::Escalate => "escalate",
    }
}

/// A block's title in bold, then its lines; destructive lines marked.
fn label(block: &Block) -> String {
    let title = match block.shape {
        Shape::Condition => format!("when {}", block.title),
        _ => block.title.clone(),
    };
    let mut parts = vec![format!("<b>{}</b>", escape(&title))];
    for line in &block.lines {
        let text = escape(&line.text);
        parts.push(match line.tone {
            Tone::Effect(Effect::Destructive) => format!("⚠ {text}"),
            Tone::Muted => format!("<i>{text}</i>"),
            _ => text,
        });
    }
    parts.join("<br/>")
}

/// Text inside a quoted Mermaid label: Mermaid's entity codes for the characters that would end
/// the label or be read as markup.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
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
    fn labels_cannot_end_their_quotes_or_inject_markup() {
        assert_eq!(
            escape("alert.labels[\"db\"] <script>&#1;`x`"),
            "alert.labels[#quot;db#quot;] #lt;script#gt;#amp;#35;1;#96;x#96;"
        );
    }
}

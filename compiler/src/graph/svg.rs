//! A self-contained SVG picture: the boxes top to bottom in the order they run, conditions as
//! diamonds whose "no" arrow goes round the step, gates as amber hexagons, destructive steps in
//! red, and failures (dashed red) running down a rail on the right to the escalation box.
//!
//! Laid out by hand (the picture is a single column, so no layout engine is needed); text
//! widths are estimated from the font size, and long lines are cut with the whole text kept
//! in a tooltip. Styles are inline attributes, so the picture can sit inside an HTML page
//! without its styles leaking out.

use super::flow::{flow, Block, EdgeKind, Flow, Shape, Tone};
use super::model::RunbookGraph;
use crate::syntax::Effect;

const SANS: &str = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
const MONO: &str = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace";
/// Estimated advance of one character: bold 13px sans, and 12px monospace.
const TITLE_CHAR: f64 = 7.8;
const MONO_CHAR: f64 = 7.3;
/// Lines longer than this are cut (the tooltip has them whole).
const LONGEST_LINE: usize = 72;
const PAD_X: f64 = 14.0;
const PAD_Y: f64 = 10.0;
const TITLE_HEIGHT: f64 = 18.0;
const LINE_HEIGHT: f64 = 17.0;
/// Vertical space between two boxes.
const GAP: f64 = 42.0;
const MARGIN: f64 = 24.0;
/// The coloured bar on a step's left, showing its effect.
const STRIPE: f64 = 6.0;
/// How far a gate's hexagon points stick out on each side.
const POINT: f64 = 16.0;
const CONDITION_HEIGHT: f64 = 60.0;

struct Placed {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Placed {
    fn center_x(&self) -> f64 {
        self.x + self.w / 2.0
    }
    fn right(&self) -> f64 {
        self.x + self.w
    }
    fn bottom(&self) -> f64 {
        self.y + self.h
    }
    fn middle_y(&self) -> f64 {
        self.y + self.h / 2.0
    }
}

impl RunbookGraph {
    /// The picture as a standalone SVG document (also valid inline in HTML).
    pub fn to_svg(&self) -> String {
        let flow = flow(self);
        let sizes: Vec<(f64, f64)> = flow.blocks.iter().map(size_of).collect();
        let escalate = flow.blocks.len() - 1;
        let column_width = sizes[..escalate]
            .iter()
            .map(|(w, _)| *w)
            .fold(0.0, f64::max);
        let center = MARGIN + column_width / 2.0;
        let mut placed: Vec<Placed> = Vec::with_capacity(flow.blocks.len());
        let mut y = MARGIN;
        for (w, h) in &sizes[..escalate] {
            placed.push(Placed {
                x: center - w / 2.0,
                y,
                w: *w,
                h: *h,
            });
            y += h + GAP;
        }
        // Skip arrows run in a lane right of the boxes they pass; the failure rail right of all.
        let lanes: Vec<Option<f64>> = flow
            .edges
            .iter()
            .map(|edge| {
                (edge.kind == EdgeKind::Skip).then(|| {
                    placed[edge.from..edge.to]
                        .iter()
                        .map(Placed::right)
                        .fold(0.0, f64::max)
                        + 26.0
                })
            })
            .collect();
        let rail = lanes
            .iter()
            .flatten()
            .copied()
            .fold(center + column_width / 2.0, f64::max)
            + 64.0;
        let (escalate_w, escalate_h) = sizes[escalate];
        placed.push(Placed {
            x: (rail - escalate_w / 2.0).max(MARGIN),
            y,
            w: escalate_w,
            h: escalate_h,
        });
        let width = placed.iter().map(Placed::right).fold(rail, f64::max) + MARGIN;
        let height = y + escalate_h + MARGIN;

        let prefix = format!("rbk-{}", id_safe(&self.name));
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"{}\">\n",
            escape(&format!("runbook {}", self.name))
        );
        out.push_str(&format!(
            "<title>{}</title>\n",
            escape(&format!("runbook {}", self.name))
        ));
        out.push_str("<defs>\n");
        for (name, colour) in [
            ("next", "#6b7280"),
            ("skip", "#3b82f6"),
            ("fail", "#e11d48"),
        ] {
            out.push_str(&format!(
                "<marker id=\"{prefix}-{name}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker>\n"
            ));
        }
        out.push_str("</defs>\n");
        out.push_str(&format!(
            "<rect x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"#ffffff\"/>\n"
        ));
        draw_edges(&mut out, &flow, &placed, &lanes, rail, &prefix);
        for (block, at) in flow.blocks.iter().zip(&placed) {
            draw_block(&mut out, block, at, &prefix);
        }
        out.push_str("</svg>\n");
        out
    }
}

fn size_of(block: &Block) -> (f64, f64) {
    let text_width = block
        .lines
        .iter()
        .map(|l| cut(&l.text).chars().count() as f64 * MONO_CHAR)
        .fold(0.0, f64::max);
    match block.shape {
        Shape::Condition => {
            let w = cut(&block.title).chars().count() as f64 * MONO_CHAR;
            (w + 90.0, CONDITION_HEIGHT)
        }
        _ => {
            let title = cut(&block.title).chars().count() as f64 * TITLE_CHAR
                + if destructive(block) { 96.0 } else { 0.0 };
            let extra = match block.shape {
                Shape::Gate => 2.0 * POINT,
                Shape::Step | Shape::Verify => STRIPE,
                _ => 0.0,
            };
            let w = title.max(text_width).max(90.0) + 2.0 * PAD_X + extra;
            let h = 2.0 * PAD_Y + TITLE_HEIGHT + block.lines.len() as f64 * LINE_HEIGHT;
            (w.ceil(), h)
        }
    }
}

fn destructive(block: &Block) -> bool {
    block.effect == Some(Effect::Destructive)
}

fn draw_edges(
    out: &mut String,
    flow: &Flow,
    placed: &[Placed],
    lanes: &[Option<f64>],
    rail: f64,
    prefix: &str,
) {
    for (edge, lane) in flow.edges.iter().zip(lanes) {
        let (from, to) = (&placed[edge.from], &placed[edge.to]);
        let (path, colour, marker, dashed, label_at) = match edge.kind {
            EdgeKind::Next => (
                format!(
                    "M{:.1},{:.1} V{:.1}",
                    to.center_x(),
                    from.bottom(),
                    to.y - 1.0
                ),
                "#6b7280",
                "next",
                false,
                (to.center_x() + 8.0, from.bottom() + GAP / 2.0 + 4.0),
            ),
            EdgeKind::Skip => {
                let lane = lane.unwrap_or(rail);
                let join = to.y - GAP / 3.0;
                (
                    format!(
                        "M{:.1},{:.1} H{lane:.1} V{join:.1} H{:.1}",
                        from.right(),
                        from.middle_y(),
                        to.center_x() + 2.0
                    ),
                    "#3b82f6",
                    "skip",
                    true,
                    (from.right() + 6.0, from.middle_y() - 6.0),
                )
            }
            EdgeKind::Failure => (
                format!(
                    "M{:.1},{:.1} H{rail:.1} V{:.1}",
                    from.right(),
                    from.middle_y(),
                    to.y - 1.0
                ),
                "#e11d48",
                "fail",
                true,
                (from.right() + 6.0, from.middle_y() - 6.0),
            ),
        };
        out.push_str(&format!(
            "<path d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"{} marker-end=\"url(#{prefix}-{marker})\"/>\n",
            if dashed { " stroke-dasharray=\"5 4\"" } else { "" }
        ));
        if let Some(label) = &edge.label {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-family=\"{SANS}\" font-size=\"11\" fill=\"{colour}\" stroke=\"#ffffff\" stroke-width=\"4\" stroke-linejoin=\"round\" paint-order=\"stroke\">{}</text>\n",
                label_at.0,
                label_at.1,
                escape(label)
            ));
        }
    }
}

/// (fill, stroke, title colour) of a shape.
fn colours(block: &Block) -> (&'static str, &'static str, &'static str) {
    match block.shape {
        Shape::Start => ("#1f2937", "#111827", "#ffffff"),
        Shape::Inputs => ("#f9fafb", "#9ca3af", "#111827"),
        Shape::Condition => ("#eff6ff", "#3b82f6", "#1e3a8a"),
        Shape::Gate => ("#fef3c7", "#d97706", "#78350f"),
        Shape::Step if destructive(block) => ("#fef2f2", "#dc2626", "#7f1d1d"),
        Shape::Step => ("#ffffff", "#6b7280", "#111827"),
        Shape::Verify => ("#ecfdf5", "#059669", "#064e3b"),
        Shape::Notify => ("#f5f3ff", "#7c3aed", "#3b0764"),
        Shape::Done => ("#dcfce7", "#16a34a", "#14532d"),
        Shape::Escalate => ("#fff1f2", "#e11d48", "#881337"),
    }
}

fn effect_colour(effect: Effect) -> &'static str {
    match effect {
        Effect::Pure => "#6b7280",
        Effect::Read => "#2563eb",
        Effect::Write => "#d97706",
        Effect::Destructive => "#dc2626",
    }
}

/// Element ids carry `prefix` (the runbook's name), so two pictures on one page do not clash.
fn draw_block(out: &mut String, block: &Block, at: &Placed, prefix: &str) {
    let (fill, stroke, title_colour) = colours(block);
    let Placed { x, y, w, h } = *at;
    let mut tooltip = block.title.clone();
    for line in &block.lines {
        tooltip.push('\n');
        tooltip.push_str(&line.text);
    }
    out.push_str(&format!(
        "<g id=\"{prefix}-{}\"><title>{}</title>\n",
        escape(&block.id),
        escape(&tooltip)
    ));
    let width = if destructive(block) { 2.4 } else { 1.4 };
    match block.shape {
        Shape::Condition => {
            let (cx, cy) = (x + w / 2.0, y + h / 2.0);
            out.push_str(&format!(
                "<path d=\"M{cx:.1},{y:.1} L{:.1},{cy:.1} L{cx:.1},{:.1} L{x:.1},{cy:.1} Z\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"/>\n",
                x + w,
                y + h
            ));
            out.push_str(&format!(
                "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-family=\"{MONO}\" font-size=\"12\" fill=\"{title_colour}\"><tspan font-family=\"{SANS}\" font-weight=\"bold\">when </tspan>{}</text>\n",
                cy + 4.0,
                escape(&cut(&block.title))
            ));
            out.push_str("</g>\n");
            return;
        }
        Shape::Gate => {
            let mid = y + h / 2.0;
            out.push_str(&format!(
                "<path d=\"M{:.1},{y:.1} H{:.1} L{:.1},{mid:.1} L{:.1},{:.1} H{:.1} L{x:.1},{mid:.1} Z\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"2\"/>\n",
                x + POINT,
                x + w - POINT,
                x + w,
                x + w - POINT,
                y + h,
                x + POINT
            ));
        }
        _ => {
            let radius = match block.shape {
                Shape::Start | Shape::Done => h.min(36.0) / 2.0,
                _ => 8.0,
            };
            let dash = match block.shape {
                Shape::Escalate => " stroke-dasharray=\"6 3\"",
                _ => "",
            };
            out.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"{radius:.1}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{width}\"{dash}/>\n"
            ));
        }
    }
    let mut left = x + PAD_X;
    if let (Shape::Step | Shape::Verify, Some(effect)) = (block.shape, block.effect) {
        out.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{}\"/>\n",
            x + 5.0,
            y + 6.0,
            STRIPE - 2.0,
            h - 12.0,
            effect_colour(effect)
        ));
        left += STRIPE;
    }
    if block.shape == Shape::Gate {
        left += POINT;
    }
    if block.shape == Shape::Done {
        left = x + (w - cut(&block.title).chars().count() as f64 * TITLE_CHAR) / 2.0;
    }
    out.push_str(&format!(
        "<text x=\"{left:.1}\" y=\"{:.1}\" font-family=\"{SANS}\" font-size=\"13\" font-weight=\"bold\" fill=\"{title_colour}\">{}</text>\n",
        y + PAD_Y + 13.0,
        escape(&cut(&block.title))
    ));
    if destructive(block) {
        out.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"84\" height=\"16\" rx=\"8\" fill=\"#dc2626\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-family=\"{SANS}\" font-size=\"9.5\" font-weight=\"bold\" fill=\"#ffffff\" letter-spacing=\"0.6\">DESTRUCTIVE</text>\n",
            x + w - PAD_X - 84.0,
            y + PAD_Y,
            x + w - PAD_X - 42.0,
            y + PAD_Y + 11.5
        ));
    }
    let light = block.shape == Shape::Start;
    for (index, line) in block.lines.iter().enumerate() {
        let baseline = y + PAD_Y + TITLE_HEIGHT + index as f64 * LINE_HEIGHT + 12.0;
        let text = cut(&line.text);
        let body = match line.tone {
            Tone::Effect(effect) => match text.split_once(": ") {
                Some((word, rest)) if word == effect.to_string() => format!(
                    "<tspan font-weight=\"bold\" fill=\"{}\">{}</tspan>{}{}",
                    effect_colour(effect),
                    escape(word),
                    escape(": "),
                    escape(rest)
                ),
                _ => escape(&text),
            },
            _ => escape(&text),
        };
        let (colour, style) = match (line.tone, light) {
            (_, true) => ("#e5e7eb", ""),
            (Tone::Muted, _) => ("#6b7280", " font-style=\"italic\""),
            _ => ("#1f2937", ""),
        };
        out.push_str(&format!(
            "<text x=\"{left:.1}\" y=\"{baseline:.1}\" font-family=\"{MONO}\" font-size=\"12\" fill=\"{colour}\"{style} xml:space=\"preserve\">{body}</text>\n"
        ));
    }
    out.push_str("</g>\n");
}

/// A line cut to [`LONGEST_LINE`] characters.
fn cut(text: &str) -> String {
    if text.chars().count() <= LONGEST_LINE {
        return text.to_string();
    }
    let mut out: String = text.chars().take(LONGEST_LINE - 1).collect();
    out.push('…');
    out
}

/// Text safe in XML content and attribute values; control characters (not allowed in XML)
/// become spaces.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A runbook name as part of an element id (names are identifiers, but be sure).
fn id_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_xml_and_cut_lines_end_with_an_ellipsis() {
        assert_eq!(
            escape("a<b & \"c\" 'd'\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39; "
        );
        let long = "x".repeat(100);
        assert_eq!(cut(&long).chars().count(), LONGEST_LINE);
        assert!(cut(&long).ends_with('…'));
    }
}

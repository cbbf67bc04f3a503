//! Slack's rendering (Block Kit `mrkdwn` text): the call and its effect in bold, one bullet per
//! argument with its value in code (so untrusted text cannot format or mention anyone), and
//! lists of records as an aligned table in a code block.

use super::{count_of, display_width, shown_arguments, truncate, PlannedAction, Shown};

/// Slack shows a section's text up to 3,000 characters: fewer rows than the terminal, and
/// narrower.
const SLACK_ROWS: usize = 8;
const SLACK_CELL: usize = 28;

/// Slack refuses a section whose text is longer than 3,000 characters.
const SLACK_SECTION: usize = 3000;

/// `action` as Slack `mrkdwn` text, with `&`, `<` and `>` escaped as Slack requires; tables
/// lose rows (counted in "and N more") until the text fits one Block Kit section.
pub fn arguments_mrkdwn(action: &PlannedAction) -> String {
    let mut rows = SLACK_ROWS;
    loop {
        let text = render(action, rows);
        if text.chars().count() <= SLACK_SECTION || rows == 0 {
            return text;
        }
        rows -= 1;
    }
}

fn render(action: &PlannedAction, rows: usize) -> String {
    let marker = if action.is_destructive() {
        ":warning: "
    } else {
        ""
    };
    let mut out = format!(
        "{marker}*{}* — {}",
        code(&action.call),
        escape(&action.effect)
    );
    if !action.resolved {
        out.push_str("\n_arguments as written: their values are known only when the step runs_");
    }
    for (name, value) in shown_arguments(action, rows) {
        out.push_str(&format!("\n• {}: ", escape(&name)));
        match value {
            Shown::Scalar(text) | Shown::Written(text) => out.push_str(&code(&text)),
            Shown::Items { items, more } => {
                out.push_str(&code(&format!("[{}]", items.join(", "))));
                if more > 0 {
                    out.push_str(&format!(" and {more} more"));
                }
            }
            Shown::Table { count, table } => {
                out.push_str(&escape(&count_of(count, &table)));
                let cells = |row: &[String]| -> Vec<String> {
                    row.iter().map(|c| truncate(c, SLACK_CELL)).collect()
                };
                let header = cells(&table.columns);
                let rows: Vec<Vec<String>> = table.rows.iter().map(|r| cells(r)).collect();
                let mut widths: Vec<usize> = header.iter().map(|c| display_width(c)).collect();
                for row in &rows {
                    for (w, cell) in widths.iter_mut().zip(row) {
                        *w = (*w).max(display_width(cell));
                    }
                }
                out.push_str("\n```\n");
                for row in std::iter::once(&header).chain(&rows) {
                    let line: Vec<String> = row
                        .iter()
                        .zip(&widths)
                        .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - display_width(cell))))
                        .collect();
                    out.push_str(&code_text(line.join("  ").trim_end()));
                    out.push('\n');
                }
                out.push_str("```");
                if table.more > 0 {
                    out.push_str(&format!("\nand {} more", table.more));
                }
            }
        }
    }
    out
}

/// Slack's three control characters in text, escaped as its docs ask.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` as inline code. Slack has no escape for a backquote inside code, so backquotes
/// become `ˋ` (they would end the code and let the rest format).
fn code(text: &str) -> String {
    format!("`{}`", code_text(text))
}

fn code_text(text: &str) -> String {
    escape(&text.replace('`', "ˋ"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_table_of_escaped_text_still_fits_one_slack_section() {
        let sessions: Vec<_> = (0..50)
            .map(|i| {
                json!({"pid": i, "user": "<".repeat(40), "application": "&".repeat(40),
                            "client_addr": ">".repeat(40), "state": "<>".repeat(20),
                            "idle": "1h", "query": "<&>".repeat(40)})
            })
            .collect();
        let action = PlannedAction {
            call: "pg.terminate".into(),
            effect: "destructive".into(),
            arguments: vec![("sessions".into(), serde_json::Value::Array(sessions))],
            resolved: true,
        };
        let text = arguments_mrkdwn(&action);
        assert!(
            text.chars().count() <= SLACK_SECTION,
            "{} characters",
            text.len()
        );
        assert!(text.contains("• sessions: 50 sessions"), "{text}");
        assert!(
            text.contains(" more"),
            "the rows left out are counted: {text}"
        );
    }

    #[test]
    fn sessions_are_a_code_block_table_and_untrusted_text_cannot_mention_or_format() {
        let sessions: Vec<_> = (0..10)
            .map(|i| {
                json!({"pid": 100 + i, "user": "app", "state": "idle",
                            "query": "SELECT 1 -- <!channel> `rm` & *bold*"})
            })
            .collect();
        let action = PlannedAction {
            call: "pg.terminate".into(),
            effect: "destructive".into(),
            arguments: vec![
                ("sessions".into(), serde_json::Value::Array(sessions)),
                ("note".into(), json!("<@U123> hi `x`")),
            ],
            resolved: true,
        };
        let text = arguments_mrkdwn(&action);
        assert_eq!(
            text.lines().take(5).collect::<Vec<_>>(),
            [
                ":warning: *`pg.terminate`* — destructive",
                "• sessions: 10 sessions",
                "```",
                "pid  user  state  query",
                "100  app   idle   SELECT 1 -- &lt;!channel&gt; ˋrmˋ…",
            ]
        );
        assert!(
            text.contains("```\nand 2 more\n• note: `&lt;@U123&gt; hi ˋxˋ`"),
            "{text}"
        );
        assert!(!text.contains("<!channel>") && !text.contains("<@U123>"));
    }
}

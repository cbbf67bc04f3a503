//! The terminal's rendering: the call and its effect, then one aligned line per argument, and
//! lists of records as a table fitted to the terminal's width.

use super::{count_of, display_width, shown_arguments, truncate, PlannedAction, Shown, TABLE_ROWS};

/// The narrowest a table column gets when the table is shrunk to fit.
const NARROWEST_COLUMN: usize = 4;
/// Gap between table columns.
const GAP: &str = "  ";

/// `action` as lines of plain text at most `width` columns wide where it can be (tables are
/// shrunk to fit; a long single value is shown whole: it is what is being approved). No
/// trailing newline; callers indent the lines as they need.
pub fn arguments_text(action: &PlannedAction, width: usize) -> String {
    let mut lines = vec![format!(
        "{}  [{}]",
        super::clean(&action.call),
        action.effect
    )];
    if !action.resolved {
        lines.push(
            "  (arguments as written: their values are known only when the step runs)".into(),
        );
    }
    let shown = shown_arguments(action, TABLE_ROWS);
    let label_width = shown
        .iter()
        .map(|(name, _)| display_width(name) + 1)
        .max()
        .unwrap_or(0);
    for (name, value) in &shown {
        let label = format!("{name}:");
        let pad = " ".repeat(label_width - display_width(&label) + 1);
        match value {
            Shown::Scalar(text) | Shown::Written(text) => {
                lines.push(format!("  {label}{pad}{text}"))
            }
            Shown::Items { items, more } => {
                let mut text = items.join(", ");
                if *more > 0 {
                    text.push_str(&format!(" … and {more} more"));
                }
                lines.push(format!("  {label}{pad}[{text}]"));
            }
            Shown::Table { count, table } => {
                lines.push(format!("  {label}{pad}{}", count_of(*count, table)));
                let indent = "    ";
                let columns = table.columns.clone();
                let widths = fit(&columns, &table.rows, width.saturating_sub(indent.len()));
                lines.push(format!("{indent}{}", row_text(&columns, &widths)));
                for row in &table.rows {
                    lines.push(format!("{indent}{}", row_text(row, &widths)));
                }
                if table.more > 0 {
                    lines.push(format!("{indent}… and {} more", table.more));
                }
            }
        }
    }
    lines.join("\n")
}

/// Column widths that fit `width` if shrinking the widest columns (down to a few characters)
/// can make them fit.
fn fit(columns: &[String], rows: &[Vec<String>], width: usize) -> Vec<usize> {
    let mut widths: Vec<usize> = columns.iter().map(|c| display_width(c)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(cell));
        }
    }
    let gaps = GAP.len() * columns.len().saturating_sub(1);
    while widths.iter().sum::<usize>() + gaps > width {
        let Some(widest) = widths
            .iter_mut()
            .filter(|w| **w > NARROWEST_COLUMN)
            .max_by_key(|w| **w)
        else {
            break;
        };
        *widest -= 1;
    }
    widths
}

fn row_text(cells: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        let text = truncate(cell, *width);
        out.push_str(&text);
        if i + 1 < cells.len() {
            out.push_str(&" ".repeat(width - display_width(&text)));
            out.push_str(GAP);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn terminate(sessions: usize) -> PlannedAction {
        let sessions = (0..sessions)
            .map(|i| {
                json!({"pid": 4242 + i, "user": "app", "application": "orders-api",
                       "client_addr": format!("10.0.0.{}", i % 250), "state": "idle", "idle": "2h",
                       "backend_start": "2026-12-01T10:00:00Z",
                       "query": "SELECT * FROM orders WHERE customer_id = $1 AND status = 'open'"})
            })
            .collect();
        PlannedAction {
            call: "pg.terminate".into(),
            effect: "destructive".into(),
            arguments: vec![
                ("db".into(), json!("<postgres.Database 1>")),
                ("sessions".into(), serde_json::Value::Array(sessions)),
                ("max".into(), json!(50)),
            ],
            resolved: true,
        }
    }

    #[test]
    fn three_sessions_are_a_table_under_their_argument() {
        assert_eq!(
            arguments_text(&terminate(3), 120),
            "\
pg.terminate  [destructive]
  db:       <postgres.Database 1>
  sessions: 3 sessions
    pid   user  application  client    state  idle  query
    4242  app   orders-api   10.0.0.0  idle   2h    SELECT * FROM orders WHERE customer_id = $1 AND status = 'open'
    4243  app   orders-api   10.0.0.1  idle   2h    SELECT * FROM orders WHERE customer_id = $1 AND status = 'open'
    4244  app   orders-api   10.0.0.2  idle   2h    SELECT * FROM orders WHERE customer_id = $1 AND status = 'open'
  max:      50"
        );
    }

    #[test]
    fn fifty_sessions_are_capped_and_every_line_fits_the_width() {
        let text = arguments_text(&terminate(50), 80);
        assert!(text.contains("    … and 40 more"), "{text}");
        assert_eq!(text.matches("orders-api").count(), 10);
        for line in text.lines() {
            assert!(display_width(line) <= 80, "{line:?} is wider than 80");
        }
        assert!(
            text.contains("SELECT * FROM orders WHERE …"),
            "the query is cut to fit:\n{text}"
        );
    }

    #[test]
    fn arguments_not_yet_known_are_shown_as_written_and_said_so() {
        let action = PlannedAction {
            call: "k8s.delete_pod".into(),
            effect: "destructive".into(),
            arguments: vec![("pod".into(), json!("k8s.oldest(pods)"))],
            resolved: false,
        };
        let text = arguments_text(&action, 80);
        assert!(text.contains("known only when the step runs"), "{text}");
        assert!(text.ends_with("  pod: k8s.oldest(pods)"), "{text}");
    }

    #[test]
    fn a_list_of_plain_values_is_one_capped_line() {
        let action = PlannedAction {
            call: "shell.run".into(),
            effect: "destructive".into(),
            arguments: vec![(
                "argv".into(),
                serde_json::Value::Array((0..25).map(|i| json!(format!("a{i}"))).collect()),
            )],
            resolved: true,
        };
        let text = arguments_text(&action, 80);
        assert!(text.ends_with("a18, a19 … and 5 more]"), "{text}");
    }
}

//! The web page's rendering: the call, its effect, and the arguments as a definition list with
//! lists of records as `<table>`s. Every text is escaped; class names let the page style it.

use super::{count_of, shown_arguments, PlannedAction, Shown, TABLE_ROWS};

/// `action` as an HTML fragment (a `<div class="planned-action effect-EFFECT">`).
pub fn arguments_html(action: &PlannedAction) -> String {
    let effect = escape(&action.effect);
    let mut out = format!(
        "<div class=\"planned-action effect-{effect}\">\n<p class=\"call\"><code>{}</code> <span class=\"effect\">{effect}</span></p>\n",
        escape(&action.call)
    );
    if !action.resolved {
        out.push_str(
            "<p class=\"unresolved\">Arguments as written: their values are known only when the step runs.</p>\n",
        );
    }
    out.push_str("<dl class=\"arguments\">\n");
    for (name, value) in shown_arguments(action, TABLE_ROWS) {
        out.push_str(&format!("<dt>{}</dt>", escape(&name)));
        match value {
            Shown::Scalar(text) | Shown::Written(text) => {
                out.push_str(&format!("<dd><code>{}</code></dd>\n", escape(&text)))
            }
            Shown::Items { items, more } => {
                out.push_str("<dd><ul class=\"items\">");
                for item in items {
                    out.push_str(&format!("<li><code>{}</code></li>", escape(&item)));
                }
                out.push_str("</ul>");
                if more > 0 {
                    out.push_str(&format!("<p class=\"more\">and {more} more</p>"));
                }
                out.push_str("</dd>\n");
            }
            Shown::Table { count, table } => {
                out.push_str(&format!(
                    "<dd><p class=\"count\">{}</p>\n<table class=\"records\">\n<thead><tr>",
                    escape(&count_of(count, &table))
                ));
                for column in &table.columns {
                    out.push_str(&format!("<th>{}</th>", escape(column)));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in &table.rows {
                    out.push_str("<tr>");
                    for cell in row {
                        out.push_str(&format!("<td>{}</td>", escape(cell)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>");
                if table.more > 0 {
                    out.push_str(&format!("\n<p class=\"more\">and {} more</p>", table.more));
                }
                out.push_str("</dd>\n");
            }
        }
    }
    out.push_str("</dl>\n</div>");
    out
}

/// Text made safe inside HTML elements and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn records_become_an_escaped_table_with_a_count_and_the_rest_counted() {
        let sessions: Vec<_> = (0..12)
            .map(|i| {
                json!({"pid": i, "user": "<script>x</script>", "state": "idle",
                            "query": "SELECT '&' \"x\"", "client_addr": "10.0.0.1"})
            })
            .collect();
        let action = PlannedAction {
            call: "pg.terminate".into(),
            effect: "destructive".into(),
            arguments: vec![("sessions".into(), serde_json::Value::Array(sessions))],
            resolved: true,
        };
        let html = arguments_html(&action);
        assert!(html.starts_with("<div class=\"planned-action effect-destructive\">"));
        assert!(
            html.contains("<p class=\"count\">12 sessions</p>"),
            "{html}"
        );
        assert!(
            html.contains("<th>pid</th><th>user</th><th>client</th><th>state</th><th>query</th>"),
            "{html}"
        );
        assert!(
            html.contains("<td>&lt;script&gt;x&lt;/script&gt;</td>"),
            "{html}"
        );
        assert!(
            html.contains("<td>SELECT &#39;&amp;&#39; &quot;x&quot;</td>"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert_eq!(html.matches("<tr>").count(), 11, "a header and ten rows");
        assert!(html.contains("<p class=\"more\">and 2 more</p>"));
    }

    #[test]
    fn names_calls_and_written_arguments_are_escaped_too() {
        let action = PlannedAction {
            call: "x.<b>".into(),
            effect: "write".into(),
            arguments: vec![("<i>".into(), json!("a < b && c"))],
            resolved: false,
        };
        let html = arguments_html(&action);
        assert!(html.contains("<code>x.&lt;b&gt;</code>"));
        assert!(html.contains("<dt>&lt;i&gt;</dt><dd><code>a &lt; b &amp;&amp; c</code></dd>"));
        assert!(html.contains("class=\"unresolved\""));
    }
}

//! What an approver reads: each action a gated step will call, with its resolved arguments,
//! and lists of records (sessions, pods) as tables with the columns that matter.
//!
//! One model ([`shown_arguments`]) and three renderers over it: [`arguments_text`] for the
//! terminal prompt and the dry-run report, [`arguments_html`] for the web page and
//! [`arguments_mrkdwn`] for Slack. Argument values come from the engine already masked (as the
//! journal masks them), but they are still untrusted text — a query a client sent, an alert's
//! label — so every renderer strips control characters and escapes for its medium.

mod html;
mod mrkdwn;
mod table;
mod text;

use serde::{Deserialize, Serialize};

use crate::action::ActionCall;
use crate::secrets::SecretMask;

pub use html::arguments_html;
pub use mrkdwn::arguments_mrkdwn;
pub use table::{record_table, RecordTable};
pub use text::arguments_text;

/// One action a gated step will call, as the approver is shown it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedAction {
    /// `pg.terminate`.
    pub call: String,
    /// `read`, `write` or `destructive` (`pure` for a `fn` that calls no action).
    pub effect: String,
    /// Each parameter's name and value. Resolved values are JSON as the journal writes them
    /// (secrets as `<secret NAME>`, handles as `<pg.Database 1>`); when `resolved` is false
    /// they are the argument expressions as written.
    pub arguments: Vec<(String, serde_json::Value)>,
    /// False when an argument depends on what the step itself computes (a `let` in its body,
    /// another action's result): the values are only known when the step runs.
    #[serde(default = "resolved_by_default")]
    pub resolved: bool,
}

fn resolved_by_default() -> bool {
    true
}

impl PlannedAction {
    /// The call as it will be made, its arguments masked as the journal masks them.
    pub fn from_call(call: &ActionCall, mask: &SecretMask) -> PlannedAction {
        PlannedAction {
            call: call.action.clone(),
            effect: call.effect.to_string(),
            arguments: call
                .args
                .iter()
                .map(|(name, value)| (name.clone(), mask.mask_json(value.to_json())))
                .collect(),
            resolved: true,
        }
    }

    pub fn is_destructive(&self) -> bool {
        self.effect == "destructive"
    }
}

/// How one argument is shown, whatever the medium.
#[derive(Clone, Debug, PartialEq)]
pub enum Shown {
    /// A single value on one line.
    Scalar(String),
    /// A list of records (or one record of a known shape) as a table; `count` is how many
    /// records there are in all.
    Table { count: usize, table: RecordTable },
    /// A list of plain values, capped: the items shown and how many more there are.
    Items { items: Vec<String>, more: usize },
    /// The argument as written in the runbook: its value is known only when the step runs.
    Written(String),
}

/// The rows a table shows before "and N more".
pub const TABLE_ROWS: usize = 10;
/// The items of a plain list shown before "and N more".
pub const LIST_ITEMS: usize = 20;

/// The model every renderer draws: each argument's name and how it is shown.
pub fn shown_arguments(action: &PlannedAction, max_rows: usize) -> Vec<(String, Shown)> {
    action
        .arguments
        .iter()
        .map(|(name, value)| (clean(name), show(value, action.resolved, max_rows)))
        .collect()
}

fn show(value: &serde_json::Value, resolved: bool, max_rows: usize) -> Shown {
    use serde_json::Value as Json;
    if !resolved {
        return Shown::Written(match value {
            Json::String(text) => clean(text),
            other => clean(&other.to_string()),
        });
    }
    match value {
        Json::Array(items) => match record_table(value, max_rows) {
            Some(table) => Shown::Table {
                count: items.len(),
                table,
            },
            None if items.is_empty() => Shown::Scalar("[] (none)".into()),
            None => Shown::Items {
                items: items.iter().take(LIST_ITEMS).map(cell).collect(),
                more: items.len().saturating_sub(LIST_ITEMS),
            },
        },
        Json::Object(_) => match table::known_shape(value) {
            Some(_) => Shown::Table {
                count: 1,
                table: record_table(&Json::Array(vec![value.clone()]), 1)
                    .expect("one record of a known shape makes a table"),
            },
            None => Shown::Scalar(cell(value)),
        },
        other => Shown::Scalar(cell(other)),
    }
}

/// One value as a single line of text: strings as they are (without quotes), `none` for null,
/// records and lists as compact `{k: v}` / `[a, b]`; control characters become spaces.
pub fn cell(value: &serde_json::Value) -> String {
    clean(&plain(value))
}

fn plain(value: &serde_json::Value) -> String {
    use serde_json::Value as Json;
    match value {
        Json::Null => "none".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        Json::Array(items) => {
            let inner: Vec<String> = items.iter().map(plain).collect();
            format!("[{}]", inner.join(", "))
        }
        Json::Object(fields) => {
            let inner: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", plain(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// Untrusted text on one line: newlines, tabs, escape sequences and other control characters
/// (which could move a terminal's cursor or fake a prompt) become spaces.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` cut to at most `width` display columns, ending in `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if display_width(text) <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

pub fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// "3 sessions", "1 record": what a table holds, named by its shape.
pub fn count_of(count: usize, table: &RecordTable) -> String {
    let (one, many) = table.noun;
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::value::{Secret, Value};

    #[test]
    fn a_call_is_planned_with_its_arguments_masked_as_the_journal_masks_them() {
        let mask = SecretMask::default();
        mask.learn("DB_URL", "postgres://app:hunter2-pw@db/orders");
        let call = ActionCall {
            action: "pg.execute".into(),
            effect: rbk_compiler::syntax::Effect::Destructive,
            returns_handle: None,
            returns: rbk_compiler::types::Ty::Int,
            args: vec![
                (
                    "url".into(),
                    Value::Secret(Secret::new("DB_URL", "postgres://app:hunter2-pw@db/orders")),
                ),
                (
                    "sql".into(),
                    Value::str("ALTER ROLE app PASSWORD 'hunter2-pw'"),
                ),
            ],
            run_id: "r1".into(),
        };
        let planned = PlannedAction::from_call(&call, &mask);
        assert_eq!(planned.call, "pg.execute");
        assert_eq!(planned.effect, "destructive");
        assert!(planned.is_destructive());
        assert_eq!(
            planned.arguments,
            vec![
                ("url".to_string(), json!("<secret DB_URL>")),
                (
                    "sql".to_string(),
                    json!("ALTER ROLE app PASSWORD '<secret DB_URL>'")
                ),
            ]
        );
    }

    #[test]
    fn a_planned_action_journaled_before_resolved_existed_reads_back_as_resolved() {
        let planned: PlannedAction = serde_json::from_value(
            json!({"call": "k8s.delete_pod", "effect": "destructive", "arguments": [["pod", "x"]]}),
        )
        .unwrap();
        assert!(planned.resolved);
    }

    #[test]
    fn control_characters_in_untrusted_text_cannot_reach_a_terminal() {
        assert_eq!(cell(&json!("a\nb\u{1b}[2Jc\td")), "a b [2Jc d");
    }

    #[test]
    fn truncation_counts_display_columns_and_marks_the_cut() {
        assert_eq!(truncate("SELECT 1", 20), "SELECT 1");
        assert_eq!(truncate("SELECT * FROM orders", 10), "SELECT * …");
        assert_eq!(display_width(&truncate("日本語のクエリ", 7)), 7);
    }

    #[test]
    fn a_single_record_of_a_known_shape_is_a_one_row_table_and_others_stay_one_line() {
        let pod = json!({"name": "api-1", "namespace": "prod", "phase": "Running", "restarts": 3,
                         "node": "n1", "created": "2026-12-01T10:00:00Z", "labels": {}});
        let action = PlannedAction {
            call: "k8s.delete_pod".into(),
            effect: "destructive".into(),
            arguments: vec![("pod".into(), pod), ("other".into(), json!({"a": 1}))],
            resolved: true,
        };
        let shown = shown_arguments(&action, 10);
        assert!(matches!(&shown[0].1, Shown::Table { count: 1, .. }));
        assert_eq!(shown[1].1, Shown::Scalar("{a: 1}".into()));
    }
}

//! The approval message in Slack's Block Kit: what a person must see to decide (the runbook,
//! the alert, the step, each action with its arguments and effect, the timeout) and the
//! Approve / Deny buttons; after the decision the same message with the buttons replaced by
//! the outcome. Alert text is untrusted: `&`, `<` and `>` are escaped as Slack asks, so a label
//! cannot mention `@channel` or forge a link.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One action of the step, as the approver sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionLine {
    /// The call, e.g. `pg.terminate`.
    pub call: String,
    /// `read`, `write` or `destructive`.
    pub effect: String,
    /// The action with its resolved arguments as Slack text, already escaped (PRESENT's
    /// `arguments_mrkdwn`); empty when only the call as written is known.
    pub arguments: String,
}

/// Everything the message shows; kept with the message's (channel, ts) in the store, so that
/// any process can redraw it with the outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalMessage {
    pub run_id: String,
    pub runbook: String,
    pub title: Option<String>,
    /// The run's alert as recorded (`name`, `labels`, ...); `None` for a run no alert started.
    pub alert: Option<Value>,
    pub step: String,
    pub step_title: Option<String>,
    pub group: Option<String>,
    pub quorum: u32,
    pub actions: Vec<ActionLine>,
    pub destructive: bool,
    pub timeout_ms: Option<u64>,
    /// `deny`, `approve` or `escalate`: what happens when nobody answers in time.
    pub on_timeout: String,
    pub digest: String,
    pub run_url: String,
    /// The values the approval must give (`ask { ... }`). Slack's buttons cannot carry them,
    /// so such a gate is approved on the run page or with `rbk approve --value`; the message
    /// says so and offers only Deny.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub asks: Vec<rbk_interpreter::asked_values::AskedValue>,
}

/// What a button carries back to us: which request and which plan the person saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ButtonValue {
    pub run: String,
    pub step: String,
    pub digest: String,
}

pub const APPROVE: &str = "approve";
pub const DENY: &str = "deny";

/// Slack's escaping for text it would otherwise read as markup.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

impl ApprovalMessage {
    /// The notification text (what a phone shows) for `chat.postMessage`.
    pub fn text(&self) -> String {
        format!(
            "Approval needed: {} / {} (run {})",
            escape(self.title.as_deref().unwrap_or(&self.runbook)),
            escape(&self.step),
            escape(&self.run_id)
        )
    }

    /// The message waiting for a decision: details and the two buttons.
    pub fn blocks(&self) -> Value {
        let mut blocks = self.details();
        blocks.push(self.buttons());
        Value::Array(blocks)
    }

    /// The message once decided (or timed out): the details, and the outcome where the
    /// buttons were, so that nothing stale can be clicked.
    pub fn blocks_with_outcome(&self, outcome: &str) -> Value {
        let mut blocks = self.details();
        blocks.push(json!({
            "type": "section",
            "block_id": "outcome",
            "text": {"type": "mrkdwn", "text": outcome},
        }));
        Value::Array(blocks)
    }

    /// The message while votes come in toward a quorum: buttons stay, with the count so far.
    pub fn blocks_with_progress(&self, progress: &str) -> Value {
        let mut blocks = self.details();
        blocks.push(json!({
            "type": "context",
            "block_id": "progress",
            "elements": [{"type": "mrkdwn", "text": progress}],
        }));
        blocks.push(self.buttons());
        Value::Array(blocks)
    }

    fn details(&self) -> Vec<Value> {
        let title = self.title.as_deref().unwrap_or(&self.runbook);
        let mut blocks = vec![json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(&format!("Approval needed: {title}"), 150)},
        })];
        let mut about = format!(
            "*Runbook:* `{}`  *Run:* <{}|{}>",
            escape(&self.runbook),
            escape(&self.run_url),
            escape(&self.run_id)
        );
        if let Some(alert) = &self.alert {
            about.push_str(&format!("\n*Alert:* {}", alert_text(alert)));
        }
        blocks.push(section(&about));
        let step_title = self
            .step_title
            .as_deref()
            .map(|t| format!(" — {}", escape(t)))
            .unwrap_or_default();
        let who = match &self.group {
            Some(group) => format!("{} of group `{}`", self.quorum.max(1), escape(group)),
            None => format!("{}", self.quorum.max(1)),
        };
        let mut step = format!(
            "*Step:* `{}`{step_title}\n*Approvals needed:* {who}",
            escape(&self.step)
        );
        if self.destructive {
            step.push_str("\n:warning: *This step is destructive.*");
        }
        blocks.push(section(&step));
        if !self.asks.is_empty() {
            let asked = self
                .asks
                .iter()
                .map(|a| format!("`{}` ({})", escape(&a.name), escape(&a.ty)))
                .collect::<Vec<_>>()
                .join(", ");
            let flags = self
                .asks
                .iter()
                .map(|a| format!("--value {}=…", escape(&a.name)))
                .collect::<Vec<_>>()
                .join(" ");
            blocks.push(section(&format!(
                ":memo: *The approval gives values:* {asked}. Slack cannot take them here: approve on the <{}|run page>, or with `rbk approve {} {} {flags}`.",
                escape(&self.run_url),
                escape(&self.run_id),
                escape(&self.step),
            )));
        }
        for action in &self.actions {
            if action.arguments.is_empty() {
                let text = format!("`{}` [{}]", escape(&action.call), escape(&action.effect));
                blocks.push(section(&text));
            } else {
                blocks.push(section(&action.arguments));
            }
        }
        let timeout = match self.timeout_ms {
            Some(ms) => format!(
                "Times out in {}; then: *{}*.",
                duration_text(ms),
                escape(&self.on_timeout)
            ),
            None => "No timeout: it waits until someone decides.".to_string(),
        };
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format!("{timeout} Plan digest `{}`.", short(&self.digest))}],
        }));
        blocks
    }

    fn buttons(&self) -> Value {
        let value = serde_json::to_string(&ButtonValue {
            run: self.run_id.clone(),
            step: self.step.clone(),
            digest: self.digest.clone(),
        })
        .unwrap_or_default();
        let mut approve = json!({
            "type": "button",
            "action_id": APPROVE,
            "text": {"type": "plain_text", "text": "Approve"},
            "value": value,
        });
        if self.destructive {
            approve["style"] = json!("danger");
            approve["confirm"] = json!({
                "title": {"type": "plain_text", "text": "Approve a destructive step?"},
                "text": {"type": "mrkdwn", "text": truncate(&format!(
                    "`{}` of run {} will act for real: {}.",
                    escape(&self.step),
                    escape(&self.run_id),
                    self.actions.iter().map(|a| format!("`{}`", escape(&a.call))).collect::<Vec<_>>().join(", ")
                ), 300)},
                "confirm": {"type": "plain_text", "text": "Approve"},
                "deny": {"type": "plain_text", "text": "Cancel"},
                "style": "danger",
            });
        } else {
            approve["style"] = json!("primary");
        }
        let deny = json!({
            "type": "button",
            "action_id": DENY,
            "text": {"type": "plain_text", "text": "Deny"},
            "value": value,
        });
        if !self.asks.is_empty() {
            // An Approve click could not carry the asked values: the decision path would
            // refuse it, so it is not offered.
            return json!({"type": "actions", "block_id": "decision", "elements": [deny]});
        }
        json!({"type": "actions", "block_id": "decision", "elements": [approve, deny]})
    }
}

fn section(text: &str) -> Value {
    // Slack refuses a section text longer than 3000 characters.
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}})
}

/// `DiskFull` and its labels, escaped.
fn alert_text(alert: &Value) -> String {
    let name = alert
        .get("name")
        .map(plain)
        .unwrap_or_else(|| "(unnamed)".to_string());
    let mut text = format!("*{}*", escape(&name));
    if let Some(labels) = alert.get("labels").and_then(Value::as_object) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(key, value)| format!("`{}={}`", escape(key), escape(&plain(value))))
            .collect();
        if !labels.is_empty() {
            text.push(' ');
            text.push_str(&labels.join(" "));
        }
    }
    text
}

/// A JSON value as a person reads it: strings without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn short(digest: &str) -> &str {
    let digest = digest.strip_prefix("sha256:").unwrap_or(digest);
    digest.get(..12).unwrap_or(digest)
}

fn duration_text(ms: u64) -> String {
    let seconds = ms / 1000;
    match seconds {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(destructive: bool) -> ApprovalMessage {
        ApprovalMessage {
            run_id: "r-1".into(),
            runbook: "pool".into(),
            title: Some("Pool <exhausted>".into()),
            alert: Some(json!({"name": "PoolHigh", "labels": {"db": "<script>&@channel"}})),
            step: "kill".into(),
            step_title: Some("Terminate idle sessions".into()),
            group: Some("dba".into()),
            quorum: 2,
            actions: vec![ActionLine {
                call: "pg.terminate".into(),
                effect: "destructive".into(),
                arguments: ":warning: *`pg.terminate`* — destructive\n• pids: `12, 13`".into(),
            }],
            destructive,
            timeout_ms: Some(15 * 60_000),
            on_timeout: "deny".into(),
            digest: "sha256:0123456789abcdef".into(),
            run_url: "http://rbk.example/runs/r-1".into(),
            asks: Vec::new(),
        }
    }

    fn buttons(blocks: &Value) -> &Vec<Value> {
        blocks
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "actions")
            .expect("an actions block")["elements"]
            .as_array()
            .unwrap()
    }

    #[test]
    fn alert_labels_are_escaped() {
        let text = message(false).blocks().to_string();
        assert!(text.contains("db=&lt;script&gt;&amp;@channel"), "{text}");
        assert!(!text.contains("<script>"), "{text}");
        assert_eq!(escape("a<b>&c"), "a&lt;b&gt;&amp;c");
    }

    #[test]
    fn the_buttons_carry_run_step_and_digest() {
        let blocks = message(false).blocks();
        let buttons = buttons(&blocks);
        assert_eq!(buttons[0]["action_id"], APPROVE);
        assert_eq!(buttons[1]["action_id"], DENY);
        let value: ButtonValue =
            serde_json::from_str(buttons[0]["value"].as_str().unwrap()).unwrap();
        assert_eq!(
            value,
            ButtonValue {
                run: "r-1".into(),
                step: "kill".into(),
                digest: "sha256:0123456789abcdef".into()
            }
        );
        assert!(buttons[0].get("confirm").is_none());
    }

    #[test]
    fn a_destructive_step_gets_a_danger_button_with_a_confirm_dialog() {
        let blocks = message(true).blocks();
        let approve = &buttons(&blocks)[0];
        assert_eq!(approve["style"], "danger");
        assert_eq!(approve["confirm"]["confirm"]["text"], "Approve");
        assert!(blocks.to_string().contains("destructive"));
    }

    #[test]
    fn the_decided_message_has_no_buttons_left() {
        let blocks = message(true).blocks_with_outcome("✅ approved by alice");
        assert!(blocks
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["type"] != "actions"));
        assert!(blocks.to_string().contains("✅ approved by alice"));
    }

    #[test]
    fn the_message_shows_actions_timeout_and_link() {
        let text = message(false).blocks().to_string();
        assert!(text.contains("• pids: `12, 13`"), "{text}");
        let mut written = message(false);
        written.actions[0].arguments.clear();
        let text_written = written.blocks().to_string();
        assert!(
            text_written.contains("`pg.terminate` [destructive]"),
            "{text_written}"
        );
        assert!(text.contains("Times out in 15m; then: *deny*"), "{text}");
        assert!(text.contains("<http://rbk.example/runs/r-1|r-1>"), "{text}");
        assert!(text.contains("Pool &lt;exhausted&gt;") || text.contains("Pool <exhausted>"));
    }

    #[test]
    fn a_gate_that_asks_values_says_where_to_give_them_and_offers_only_deny() {
        let mut asking = message(true);
        asking.asks = vec![rbk_interpreter::asked_values::AskedValue {
            name: "new_size".into(),
            ty: "int".into(),
        }];
        let blocks = asking.blocks();
        let elements = buttons(&blocks);
        assert_eq!(elements.len(), 1);
        assert_eq!(elements[0]["action_id"], DENY);
        let text = blocks.to_string();
        assert!(text.contains("`new_size` (int)"), "{text}");
        assert!(text.contains("--value new_size=…"), "{text}");
        assert!(text.contains(&asking.run_url), "{text}");
        let progress = asking.blocks_with_progress("1 of 2");
        assert_eq!(buttons(&progress).len(), 1);
    }
}

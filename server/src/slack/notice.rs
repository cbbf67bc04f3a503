//! The approval message's life from the run's side: posted when a run waits at a gate (once
//! per request and plan, however often the run is resumed), redrawn when the gate is decided
//! elsewhere or times out, and the run's end (and escalation) told in its thread.

use std::collections::BTreeMap;
use std::sync::Arc;

use rbk_compiler::plan::RunbookPlan;
use rbk_interpreter::approval::{ApprovalDecision, ApprovalRequest};
use rbk_interpreter::approvals::ApprovalNotice;
use rbk_interpreter::present::arguments_mrkdwn;
use rbk_interpreter::store::Store;
use rbk_interpreter::RunReport;
use serde_json::{json, Value};

use super::blocks::{ActionLine, ApprovalMessage};
use super::outcome::{decided_text, redraw_message, saved_message, Redraw, SavedMessage};
use super::{call_failed, notice_key, Slack};
use crate::log;

/// What the message says about the runbook, taken from its plan once per run.
#[derive(Clone, Debug, Default)]
pub struct RunContext {
    pub runbook: String,
    pub title: Option<String>,
    pub alert: Option<Value>,
    pub steps: BTreeMap<String, StepContext>,
}

#[derive(Clone, Debug, Default)]
pub struct StepContext {
    pub title: Option<String>,
    pub effect: String,
    /// The actions as written, with their effects (used until resolved arguments are known).
    pub actions: Vec<ActionLine>,
}

impl RunContext {
    pub fn from_plan(
        plan: Option<&RunbookPlan>,
        runbook: &str,
        alert: Option<Value>,
    ) -> RunContext {
        let Some(plan) = plan else {
            return RunContext {
                runbook: runbook.to_string(),
                alert,
                ..RunContext::default()
            };
        };
        let steps = plan
            .steps
            .iter()
            .map(|step| {
                let context = StepContext {
                    title: step.title.as_ref().map(|t| t.trim_matches('"').to_string()),
                    effect: step.effect.clone(),
                    actions: step
                        .actions
                        .iter()
                        .map(|action| ActionLine {
                            call: action.call.clone(),
                            effect: action.effect.clone(),
                            arguments: String::new(),
                        })
                        .collect(),
                };
                (step.name.clone(), context)
            })
            .collect();
        RunContext {
            runbook: plan.name.clone(),
            title: plan.title.clone(),
            alert,
            steps,
        }
    }

    /// The step a request is about: `kill` for `kill`, `kill#retry` and `kill#done`.
    fn step(&self, request_step: &str) -> StepContext {
        let name = request_step.split('#').next().unwrap_or(request_step);
        self.steps.get(name).cloned().unwrap_or_default()
    }
}

/// Posts and redraws approval messages for one run, beside another notice (the log line).
pub struct SlackNotice {
    pub slack: Arc<Slack>,
    pub store: Arc<dyn Store>,
    pub context: RunContext,
    pub also: Box<dyn ApprovalNotice>,
}

impl SlackNotice {
    pub fn message(&self, request: &ApprovalRequest) -> ApprovalMessage {
        let mut step = self.context.step(&request.step);
        // The calls the step will make with their resolved arguments, when the engine knows
        // them; otherwise the calls as written in the runbook.
        if !request.planned.is_empty() {
            step.actions = request
                .planned
                .iter()
                .map(|action| ActionLine {
                    call: action.call.clone(),
                    effect: action.effect.clone(),
                    arguments: arguments_mrkdwn(action),
                })
                .collect();
        }
        let destructive =
            step.effect == "destructive" || step.actions.iter().any(|a| a.effect == "destructive");
        ApprovalMessage {
            run_id: request.run_id.clone(),
            runbook: self.context.runbook.clone(),
            title: self.context.title.clone(),
            alert: self.context.alert.clone(),
            step: request.step.clone(),
            step_title: step.title.clone(),
            group: request.group.clone(),
            quorum: request.quorum,
            actions: step.actions.clone(),
            destructive,
            timeout_ms: request.timeout,
            on_timeout: on_timeout_text(request),
            digest: request.digest.clone(),
            run_url: self.slack.run_url(&request.run_id),
            asks: request.asks.clone(),
        }
    }
}

fn on_timeout_text(request: &ApprovalRequest) -> String {
    request.on_timeout.to_string()
}

impl ApprovalNotice for SlackNotice {
    fn waiting(&self, request: &ApprovalRequest) {
        self.also.waiting(request);
        let Some(channel) = self.slack.posts_approvals().map(str::to_string) else {
            return;
        };
        let message = self.message(request);
        let (slack, store) = (self.slack.clone(), self.store.clone());
        tokio::spawn(async move {
            post_once(&slack, store.as_ref(), &channel, message).await;
        });
    }

    fn decided(&self, request: &ApprovalRequest, decision: &ApprovalDecision) {
        self.also.decided(request, decision);
        if self.slack.posts_approvals().is_none() {
            return;
        }
        let text = decided_text(decision, &on_timeout_text(request));
        let (slack, store) = (self.slack.clone(), self.store.clone());
        let (run, step) = (request.run_id.clone(), request.step.clone());
        tokio::spawn(async move {
            redraw_message(&slack, store.as_ref(), &run, &step, &Redraw::Outcome(text)).await;
        });
    }
}

/// Posts the message unless one was posted for this request and plan already (a resumed run
/// asks again); remembers where it went so that any process can redraw it.
async fn post_once(slack: &Slack, store: &dyn Store, channel: &str, message: ApprovalMessage) {
    let run = message.run_id.clone();
    if let Some(saved) = saved_message(store, &run, &message.step).await {
        if saved.digest == message.digest {
            log::info(
                "slack_already_posted",
                json!({"run": run, "step": message.step, "channel": saved.channel, "ts": saved.ts}),
            );
            return;
        }
    }
    let posted = match slack
        .api
        .post(channel, &message.text(), Some(&message.blocks()), None)
        .await
    {
        Ok(posted) => posted,
        Err(error) => return call_failed("chat.postMessage", &run, &error),
    };
    let saved = SavedMessage {
        channel: posted.channel.clone(),
        ts: posted.ts.clone(),
        digest: message.digest.clone(),
        message,
    };
    let value = serde_json::to_value(&saved).unwrap_or(Value::Null);
    match store
        .save_notice(&run, &notice_key(&saved.message.step), &value)
        .await
    {
        Ok(()) => log::info(
            "slack_posted",
            json!({"run": run, "step": saved.message.step, "channel": saved.channel, "ts": saved.ts}),
        ),
        Err(error) => call_failed("saving where the message is", &run, &error),
    }
}

/// The run ended: its status and summary (and escalation) go into the thread of its first
/// approval message, if it has one.
pub async fn run_finished(
    slack: &Slack,
    store: &dyn Store,
    run: &str,
    steps: &[String],
    report: &RunReport,
) {
    if slack.posts_approvals().is_none() {
        return;
    }
    let mut thread = None;
    for step in steps {
        for name in [
            step.clone(),
            format!("{step}#retry"),
            format!("{step}#done"),
        ] {
            if thread.is_none() {
                thread = saved_message(store, run, &name).await;
            }
        }
    }
    let Some(thread) = thread else {
        return;
    };
    let mut lines = vec![format!(
        "Run <{}|{}> {}: {}",
        super::blocks::escape(&slack.run_url(run)),
        super::blocks::escape(run),
        report.status.as_str(),
        super::blocks::escape(&report.summary)
    )];
    if report.escalated {
        lines.push(":rotating_light: The run escalated (its `escalate` was sent).".to_string());
    }
    for line in lines {
        if let Err(error) = slack
            .api
            .post(&thread.channel, &line, None, Some(&thread.ts))
            .await
        {
            call_failed("chat.postMessage (thread)", run, &error);
        }
    }
}

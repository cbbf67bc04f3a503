//! `GET /runs/{id}`: one run — what waits for a person (with Approve/Deny forms), its steps
//! and their state as the journal tells it, the alert, the runbook's picture and the journal
//! with its hash chain checked as `rbk log --verify` checks it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, Markup};
use rbk_compiler::syntax::{ClauseKind, ItemKind};
use rbk_interpreter::audit::verify_run;
use rbk_interpreter::journal::{Event, EventKind};
use rbk_interpreter::store::RunRecord;
use serde::Deserialize;

use super::gates::{self, Gate};
use super::runs::shown_state;
use crate::log;
use crate::state::Server;
use crate::web::auth::{self, Viewer};
use crate::web::csrf;
use crate::web::layout::{self, state_class, Page};
use crate::web::store_trouble;

/// What the page says above everything after an action.
pub enum Notice {
    Done(String),
    Refused(String),
}

#[derive(Deserialize, Default)]
pub struct Shown {
    /// Set by the redirect after a decision: a fixed word, never free text from the link.
    #[serde(default)]
    notice: Option<String>,
}

pub async fn page(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(shown): Query<Shown>,
) -> Response {
    let viewer = match auth::page_viewer(&server, &headers, peer, log::now_ms()) {
        Ok(viewer) => viewer,
        Err(answer) => return *answer,
    };
    let notice = shown.notice.as_deref().and_then(|word| match word {
        "recorded" => Some(Notice::Done(
            "Your vote is recorded; the step waits for more approvals.".into(),
        )),
        "approved" => Some(Notice::Done("Approved: the run goes on.".into())),
        "denied" => Some(Notice::Done("Denied: the step will not run.".into())),
        "duplicate" => Some(Notice::Done("That vote was recorded already.".into())),
        _ => None,
    });
    render(&server, &viewer, &id, notice, StatusCode::OK).await
}

/// The run page for `viewer`, with `notice` on top, answered with `status`.
pub async fn render(
    server: &Server,
    viewer: &Viewer,
    id: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let record = match server.store.run(id).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            let body = html! {
                h1 { "No such run" }
                p.card { "There is no run " code { (id) } ". " a href="/" { "See all runs" } "." }
            };
            let page = Page {
                title: "No such run",
                viewer: Some(viewer),
                key: &server.settings.web.key,
                scripts: &[],
            };
            return layout::respond(StatusCode::NOT_FOUND, layout::render(page, body));
        }
        Err(error) => return store_trouble(&error),
    };
    let events = match server.store.events(&record.id).await {
        Ok(events) => events,
        Err(error) => return store_trouble(&error),
    };
    let answers = match server.store.run_answers(&record.id).await {
        Ok(answers) => answers,
        Err(error) => return store_trouble(&error),
    };
    let open = match gates::open(server, &record).await {
        Ok(open) => open,
        Err(error) => return store_trouble(&error),
    };
    let audit = verify_run(&record, &events, &answers);
    let catalog = server.catalog();
    let found = catalog.find(&record.file, &record.runbook);
    let (title, declared) = found
        .map(|(file, entry)| declared_steps(&file.program, entry.module, entry.item))
        .unwrap_or_default();
    let picture =
        found.and_then(|(file, entry)| gates::picture(&file.program, entry.module, entry.item));
    let state = shown_state(&record);
    let events_url = format!("/runs/{}/events?since={}", record.id, events.len());
    let body = html! {
        div data-events=(events_url) {
            p.muted { a href="/" { "← all runs" } }
            h1 {
                (title.as_deref().unwrap_or(&record.runbook)) " "
                span class=(state_class(state)) { (state) }
            }
            @match &notice {
                Some(Notice::Done(text)) => p.notice.ok role="status" { (text) },
                Some(Notice::Refused(text)) => p.notice.bad role="alert" { "Refused: " (text) },
                None => {},
            }
            // What waits for a person comes first: at 3 a.m. the decision is why they came.
            @for gate in &open {
                (gate_card(server, viewer, &record, gate))
            }
            div.card {
                dl.facts {
                    dt { "Run" } dd.mono { (record.id) }
                    dt { "Runbook" } dd { (record.runbook) }
                    dt { "Trigger" } dd { (record.trigger.describe()) }
                    dt { "Started by" } dd { (record.started_by) }
                    dt { "Started" } dd { (layout::time(record.started_at)) }
                    @if let Some(ended) = record.ended_at {
                        dt { "Ended" } dd { (layout::time(ended)) }
                    }
                    @if !record.summary.is_empty() {
                        dt { "Summary" } dd { (record.summary) }
                    }
                    @if record.dry_run || record.shadow {
                        dt { "Mode" } dd { "only reports writes (" (if record.dry_run { "dry run" } else { "shadow" }) ")" }
                    }
                }
            }
            h2 { "Steps" }
            (steps_table(&declared, &events))
            @if let Some(alert) = &record.alert {
                h2 { "Alert" }
                (alert_card(&plain_alert(alert)))
            }
            @if let Some(picture) = picture {
                h2 { "Runbook" }
                div.card.picture { (picture) }
            }
            h2 { "Journal" }
            @if audit.is_intact() {
                p.notice.ok { "The hash chain is intact: " (events.len()) " events, as the run record anchors them." }
            } @else {
                div.notice.bad role="alert" {
                    strong { "This journal cannot be trusted:" }
                    ul { @for finding in &audit.findings { li { (finding) } } }
                }
            }
            @for note in &audit.notes {
                p.muted { (note) }
            }
            (journal_table(&events))
        }
    };
    let page = Page {
        title: &record.runbook,
        viewer: Some(viewer),
        key: &server.settings.web.key,
        scripts: &["/assets/live.js"],
    };
    layout::respond(status, layout::render(page, body))
}

fn gate_card(server: &Server, viewer: &Viewer, record: &RunRecord, gate: &Gate) -> Markup {
    let destructive = gate.destructive();
    let class = if destructive {
        "card gate destructive"
    } else {
        "card gate"
    };
    html! {
        section class=(class) {
            @if gate.storm {
                h2 { "Held by the storm rule" }
                p { "Too many distinct alerts arrived at once, so this run did not start by itself. Approve to start it, deny to cancel it." }
            } @else {
                h2 { "Waiting for approval: " code { (gate.step) } }
                p {
                    (gate.approvals()) " of " (gate.quorum) " approval" (if gate.quorum == 1 { "" } else { "s" }) " needed"
                    @if let Some(group) = &gate.group { " from " strong { (group) } }
                    "."
                    @if let Some(deadline) = gate.deadline {
                        " Deadline " (layout::time(deadline)) ", then " (gate.on_timeout) "."
                    }
                }
            }
            @if !gate.planned.is_empty() {
                ul.actions {
                    @for action in &gate.planned {
                        li { (action.arguments) }
                    }
                }
            } @else if !gate.actions.is_empty() {
                ul.actions { @for action in &gate.actions { li { code { (action) } } } }
            }
            @if !gate.votes.is_empty() {
                p.muted {
                    "Votes: "
                    @for (index, vote) in gate.votes.iter().enumerate() {
                        @if index > 0 { ", " }
                        (vote.0) " " (if vote.1 { "approved" } else { "denied" })
                    }
                }
            }
            p.digest { "Plan digest " code { (gate.digest) } }
            @if let Viewer::Person(person) = viewer {
                @let token = csrf::token(&server.settings.web.key, &person.csrf_binding());
                div.decide {
                    @for (decision, label, class) in [("approve", "Approve", "approve"), ("deny", "Deny", "deny")] {
                        form method="post" action={ "/runs/" (record.id) "/decisions" } {
                            input type="hidden" name="step" value=(gate.step);
                            input type="hidden" name="decision" value=(decision);
                            input type="hidden" name="digest" value=(gate.digest);
                            input type="hidden" name="csrf" value=(token);
                            // An approval gives the values the gate asks for; a denial none.
                            @if decision == "approve" && !gate.asks.is_empty() {
                                fieldset.asked {
                                    legend { "The approval gives" }
                                    @for asked in &gate.asks {
                                        @let (kind, step, hint) = gates::value_input(asked);
                                        label {
                                            code { (asked.name) } " (" (asked.ty) ") "
                                            input type=(kind) name={ "value." (asked.name) } step=[step] placeholder=(hint) required;
                                        }
                                    }
                                }
                            }
                            button class=(class) type="submit" { (label) }
                        }
                    }
                }
            } @else {
                p.muted { a href="/login" { "Sign in" } " to approve or deny." }
            }
        }
    }
}

/// The runbook's title and its steps in declaration order.
fn declared_steps(
    program: &rbk_compiler::Analysis,
    module: rbk_compiler::resolve::ModuleId,
    item: usize,
) -> (Option<String>, Vec<String>) {
    let ItemKind::Runbook(runbook) = &program.module(module).ast.items[item].kind else {
        return (None, Vec::new());
    };
    let mut title = None;
    let mut steps = Vec::new();
    for clause in &runbook.clauses {
        match &clause.kind {
            ClauseKind::Title(text) => title = Some(text.value.clone()),
            ClauseKind::Step(step) => steps.push(step.name.name.clone()),
            _ => {}
        }
    }
    (title, steps)
}

/// Each step's last state in the journal, and how many attempts it took.
fn step_state(events: &[Event], step: &str) -> (&'static str, String) {
    let mut state = ("not reached", String::new());
    for event in events {
        let next = match &event.kind {
            EventKind::StepStarted { step: s, attempt } if s == step => (
                "running",
                if *attempt > 1 {
                    format!("attempt {attempt}")
                } else {
                    String::new()
                },
            ),
            EventKind::StepSucceeded { step: s } if s == step => ("succeeded", String::new()),
            EventKind::StepFailed { step: s, error } if s == step => ("failed", error.clone()),
            EventKind::StepRetrying { step: s, error, .. } if s == step => {
                ("retrying", error.clone())
            }
            EventKind::StepSkipped { step: s, condition } if s == step => {
                ("skipped", format!("when {condition} was false"))
            }
            EventKind::StepDenied { step: s } if s == step => ("denied", String::new()),
            EventKind::ApprovalRequested { step: s, .. } if s == step => {
                ("waiting", "for approval".into())
            }
            EventKind::ApprovalGranted {
                step: s,
                by,
                values,
                ..
            } if s == step => {
                let given = if values.is_empty() {
                    String::new()
                } else {
                    format!(" with {}", rbk_interpreter::asked_values::render(values))
                };
                ("approved", format!("by {}{given}", by.join(", ")))
            }
            EventKind::ApprovalDenied { step: s, by, .. } if s == step => {
                ("denied", format!("by {by}"))
            }
            EventKind::ApprovalTimedOut { step: s, outcome } if s == step => {
                ("timed out", outcome.clone())
            }
            EventKind::StepInDoubt { step: s, effect } if s == step => {
                ("in doubt", format!("{effect} action may have run"))
            }
            EventKind::StepMarkedDone { step: s, by } if s == step => {
                ("succeeded", format!("marked done by {}", by.join(", ")))
            }
            _ => continue,
        };
        state = next;
    }
    // The values the step was approved with stay on its row whatever happened next.
    let given = events.iter().rev().find_map(|event| match &event.kind {
        EventKind::ApprovalGranted {
            step: s,
            by,
            values,
            ..
        } if s == step && !values.is_empty() => Some(format!(
            "approved by {} with {}",
            by.join(", "),
            rbk_interpreter::asked_values::render(values)
        )),
        _ => None,
    });
    if let Some(given) = given {
        if state.1.is_empty() {
            state.1 = given;
        } else if !state.1.starts_with("by ") {
            state.1 = format!("{}; {given}", state.1);
        }
    }
    state
}

fn steps_table(declared: &[String], events: &[Event]) -> Markup {
    let mut steps: Vec<String> = declared.to_vec();
    for event in events {
        let step = match &event.kind {
            EventKind::StepStarted { step, .. } | EventKind::StepSkipped { step, .. } => step,
            _ => continue,
        };
        if !steps.contains(step) {
            steps.push(step.clone());
        }
    }
    html! {
        div.scroll {
            table.steps {
                thead { tr { th { "Step" } th { "State" } th { "Detail" } } }
                tbody {
                    @for step in &steps {
                        @let (state, detail) = step_state(events, step);
                        tr {
                            td { code { (step) } }
                            td { span class=(state_class(state)) { (state) } }
                            td.detail { (detail) }
                        }
                    }
                }
            }
        }
    }
}

/// The alert as the runbook reads it, not in the store's typed form (secrets by name only).
fn plain_alert(stored: &serde_json::Value) -> serde_json::Value {
    rbk_interpreter::Value::from_stored(stored, &|name| Some(format!("<secret {name}>")))
        .map(|value| value.to_json())
        .unwrap_or_else(|_| stored.clone())
}

/// Labels and annotations: untrusted text from whoever sent the alert, shown as text.
fn alert_card(alert: &serde_json::Value) -> Markup {
    let section = |name: &str| -> Vec<(String, String)> {
        alert
            .get(name)
            .and_then(|v| v.as_object())
            .map(|map| {
                map.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let labels = section("labels");
    let annotations = section("annotations");
    html! {
        div.card {
            dl.facts {
                @if let Some(status) = alert.get("status").and_then(|s| s.as_str()) {
                    dt { "status" } dd { (status) }
                }
                @for (name, value) in &labels {
                    dt { (name) } dd.alert-label { (value) }
                }
                @for (name, value) in &annotations {
                    dt { (name) } dd.alert-annotation { (value) }
                }
            }
        }
    }
}

fn journal_table(events: &[Event]) -> Markup {
    html! {
        div.scroll {
            table.journal {
                thead { tr { th { "#" } th { "Time" } th { "Event" } th.hide-narrow { "Detail" } } }
                tbody {
                    @for event in events {
                        @let (name, detail) = describe(&event.kind);
                        tr {
                            td { (event.seq) }
                            td { (layout::time(event.at)) }
                            td { code { (name) } }
                            td.detail.hide-narrow.mono { (detail) }
                        }
                    }
                }
            }
        }
    }
}

/// The event's name and its other fields as compact JSON.
fn describe(kind: &EventKind) -> (String, String) {
    let mut json = serde_json::to_value(kind).unwrap_or_default();
    let name = json
        .as_object_mut()
        .and_then(|object| object.remove("event"))
        .and_then(|name| name.as_str().map(str::to_string))
        .unwrap_or_default();
    (name, json.to_string())
}

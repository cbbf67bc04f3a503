//! `GET /`: the runs, those waiting for a person first; `?state=` and `?runbook=` filter.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::html;
use rbk_interpreter::store::{RunQuery, RunRecord, RunState};
use serde::Deserialize;

use crate::log;
use crate::state::Server;
use crate::web::auth;
use crate::web::layout::{self, age, state_class, Page};
use crate::web::store_trouble;

/// How many runs the list shows.
const SHOWN: usize = 200;

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    runbook: Option<String>,
}

pub async fn page(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(filters): Query<Filters>,
) -> Response {
    let now = log::now_ms();
    let viewer = match auth::page_viewer(&server, &headers, peer, now) {
        Ok(viewer) => viewer,
        Err(answer) => return *answer,
    };
    let state_filter = filters
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| RunState::parse(s).ok_or(s));
    let problem = match state_filter {
        Some(Err(unknown)) => Some(format!("`{unknown}` is not a state; showing every state")),
        _ => None,
    };
    let query = RunQuery {
        limit: SHOWN,
        state: state_filter.and_then(Result::ok),
        runbook: filters.runbook.clone().filter(|r| !r.trim().is_empty()),
    };
    let mut runs = match server.store.list_runs(&query).await {
        Ok(runs) => runs,
        Err(error) => return store_trouble(&error),
    };
    // Runs waiting for a person first, the rest as the store lists them (newest first).
    runs.sort_by_key(|run| !waits_for_a_person(run));
    let runbooks: std::collections::BTreeSet<String> = server
        .catalog()
        .runbooks
        .iter()
        .map(|r| r.name.clone())
        .collect();
    let body = html! {
        h1 { "Runs" }
        form.filters method="get" action="/" {
            label for="state" { "State" }
            select #state name="state" {
                option value="" { "any" }
                @for state in RunState::ALL {
                    option value=(state.as_str()) selected[query.state == Some(state)] { (state.as_str()) }
                }
            }
            label for="runbook" { "Runbook" }
            select #runbook name="runbook" {
                option value="" { "any" }
                @for name in &runbooks {
                    option value=(name) selected[query.runbook.as_deref() == Some(name.as_str())] { (name) }
                }
            }
            button type="submit" { "Filter" }
        }
        @if let Some(problem) = &problem {
            p.notice.bad { (problem) }
        }
        @if runs.is_empty() {
            p.card.muted { "No runs yet. Runs appear here when an alert, a schedule or a webhook starts one." }
        } @else {
            div.scroll {
                table.runs {
                    thead { tr {
                        th { "State" } th { "Runbook" } th { "Trigger" } th.hide-narrow { "Started by" } th { "Age" } th.hide-narrow { "Run" }
                    } }
                    tbody {
                        @for run in &runs {
                            @let state = shown_state(run);
                            tr {
                                td { span class=(state_class(state)) { (state) } }
                                td { a href={ "/runs/" (run.id) } { (run.runbook) } }
                                td { (run.trigger.describe()) }
                                td.hide-narrow { (run.started_by) }
                                td title=(layout::time(run.started_at)) { (age(now, run.started_at)) }
                                td.hide-narrow.mono { a href={ "/runs/" (run.id) } { (run.id) } }
                            }
                        }
                    }
                }
            }
        }
    };
    let page = Page {
        title: "Runs",
        viewer: Some(&viewer),
        key: &server.settings.web.key,
        scripts: &[],
    };
    layout::respond(StatusCode::OK, layout::render(page, body))
}

fn waits_for_a_person(run: &RunRecord) -> bool {
    matches!(run.state, RunState::Waiting | RunState::InDoubt)
}

/// `held` for a run the storm rule holds, else the state `rbk runs` shows.
pub fn shown_state(run: &RunRecord) -> &str {
    if run.held && run.state == RunState::Waiting {
        "held"
    } else {
        run.shown_status()
    }
}

//! The store's side of `/metrics`: runs by state and the queue's depth, read at scrape time.

use rbk_interpreter::store::{RunState, Store};

use crate::metrics::StoreGauges;

const STATES: [RunState; 9] = [
    RunState::Queued,
    RunState::Running,
    RunState::Waiting,
    RunState::Succeeded,
    RunState::Failed,
    RunState::Cancelled,
    RunState::Suppressed,
    RunState::Coalesced,
    RunState::InDoubt,
];

/// How many recent runs a scrape counts. The store has no count query yet (see the report):
/// past this many runs, the finished states undercount; queued and running ones are recent.
const SCRAPED_RUNS: usize = 100_000;

/// `None` when the store cannot be read: the scrape still shows this process's counters.
pub async fn read(store: &dyn Store) -> Option<StoreGauges> {
    let runs = store.runs(SCRAPED_RUNS).await.ok()?;
    let runs_by_state: Vec<(String, u64)> = STATES
        .iter()
        .map(|state| {
            let count = runs.iter().filter(|r| r.state == *state).count() as u64;
            (state.as_str().to_string(), count)
        })
        .collect();
    let queue_depth = runs
        .iter()
        .filter(|r| r.state == RunState::Queued)
        .count() as u64;
    Some(StoreGauges {
        runs_by_state,
        queue_depth,
    })
}

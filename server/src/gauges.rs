//! The store's side of `/metrics`: runs by state and the queue's depth, read at scrape time.

use rbk_interpreter::store::{RunQuery, RunState, Store};

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

/// The most runs of one state a scrape counts. The store has no count query (yet): past this
/// many, a finished state's gauge stays at this number; active states never get near it.
const COUNTED_PER_STATE: usize = 100_000;

/// `None` when the store cannot be read: the scrape still shows this process's counters.
pub async fn read(store: &dyn Store) -> Option<StoreGauges> {
    let mut runs_by_state = Vec::new();
    let mut queue_depth = 0;
    for state in STATES {
        let query = RunQuery {
            limit: COUNTED_PER_STATE,
            state: Some(state),
            runbook: None,
        };
        let count = store.list_runs(&query).await.ok()?.len() as u64;
        if state == RunState::Queued {
            queue_depth = count;
        }
        runs_by_state.push((state.as_str().to_string(), count));
    }
    Some(StoreGauges {
        runs_by_state,
        queue_depth,
    })
}

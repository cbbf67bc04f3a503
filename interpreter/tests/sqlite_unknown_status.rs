//! A `.rbk/rbk.db` whose `status` column holds a name this rbk does not know (a newer rbk wrote
//! it, or someone edited the file): every read of that run is a store error that names the
//! status, never a panic and never a guessed state this rbk could act on.

use rbk_interpreter::store::{RunQuery, RunState, SqliteStore, Store};

/// A store with two runs, `r-known` (succeeded) and `r-future` (status `paused`).
fn store_with_an_unknown_status(name: &str) -> SqliteStore {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "sqlite-unknown-status-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rbk.db");
    // Opening once writes the current schema; the rows then go in as another rbk would.
    drop(SqliteStore::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    for (id, status) in [("r-known", "succeeded"), ("r-future", "paused")] {
        raw.execute(
            "INSERT INTO rbk_runs (id, file, runbook, started_by, started_at, status, summary, \
             digest, inputs, limit_key) VALUES (?1, 'db.rbk', 'failover', 'alice', 1, ?2, '', \
             'd', '{}', '')",
            [id, status],
        )
        .unwrap();
    }
    drop(raw);
    SqliteStore::open(&path).unwrap()
}

#[tokio::test]
async fn reading_a_run_with_an_unknown_status_is_an_error_naming_it() {
    let store = store_with_an_unknown_status("read");
    let known = store.run("r-known").await.unwrap().expect("the known run");
    assert_eq!(known.state, RunState::Succeeded);

    let error = store.run("r-future").await.unwrap_err();
    assert!(
        error.to_string().contains("unknown run status `paused`"),
        "unclear error: {error}"
    );
    let everything = RunQuery {
        limit: 10,
        ..RunQuery::default()
    };
    let error = store.list_runs(&everything).await.unwrap_err();
    assert!(
        error.to_string().contains("unknown run status `paused`"),
        "unclear error: {error}"
    );
}

#[tokio::test]
async fn a_run_with_an_unknown_status_is_not_moved_to_another_state() {
    let store = store_with_an_unknown_status("move");
    let error = store
        .set_state("r-future", RunState::Cancelled, "cancelled by hand")
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("run r-future")
            && error.to_string().contains("unknown run status `paused`"),
        "unclear error: {error}"
    );
    let raw_status: String = {
        // The refused move left the row as it was.
        let store_path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "sqlite-unknown-status-move-{}/rbk.db",
            std::process::id()
        ));
        rusqlite::Connection::open(store_path)
            .unwrap()
            .query_row(
                "SELECT status FROM rbk_runs WHERE id = 'r-future'",
                [],
                |row| row.get(0),
            )
            .unwrap()
    };
    assert_eq!(raw_status, "paused");
}

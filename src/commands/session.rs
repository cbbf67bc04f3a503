//! What the run-related commands share: who is acting, which store, which project file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rbk_compiler::config::ProjectConfig;
use rbk_compiler::project::ProjectError;
use rbk_interpreter::audit::{verify_run, Audit};
use rbk_interpreter::identity::normalize_person;
use rbk_interpreter::journal::Event;
use rbk_interpreter::store::{
    MemoryStore, PostgresStore, RunRecord, SqliteStore, Store, StoreError,
};

use crate::workspace;

/// `--as USER`, else `$RBK_USER`, else the OS user, in normal form (`Bob ` is `bob`): the local
/// user's word, not an authenticated identity (docs/trust.md).
pub fn acting_user(as_user: Option<&str>) -> String {
    as_user
        .map(str::to_string)
        .or_else(|| std::env::var("RBK_USER").ok())
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .map(|u| normalize_person(&u))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The project file that governs `near` (a runbook file, or the current directory).
pub fn project(near: &Path) -> Result<(Option<PathBuf>, ProjectConfig), ProjectError> {
    let probe = if near.is_dir() {
        near.join("rbk.toml")
    } else {
        near.to_path_buf()
    };
    let found = if probe.ends_with("rbk.toml") && probe.is_file() {
        Some(probe)
    } else {
        workspace::find_config(&probe)
    };
    match found {
        Some(path) => Ok((Some(path.clone()), workspace::load_config(&path)?)),
        None => Ok((None, ProjectConfig::default())),
    }
}

/// `--store`, else `$RBK_STORE`, else rbk.toml's `[store] url`, else `.rbk/rbk.db` beside the
/// project's rbk.toml (or in the current directory when there is none). `memory` keeps nothing.
pub async fn open_store(
    store: Option<&str>,
    project_file: Option<&Path>,
) -> Result<Arc<dyn Store>, SessionError> {
    let base = project_file
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    // rbk.toml `[store] url`: a postgres:// URL, `memory`, or a SQLite path relative to rbk.toml.
    let configured = match project_file {
        Some(path) => workspace::load_config(path)?
            .store
            .and_then(|s| s.url)
            .map(|url| {
                let is_path = !url.contains("://") && url != "memory" && url != ":memory:";
                if is_path {
                    base.join(url).display().to_string()
                } else {
                    url
                }
            }),
        None => None,
    };
    let location = store
        .map(str::to_string)
        .or_else(|| std::env::var("RBK_STORE").ok())
        .or(configured);
    match location {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store =
                PostgresStore::connect(&url)
                    .await
                    .map_err(|source| SessionError::Store {
                        location: url.clone(),
                        source,
                    })?;
            Ok(Arc::new(store))
        }
        // Keeps nothing: for trying a runbook out, and for measuring the engine without I/O.
        Some(memory) if memory == "memory" || memory == ":memory:" => {
            Ok(Arc::new(MemoryStore::new()))
        }
        Some(url) if url_scheme(&url).is_some() => Err(SessionError::UnknownScheme {
            scheme: url_scheme(&url).unwrap_or_default().to_string(),
            url,
        }),
        Some(path) => open_sqlite(Path::new(&path)),
        None => open_sqlite(&base.join(".rbk").join("rbk.db")),
    }
}

/// `SCHEME` when `location` looks like `SCHEME://...` (RFC 3986 scheme characters), so that a
/// mistyped URL is refused instead of becoming a SQLite file named after it.
fn url_scheme(location: &str) -> Option<&str> {
    let (scheme, _) = location.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

fn open_sqlite(path: &Path) -> Result<Arc<dyn Store>, SessionError> {
    SqliteStore::open(path)
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|source| SessionError::Store {
            location: path.display().to_string(),
            source,
        })
}

pub fn runtime() -> Result<tokio::runtime::Runtime, SessionError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(SessionError::Runtime)
}

/// Why a run-related command cannot get going: its project, its store, its run.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    /// The store at `location` cannot be opened.
    #[error("store {location}: {source}")]
    Store {
        location: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "store `{url}`: unknown scheme `{scheme}://`; a store is a SQLite file path, a postgres:// (or postgresql://) URL, or `memory`"
    )]
    UnknownScheme { url: String, scheme: String },
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The store is open but cannot answer.
    #[error(transparent)]
    Read(#[from] StoreError),
    #[error("there is no run `{id}` in this store (see `rbk runs`)")]
    NoSuchRun { id: String },
}

/// The store of the project around the current directory (or the one `--store` names).
pub async fn store_here(store: Option<&str>) -> Result<Arc<dyn Store>, SessionError> {
    let project_file = project(Path::new(".")).ok().and_then(|(path, _)| path);
    open_store(store, project_file.as_deref()).await
}

/// That store, and the run `id` (or a unique prefix of it) in it.
/// A run's journal, checked against its record and its answer rows as `rbk log --verify`
/// checks it: what `rbk log`, `rbk log --export` and `rbk resume` act on.
pub async fn audited_journal(
    store: &dyn Store,
    record: &RunRecord,
) -> Result<(Vec<Event>, Audit), StoreError> {
    let events = store.events(&record.id).await?;
    let answers = store.run_answers(&record.id).await?;
    let audit = verify_run(record, &events, &answers);
    Ok((events, audit))
}

pub async fn find_run(
    store: Option<&str>,
    id: &str,
) -> Result<(Arc<dyn Store>, RunRecord), SessionError> {
    let store = store_here(store).await?;
    match store.run(id).await {
        Ok(Some(record)) => Ok((store, record)),
        Ok(None) => Err(SessionError::NoSuchRun { id: id.to_string() }),
        Err(error) => Err(error.into()),
    }
}

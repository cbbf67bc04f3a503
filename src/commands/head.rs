//! `rbk log RUN --export`: the run's journal head (event count and last hash), checked first
//! and signed with an HMAC when rbk.toml names a key, to keep outside the store. A journal
//! and record rewritten consistently by someone who can write to the store pass every check
//! a store can make on itself; compared with a head kept elsewhere (`rbk log RUN --verify
//! --anchor FILE`), they do not.

use std::path::Path;

use rbk_interpreter::audit::ExportedHead;

use super::check::usage_error;
use super::session;
use crate::exit;

/// The HMAC key for heads: the environment variable rbk.toml's `[audit] head_key_env` names,
/// `None` when it names none. Named but unset is an error: a head meant to be signed must not
/// silently go out unsigned.
pub fn head_key() -> Result<Option<Vec<u8>>, HeadKeyError> {
    let (project_file, config) = session::project(Path::new("."))?;
    let Some(name) = config.audit.and_then(|a| a.head_key_env) else {
        return Ok(None);
    };
    match std::env::var(&name) {
        Ok(key) if !key.is_empty() => Ok(Some(key.into_bytes())),
        _ => Err(HeadKeyError::Unset {
            project_file: project_file
                .as_deref()
                .map_or("rbk.toml".to_string(), |p| p.display().to_string()),
            variable: name,
        }),
    }
}

/// Why there is no key to sign or check heads with.
#[derive(Debug, thiserror::Error)]
pub enum HeadKeyError {
    #[error(transparent)]
    Project(#[from] rbk_compiler::project::ProjectError),
    /// rbk.toml names a variable that is not set.
    #[error(
        "{project_file} names ${variable} as the key for signing journal heads, but it is not set\n  help: set {variable} (the same key later checks the head), or remove [audit] head_key_env"
    )]
    Unset {
        project_file: String,
        variable: String,
    },
}

pub fn export(run: &str, store: Option<&str>) -> u8 {
    let key = match head_key() {
        Ok(key) => key,
        Err(message) => return usage_error(&message),
    };
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    runtime.block_on(async {
        let (store, record) = match session::find_run(store, run).await {
            Ok(found) => found,
            Err(message) => return usage_error(&message),
        };
        // A head vouches for the journal up to it: never export one for a journal that
        // does not verify.
        let (events, audit) = match session::audited_journal(store.as_ref(), &record).await {
            Ok(journal) => journal,
            Err(message) => return usage_error(&message),
        };
        if !audit.is_intact() {
            for finding in &audit.findings {
                eprintln!("TAMPERED: {finding}");
            }
            eprintln!("no head exported: run {} does not verify", record.id);
            return exit::FINDINGS;
        }
        let head = ExportedHead::of(&record.id, &events, key.as_deref());
        println!(
            "{}",
            serde_json::to_string(&head).unwrap_or_else(|_| "{}".to_string())
        );
        exit::OK
    })
}

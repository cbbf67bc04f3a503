//! `rbk token create --as NAME`: makes a person's web/API token, stores only its SHA-256 hash
//! in rbk.toml's `[people.NAME] tokens` (the file's comments and layout kept) and prints the
//! token once, as the last line.

use std::path::{Path, PathBuf};

use rbk_compiler::config::{token_hash, ProjectConfig};
use rbk_interpreter::identity::{normalize_person, same_person};
use toml_edit::{Array, DocumentMut, Item, Table};

use super::check::usage_error;
use super::session;
use crate::exit;

pub struct TokenArgs {
    pub as_person: String,
    pub config: Option<PathBuf>,
}

pub fn create(args: TokenArgs) -> u8 {
    let name = args.as_person.trim().to_string();
    if normalize_person(&name).is_empty() {
        return usage_error("--as needs a person's name: it was blank");
    }
    let path = match &args.config {
        Some(path) => path.clone(),
        None => match session::project(Path::new(".")) {
            Ok((Some(path), _)) => path,
            Ok((None, _)) => {
                return usage_error(
                    "no rbk.toml here or in a directory above: run this in the project, or name the file with --config PATH",
                )
            }
            Err(message) => return usage_error(&message),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => return usage_error(format!("{}: {error}", path.display())),
    };
    let token = match new_token() {
        Ok(token) => token,
        Err(message) => return usage_error(&message),
    };
    let (updated, person, created) = match add_token_hash(&text, &name, &token_hash(&token)) {
        Ok(done) => done,
        Err(message) => return usage_error(format!("{}: {message}", path.display())),
    };
    if let Err(error) = write_replacing(&path, &updated) {
        return usage_error(format!("cannot write {}: {error}", path.display()));
    }
    if created {
        println!(
            "{} had no [people.{person}]: added it (add the person to an [approvers] group so their votes count)",
            path.display()
        );
    }
    println!(
        "added a token for {person} to {} (only its hash is stored; the token is shown this once)",
        path.display()
    );
    println!("{token}");
    exit::OK
}

/// `rbk_` and 32 random bytes as hex: long enough that guessing is hopeless.
fn new_token() -> Result<String, TokenError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(TokenError::Random)?;
    Ok(format!(
        "rbk_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// rbk.toml's text with `hash` added to the person's tokens; the person's key as written in
/// the file (an existing spelling of the same person wins), and whether the entry was new.
fn add_token_hash(
    text: &str,
    name: &str,
    hash: &str,
) -> Result<(String, String, bool), TokenError> {
    let mut document: DocumentMut = text.parse().map_err(TokenError::NotToml)?;
    if !document.contains_key("people") {
        let mut people = Table::new();
        people.set_implicit(true);
        document.insert("people", Item::Table(people));
    }
    let people = document["people"]
        .as_table_like_mut()
        .ok_or(TokenError::PeopleNotATable)?;
    let existing = people
        .iter()
        .map(|(key, _)| key.to_string())
        .find(|key| same_person(key, name));
    let created = existing.is_none();
    let key = existing.unwrap_or_else(|| name.to_string());
    if created {
        people.insert(&key, Item::Table(Table::new()));
    }
    let person = people
        .get_mut(&key)
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| TokenError::PersonNotATable { key: key.clone() })?;
    if person.get("tokens").is_none() {
        person.insert("tokens", toml_edit::value(Array::new()));
    }
    let tokens = person
        .get_mut("tokens")
        .and_then(Item::as_array_mut)
        .ok_or_else(|| TokenError::TokensNotAList { key: key.clone() })?;
    tokens.push(hash);
    let updated = document.to_string();
    ProjectConfig::parse(&updated).map_err(TokenError::WouldBeInvalid)?;
    Ok((updated, key, created))
}

/// Why no token was added.
#[derive(Debug, thiserror::Error)]
enum TokenError {
    // getrandom 0.2's error is a `std::error::Error` only with its `std` feature: kept, not
    // chained as a source.
    #[error("the system's random generator failed: {0}")]
    Random(getrandom::Error),
    /// rbk.toml is not TOML (the parser's report, without its trailing line break).
    #[error("{}", .0.to_string().trim_end())]
    NotToml(#[source] toml_edit::TomlError),
    #[error("`people` is not a table: write [people.NAME] entries")]
    PeopleNotATable,
    #[error("[people.{key}] is not a table")]
    PersonNotATable { key: String },
    #[error("[people.{key}] tokens is not a list")]
    TokensNotAList { key: String },
    #[error("the file would not be a valid rbk.toml after adding the token: {0}")]
    WouldBeInvalid(#[source] rbk_compiler::config::ConfigError),
}

/// Writes beside the file and renames over it, so that a crash leaves the old file or the new
/// one, never half of one.
fn write_replacing(path: &Path, text: &str) -> std::io::Result<()> {
    let temporary = path.with_extension("toml.rbk-tmp");
    std::fs::write(&temporary, text)?;
    if let Ok(metadata) = std::fs::metadata(path) {
        std::fs::set_permissions(&temporary, metadata.permissions())?;
    }
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_hash_and_keeps_comments() {
        let text = "# who may approve\n[approvers]\ndba = [\"alice\"] # the DBAs\n";
        let (updated, person, created) = add_token_hash(text, "alice", "sha256:ab").unwrap();
        assert!(created);
        assert_eq!(person, "alice");
        assert!(
            updated.starts_with("# who may approve\n[approvers]\ndba = [\"alice\"] # the DBAs\n"),
            "{updated}"
        );
        assert!(
            updated.contains("[people.alice]\ntokens = [\"sha256:ab\"]"),
            "{updated}"
        );
        assert!(!updated.contains("[people]\n"), "{updated}");
    }

    #[test]
    fn a_second_token_joins_the_first_under_the_spelling_in_the_file() {
        let text = "[people.Alice]\ntokens = [\"sha256:01\"]\n";
        let (updated, person, created) = add_token_hash(text, "alice ", "sha256:02").unwrap();
        assert!(!created);
        assert_eq!(person, "Alice");
        assert!(
            updated.contains("tokens = [\"sha256:01\", \"sha256:02\"]"),
            "{updated}"
        );
    }

    #[test]
    fn a_made_token_is_found_by_its_stored_hash() {
        let (updated, _, _) = add_token_hash("", "alice", &token_hash("rbk_abc")).unwrap();
        let config = ProjectConfig::parse(&updated).unwrap();
        assert_eq!(config.person_by_token("rbk_abc"), Some("alice"));
        let token = new_token().unwrap();
        assert!(token.starts_with("rbk_") && token.len() == 68, "{token}");
        assert_ne!(token, new_token().unwrap());
    }
}

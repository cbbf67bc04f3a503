//! `rbk.toml`, the project file: approver groups (and, later, integrations and the store).
//! Parsing only; finding and reading the file is the caller's job.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct ProjectConfig {
    /// Group name to the users in it.
    #[serde(default)]
    pub approvers: BTreeMap<String, Vec<String>>,
}

impl ProjectConfig {
    /// Parses the text of an `rbk.toml`; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<ProjectConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }
}

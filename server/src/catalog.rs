//! The runbooks a server runs: every checked file under its paths, with the rbk.toml settings
//! each needs (approver groups, integrations), and an index of their triggers. Replaced whole
//! on SIGHUP, so a run always sees one consistent set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rbk_compiler::config::{Integrations, ProjectConfig};
use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::{runbook_mode, ClauseKind, ItemKind, RunMode, Trigger};
use rbk_compiler::Analysis;
use rbk_interpreter::secret_sources::ProjectEnvironment;
use rbk_stdlib::natives::NativeActions;

/// One checked file: its own program, so that a run's digest covers exactly what it uses.
pub struct LoadedFile {
    /// Absolute, as run records name it.
    pub path: PathBuf,
    pub program: Analysis,
    /// `None` when no rbk.toml governs the file: then nobody can approve.
    pub approver_groups: Option<BTreeMap<String, Vec<String>>>,
    pub integrations: Integrations,
    /// Where its runs' `env()` and `secret()` read, and its integrations' credentials: the
    /// process environment, then its rbk.toml's secret files.
    pub environment: Arc<ProjectEnvironment>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TriggerSpec {
    Alert(String),
    Schedule(String),
    Manual,
}

#[derive(Clone, Debug)]
pub struct RunbookEntry {
    /// Index into `Catalog::files`.
    pub file: usize,
    pub module: ModuleId,
    pub item: usize,
    pub name: String,
    pub trigger: TriggerSpec,
    /// `mode shadow`: alert and schedule starts only report writes.
    pub shadow: bool,
}

pub struct Catalog {
    pub files: Vec<LoadedFile>,
    pub runbooks: Vec<RunbookEntry>,
    /// The standard library's actions with each file's integrations, beside `files`.
    pub natives: Vec<NativeActions>,
    /// The rbk.toml `rbk serve` was started under: its people (and their tokens) and `[web]`.
    /// Read again with the runbooks on SIGHUP, so a new token works without a restart.
    pub project: ProjectConfig,
}

impl Catalog {
    pub fn new(files: Vec<LoadedFile>) -> Catalog {
        let mut runbooks = Vec::new();
        for (index, file) in files.iter().enumerate() {
            for &root in &file.program.roots {
                let module = file.program.module(root);
                for (item, node) in module.ast.items.iter().enumerate() {
                    let ItemKind::Runbook(runbook) = &node.kind else {
                        continue;
                    };
                    let trigger = runbook
                        .clauses
                        .iter()
                        .find_map(|c| match &c.kind {
                            ClauseKind::Trigger(Trigger::Alert { name, .. }) => {
                                Some(TriggerSpec::Alert(name.value.clone()))
                            }
                            ClauseKind::Trigger(Trigger::Schedule(cron)) => {
                                Some(TriggerSpec::Schedule(cron.value.clone()))
                            }
                            _ => None,
                        })
                        .unwrap_or(TriggerSpec::Manual);
                    runbooks.push(RunbookEntry {
                        file: index,
                        module: root,
                        item,
                        name: runbook.name.name.clone(),
                        trigger,
                        shadow: runbook_mode(runbook) == RunMode::Shadow,
                    });
                }
            }
        }
        let natives = files
            .iter()
            .map(|f| NativeActions::for_project(&f.integrations, f.environment.clone()))
            .collect();
        Catalog {
            files,
            runbooks,
            natives,
            project: ProjectConfig::default(),
        }
    }

    /// The runbook a run record names (its file, as recorded, and its name).
    pub fn find(&self, file: &str, runbook: &str) -> Option<(&LoadedFile, &RunbookEntry)> {
        let wanted = std::fs::canonicalize(file).unwrap_or_else(|_| PathBuf::from(file));
        self.runbooks
            .iter()
            .find(|r| r.name == runbook && same_file(&self.files[r.file].path, &wanted))
            .map(|r| (&self.files[r.file], r))
    }

    /// With the people and `[web]` of the project's rbk.toml.
    pub fn with_project(mut self, project: ProjectConfig) -> Catalog {
        self.project = project;
        self
    }

    pub fn file(&self, entry: &RunbookEntry) -> &LoadedFile {
        &self.files[entry.file]
    }

    pub fn natives(&self, entry: &RunbookEntry) -> &NativeActions {
        &self.natives[entry.file]
    }

    pub fn alert_runbooks(&self) -> impl Iterator<Item = (&RunbookEntry, &str)> {
        self.runbooks.iter().filter_map(|r| match &r.trigger {
            TriggerSpec::Alert(name) => Some((r, name.as_str())),
            _ => None,
        })
    }

    pub fn scheduled_runbooks(&self) -> impl Iterator<Item = (&RunbookEntry, &str)> {
        self.runbooks.iter().filter_map(|r| match &r.trigger {
            TriggerSpec::Schedule(cron) => Some((r, cron.as_str())),
            _ => None,
        })
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
}

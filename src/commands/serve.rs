//! `rbk serve [PATHS]`: finds and checks the runbooks, resolves `[serve]`, opens the store and
//! hands everything to the rbk-server crate. Refuses to start when a runbook does not check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rbk_compiler::check;
use rbk_compiler::config::ProjectConfig;
use rbk_interpreter::secret_sources::ProjectEnvironment;
use rbk_server::slack::SlackSettings;
use rbk_server::{Catalog, LoadError, LoadedFile, Loader, Overrides, Settings};

use super::check::{summary, usage_error};
use super::{render, session};
use crate::exit;
use crate::workspace::{self, FileLoader};

pub struct ServeArgs {
    pub paths: Vec<PathBuf>,
    pub listen: Option<String>,
    pub store: Option<String>,
    pub workers: Option<usize>,
}

pub fn run(args: ServeArgs) -> u8 {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (project_file, config) = match session::project(&paths[0]) {
        Ok(found) => found,
        Err(message) => return usage_error(&message),
    };
    let overrides = Overrides {
        listen: args.listen.clone(),
        workers: args.workers,
    };
    let env = |name: &str| std::env::var(name).ok();
    let mut settings = match Settings::resolve(config.serve.as_ref(), &overrides, &env)
        .and_then(|settings| settings.resolve_web(config.web.as_ref(), &env))
    {
        Ok(settings) => settings,
        Err(refusal) => return usage_error(&refusal.0),
    };
    settings.slack = match SlackSettings::resolve(
        config.integrations.slack.as_ref(),
        slack_people(&config),
        settings.web.base_url.clone(),
        &env,
    ) {
        Ok(slack) => slack,
        Err(refusal) => return usage_error(&refusal),
    };
    let catalog = match load(&paths, project_file.as_deref()) {
        Ok(catalog) => catalog,
        Err(LoadError::Project(error)) => return usage_error(&error),
        Err(report) => {
            print!("{report}");
            println!("error: the runbooks do not check; rbk serve did not start");
            return exit::FINDINGS;
        }
    };
    let reload_paths = paths.clone();
    let reload_project = project_file.clone();
    let loader: Loader = Arc::new(move || load(&reload_paths, reload_project.as_deref()));
    let runtime = match session::runtime() {
        Ok(runtime) => runtime,
        Err(message) => return usage_error(&message),
    };
    runtime.block_on(async {
        let store = match session::open_store(args.store.as_deref(), project_file.as_deref()).await
        {
            Ok(store) => store,
            Err(message) => return usage_error(&message),
        };
        match rbk_server::serve(settings, store, catalog, loader).await {
            Ok(()) => exit::OK,
            Err(message) => usage_error(&message),
        }
    })
}

/// Every `.rbk` file under `paths`, each checked as its own program (so that a run's digest
/// covers exactly the file and the modules it uses), with its rbk.toml's groups and
/// integrations; and every schedule a valid cron pattern. `project` is the rbk.toml the server
/// started under: its people and `[web]` go with the runbooks.
fn load(paths: &[PathBuf], project: Option<&Path>) -> Result<Catalog, LoadError> {
    let files = workspace::collect_sources(paths)?;
    let count = files.len();
    let mut loaded = Vec::new();
    let mut report = String::new();
    let (mut errors, mut warnings) = (0, 0);
    for (config_path, group) in workspace::group_by_config(files) {
        let config = match &config_path {
            Some(path) => Some(workspace::load_config(path)?),
            None => None,
        };
        let options = rbk_stdlib::check_options(config.as_ref());
        let environment = Arc::new(ProjectEnvironment::of_project(
            config_path.as_deref(),
            &config.clone().unwrap_or_default(),
        ));
        for file in group {
            let text = workspace::read_source(&file)?;
            let program = check(vec![(file.clone(), text)], &FileLoader, &options);
            for diagnostic in &program.diagnostics {
                if diagnostic.is_error() {
                    errors += 1;
                } else {
                    warnings += 1;
                }
                report.push_str(&render::human(&program, diagnostic));
                report.push('\n');
            }
            loaded.push(LoadedFile {
                path: absolute(&file),
                program,
                approver_groups: options.approver_groups.clone(),
                integrations: config
                    .as_ref()
                    .map(|c| c.integrations.clone())
                    .unwrap_or_default(),
                environment: environment.clone(),
            });
        }
    }
    if errors > 0 {
        report.push_str(&summary(errors, warnings, count));
        report.push('\n');
        return Err(LoadError::Findings(report));
    }
    let project = match project {
        Some(path) => workspace::load_config(path)?,
        None => Default::default(),
    };
    let catalog = Catalog::new(loaded).with_project(project);
    rbk_server::scheduler::validate(&catalog)?;
    Ok(catalog)
}

/// Slack user id to person (`[people.NAME] slack`): who clicked is known by id only.
fn slack_people(config: &ProjectConfig) -> BTreeMap<String, String> {
    config
        .people
        .iter()
        .filter_map(|(name, person)| {
            let id = person.slack.as_deref()?.trim();
            (!id.is_empty()).then(|| (id.to_string(), name.clone()))
        })
        .collect()
}

fn absolute(file: &Path) -> PathBuf {
    std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf())
}

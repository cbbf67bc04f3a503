//! The files a command works on, through the compiler's one project loader
//! ([`rbk_compiler::project`], shared with the language server): this binary's standard
//! library; the errors stay [`ProjectError`]s until a command prints them.

use std::path::{Path, PathBuf};

use rbk_compiler::config::ProjectConfig;
use rbk_compiler::project::{self, ProjectError, ProjectLoader};
use rbk_compiler::ModuleLoader;

pub use rbk_compiler::project::{describe_io, find_config, group_by_config};

/// The project loader with no open buffers: `std.*` from the binary, local modules from disk.
pub fn disk_loader() -> ProjectLoader {
    ProjectLoader::new(rbk_stdlib::MODULES)
}

/// [`disk_loader`] where the compiler takes a loader by name.
pub struct FileLoader;

impl ModuleLoader for FileLoader {
    fn std_module(&self, name: &str) -> Option<String> {
        disk_loader().std_module(name)
    }

    fn std_module_names(&self) -> Vec<String> {
        disk_loader().std_module_names()
    }

    fn local_module(
        &self,
        from: &Path,
        relative: &str,
    ) -> Result<(PathBuf, String), rbk_compiler::ModuleUnavailable> {
        disk_loader().local_module(from, relative)
    }

    fn special_file(&self, path: &Path) -> Option<&'static str> {
        disk_loader().special_file(path)
    }
}

/// All `.rbk` files under the given paths (see [`project::collect_sources`]).
pub fn collect_sources(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ProjectError> {
    project::collect_sources(paths)
}

pub fn read_source(path: &Path) -> Result<String, ProjectError> {
    disk_loader().read(path)
}

pub fn load_config(path: &Path) -> Result<ProjectConfig, ProjectError> {
    project::load_config(path)
}

/// One project's files, read, with the options its `rbk.toml` gives the checker.
pub struct Project {
    pub options: rbk_compiler::CheckOptions,
    pub sources: Vec<(PathBuf, String)>,
}

/// The `.rbk` files under `paths` (default: the current directory), grouped by the `rbk.toml`
/// that governs them, read and ready to check. An error is a usage or I/O problem.
pub fn load_projects(paths: &[PathBuf]) -> Result<(usize, Vec<Project>), ProjectError> {
    let (count, projects) = project::load_projects(paths, &disk_loader())?;
    let projects = projects
        .into_iter()
        .map(|files| Project {
            options: rbk_stdlib::check_options(files.config.as_ref()),
            sources: files.sources,
        })
        .collect();
    Ok((count, projects))
}

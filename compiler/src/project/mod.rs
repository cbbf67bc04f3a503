//! The one project loader, shared by the CLI and the language server so both see the same files
//! and say the same things about them: which `.rbk` files a command works on
//! ([`discovery`]), which `rbk.toml` governs each, and where sources come from ([`loader`]:
//! an editor's open buffers first, then the disk, `std.*` from the embedded copy).
//!
//! It lives in the compiler because it only reads sources and project files (the compiler's
//! one kind of I/O, see [`crate::source_files`]); what a project's options add beyond the
//! config (the native actions) stays with the caller, which knows the build.

pub mod discovery;
pub mod loader;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{ConfigError, ProjectConfig};

pub use discovery::{collect_sources, find_config, find_config_for_buffer, group_by_config};
pub use loader::{describe_io, ModuleUnavailable, ProjectLoader, StdOnly};

/// Why the files of a project cannot be loaded: a usage or I/O problem, never a diagnostic
/// about the program (those come from the check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectError {
    /// A path that cannot be read (its reason as [`describe_io`] words it).
    Unreadable { path: PathBuf, reason: String },
    /// A path that is a FIFO, a device, a socket: reading it could block or never end.
    NotRegular { path: PathBuf, kind: &'static str },
    /// An `rbk.toml` that does not parse.
    BadConfig { path: PathBuf, source: ConfigError },
}

impl fmt::Display for ProjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProjectError::Unreadable { path, reason } => write!(f, "{}: {reason}", path.display()),
            ProjectError::NotRegular { path, kind } => write!(
                f,
                "{}: is {kind}, not a regular file; rbk reads only regular .rbk files",
                path.display()
            ),
            ProjectError::BadConfig { path, source } => {
                write!(f, "{}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for ProjectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ProjectError::BadConfig { source, .. } => Some(source),
            ProjectError::Unreadable { .. } | ProjectError::NotRegular { .. } => None,
        }
    }
}

impl ProjectError {
    pub(crate) fn unreadable(path: &Path, error: &std::io::Error) -> ProjectError {
        ProjectError::Unreadable {
            path: path.to_path_buf(),
            reason: describe_io(error),
        }
    }
}

/// Reads and parses an `rbk.toml`.
pub fn load_config(path: &Path) -> Result<ProjectConfig, ProjectError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProjectError::unreadable(path, &e))?;
    ProjectConfig::parse(&text).map_err(|source| ProjectError::BadConfig {
        path: path.to_path_buf(),
        source,
    })
}

/// The `rbk.toml` governing an editor's buffer and what it says, when there is one and it
/// reads (the buffer is checked even while its project file is being written).
pub fn config_of_buffer(file: &Path) -> Option<ProjectConfig> {
    load_config(&find_config_for_buffer(file)?).ok()
}

/// The files governed by one `rbk.toml` (or by none), read.
pub struct ProjectFiles {
    pub config_path: Option<PathBuf>,
    pub config: Option<ProjectConfig>,
    pub sources: Vec<(PathBuf, String)>,
}

/// The `.rbk` files under `paths` (default: the current directory), grouped by the `rbk.toml`
/// that governs them and read through `loader` (so an editor's unsaved text wins): how many
/// files, and the projects.
pub fn load_projects(
    paths: &[PathBuf],
    loader: &ProjectLoader,
) -> Result<(usize, Vec<ProjectFiles>), ProjectError> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let files = collect_sources(&paths)?;
    let count = files.len();
    let mut projects = Vec::new();
    for (config_path, group) in group_by_config(files) {
        let config = match &config_path {
            Some(path) => Some(load_config(path)?),
            None => None,
        };
        let sources = group
            .into_iter()
            .map(|file| loader.read(&file).map(|text| (file, text)))
            .collect::<Result<_, _>>()?;
        projects.push(ProjectFiles {
            config_path,
            config,
            sources,
        });
    }
    Ok((count, projects))
}

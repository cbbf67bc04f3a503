//! The files a command works on: finding `.rbk` files and the nearest `rbk.toml`, reading them,
//! and serving `use` imports to the compiler.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use rbk_compiler::config::ProjectConfig;
use rbk_compiler::source_files;
use rbk_compiler::ModuleLoader;

/// Serves `std.*` from the binary and local modules from disk.
pub struct FileLoader;

impl ModuleLoader for FileLoader {
    fn std_module(&self, name: &str) -> Option<String> {
        rbk_stdlib::module_source(name).map(str::to_string)
    }

    fn std_module_names(&self) -> Vec<String> {
        rbk_stdlib::module_names().map(str::to_string).collect()
    }

    fn local_module(&self, from: &Path, relative: &str) -> Result<(PathBuf, String), String> {
        let path = source_files::local_module_path(from, relative);
        match source_files::read(&path) {
            Ok(text) => Ok((path, text)),
            Err(error) => Err(describe_io(&error)),
        }
    }

    fn special_file(&self, path: &Path) -> Option<&'static str> {
        source_files::special_kind(path)
    }
}

pub fn describe_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::InvalidData => "not valid UTF-8 text".to_string(),
        // `source_files::read` refusing a FIFO or device says what it is.
        std::io::ErrorKind::InvalidInput => error.to_string(),
        _ => error.to_string(),
    }
}

/// All `.rbk` files under the given paths (files as given, directories recursively, sorted).
/// Something that is neither a directory nor a regular file (a FIFO, a device) is refused:
/// reading it could block or never end.
pub fn collect_sources(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    // Directories already walked, by their real path: a symbolic link back up the tree (or two
    // links to one directory) is walked once.
    let mut walked = HashSet::new();
    for path in paths {
        let metadata =
            fs::metadata(path).map_err(|e| format!("{}: {}", path.display(), describe_io(&e)))?;
        if metadata.is_dir() {
            walk(path, &mut files, &mut walked)?;
        } else {
            refuse_special(path)?;
            files.push(path.clone());
        }
    }
    files.dedup();
    Ok(files)
}

fn refuse_special(path: &Path) -> Result<(), String> {
    match source_files::special_kind(path) {
        Some(kind) => Err(format!(
            "{}: is {kind}, not a regular file; rbk reads only regular .rbk files",
            path.display()
        )),
        None => Ok(()),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, walked: &mut HashSet<PathBuf>) -> Result<(), String> {
    let io_error = |e: std::io::Error| format!("{}: {}", dir.display(), describe_io(&e));
    let real = fs::canonicalize(dir).map_err(io_error)?;
    if !walked.insert(real) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_error)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if entry.is_dir() {
            walk(&entry, out, walked)?;
        } else if entry.extension().is_some_and(|e| e == "rbk") {
            refuse_special(&entry)?;
            out.push(entry);
        }
    }
    Ok(())
}

pub fn read_source(path: &Path) -> Result<String, String> {
    source_files::read(path).map_err(|e| format!("{}: {}", path.display(), describe_io(&e)))
}

/// The nearest `rbk.toml` at or above the file's directory.
pub fn find_config(file: &Path) -> Option<PathBuf> {
    let absolute = fs::canonicalize(file).ok()?;
    let mut dir = absolute.parent();
    while let Some(current) = dir {
        let candidate = current.join("rbk.toml");
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = current.parent();
    }
    None
}

pub fn load_config(path: &Path) -> Result<ProjectConfig, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("{}: {}", path.display(), describe_io(&e)))?;
    ProjectConfig::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Source files grouped by the `rbk.toml` that governs them (`None`: no project file).
pub fn group_by_config(files: Vec<PathBuf>) -> BTreeMap<Option<PathBuf>, Vec<PathBuf>> {
    let mut groups: BTreeMap<Option<PathBuf>, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        groups.entry(find_config(&file)).or_default().push(file);
    }
    groups
}

/// One project's files, read, with the options its `rbk.toml` gives the checker.
pub struct Project {
    pub options: rbk_compiler::CheckOptions,
    pub sources: Vec<(PathBuf, String)>,
}

/// The `.rbk` files under `paths` (default: the current directory), grouped by the `rbk.toml`
/// that governs them, read and ready to check. An error is a usage or I/O problem.
pub fn load_projects(paths: &[PathBuf]) -> Result<(usize, Vec<Project>), String> {
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
            .map(|file| read_source(&file).map(|text| (file, text)))
            .collect::<Result<_, _>>()?;
        projects.push(Project {
            options: rbk_stdlib::check_options(config.as_ref()),
            sources,
        });
    }
    Ok((count, projects))
}

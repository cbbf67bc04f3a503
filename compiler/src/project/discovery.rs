//! Which files make a project: the `.rbk` files under the given paths (a directory walked as
//! `rbk check DIR` walks it) and the nearest `rbk.toml` above each.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::ProjectError;
use crate::source_files;

/// All `.rbk` files under the given paths (files as given, directories recursively, sorted).
/// Something that is neither a directory nor a regular file (a FIFO, a device) is refused:
/// reading it could block or never end.
pub fn collect_sources(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ProjectError> {
    let mut files = Vec::new();
    // Directories already walked, by their real path: a symbolic link back up the tree (or two
    // links to one directory) is walked once.
    let mut walked = HashSet::new();
    for path in paths {
        let metadata = fs::metadata(path).map_err(|e| ProjectError::unreadable(path, &e))?;
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

fn refuse_special(path: &Path) -> Result<(), ProjectError> {
    match source_files::special_kind(path) {
        Some(kind) => Err(ProjectError::NotRegular {
            path: path.to_path_buf(),
            kind,
        }),
        None => Ok(()),
    }
}

/// Whether a directory entry is left out of a walk: hidden files and build or package output.
pub fn is_skipped(name: &str) -> bool {
    name.starts_with('.') || name == "target" || name == "node_modules"
}

fn walk(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    walked: &mut HashSet<PathBuf>,
) -> Result<(), ProjectError> {
    let io_error = |e: std::io::Error| ProjectError::unreadable(dir, &e);
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
        if is_skipped(name) {
            continue;
        }
        if entry.is_dir() {
            walk(&entry, out, walked)?;
        } else if is_source(&entry) {
            refuse_special(&entry)?;
            out.push(entry);
        }
    }
    Ok(())
}

/// Whether the path names an `.rbk` source.
pub fn is_source(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rbk")
}

/// The nearest `rbk.toml` at or above the file's directory, the file followed through symbolic
/// links. `None` for a path that does not exist.
pub fn find_config(file: &Path) -> Option<PathBuf> {
    nearest_config(&fs::canonicalize(file).ok()?)
}

/// [`find_config`] for an editor's buffer, which may not be saved yet: a path that does not
/// exist is looked up as written, when it is absolute.
pub fn find_config_for_buffer(file: &Path) -> Option<PathBuf> {
    find_config(file).or_else(|| nearest_config(file).filter(|_| file.is_absolute()))
}

fn nearest_config(absolute_file: &Path) -> Option<PathBuf> {
    absolute_file
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("rbk.toml"))
        .find(|candidate| candidate.is_file())
}

/// Source files grouped by the `rbk.toml` that governs them (`None`: no project file).
pub fn group_by_config(files: Vec<PathBuf>) -> BTreeMap<Option<PathBuf>, Vec<PathBuf>> {
    let mut groups: BTreeMap<Option<PathBuf>, Vec<PathBuf>> = BTreeMap::new();
    for file in files {
        groups.entry(find_config(&file)).or_default().push(file);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rbk-discovery-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn sources_are_walked_sorted_skipping_hidden_and_build_directories() {
        let dir = scratch("walk");
        for file in [
            "b.rbk",
            "a.rbk",
            "notes.md",
            ".hidden/x.rbk",
            "target/y.rbk",
            "sub/c.rbk",
        ] {
            let path = dir.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "").unwrap();
        }
        let found = collect_sources(std::slice::from_ref(&dir)).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            ["a.rbk", "b.rbk", "sub/c.rbk"].map(PathBuf::from).to_vec()
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_nearest_rbk_toml_governs_even_a_file_not_yet_saved() {
        let dir = scratch("config");
        fs::create_dir_all(dir.join("inner")).unwrap();
        fs::write(dir.join("rbk.toml"), "").unwrap();
        let real = fs::canonicalize(&dir).unwrap();
        assert_eq!(find_config(&real.join("inner/unsaved.rbk")), None);
        assert_eq!(
            find_config_for_buffer(&real.join("inner/unsaved.rbk")),
            Some(real.join("rbk.toml"))
        );
        fs::write(dir.join("inner/rbk.toml"), "").unwrap();
        fs::write(dir.join("inner/a.rbk"), "").unwrap();
        assert_eq!(
            find_config(&dir.join("inner/a.rbk")),
            Some(real.join("inner/rbk.toml"))
        );
        assert_eq!(
            find_config_for_buffer(Path::new("relative/unsaved.rbk")),
            None
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_device_named_as_a_source_is_refused() {
        let error = collect_sources(&[PathBuf::from("/dev/null")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "/dev/null: is a character device, not a regular file; rbk reads only regular .rbk files"
        );
    }
}

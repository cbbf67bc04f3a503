//! Where sources come from: an editor's open buffers first (their unsaved text is what the
//! user sees), then the disk; `std.*` from the embedded copy the caller hands over. The CLI
//! uses it with no buffers, the language server with its open ones, so an import that cannot
//! be loaded is reported in the same words by both.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use super::ProjectError;
use crate::{source_files, ModuleLoader};

/// Serves local modules from the open buffers, then from disk, and `std.NAME` from `std`.
#[derive(Clone, Debug, Default)]
pub struct ProjectLoader {
    /// Every standard module as (name, source), e.g. `rbk_std::MODULES`.
    std: &'static [(&'static str, &'static str)],
    /// Open buffers by path: their text wins over the file's.
    open: HashMap<PathBuf, String>,
}

impl ProjectLoader {
    /// A loader that reads the disk only.
    pub fn new(std: &'static [(&'static str, &'static str)]) -> ProjectLoader {
        ProjectLoader {
            std,
            open: HashMap::new(),
        }
    }

    /// This loader, with the editor's open buffers in front of the disk.
    pub fn with_open_buffers(mut self, open: HashMap<PathBuf, String>) -> ProjectLoader {
        self.open = open;
        self
    }

    /// The open buffers it serves.
    pub fn open_buffers(&self) -> &HashMap<PathBuf, String> {
        &self.open
    }

    /// The text of a source: its open buffer, else the file (only a regular file is read).
    pub fn read(&self, path: &Path) -> Result<String, ProjectError> {
        if let Some(text) = self.open.get(path) {
            return Ok(text.clone());
        }
        source_files::read(path).map_err(|e| ProjectError::unreadable(path, &e))
    }
}

impl ModuleLoader for ProjectLoader {
    fn std_module(&self, name: &str) -> Option<String> {
        StdOnly(self.std).std_module(name)
    }

    fn std_module_names(&self) -> Vec<String> {
        StdOnly(self.std).std_module_names()
    }

    fn local_module(
        &self,
        from: &Path,
        relative: &str,
    ) -> Result<(PathBuf, String), ModuleUnavailable> {
        let path = source_files::local_module_path(from, relative);
        if let Some(text) = self.open.get(&path) {
            return Ok((path, text.clone()));
        }
        match source_files::read(&path) {
            Ok(text) => Ok((path, text)),
            Err(error) => Err(ModuleUnavailable::Unreadable(error)),
        }
    }

    fn special_file(&self, path: &Path) -> Option<&'static str> {
        if self.open.contains_key(path) {
            return None;
        }
        source_files::special_kind(path)
    }
}

/// Serves `std.NAME` from a table of (name, source), e.g. `rbk_std::MODULES`, and no local
/// module: for checking a text on its own (tests, fuzzing). `StdOnly(&[])` serves nothing, for
/// programs that declare their own externs.
#[derive(Clone, Copy, Debug)]
pub struct StdOnly(pub &'static [(&'static str, &'static str)]);

impl ModuleLoader for StdOnly {
    fn std_module(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(module, _)| *module == name)
            .map(|(_, source)| source.to_string())
    }

    fn std_module_names(&self) -> Vec<String> {
        self.0.iter().map(|(name, _)| name.to_string()).collect()
    }

    fn local_module(
        &self,
        _from: &Path,
        relative: &str,
    ) -> Result<(PathBuf, String), ModuleUnavailable> {
        Err(ModuleUnavailable::NotServed {
            relative: relative.to_string(),
        })
    }
}

/// Why a [`ModuleLoader`] cannot serve the file a `use "./x.rbk"` names; the check reports it
/// as "cannot load module \"./x.rbk\": {this}".
#[derive(Debug, thiserror::Error)]
pub enum ModuleUnavailable {
    /// Reading the file failed (worded by [`describe_io`]).
    #[error("{}", describe_io(.0))]
    Unreadable(#[source] io::Error),
    /// A loader that serves files from memory has none at that path.
    #[error("no such file")]
    NotFound,
    /// A loader that serves no local modules at all (the standard library's checks, tests).
    #[error("{relative}: local modules are not served here")]
    NotServed { relative: String },
}

/// Why a file cannot be read, in the words every message about it uses.
pub fn describe_io(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::InvalidData => "not valid UTF-8 text".to_string(),
        // `source_files::read` refusing a FIFO or device says what it is.
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STD: &[(&str, &str)] = &[("k8s", "extern action restart()\n")];

    #[test]
    fn an_open_buffer_is_served_before_the_file_and_std_from_the_given_copy() {
        let dir = std::env::temp_dir().join(format!("rbk-loader-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("lib.rbk"), "on disk").unwrap();
        let main = dir.join("main.rbk");
        let disk = ProjectLoader::new(STD);
        assert_eq!(disk.local_module(&main, "./lib.rbk").unwrap().1, "on disk");
        let editor = ProjectLoader::new(STD).with_open_buffers(HashMap::from([(
            dir.join("lib.rbk"),
            "unsaved".to_string(),
        )]));
        assert_eq!(
            editor.local_module(&main, "./lib.rbk").unwrap(),
            (dir.join("lib.rbk"), "unsaved".to_string())
        );
        assert_eq!(editor.read(&dir.join("lib.rbk")).unwrap(), "unsaved");
        assert_eq!(
            editor
                .local_module(&main, "./missing.rbk")
                .unwrap_err()
                .to_string(),
            "no such file"
        );
        assert_eq!(editor.std_module("k8s").as_deref(), Some(STD[0].1));
        assert_eq!(editor.std_module_names(), vec!["k8s".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn text_that_is_not_utf8_is_named_so() {
        let dir = std::env::temp_dir().join(format!("rbk-loader-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("latin1.rbk"), b"fn caf\xe9() {}\n").unwrap();
        let loader = ProjectLoader::new(STD);
        assert_eq!(
            loader
                .local_module(&dir.join("main.rbk"), "latin1.rbk")
                .unwrap_err()
                .to_string(),
            "not valid UTF-8 text"
        );
        assert_eq!(
            loader
                .read(&dir.join("latin1.rbk"))
                .unwrap_err()
                .to_string(),
            format!("{}: not valid UTF-8 text", dir.join("latin1.rbk").display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

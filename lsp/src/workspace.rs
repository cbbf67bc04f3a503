//! The document's project, checked as a whole, for the answers that cross files (references
//! and rename). A project is every `.rbk` file under the directory of the document's
//! `rbk.toml`, walked as `rbk check DIR` walks it; a document with no `rbk.toml` above it
//! belongs with the `.rbk` files beside it (not below: a file in a home directory would
//! otherwise make the whole tree its project). Open buffers are read as the editor has them,
//! and the modules the files `use` are loaded wherever they are.
//!
//! A question about a name needs only the files that can name it (their text contains it and
//! the name of the file that defines it: see [`crate::references::can_name`]) and the modules
//! they use, so each request checks those, not the whole project.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rbk_compiler::project::{self, discovery, ProjectLoader};
use rbk_compiler::resolve::{ModuleId, ModuleOrigin};
use rbk_compiler::Analysis;

use crate::documents::{with_room, Checked};

/// Past this many files a project is searched by its open buffers only: a request must not
/// read a whole monorepo.
pub const MAX_PROJECT_FILES: usize = 5000;

/// The directory whose `.rbk` files are the document's project, as the editor names it (so
/// its paths match the documents'), and whether it is walked recursively.
fn project_dir(document: &Path) -> Option<(PathBuf, bool)> {
    let written = document
        .ancestors()
        .skip(1)
        .find(|dir| dir.join("rbk.toml").is_file());
    if let Some(dir) = written {
        return Some((dir.to_path_buf(), true));
    }
    // Reached through a symbolic link: the project the real file is in.
    if let Some(config) = project::find_config_for_buffer(document) {
        return Some((config.parent()?.to_path_buf(), true));
    }
    Some((document.parent()?.to_path_buf(), false))
}

/// The `.rbk` files of the document's project (see the module's paragraph), the open buffers
/// among them and the document itself included, sorted.
pub fn project_files(document: &Path, open: &HashMap<PathBuf, String>) -> Vec<PathBuf> {
    let mut files = match project_dir(document) {
        Some((dir, true)) => project::collect_sources(&[dir]).unwrap_or_default(),
        Some((dir, false)) => std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| Some(e.ok()?.path()))
                    .filter(|p| discovery::is_source(p) && p.is_file())
                    .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    if files.len() > MAX_PROJECT_FILES {
        files.clear();
    }
    let root = project_dir(document).map(|(dir, _)| dir);
    files.extend(
        open.keys()
            .filter(|path| root.as_ref().is_some_and(|dir| path.starts_with(dir)))
            .cloned(),
    );
    files.push(document.to_path_buf());
    files.sort();
    files.dedup();
    files
}

/// Several files of a project checked together: one analysis, a [`Checked`] view per file.
pub struct Workspace {
    analysis: Arc<Analysis>,
    approver_groups: Option<rbk_compiler::types::ApproverGroups>,
}

impl Workspace {
    /// Checks `document` and those of `files` that `keep` (given a path and its text) keeps,
    /// reading through `loader` (open buffers before the disk). `None` if the compiler
    /// panicked.
    pub fn check(
        document: &Path,
        files: &[PathBuf],
        keep: &dyn Fn(&Path, &str) -> bool,
        loader: ProjectLoader,
    ) -> Option<Workspace> {
        let document_too = (!files.iter().any(|f| f == document)).then_some(document);
        let roots: Vec<(PathBuf, String)> = files
            .iter()
            .map(PathBuf::as_path)
            .chain(document_too)
            .filter_map(|path| Some((path.to_path_buf(), loader.read(path).ok()?)))
            .filter(|(path, text)| path == document || keep(path, text))
            .collect();
        let config = project::config_of_buffer(document);
        let options = crate::natives::check_options(config.as_ref());
        let approver_groups = options.approver_groups.clone();
        let analysis = with_room(|| rbk_compiler::check(roots, &loader, &options))?;
        Some(Workspace {
            analysis: Arc::new(analysis),
            approver_groups,
        })
    }

    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// The file at `path` as a one-buffer check: the project's analysis seen from it.
    pub fn view(&self, path: &Path) -> Option<Checked> {
        let module = self
            .analysis
            .modules
            .iter()
            .find(|m| matches!(&m.origin, ModuleOrigin::File(p) if p == path))?;
        Some(self.view_of(module.id))
    }

    fn view_of(&self, module: ModuleId) -> Checked {
        Checked {
            analysis: Arc::clone(&self.analysis),
            root: module,
            approver_groups: self.approver_groups.clone(),
        }
    }

    /// A view of every file module (not the standard library): where names can be written.
    pub fn file_views(&self) -> impl Iterator<Item = Checked> + '_ {
        self.analysis
            .modules
            .iter()
            .filter(|m| !m.is_std())
            .map(|m| self.view_of(m.id))
    }

    /// The path of a file module.
    pub fn path_of(&self, module: ModuleId) -> &Path {
        let file = self.analysis.module(module).file;
        &self.analysis.file(file).path
    }

    /// The text of a module, for turning its spans into editor ranges.
    pub fn source_of(&self, module: ModuleId) -> crate::convert::SourceText<'_> {
        let file = self.analysis.file(self.analysis.module(module).file);
        crate::convert::SourceText {
            text: &file.text,
            lines: &file.lines,
        }
    }

    /// How many errors the check found.
    pub fn error_count(&self) -> usize {
        self.analysis
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .count()
    }
}

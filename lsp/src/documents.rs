//! The open buffers, the project loader that serves them before the disk, and the checked
//! state of each buffer.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rbk_compiler::project::{self, ProjectLoader};
use rbk_compiler::resolve::{ModuleId, ModuleOrigin};
use rbk_compiler::syntax::ParseCache;
use rbk_compiler::types::ApproverGroups;
use rbk_compiler::Analysis;
use tower_lsp_server::ls_types::{TextDocumentContentChangeEvent, Uri};

use crate::convert::SourceText;

/// One buffer the editor has open.
pub struct Document {
    pub text: String,
    pub version: i32,
}

/// Applies a `didChange`'s edits in order: each replaces its range (UTF-16 positions), or the
/// whole text when it has none.
pub fn apply_changes(text: &mut String, changes: Vec<TextDocumentContentChangeEvent>) {
    for change in changes {
        let Some(range) = change.range else {
            *text = change.text;
            continue;
        };
        let lines = rbk_compiler::diagnostics::LineIndex::new(text);
        let source = SourceText {
            text,
            lines: &lines,
        };
        let span = source.span(range);
        let (start, end) = (span.start.min(span.end), span.end.max(span.start));
        text.replace_range(start..end, &change.text);
    }
}

/// The file path a document stands for (`untitled:` buffers get their URI's path).
pub fn document_path(uri: &Uri) -> PathBuf {
    if uri.scheme().as_str() == "file" {
        if let Some(path) = uri.to_file_path() {
            return path.into_owned();
        }
    }
    PathBuf::from(uri.path().as_str())
}

/// The project loader over the open buffers: `use "./x.rbk"` is served from an open buffer
/// first, then from disk; `std.*` from the binary. The CLI loads through the same loader
/// (with no buffers), so an import that fails is reported in the same words.
pub fn buffer_loader(open: HashMap<PathBuf, String>) -> ProjectLoader {
    ProjectLoader::new(rbk_std::MODULES).with_open_buffers(open)
}

/// Runs `check` on a thread with room to recurse: deeply nested input recurses in the parser
/// and checker (the CLI gives them the same room). `None` if it panicked.
pub fn with_room<T: Send>(check: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 * 1024 * 1024)
            .spawn_scoped(scope, check)
            .ok()?
            .join()
            .ok()
    })
}

/// One buffer, checked: the compiler's whole answer and which module is the buffer. (A check
/// of the whole project is shared by one `Checked` per file: [`crate::workspace`].)
pub struct Checked {
    pub analysis: Arc<Analysis>,
    pub root: ModuleId,
    pub approver_groups: Option<ApproverGroups>,
}

impl Checked {
    /// Checks `text` as the file at `path`. `None` only if the compiler panicked.
    pub fn new(path: PathBuf, text: String, open: HashMap<PathBuf, String>) -> Option<Checked> {
        Self::with_cache(path, text, open, &mut ParseCache::new())
    }

    /// [`Checked::new`], parsing again only the items whose text is not in `cache`.
    pub fn with_cache(
        path: PathBuf,
        text: String,
        open: HashMap<PathBuf, String>,
        cache: &mut ParseCache,
    ) -> Option<Checked> {
        let config = project::config_of_buffer(&path);
        let options = crate::natives::check_options(config.as_ref());
        let approver_groups = options.approver_groups.clone();
        let loader = buffer_loader(open);
        let analysis = with_room(|| {
            rbk_compiler::check_incremental(vec![(path, text)], &loader, &options, cache)
        })?;
        let root = *analysis.roots.first()?;
        Some(Checked {
            analysis: Arc::new(analysis),
            root,
            approver_groups,
        })
    }

    pub fn module(&self) -> &rbk_compiler::resolve::Module {
        self.analysis.module(self.root)
    }

    pub fn text(&self) -> &str {
        &self.analysis.file(self.module().file).text
    }

    pub fn source(&self) -> SourceText<'_> {
        self.source_of(self.root)
    }

    pub fn source_of(&self, module: ModuleId) -> SourceText<'_> {
        let file = self.analysis.file(self.analysis.module(module).file);
        SourceText {
            text: &file.text,
            lines: &file.lines,
        }
    }

    /// Whether the buffer uses (directly or not) the local module at `path`.
    pub fn uses_file(&self, path: &Path) -> bool {
        self.analysis
            .modules
            .iter()
            .any(|m| m.id != self.root && matches!(&m.origin, ModuleOrigin::File(p) if p == path))
    }

    /// The compiler's diagnostics for the buffer itself (not for the modules it uses).
    pub fn own_diagnostics(&self) -> impl Iterator<Item = &rbk_compiler::diagnostics::Diagnostic> {
        let file = self.module().file;
        self.analysis
            .diagnostics
            .iter()
            .filter(move |d| d.file == file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower_lsp_server::ls_types::{Position, Range};

    fn edit(range: Option<((u32, u32), (u32, u32))>, text: &str) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: range.map(|((l1, c1), (l2, c2))| {
                Range::new(Position::new(l1, c1), Position::new(l2, c2))
            }),
            range_length: None,
            text: text.to_string(),
        }
    }

    #[test]
    fn changes_apply_in_order_with_utf16_columns() {
        let mut text = "step é {\n  log 1\n}\n".to_string();
        apply_changes(
            &mut text,
            vec![
                // After `é` (one UTF-16 unit, two bytes).
                edit(Some(((0, 6), (0, 6))), "x"),
                edit(Some(((1, 6), (1, 7))), "22"),
                edit(Some(((2, 1), (2, 1))), "\n// end"),
            ],
        );
        assert_eq!(text, "step éx {\n  log 22\n}\n// end\n");
        apply_changes(&mut text, vec![edit(None, "new")]);
        assert_eq!(text, "new");
        // Past the end clamps to the end.
        apply_changes(&mut text, vec![edit(Some(((9, 0), (9, 5))), "!")]);
        assert_eq!(text, "new!");
    }
}

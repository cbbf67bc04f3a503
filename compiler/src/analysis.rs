//! The pipeline that ties the phases together, and its result.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diagnostics::{Diagnostic, LineIndex};
use crate::effects::EffectInfo;
use crate::lints::{self, LintContext};
use crate::resolve::{self, Module, ModuleId, ModuleOrigin};
use crate::syntax::{self, UseTarget};
use crate::templates;
use crate::types::{self, ApproverGroups, TypeInfo};
use crate::FileId;

/// Where sources come from. The CLI reads files; the language server reads open buffers; both
/// serve the standard library from the copy embedded in the binary.
pub trait ModuleLoader {
    /// The source of `std.NAME`, if there is such a module.
    fn std_module(&self, name: &str) -> Option<String>;
    /// The names of all standard modules, for hints.
    fn std_module_names(&self) -> Vec<String>;
    /// Reads `relative` (from `use "./x.rbk"`) next to the file at `from`: its path and text.
    fn local_module(
        &self,
        from: &Path,
        relative: &str,
    ) -> Result<(PathBuf, String), crate::project::ModuleUnavailable>;
    /// What the module at `path` (see [`crate::source_files::local_module_path`]) is when it is
    /// not a regular file (a FIFO, a device, a directory): asked before [`Self::local_module`],
    /// so a `use` never blocks reading something that does not end. Loaders that serve no
    /// files from disk keep the default.
    fn special_file(&self, _path: &Path) -> Option<&'static str> {
        None
    }
}

#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// From `rbk.toml`; when `None`, group names and quorums are not checked.
    pub approver_groups: Option<ApproverGroups>,
    /// rbk.toml's `[shell] read_only`: commands `shell.run` may call as a `read` action, beside
    /// the standard table (effects/shell_table.rs).
    pub shell_read_only: Vec<String>,
    /// The native actions of the build that will run the program (`rbk_stdlib::natives`), so
    /// an `extern action` nothing implements is an error ([`Code::ExternWithoutNative`]).
    /// `None` when the embedder runs the externs itself (library tests with their own
    /// `Actions`).
    ///
    /// [`Code::ExternWithoutNative`]: crate::diagnostics::Code::ExternWithoutNative
    pub native_actions: Option<crate::lints::natives::NativeCatalog>,
}

impl CheckOptions {
    /// The options an rbk.toml gives; `None` when no rbk.toml governs the files.
    pub fn for_project(config: Option<&crate::config::ProjectConfig>) -> CheckOptions {
        CheckOptions {
            approver_groups: config.map(|c| c.approvers.clone()),
            shell_read_only: config
                .and_then(|c| c.shell.as_ref())
                .map(|shell| shell.read_only.clone())
                .unwrap_or_default(),
            native_actions: None,
        }
    }

    /// These options, checking user externs against the given native actions.
    pub fn with_natives(mut self, natives: crate::lints::natives::NativeCatalog) -> CheckOptions {
        self.native_actions = Some(natives);
        self
    }
}

#[derive(Debug)]
pub struct SourceFileInfo {
    /// As given on the command line, or `std/NAME.rbk`.
    pub path: PathBuf,
    pub text: String,
    pub lines: LineIndex,
}

/// Everything the compiler learned about a set of files.
#[derive(Debug)]
pub struct Analysis {
    pub files: Vec<SourceFileInfo>,
    pub modules: Vec<Module>,
    /// Modules of the files that were asked for, in order.
    pub roots: Vec<ModuleId>,
    pub types: TypeInfo,
    pub effects: EffectInfo,
    pub diagnostics: Vec<Diagnostic>,
}

impl Analysis {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn file(&self, id: FileId) -> &SourceFileInfo {
        &self.files[id.0 as usize]
    }

    pub fn module(&self, id: ModuleId) -> &Module {
        &self.modules[id.0 as usize]
    }
}

struct Loader<'a> {
    loader: &'a dyn ModuleLoader,
    /// Pieces parsed by earlier checks (the language server keeps one between keystrokes).
    cache: Option<&'a mut syntax::ParseCache>,
    files: Vec<SourceFileInfo>,
    parsed: Vec<(FileId, ModuleOrigin, syntax::SourceFile)>,
    by_origin: HashMap<ModuleOrigin, ModuleId>,
    diagnostics: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn add(&mut self, origin: ModuleOrigin, path: PathBuf, text: String) -> ModuleId {
        let file = FileId(self.files.len() as u32);
        let output = match self.cache.as_deref_mut() {
            Some(cache) => cache.parse(file, &text),
            None => syntax::parse(file, &text),
        };
        self.add_parsed(origin, path, text, output)
    }

    fn add_parsed(
        &mut self,
        origin: ModuleOrigin,
        path: PathBuf,
        text: String,
        output: syntax::ParseOutput,
    ) -> ModuleId {
        if let Some(&id) = self.by_origin.get(&origin) {
            return id;
        }
        let file = FileId(self.files.len() as u32);
        self.diagnostics.extend(output.diagnostics);
        let mut ast = output.file;
        templates::expand(file, &mut ast, output.expr_ids, &mut self.diagnostics);
        self.files.push(SourceFileInfo {
            lines: LineIndex::new(&text),
            path,
            text,
        });
        let id = ModuleId(self.parsed.len() as u32);
        self.parsed.push((file, origin.clone(), ast));
        self.by_origin.insert(origin, id);
        id
    }
}

/// Checks the given files (path and text) and everything they `use`.
pub fn check(
    roots: Vec<(PathBuf, String)>,
    loader: &dyn ModuleLoader,
    options: &CheckOptions,
) -> Analysis {
    let threads = threads_for(&roots);
    check_on(roots, loader, options, threads)
}

/// [`check`] on `threads` threads: parsing, type checking and lints each share the files out
/// to them. The result is the same for any number.
fn check_on(
    roots: Vec<(PathBuf, String)>,
    loader: &dyn ModuleLoader,
    options: &CheckOptions,
    threads: usize,
) -> Analysis {
    let parsed = parse_all(&roots, threads);
    check_parsed(roots, parsed, loader, options, None, threads)
}

/// How many threads checking `roots` is worth: one unless there is enough text to pay for
/// them.
fn threads_for(roots: &[(PathBuf, String)]) -> usize {
    let text_bytes = roots.iter().map(|(_, text)| text.len()).sum();
    crate::parallel::threads_for(roots.len(), text_bytes)
}

/// [`check`], reusing the parse of every top-level item whose text is in `cache` (and keeping
/// the new ones there): after an edit, only the edited item is parsed again. The result is the
/// same as [`check`]'s.
pub fn check_incremental(
    roots: Vec<(PathBuf, String)>,
    loader: &dyn ModuleLoader,
    options: &CheckOptions,
    cache: &mut syntax::ParseCache,
) -> Analysis {
    let parsed = roots
        .iter()
        .enumerate()
        .map(|(index, (_, text))| cache.parse(FileId(index as u32), text))
        .collect();
    let threads = threads_for(&roots);
    check_parsed(roots, parsed, loader, options, Some(cache), threads)
}

fn check_parsed(
    roots: Vec<(PathBuf, String)>,
    parsed: Vec<syntax::ParseOutput>,
    loader: &dyn ModuleLoader,
    options: &CheckOptions,
    cache: Option<&mut syntax::ParseCache>,
    threads: usize,
) -> Analysis {
    let mut state = Loader {
        loader,
        cache,
        files: Vec::new(),
        parsed: Vec::new(),
        by_origin: HashMap::new(),
        diagnostics: Vec::new(),
    };
    let root_ids: Vec<ModuleId> = roots
        .into_iter()
        .zip(parsed)
        .map(|((path, text), output)| {
            state.add_parsed(ModuleOrigin::File(path.clone()), path, text, output)
        })
        .collect();

    // Load imports breadth-first; a module's names are collected once all its imports resolve.
    let mut names = Vec::new();
    let mut next = 0;
    while next < state.parsed.len() {
        let (file, origin) = (state.parsed[next].0, state.parsed[next].1.clone());
        let ast = std::mem::take(&mut state.parsed[next].2);
        let mut diagnostics = Vec::new();
        let module_names = resolve::collect_names(
            file,
            &ast,
            |target| resolve_import(&mut state, &origin, file, target),
            &mut diagnostics,
        );
        state.diagnostics.extend(diagnostics);
        state.parsed[next].2 = ast;
        names.push(module_names);
        next += 1;
    }
    let modules: Vec<Module> = state
        .parsed
        .into_iter()
        .zip(names)
        .enumerate()
        .map(|(index, ((file, origin, ast), names))| Module {
            id: ModuleId(index as u32),
            file,
            origin,
            ast,
            names,
        })
        .collect();

    let mut diagnostics = state.diagnostics;
    let types = types::check_modules(&modules, threads, &mut diagnostics);
    let effects = EffectInfo::compute(&modules, &types, &options.shell_read_only);
    let cx = LintContext {
        modules: &modules,
        files: &state.files,
        types: &types,
        effects: &effects,
        approver_groups: options.approver_groups.as_ref(),
        native_actions: options.native_actions.as_ref(),
    };
    lints::run_all(&cx, threads, &mut diagnostics);

    diagnostics.sort_by_key(|d| (d.file, d.primary.span.start, d.code));
    diagnostics.dedup();
    Analysis {
        files: state.files,
        modules,
        roots: root_ids,
        types,
        effects,
        diagnostics,
    }
}

/// Parses the given files on `threads` threads. File ids are the files' positions, as `check`
/// assigns them.
fn parse_all(roots: &[(PathBuf, String)], threads: usize) -> Vec<syntax::ParseOutput> {
    crate::parallel::map_chunks(roots, threads, |first, files| {
        files
            .iter()
            .enumerate()
            .map(|(i, (_, text))| syntax::parse(FileId((first + i) as u32), text))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect()
}

fn resolve_import(
    state: &mut Loader,
    from: &ModuleOrigin,
    file: FileId,
    target: &UseTarget,
) -> Option<ModuleId> {
    use crate::resolve::{Unavailable, UnknownModule};
    match target {
        UseTarget::Std { path, span } => {
            let names: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
            let name = match names.as_slice() {
                ["std", name] => *name,
                _ => {
                    state.diagnostics.push(resolve::unknown_module(
                        file,
                        *span,
                        UnknownModule::NotStandard {
                            path: &names.join("."),
                        },
                    ));
                    return None;
                }
            };
            let origin = ModuleOrigin::Std(name.to_string());
            if let Some(&id) = state.by_origin.get(&origin) {
                return Some(id);
            }
            match state.loader.std_module(name) {
                Some(text) => {
                    Some(state.add(origin, PathBuf::from(format!("std/{name}.rbk")), text))
                }
                None => {
                    let available = state.loader.std_module_names();
                    let suggestion = resolve::suggest(name, available.iter().map(String::as_str));
                    state.diagnostics.push(resolve::unknown_module(
                        file,
                        *span,
                        UnknownModule::NoSuchStandard {
                            name,
                            suggestion,
                            available: &available,
                        },
                    ));
                    None
                }
            }
        }
        UseTarget::Local(path) => {
            let ModuleOrigin::File(from_path) = from else {
                state.diagnostics.push(resolve::local_module_unavailable(
                    file,
                    path.span,
                    Unavailable::FromStandardModule,
                ));
                return None;
            };
            // A module used by many others is read and parsed once.
            let expected = crate::source_files::local_module_path(from_path, &path.value);
            if let Some(&id) = state.by_origin.get(&ModuleOrigin::File(expected.clone())) {
                return Some(id);
            }
            if let Some(kind) = state.loader.special_file(&expected) {
                state.diagnostics.push(resolve::use_target_not_a_file(
                    file,
                    path.span,
                    &path.value,
                    &kind,
                ));
                return None;
            }
            match state.loader.local_module(from_path, &path.value) {
                Ok((resolved, text)) => {
                    let origin = ModuleOrigin::File(resolved.clone());
                    Some(state.add(origin, resolved, text))
                }
                Err(reason) => {
                    state.diagnostics.push(resolve::local_module_unavailable(
                        file,
                        path.span,
                        Unavailable::Unreadable {
                            path: &path.value,
                            reason: &reason,
                        },
                    ));
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with something for every pass to report: unknown names (more than one
    /// module's "did you mean" budget), a type mismatch, a destructive step without a gate,
    /// a duration out of range, and a test that runs a runbook of the file with a wrong input.
    fn file_with_problems(n: usize) -> String {
        let unknown: String = (0..120).map(|i| format!("    let u{i} = basf\n")).collect();
        format!(
            "use std.k8s\n\n\
             fn twice_{n}(x: int) -> int {{\n  return x * 2 + \"no\"\n}}\n\n\
             runbook r_{n} {{\n  title \"R {n}\"\n  input {{\n    count: int = 1\n  }}\n  \
             step s {{\n    let base = 1\n{unknown}    let d = 9223372036854775s + 9223372036854775s\n  }}\n  \
             step drain {{\n    k8s.drain(node: \"n1\")\n  }}\n}}\n\n\
             test \"r_{n} runs\" {{\n  mock k8s.drain returns none\n  run r_{n} with {{ count: \"three\" }}\n  expect step s succeeded\n}}\n"
        )
    }

    /// Every expression's recorded type and callee, as far as any module records.
    fn recorded(analysis: &Analysis) -> Vec<String> {
        let mut out = Vec::new();
        for module in &analysis.modules {
            for id in 0..4000 {
                let expr = crate::syntax::ExprId(id);
                out.push(format!(
                    "{:?} {id} {:?} {:?}",
                    module.id,
                    analysis.types.type_of(module.id, expr),
                    analysis.types.callee(module.id, expr)
                ));
            }
        }
        out
    }

    #[test]
    fn checking_on_several_threads_reports_what_checking_on_one_does() {
        let files: Vec<(PathBuf, String)> = (0..7)
            .map(|n| (PathBuf::from(format!("f{n}.rbk")), file_with_problems(n)))
            .collect();
        let options = CheckOptions::default();
        let std = crate::project::StdOnly(rbk_std::MODULES);
        let one = check_on(files.clone(), &std, &options, 1);
        let codes: std::collections::BTreeSet<&str> =
            one.diagnostics.iter().map(|d| d.code.as_str()).collect();
        // The input reaches every pass that runs per module.
        for code in ["E0101", "E0204", "E0211", "E0301"] {
            assert!(codes.contains(code), "{code} missing from {codes:?}");
        }
        let suggested = one
            .diagnostics
            .iter()
            .filter(|d| d.help.starts_with("did you mean"))
            .count();
        assert!(
            suggested > 100,
            "each module has its own budget ({suggested})"
        );
        for threads in [2, 3, 8] {
            let many = check_on(files.clone(), &std, &options, threads);
            assert_eq!(
                format!("{:#?}", many.diagnostics),
                format!("{:#?}", one.diagnostics),
                "{threads} threads"
            );
            assert_eq!(recorded(&many), recorded(&one), "{threads} threads");
        }
    }
}

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
    let parsed = parse_all(&roots);
    check_parsed(roots, parsed, loader, options, None)
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
    check_parsed(roots, parsed, loader, options, Some(cache))
}

fn check_parsed(
    roots: Vec<(PathBuf, String)>,
    parsed: Vec<syntax::ParseOutput>,
    loader: &dyn ModuleLoader,
    options: &CheckOptions,
    cache: Option<&mut syntax::ParseCache>,
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
    let types = types::check_modules(&modules, &mut diagnostics);
    let effects = EffectInfo::compute(&modules, &types, &options.shell_read_only);
    let cx = LintContext {
        modules: &modules,
        files: &state.files,
        types: &types,
        effects: &effects,
        approver_groups: options.approver_groups.as_ref(),
        native_actions: options.native_actions.as_ref(),
    };
    lints::run_all(&cx, &mut diagnostics);

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

/// Parses the given files, in parallel when there is enough text to pay for the threads.
/// File ids are the files' positions, as `check` assigns them.
fn parse_all(roots: &[(PathBuf, String)]) -> Vec<syntax::ParseOutput> {
    const PARALLEL_ABOVE_BYTES: usize = 256 * 1024;
    let total: usize = roots.iter().map(|(_, text)| text.len()).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(roots.len());
    let parse =
        |(index, (_, text)): (usize, &(PathBuf, String))| syntax::parse(FileId(index as u32), text);
    if threads < 2 || total < PARALLEL_ABOVE_BYTES {
        return roots.iter().enumerate().map(parse).collect();
    }
    let chunk = roots.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = roots
            .chunks(chunk)
            .enumerate()
            .map(|(n, files)| {
                std::thread::Builder::new()
                    .stack_size(64 * 1024 * 1024)
                    .spawn_scoped(scope, move || {
                        files
                            .iter()
                            .enumerate()
                            .map(|(i, file)| parse((n * chunk + i, file)))
                            .collect::<Vec<_>>()
                    })
            })
            .collect();
        let mut outputs = Vec::with_capacity(roots.len());
        for (n, handle) in handles.into_iter().enumerate() {
            match handle.map(|h| h.join()) {
                Ok(Ok(parsed)) => outputs.extend(parsed),
                // A thread could not start (or panicked): parse its share here instead.
                _ => outputs.extend(
                    roots
                        .chunks(chunk)
                        .nth(n)
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                        .map(|(i, f)| parse((n * chunk + i, f))),
                ),
            }
        }
        outputs
    })
}

fn resolve_import(
    state: &mut Loader,
    from: &ModuleOrigin,
    file: FileId,
    target: &UseTarget,
) -> Option<ModuleId> {
    use crate::diagnostics::Code;
    match target {
        UseTarget::Std { path, span } => {
            let names: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
            let name = match names.as_slice() {
                ["std", name] => *name,
                _ => {
                    state.diagnostics.push(
                        Diagnostic::new(Code::UnknownModule, file, *span, format!("unknown module `{}`", names.join(".")))
                            .label("not a standard module")
                            .help("standard modules are written `std.NAME`; local files are written `use \"./file.rbk\" as NAME`"),
                    );
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
                    let help = match resolve::suggest(name, available.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `std.{s}`?"),
                        None => format!("the standard modules are: {}", available.join(", ")),
                    };
                    state.diagnostics.push(
                        Diagnostic::new(
                            Code::UnknownModule,
                            file,
                            *span,
                            format!("there is no standard module `{name}`"),
                        )
                        .label("unknown module")
                        .help(help),
                    );
                    None
                }
            }
        }
        UseTarget::Local(path) => {
            let ModuleOrigin::File(from_path) = from else {
                state.diagnostics.push(
                    Diagnostic::new(
                        Code::LocalModuleUnavailable,
                        file,
                        path.span,
                        "standard modules cannot use local files",
                    )
                    .label("local file")
                    .help("use only `std.NAME` modules here"),
                );
                return None;
            };
            // A module used by many others is read and parsed once.
            let expected = crate::source_files::local_module_path(from_path, &path.value);
            if let Some(&id) = state.by_origin.get(&ModuleOrigin::File(expected.clone())) {
                return Some(id);
            }
            if let Some(kind) = state.loader.special_file(&expected) {
                state.diagnostics.push(
                    Diagnostic::new(
                        Code::UseTargetNotAFile,
                        file,
                        path.span,
                        format!("cannot load module \"{}\": it is {kind}, not a regular file", path.value),
                    )
                    .label("not a regular file")
                    .help("a module is a `.rbk` file: point the `use` at one (reading a pipe or device would never end)"),
                );
                return None;
            }
            match state.loader.local_module(from_path, &path.value) {
                Ok((resolved, text)) => {
                    let origin = ModuleOrigin::File(resolved.clone());
                    Some(state.add(origin, resolved, text))
                }
                Err(reason) => {
                    state.diagnostics.push(
                        Diagnostic::new(Code::LocalModuleUnavailable, file, path.span, format!("cannot load module \"{}\": {reason}", path.value))
                            .label("this file")
                            .help("the path is relative to the file that uses it; check the name and that the file is readable"),
                    );
                    None
                }
            }
        }
    }
}

//! Modules and their names: loads what `use` asks for and builds each module's table of
//! top-level definitions, reporting unknown modules and duplicate definitions.

mod duplicates;
mod local_modules;
mod unknown;

use std::collections::HashMap;
use std::path::PathBuf;

pub(crate) use duplicates::{duplicate_definition, Duplicate};
pub(crate) use local_modules::{local_module_unavailable, use_target_not_a_file, Unavailable};
pub(crate) use unknown::{
    unknown_member, unknown_module, unknown_name, KnownFields, UnknownMember, UnknownModule,
    UnknownName,
};

use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::{ItemKind, SourceFile, Span, UseTarget};
use crate::FileId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(pub u32);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModuleOrigin {
    /// `std.NAME`, embedded in the binary.
    Std(String),
    /// A file given on the command line or reached through `use "./x.rbk"`.
    File(PathBuf),
}

#[derive(Debug)]
pub struct Module {
    pub id: ModuleId,
    pub file: FileId,
    pub origin: ModuleOrigin,
    pub ast: SourceFile,
    pub names: ModuleNames,
}

impl Module {
    /// How the module is named in messages: `postgres` for `std.postgres`, else the file name.
    pub fn display_name(&self) -> String {
        match &self.origin {
            ModuleOrigin::Std(name) => name.clone(),
            ModuleOrigin::File(path) => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    pub fn is_std(&self) -> bool {
        matches!(self.origin, ModuleOrigin::Std(_))
    }
}

#[derive(Clone, Debug)]
pub struct Import {
    /// `None` when the module could not be found; the error is already reported.
    pub module: Option<ModuleId>,
    pub span: Span,
}

/// The top-level definitions of one module, by name, as indexes into its items.
#[derive(Debug, Default)]
pub struct ModuleNames {
    pub imports: HashMap<String, Import>,
    pub types: HashMap<String, usize>,
    pub externs: HashMap<String, usize>,
    pub fns: HashMap<String, usize>,
    pub consts: HashMap<String, usize>,
    pub runbooks: HashMap<String, usize>,
}

/// What another module may refer to as `alias.NAME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Member {
    Type(usize),
    Extern(usize),
    Fn(usize),
    Const(usize),
    Runbook(usize),
}

impl ModuleNames {
    pub fn member(&self, name: &str) -> Option<Member> {
        if let Some(&i) = self.externs.get(name) {
            return Some(Member::Extern(i));
        }
        if let Some(&i) = self.fns.get(name) {
            return Some(Member::Fn(i));
        }
        if let Some(&i) = self.consts.get(name) {
            return Some(Member::Const(i));
        }
        if let Some(&i) = self.types.get(name) {
            return Some(Member::Type(i));
        }
        self.runbooks.get(name).map(|&i| Member::Runbook(i))
    }

    /// Every name a module defines, for "did you mean" hints and completion.
    pub fn all_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .externs
            .keys()
            .chain(self.fns.keys())
            .chain(self.consts.keys())
            .chain(self.types.keys())
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names
    }
}

/// Builds the name table of one module; `import` resolves a `use` to a module id.
pub fn collect_names(
    file: FileId,
    ast: &SourceFile,
    mut import: impl FnMut(&UseTarget) -> Option<ModuleId>,
    diagnostics: &mut Vec<Diagnostic>,
) -> ModuleNames {
    let mut names = ModuleNames::default();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for (index, item) in ast.items.iter().enumerate() {
        let (name, table): (&crate::syntax::Ident, &mut HashMap<String, usize>) = match &item.kind {
            ItemKind::Use(use_item) => {
                let module = import(&use_item.target);
                let Some(binding) = use_item.binding() else {
                    let span = match &use_item.target {
                        UseTarget::Local(path) => path.span,
                        UseTarget::Std { span, .. } => *span,
                    };
                    diagnostics.push(unnamed_local_module(file, span));
                    continue;
                };
                if let Some(previous) = seen.get(&binding.name) {
                    diagnostics.push(duplicate(file, &binding.name, binding.span, *previous));
                    continue;
                }
                seen.insert(binding.name.clone(), binding.span);
                names.imports.insert(
                    binding.name.clone(),
                    Import {
                        module,
                        span: binding.span,
                    },
                );
                continue;
            }
            ItemKind::Runbook(runbook) => (&runbook.name, &mut names.runbooks),
            ItemKind::Fn(function) => (&function.name, &mut names.fns),
            ItemKind::Const(constant) => (&constant.name, &mut names.consts),
            ItemKind::Extern(external) => (&external.name, &mut names.externs),
            ItemKind::Type(ty) => (&ty.name, &mut names.types),
            // A template is reached only through its instances (already runbooks here), but
            // its name is taken like any other item's.
            ItemKind::Template(template) => {
                let name = &template.name;
                match seen.get(&name.name) {
                    Some(previous) => {
                        diagnostics.push(duplicate(file, &name.name, name.span, *previous))
                    }
                    None => {
                        seen.insert(name.name.clone(), name.span);
                    }
                }
                continue;
            }
            ItemKind::Test(_) | ItemKind::Instance(_) => continue,
        };
        if let Some(previous) = seen.get(&name.name) {
            diagnostics.push(duplicate(file, &name.name, name.span, *previous));
            continue;
        }
        seen.insert(name.name.clone(), name.span);
        table.insert(name.name.clone(), index);
    }
    names
}

/// E0117: fires when `use "./file.rbk"` gives the local module no `as NAME`.
fn unnamed_local_module(file: FileId, path: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnnamedLocalModule,
        file,
        path,
        "a local module needs a name",
    )
    .label("no `as NAME` here")
    .help("write `use \"./file.rbk\" as NAME` and refer to its items as `NAME.item`")
}

/// E0104 for a name defined twice in one scope.
pub(crate) fn duplicate(file: FileId, name: &str, span: Span, previous: Span) -> Diagnostic {
    duplicate_definition(file, span, Duplicate::Name { name, previous })
}

/// The closest of `candidates` to `name`, if any is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(name, candidate);
        let limit = (name.len().max(candidate.len()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

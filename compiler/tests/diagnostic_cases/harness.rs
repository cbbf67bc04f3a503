//! What a diagnostic case is and how it is snapshotted: rbk source in, the real check run on it
//! (the standard modules from the rbk-std crate, local modules from the case), and out one text
//! holding the source, the human report exactly as `rbk check` prints it when not on a terminal
//! (diagnostics::human with HumanStyle::PLAIN) and the JSON records of `--format json`.
//!
//! `assert_diagnostics!(name, case)` requires at least one diagnostic; `assert_clean!(name,
//! case)` requires none. Both snapshot, so a message, span or help that changes shows in review.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rbk_compiler::diagnostics::{self, formats, HumanStyle};
use rbk_compiler::lints::natives::{NativeCatalog, NativeSignature};
use rbk_compiler::syntax::Effect;
use rbk_compiler::types::ApproverGroups;
use rbk_compiler::{check, Analysis, CheckOptions, ModuleLoader};

/// The file every case's source is checked as.
pub const MAIN_FILE: &str = "case.rbk";

/// One source to check, with what it may `use` and the project options it is checked under.
#[derive(Default)]
pub struct Case {
    source: String,
    /// Local modules by the path a `use` names (`"./lib.rbk"` is `lib.rbk`).
    files: BTreeMap<String, String>,
    /// Paths that exist but are not regular files, with what they are ("a directory").
    special: BTreeMap<String, &'static str>,
    /// Standard modules served instead of the real ones, by name.
    std_replaced: BTreeMap<String, String>,
    options: CheckOptions,
}

impl From<&str> for Case {
    fn from(source: &str) -> Case {
        Case {
            source: source.to_string(),
            ..Case::default()
        }
    }
}

impl From<String> for Case {
    fn from(source: String) -> Case {
        Case::from(source.as_str())
    }
}

impl Case {
    pub fn new(source: &str) -> Case {
        Case::from(source)
    }

    /// `std.NAME` served with `text` instead of std/NAME.rbk (or as a new module).
    pub fn std_module(mut self, name: &str, text: &str) -> Case {
        self.std_replaced.insert(name.to_string(), text.to_string());
        self
    }

    /// A local module the source can `use "./NAME"`.
    pub fn file(mut self, name: &str, text: &str) -> Case {
        self.files.insert(name.to_string(), text.to_string());
        self
    }

    /// A path `use` can name that is not a regular file.
    pub fn special(mut self, name: &str, kind: &'static str) -> Case {
        self.special.insert(name.to_string(), kind);
        self
    }

    /// rbk.toml's `[approvers]`: `database-oncall = ["alice", "bob"]`, as the fixtures have.
    pub fn with_approvers(mut self) -> Case {
        let groups: ApproverGroups = [(
            "database-oncall".to_string(),
            vec!["alice".to_string(), "bob".to_string()],
        )]
        .into_iter()
        .collect();
        self.options.approver_groups = Some(groups);
        self
    }

    /// The native actions of a build: `case.NAME` with its arity and effect, as the CLI passes
    /// rbk_stdlib's catalogue (which the compiler's tests cannot depend on).
    pub fn with_native(mut self, name: &str, arity: usize, effect: Effect) -> Case {
        let natives: &mut NativeCatalog = self
            .options
            .native_actions
            .get_or_insert_with(NativeCatalog::new);
        natives.insert(
            format!("case.{name}"),
            NativeSignature {
                arity,
                effect,
                safe_to_auto_approve: false,
            },
        );
        self
    }

    pub fn analyse(&self) -> Analysis {
        check(
            vec![(PathBuf::from(MAIN_FILE), self.source.clone())],
            self,
            &self.options,
        )
    }

    /// The snapshot text, and how many diagnostics it holds.
    pub fn report(&self) -> (String, usize) {
        let analysis = self.analyse();
        let mut out = format!("──── {MAIN_FILE}\n{}", self.source);
        if !self.source.ends_with('\n') {
            out.push('\n');
        }
        for (name, text) in &self.files {
            out.push_str(&format!("──── {name}\n{text}"));
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
        out.push_str("──── human\n");
        if analysis.diagnostics.is_empty() {
            out.push_str("(no diagnostics)\n");
        }
        for diagnostic in &analysis.diagnostics {
            out.push_str(&diagnostics::human(
                &analysis,
                diagnostic,
                HumanStyle::PLAIN,
            ));
            out.push('\n');
        }
        out.push_str("──── json\n");
        let records = formats::records(&analysis, &analysis.diagnostics);
        out.push_str(&formats::json(&records));
        out.push('\n');
        (out, analysis.diagnostics.len())
    }
}

impl ModuleLoader for Case {
    fn std_module(&self, name: &str) -> Option<String> {
        if let Some(text) = self.std_replaced.get(name) {
            return Some(text.clone());
        }
        rbk_std::module_source(name).map(str::to_string)
    }

    fn std_module_names(&self) -> Vec<String> {
        rbk_std::module_names().map(str::to_string).collect()
    }

    fn local_module(
        &self,
        _from: &Path,
        relative: &str,
    ) -> Result<(PathBuf, String), rbk_compiler::ModuleUnavailable> {
        let name = relative.trim_start_matches("./");
        match self.files.get(name) {
            Some(text) => Ok((PathBuf::from(name), text.clone())),
            None => Err(rbk_compiler::ModuleUnavailable::NotFound),
        }
    }

    fn special_file(&self, path: &Path) -> Option<&'static str> {
        let name = path.to_string_lossy();
        if let Some((_, kind)) = self
            .special
            .iter()
            .find(|(special, _)| name.ends_with(special.as_str()))
        {
            return Some(kind);
        }
        // An absolute path (the E0107 fixture's /dev/zero) is what the machine has there.
        let metadata = std::fs::metadata(path)
            .ok()
            .filter(|_| path.is_absolute())?;
        if metadata.is_file() {
            None
        } else if metadata.is_dir() {
            Some("a directory")
        } else {
            Some("a device, socket or pipe")
        }
    }
}

/// A case that must report at least one diagnostic; snapshots it.
macro_rules! assert_diagnostics {
    ($name:ident, $case:expr) => {
        #[test]
        fn $name() {
            let case: $crate::harness::Case = ($case).into();
            let (report, count) = case.report();
            assert!(count > 0, "expected diagnostics, got none:\n{report}");
            insta::assert_snapshot!(stringify!($name), report);
        }
    };
}

/// A case that must report nothing; snapshots it too, so what "clean" covers is on record.
macro_rules! assert_clean {
    ($name:ident, $case:expr) => {
        #[test]
        fn $name() {
            let case: $crate::harness::Case = ($case).into();
            let (report, count) = case.report();
            assert_eq!(count, 0, "expected no diagnostics:\n{report}");
            insta::assert_snapshot!(stringify!($name), report);
        }
    };
}

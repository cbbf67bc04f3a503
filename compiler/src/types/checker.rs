//! The type checker's shared state: the modules being checked, the side tables it fills
//! ([`TypeInfo`]) and the diagnostics it reports, and the order in which it walks a program.
//! The walk itself lives beside it, one file per job: declarations.rs (types, signatures,
//! imports), statements.rs (fn, runbook and step bodies), expressions.rs and calls.rs.

use super::env::Env;
use super::{CheckedModule, TypeInfo};
use crate::diagnostics::Diagnostic;
use crate::resolve::Module;
use crate::syntax::ItemKind;

pub(crate) struct Checker<'a> {
    pub(super) modules: &'a [Module],
    pub(super) info: TypeInfo,
    pub(super) diagnostics: &'a mut Vec<Diagnostic>,
    /// How many more unknown names of the module being checked may be compared with every
    /// name in scope for a "did you mean": each comparison walks the whole scope, so a file of
    /// many unknown names among many names would otherwise take quadratic time.
    pub(super) suggestions_left: usize,
    /// What is left of each module's budget (by module id) between passes.
    suggestion_budgets: Vec<usize>,
}

/// Unknown names (per module) that get a "did you mean" hint; later ones get the plain help.
/// Per module, not per check, so modules can be checked in parallel with the same result.
const SUGGESTION_BUDGET: usize = 100;

impl<'a> Checker<'a> {
    pub fn new(modules: &'a [Module], diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        Checker {
            modules,
            info: TypeInfo::default(),
            diagnostics,
            suggestions_left: SUGGESTION_BUDGET,
            suggestion_budgets: vec![SUGGESTION_BUDGET; modules.len()],
        }
    }

    pub fn into_info(self) -> TypeInfo {
        self.info
    }

    pub(super) fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Checks every module: first, one after the other, what modules may refer to across
    /// files (types, signatures, constants); then each module's bodies, and then its `test`
    /// blocks (which read the inputs bodies record), on `threads` threads.
    pub fn check_all(&mut self, threads: usize) {
        let modules = self.modules;
        for module in modules {
            self.declare_types(module);
        }
        for module in modules {
            self.declare_signatures(module);
        }
        for module in modules {
            for (index, item) in module.ast.items.iter().enumerate() {
                if let ItemKind::Const(constant) = &item.kind {
                    let mut env = Env::new(module.id, module.file);
                    let declared = self.resolve_type(module, &constant.ty);
                    self.expect_type(&mut env, &constant.value, &declared, "this constant");
                    self.info.const_types.insert((module.id, index), declared);
                }
            }
        }
        self.each_module(threads, |checker, module| checker.check_bodies(module));
        self.each_module(threads, |checker, module| checker.check_tests(module));
    }

    fn check_bodies(&mut self, module: &Module) {
        for (index, item) in module.ast.items.iter().enumerate() {
            match &item.kind {
                ItemKind::Fn(function) => self.check_fn(module, index, function),
                ItemKind::Runbook(runbook) => self.check_runbook(module, index, runbook),
                ItemKind::Extern(external) => self.check_param_defaults(module, &external.params),
                _ => {}
            }
        }
    }

    fn check_tests(&mut self, module: &Module) {
        for item in &module.ast.items {
            if let ItemKind::Test(test) = &item.kind {
                self.check_test(module, test);
            }
        }
    }

    /// Runs `pass` on every module. With more than one thread, each thread checks a run of
    /// modules with its own copy of the declarations, the tables of its modules and its own
    /// diagnostics; the diagnostics are then taken in module order, so the result is the
    /// serial one.
    fn each_module(&mut self, threads: usize, pass: impl Fn(&mut Checker, &Module) + Sync) {
        let modules = self.modules;
        if threads < 2 {
            for module in modules {
                self.suggestions_left = self.suggestion_budgets[module.id.0 as usize];
                pass(self, module);
                self.suggestion_budgets[module.id.0 as usize] = self.suggestions_left;
            }
            return;
        }
        // Each module's tables (and what is left of its suggestion budget) travel with it to
        // the thread that checks it, and back.
        let mut tables = self.info.take_checked(modules.len());
        let mut work: Vec<(&Module, &mut CheckedModule, &mut usize)> = modules
            .iter()
            .zip(tables.iter_mut())
            .zip(self.suggestion_budgets.iter_mut())
            .map(|((module, table), budget)| (module, table, budget))
            .collect();
        let declared = &self.info;
        let chunks = crate::parallel::map_chunks_mut(&mut work, threads, |_, chunk| {
            let mut diagnostics = Vec::new();
            let mut worker = Checker {
                modules,
                info: declared.declarations(),
                diagnostics: &mut diagnostics,
                suggestions_left: 0,
                suggestion_budgets: Vec::new(),
            };
            for (module, table, budget) in chunk.iter_mut() {
                worker.info.put_checked(module.id, std::mem::take(*table));
                worker.suggestions_left = **budget;
                pass(&mut worker, module);
                **table = worker.info.take_checked_of(module.id);
                **budget = worker.suggestions_left;
            }
            let info = worker.info;
            (info, diagnostics)
        });
        drop(work);
        self.info.restore_checked(tables);
        for (info, diagnostics) in chunks {
            self.info.absorb(info);
            self.diagnostics.extend(diagnostics);
        }
    }
}

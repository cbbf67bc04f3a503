//! The type checker's shared state: the modules being checked, the side tables it fills
//! ([`TypeInfo`]) and the diagnostics it reports, and the order in which it walks a program.
//! The walk itself lives beside it, one file per job: declarations.rs (types, signatures,
//! imports), statements.rs (fn, runbook and step bodies), expressions.rs and calls.rs.

use super::env::Env;
use super::TypeInfo;
use crate::diagnostics::Diagnostic;
use crate::resolve::Module;
use crate::syntax::ItemKind;

pub(crate) struct Checker<'a> {
    pub(super) modules: &'a [Module],
    pub(super) info: TypeInfo,
    pub(super) diagnostics: &'a mut Vec<Diagnostic>,
    /// How many more unknown names may be compared with every name in scope for a "did you
    /// mean": each comparison walks the whole scope, so a file of many unknown names among
    /// many names would otherwise take quadratic time.
    pub(super) suggestions_left: usize,
}

/// Unknown names (per check) that get a "did you mean" hint; later ones get the plain help.
const SUGGESTION_BUDGET: usize = 100;

impl<'a> Checker<'a> {
    pub fn new(modules: &'a [Module], diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        Checker {
            modules,
            info: TypeInfo::default(),
            diagnostics,
            suggestions_left: SUGGESTION_BUDGET,
        }
    }

    pub fn into_info(self) -> TypeInfo {
        self.info
    }

    pub(super) fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn check_all(&mut self) {
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
        for module in modules {
            for (index, item) in module.ast.items.iter().enumerate() {
                match &item.kind {
                    ItemKind::Fn(function) => self.check_fn(module, index, function),
                    ItemKind::Runbook(runbook) => self.check_runbook(module, index, runbook),
                    ItemKind::Extern(external) => {
                        self.check_param_defaults(module, &external.params)
                    }
                    _ => {}
                }
            }
        }
        for module in modules {
            for item in &module.ast.items {
                if let ItemKind::Test(test) = &item.kind {
                    self.check_test(module, test);
                }
            }
        }
    }
}

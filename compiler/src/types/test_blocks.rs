//! Checking `test` blocks: mocks against extern signatures, step names against the runbook run.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

use super::checker::Checker;
use super::env::{BindingKind, Env};
use super::ty::assignable;
use super::{Signature, Ty};
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::{
    suggest, unknown_member, unknown_name, Member, Module, ModuleId, UnknownMember, UnknownName,
};
use crate::syntax::*;
use crate::FileId;

impl Checker<'_> {
    pub(super) fn check_test(&mut self, module: &Module, test: &TestItem) {
        let mut env = Env::new(module.id, module.file);
        let run = test.body.iter().find_map(|stmt| match &stmt.kind {
            TestStmtKind::Run { runbook, .. } => Some(runbook),
            _ => None,
        });
        let runbook = run.and_then(|name| self.runbook_for_test(module, name));
        let step_names: Vec<String> = runbook
            .map(|rb| {
                rb.clauses
                    .iter()
                    .filter_map(|c| match &c.kind {
                        ClauseKind::Step(step) => Some(step.name.name.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Per action, the first mock that takes every call: later mocks of it are unreachable.
        let mut catch_alls: HashMap<(ModuleId, usize), Span> = HashMap::new();
        for stmt in &test.body {
            match &stmt.kind {
                TestStmtKind::Mock {
                    target,
                    pattern,
                    outcome,
                } => {
                    let resolved = self.mock_target(module, target);
                    let signature = resolved.as_ref().map(|(_, s)| s.clone());
                    if let Some(pattern) = pattern {
                        self.check_call_pattern(&mut env, target, signature.as_deref(), pattern);
                    }
                    if let Some((action, _)) = resolved {
                        self.reachable_mock(
                            env.file,
                            target,
                            pattern.as_ref(),
                            stmt.span,
                            action,
                            &mut catch_alls,
                        );
                    }
                    let ret = signature.map(|s| s.ret.clone());
                    match outcome {
                        MockOutcome::Returns(value) => {
                            self.check_mock_value(&mut env, value, ret.as_ref())
                        }
                        MockOutcome::Fails(message) => {
                            self.expect_type(&mut env, message, &Ty::Str, "a failure message")
                        }
                    }
                }
                TestStmtKind::Set { value, .. } => {
                    self.expect_type(&mut env, value, &Ty::Str, "`set`")
                }
                TestStmtKind::Approve { step, values, .. } => {
                    if runbook.is_some() {
                        self.known_step(module, step, &step_names);
                    }
                    if let Some(values) = values {
                        let gate_step = runbook.and_then(|rb| {
                            rb.clauses.iter().find_map(|c| match &c.kind {
                                ClauseKind::Step(s) if s.name.name == step.name => Some(s),
                                _ => None,
                            })
                        });
                        self.check_test_approval_values(&mut env, module, gate_step, values);
                    }
                }
                TestStmtKind::Deny { step, .. } => {
                    if runbook.is_some() {
                        self.known_step(module, step, &step_names);
                    }
                }
                TestStmtKind::ExpectStep { step, .. } => {
                    if runbook.is_some() {
                        self.known_step(module, step, &step_names);
                    }
                }
                TestStmtKind::Run {
                    runbook: name,
                    inputs,
                    alert,
                    alerts,
                } => {
                    let index = module.names.runbooks.get(&name.name).copied();
                    if let Some(inputs) = inputs {
                        self.check_test_inputs(&mut env, module.id, index, inputs);
                    }
                    for alert in alert.iter().chain(alerts) {
                        self.check_test_alert(&mut env, alert);
                    }
                }
                TestStmtKind::ExpectCalled {
                    target, pattern, ..
                } => {
                    let signature = self.mock_target(module, target).map(|(_, s)| s);
                    if let Some(pattern) = pattern {
                        self.check_call_pattern(&mut env, target, signature.as_deref(), pattern);
                    }
                }
                TestStmtKind::ExpectEscalated { .. } | TestStmtKind::ExpectTrigger { .. } => {}
                TestStmtKind::Expect(cond) => self.expect_condition(&mut env, cond, "`expect`"),
                TestStmtKind::Let { name, ty, value } => {
                    let ty = match ty {
                        Some(annotation) => {
                            let declared = self.resolve_type(module, annotation);
                            self.expect_type(&mut env, value, &declared, "this binding");
                            declared
                        }
                        None => self.check_expr(&mut env, value, None),
                    };
                    env.bind(name, ty, BindingKind::Lambda);
                }
            }
        }
        if run.is_none() {
            self.report(test_without_run(module.file, test.name.span));
        }
    }

    fn runbook_for_test<'m>(&mut self, module: &'m Module, name: &Ident) -> Option<&'m Runbook> {
        if let Some(&index) = module.names.runbooks.get(&name.name) {
            if let ItemKind::Runbook(runbook) = &module.ast.items[index].kind {
                return Some(runbook);
            }
        }
        let names: Vec<&str> = module.names.runbooks.keys().map(String::as_str).collect();
        let suggestion = suggest(&name.name, names);
        self.report(unknown_name(
            module.file,
            name.span,
            UnknownName::Runbook {
                name: &name.name,
                suggestion,
            },
        ));
        None
    }

    fn known_step(&mut self, module: &Module, step: &Ident, names: &[String]) {
        if names.iter().any(|n| n == &step.name) {
            return;
        }
        self.report(super::decisions::unknown_step(
            module.file,
            step.span,
            &step.name,
            names,
        ));
    }

    /// W0109: a mock written after one that takes every call of the same action.
    fn reachable_mock(
        &mut self,
        file: FileId,
        target: &Path,
        pattern: Option<&CallPattern>,
        span: Span,
        action: (ModuleId, usize),
        catch_alls: &mut HashMap<(ModuleId, usize), Span>,
    ) {
        if let Some(&first) = catch_alls.get(&action) {
            self.report(unreachable_mock(file, span, target, first));
        } else if pattern.is_none_or(CallPattern::is_catch_all) {
            catch_alls.insert(action, span);
        }
    }

    /// Resolves `pg.terminate` in a mock or `expect called`: the extern (module and item) and
    /// its signature.
    fn mock_target(
        &mut self,
        module: &Module,
        target: &Path,
    ) -> Option<((ModuleId, usize), Arc<Signature>)> {
        let (target_module, member) = match target.segments.as_slice() {
            [name] => (module.id, name),
            [qualifier, name] => (self.import(module, qualifier)?, name),
            _ => {
                self.report(not_mockable(
                    module.file,
                    target.span,
                    Unmockable::NotAnAction { target },
                ));
                return None;
            }
        };
        let owner = &self.modules[target_module.0 as usize];
        match owner.names.member(&member.name) {
            Some(Member::Extern(item)) => self
                .info
                .signatures
                .get(&(target_module, item))
                .map(|s| ((target_module, item), s.clone())),
            Some(_) => {
                self.report(not_mockable(
                    module.file,
                    target.span,
                    Unmockable::NotExtern { target },
                ));
                None
            }
            None => {
                let names = owner.names.all_names();
                let qualifier = target
                    .segments
                    .first()
                    .cloned()
                    .unwrap_or_else(|| member.clone());
                let suggestion = suggest(&member.name, names.iter().copied());
                self.report(unknown_member(
                    module.file,
                    member.span,
                    UnknownMember::MockedAction {
                        target,
                        module: &qualifier.name,
                        suggestion,
                    },
                ));
                None
            }
        }
    }

    /// `returns V` gives V on every call; `returns [V1, V2]` gives them in turn when the list's
    /// elements (not the list) have the action's return type.
    fn check_mock_value(&mut self, env: &mut Env, value: &Expr, ret: Option<&Ty>) {
        let Some(ret) = ret else {
            self.check_expr(env, value, None);
            return;
        };
        // Try "one value for every call" first, then "successive values"; keep the diagnostics
        // of whichever reading fits, or of the first when neither does.
        let before = self.diagnostics.len();
        let ty = self.check_expr(env, value, Some(ret));
        if assignable(&ty, ret) && self.diagnostics.len() == before {
            return;
        }
        if let ExprKind::List(elements) = &value.kind {
            let single_value_errors = self.diagnostics.split_off(before);
            for element in elements {
                self.expect_type(env, element, ret, "this mocked result");
            }
            if self.diagnostics.len() == before {
                // Record the reading the interpreter must use: successive values.
                self.info
                    .record_type(env.module, value.id, Ty::list(ret.clone()));
                return;
            }
            self.diagnostics.truncate(before);
            self.diagnostics.extend(single_value_errors);
            if !assignable(&ty, ret) {
                self.mismatch(env.file, value.span, ret, &ty, "this mock");
            }
            return;
        }
        if !assignable(&ty, ret) {
            self.mismatch(env.file, value.span, ret, &ty, "this mock");
        }
    }

    fn check_test_inputs(
        &mut self,
        env: &mut Env,
        module: ModuleId,
        runbook: Option<usize>,
        inputs: &Expr,
    ) {
        let declared = runbook
            .and_then(|i| self.info.inputs.get(&(module, i)).cloned())
            .unwrap_or_default();
        let ExprKind::Record(fields) = &inputs.kind else {
            self.check_expr(env, inputs, None);
            return;
        };
        for field in fields {
            let RecordKey::Name(name) = &field.key else {
                self.check_expr(env, &field.value, None);
                continue;
            };
            match declared.iter().find(|i| i.name == name.name) {
                Some(input) => {
                    let ty = input.ty.clone();
                    self.expect_type(env, &field.value, &ty, &format!("input `{}`", name.name));
                }
                None => {
                    self.check_expr(env, &field.value, None);
                    if runbook.is_some() {
                        let names: Vec<&str> = declared.iter().map(|i| i.name.as_str()).collect();
                        let suggestion = suggest(&name.name, names.iter().copied());
                        self.report(unknown_name(
                            env.file,
                            name.span,
                            UnknownName::Input {
                                name: &name.name,
                                suggestion,
                                inputs: &names,
                            },
                        ));
                    }
                }
            }
        }
    }

    fn check_test_alert(&mut self, env: &mut Env, alert: &Expr) {
        let ExprKind::Record(fields) = &alert.kind else {
            self.check_expr(env, alert, None);
            return;
        };
        let string_map = Ty::Map(Box::new(Ty::Str), Box::new(Ty::Str));
        for field in fields {
            let RecordKey::Name(name) = &field.key else {
                continue;
            };
            let expected = match name.name.as_str() {
                "labels" | "annotations" => string_map.clone(),
                "name" | "status" | "fingerprint" => Ty::Str,
                "starts_at" => Ty::Time,
                "ends_at" => Ty::optional(Ty::Time),
                _ => {
                    self.check_expr(env, &field.value, None);
                    self.report(unknown_member(
                        env.file,
                        name.span,
                        UnknownMember::AlertField { field: &name.name },
                    ));
                    continue;
                }
            };
            self.expect_type(
                env,
                &field.value,
                &expected,
                &format!("alert field `{}`", name.name),
            );
        }
    }
}

/// W0109: fires when a mock of `target` follows one (`first`) that takes every call.
fn unreachable_mock(file: FileId, span: Span, target: &Path, first: Span) -> Diagnostic {
    Diagnostic::new(
        Code::UnreachableMock,
        file,
        span,
        format!("no call of `{target}` can reach this mock"),
    )
    .label("never used")
    .with_secondary(first, "this earlier mock takes every call")
    .help(
        "the first mock that matches a call wins: put the narrower mock (with \
         patterns or a `where`) before the one that takes every call, or delete one",
    )
}

/// E0224: fires when a `test` block has no `run` statement.
fn test_without_run(file: FileId, test_name: Span) -> Diagnostic {
    Diagnostic::new(
        Code::TestWithoutRun,
        file,
        test_name,
        "this test never runs a runbook",
    )
    .label("no `run` statement")
    .help("add `run RUNBOOK_NAME` after the mocks and approvals")
}

/// Why a mock's target cannot be mocked.
enum Unmockable<'a> {
    /// The path is not `module.action`.
    NotAnAction { target: &'a dyn Display },
    /// The member exists but is a `fn`, constant or type.
    NotExtern { target: &'a dyn Display },
}

/// E0208: fires when a test mocks something that is not an extern action.
fn not_mockable(file: FileId, span: Span, unmockable: Unmockable<'_>) -> Diagnostic {
    let (message, label, help) = match unmockable {
        Unmockable::NotAnAction { target } => (
            format!("`{target}` is not an action"),
            "not an action name",
            "mock an action by its module and name, e.g. `mock pg.pool_usage returns 50%`",
        ),
        Unmockable::NotExtern { target } => (
            format!("`{target}` is not an extern action"),
            "a `fn`, constant or type",
            "only `extern action`s reach the outside world and can be mocked; a `fn` runs for real in tests, with the actions it calls mocked",
        ),
    };
    Diagnostic::new(Code::NotMockable, file, span, message)
        .label(label)
        .help(help)
}

//! What each `fn`, step and runbook can do to the world: the strongest effect of every extern
//! action it can reach, through `fn` calls too. An action's effect is the one its extern
//! declares, except `shell.run` with written-out command words that a read-only table names
//! ([`shell_table`]).

pub mod shell_table;

use std::collections::{HashMap, HashSet};

use crate::resolve::{Module, ModuleId};
use crate::syntax::visit::{walk_expr, walk_step, walk_stmts};
use crate::syntax::{Effect, Expr, ExprKind, ItemKind, Span, Step};
use crate::types::{Callee, TypeInfo};

/// One extern action a step can reach, and the call in the step that reaches it.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionUse {
    pub module: ModuleId,
    pub item: usize,
    /// `postgres.terminate`.
    pub name: String,
    pub effect: Effect,
    pub safe_to_auto_approve: bool,
    /// The call written in the step (for actions reached through a `fn`, the call of the `fn`).
    pub call_span: Span,
    /// The `fn` the action is reached through, if any.
    pub via: Option<String>,
    /// Why the effect is not the one the extern declares (`kubectl get` is read-only by the
    /// std table).
    pub reason: Option<String>,
}

/// An item by module and index.
type ItemRef = (ModuleId, usize);
/// An extern action as one call reaches it: with the effect of that call.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Reached {
    action: ItemRef,
    effect: Effect,
    reason: Option<String>,
}

/// The externs and the `fn`s a `fn` body calls directly.
type DirectCalls = (Vec<Reached>, Vec<ItemRef>);

#[derive(Debug, Default)]
pub struct EffectInfo {
    /// The extern actions each `fn` can reach, directly or through other `fn`s.
    fn_reach: HashMap<(ModuleId, usize), Vec<Reached>>,
    /// rbk.toml's `[shell] read_only` entries.
    shell_read_only: Vec<String>,
}

impl EffectInfo {
    pub fn compute(modules: &[Module], types: &TypeInfo, shell_read_only: &[String]) -> Self {
        let mut direct: HashMap<ItemRef, DirectCalls> = HashMap::new();
        for module in modules {
            for (index, item) in module.ast.items.iter().enumerate() {
                // A parameter's default is evaluated at every call that leaves it out, so what
                // it can reach is part of what the call can reach, for `fn`s and externs alike.
                let (params, body) = match &item.kind {
                    ItemKind::Fn(function) => (&function.params, function.body.as_slice()),
                    ItemKind::Extern(external) => (&external.params, &[][..]),
                    _ => continue,
                };
                let mut externs = Vec::new();
                let mut fns = Vec::new();
                let mut record = |expr: &Expr| match types.callee(module.id, expr.id) {
                    Some(Callee::Extern { module, item }) => {
                        if let Some(reached) =
                            reached_by_call(modules, module, item, expr, shell_read_only)
                        {
                            externs.push(reached);
                        }
                    }
                    Some(Callee::Fn { module, item }) => fns.push((module, item)),
                    _ => {}
                };
                for default in params.iter().filter_map(|p| p.default.as_ref()) {
                    walk_expr(default, &mut record);
                }
                walk_stmts(body, &mut record);
                direct.insert((module.id, index), (externs, fns));
            }
        }
        let mut fn_reach = HashMap::new();
        for &key in direct.keys() {
            let mut reached = Vec::new();
            let mut seen = HashSet::new();
            let mut stack = vec![key];
            while let Some(current) = stack.pop() {
                if !seen.insert(current) {
                    continue;
                }
                if let Some((externs, fns)) = direct.get(&current) {
                    for e in externs {
                        if !reached.contains(e) {
                            reached.push(e.clone());
                        }
                    }
                    stack.extend(fns.iter().copied());
                }
            }
            reached.sort();
            fn_reach.insert(key, reached);
        }
        EffectInfo {
            fn_reach,
            shell_read_only: shell_read_only.to_vec(),
        }
    }

    /// The effect of calling a `fn`: the strongest action it can reach (`pure` if none).
    pub fn fn_effect(&self, modules: &[Module], module: ModuleId, item: usize) -> Effect {
        self.fn_reach
            .get(&(module, item))
            .into_iter()
            .flatten()
            .filter(|reached| extern_of(modules, reached.action.0, reached.action.1).is_some())
            .map(|reached| reached.effect)
            .max()
            .unwrap_or(Effect::Pure)
    }

    /// The actions one call expression reaches (none for builtins).
    pub fn call_actions(
        &self,
        modules: &[Module],
        types: &TypeInfo,
        module: ModuleId,
        call: &Expr,
    ) -> Vec<ActionUse> {
        let Some(callee) = types.callee(module, call.id) else {
            return Vec::new();
        };
        let describe = |reached: &Reached, via: Option<String>| {
            let (m, i) = reached.action;
            let external = extern_of(modules, m, i)?;
            Some(ActionUse {
                module: m,
                item: i,
                name: format!(
                    "{}.{}",
                    modules[m.0 as usize].display_name(),
                    external.name.name
                ),
                effect: reached.effect,
                safe_to_auto_approve: external.safe_to_auto_approve,
                call_span: call.span,
                via,
                reason: reached.reason.clone(),
            })
        };
        let reached_through = |m: ModuleId, item: usize, name: &str| {
            self.fn_reach
                .get(&(m, item))
                .into_iter()
                .flatten()
                .filter_map(|reached| describe(reached, Some(name.to_string())))
                .collect::<Vec<_>>()
        };
        match callee {
            Callee::Extern { module, item } => {
                let mut actions: Vec<ActionUse> =
                    reached_by_call(modules, module, item, call, &self.shell_read_only)
                        .and_then(|reached| describe(&reached, None))
                        .into_iter()
                        .collect();
                if let Some(own) = actions.first().map(|a| a.name.clone()) {
                    // Actions in the extern's parameter defaults.
                    actions.extend(reached_through(module, item, &own));
                }
                actions
            }
            Callee::Fn { module: m, item } => {
                let fn_name = match &modules[m.0 as usize].ast.items[item].kind {
                    ItemKind::Fn(function) => function.name.name.clone(),
                    _ => String::new(),
                };
                reached_through(m, item, &fn_name)
            }
            Callee::Builtin(_) => Vec::new(),
        }
    }

    /// Every action a step can reach, in the order the calls are written.
    pub fn step_actions(
        &self,
        modules: &[Module],
        types: &TypeInfo,
        module: ModuleId,
        step: &Step,
    ) -> Vec<ActionUse> {
        let mut actions = Vec::new();
        walk_step(step, &mut |expr| {
            if matches!(expr.kind, ExprKind::Call { .. }) {
                actions.extend(self.call_actions(modules, types, module, expr));
            }
        });
        actions
    }

    /// Every action an expression (a `notify` or `escalate` call) can reach.
    pub fn expr_actions(
        &self,
        modules: &[Module],
        types: &TypeInfo,
        module: ModuleId,
        expr: &Expr,
    ) -> Vec<ActionUse> {
        let mut actions = Vec::new();
        walk_expr(expr, &mut |e| {
            if matches!(e.kind, ExprKind::Call { .. }) {
                actions.extend(self.call_actions(modules, types, module, e));
            }
        });
        actions
    }
}

/// The strongest effect among actions (`pure` when there are none).
pub fn strongest(actions: &[ActionUse]) -> Effect {
    actions
        .iter()
        .map(|a| a.effect)
        .max()
        .unwrap_or(Effect::Pure)
}

/// The extern a call reaches, with the effect of this call: the declared one, or `read` for
/// `shell.run` of a command a read-only table names.
fn reached_by_call(
    modules: &[Module],
    module: ModuleId,
    item: usize,
    call: &Expr,
    shell_read_only: &[String],
) -> Option<Reached> {
    let external = extern_of(modules, module, item)?;
    let mut reached = Reached {
        action: (module, item),
        effect: external.effect,
        reason: None,
    };
    let target = &modules[module.0 as usize];
    let is_shell_run =
        target.is_std() && target.display_name() == "shell" && external.name.name == "run";
    if is_shell_run && reached.effect > Effect::Read {
        if let ExprKind::Call { args, .. } = &call.kind {
            let argv = args
                .iter()
                .find(|a| a.name.as_ref().is_some_and(|n| n.name == "argv"))
                .or_else(|| args.first().filter(|a| a.name.is_none()));
            if let Some(command) =
                argv.and_then(|a| shell_table::read_only_command(&a.value, shell_read_only))
            {
                reached.effect = Effect::Read;
                reached.reason = Some(command.reason());
            }
        }
    }
    Some(reached)
}

pub fn extern_of(
    modules: &[Module],
    module: ModuleId,
    item: usize,
) -> Option<&crate::syntax::ExternItem> {
    match &modules.get(module.0 as usize)?.ast.items.get(item)?.kind {
        ItemKind::Extern(external) => Some(external),
        _ => None,
    }
}

//! Native implementations of `extern action`s, one small type per action, registered by the
//! qualified name the engine calls (`shell.run`).

mod http;
pub mod k8s;
mod pagerduty;
mod postgres;
mod shell;
mod slack;
mod web;

use std::collections::HashMap;

use rbk_compiler::config::Integrations;
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, Actions, BoxFuture, Value};

pub trait NativeAction: Send + Sync {
    /// `module.action`, as declared in `std/MODULE.rbk`.
    fn name(&self) -> &'static str;
    /// Parameter count of the declaration, checked when the registry is built.
    fn arity(&self) -> usize;
    fn effect(&self) -> Effect;
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>>;
}

/// Every native action this build has, configured from the project's `[integrations]`.
/// Each module adds its actions here, one line per module.
pub fn all(integrations: &Integrations) -> Vec<Box<dyn NativeAction>> {
    let mut actions: Vec<Box<dyn NativeAction>> = Vec::new();
    actions.push(Box::new(shell::Run));
    actions.extend(postgres::actions());
    actions.push(Box::new(slack::Post::new(integrations.slack.as_ref())));
    actions.push(Box::new(pagerduty::Page::new(
        integrations.pagerduty.as_ref(),
    )));
    actions.push(Box::new(pagerduty::Resolve::new(
        integrations.pagerduty.as_ref(),
    )));
    actions.push(Box::new(http::Get::new(integrations.http.as_ref())));
    actions.push(Box::new(http::Post::new(integrations.http.as_ref())));
    actions.extend(k8s::actions(integrations.kubernetes.clone()));
    let _ = integrations;
    actions
}

/// The actions `rbk run` calls.
pub struct NativeActions {
    actions: HashMap<&'static str, Box<dyn NativeAction>>,
}

impl NativeActions {
    pub fn new(integrations: &Integrations) -> Self {
        NativeActions {
            actions: all(integrations)
                .into_iter()
                .map(|a| (a.name(), a))
                .collect(),
        }
    }
}

impl Actions for NativeActions {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            match self.actions.get(call.action.as_str()) {
                Some(action) => action.call(call).await,
                None => Err(ActionError::new(format!(
                    "this build of rbk has no native implementation of `{}` yet (see docs/stdlib.md for what runs today)",
                    call.action
                ))),
            }
        })
    }
}

/// The declaration of every native action matches its `extern` (name, arity, effect).
pub fn check_against_declarations() -> Vec<String> {
    let mut problems = Vec::new();
    for action in all(&Integrations::default()) {
        let (module, name) = action.name().split_once('.').unwrap_or(("", action.name()));
        let Some(source) = crate::module_source(module) else {
            problems.push(format!("{}: no module std.{module}", action.name()));
            continue;
        };
        let parsed = rbk_compiler::syntax::parse(rbk_compiler::FileId(0), source);
        let declaration = parsed.file.items.iter().find_map(|item| match &item.kind {
            rbk_compiler::syntax::ItemKind::Extern(ext) if ext.name.name == name => Some(ext),
            _ => None,
        });
        match declaration {
            None => problems.push(format!(
                "{}: no `extern action {name}` in std/{module}.rbk",
                action.name()
            )),
            Some(ext) => {
                if ext.params.len() != action.arity() {
                    problems.push(format!(
                        "{}: declared with {} parameters, implemented with {}",
                        action.name(),
                        ext.params.len(),
                        action.arity()
                    ));
                }
                if ext.effect != action.effect() {
                    problems.push(format!(
                        "{}: declared {}, implemented as {}",
                        action.name(),
                        ext.effect,
                        action.effect()
                    ));
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    #[test]
    fn natives_match_their_declarations() {
        assert_eq!(super::check_against_declarations(), Vec::<String>::new());
    }
}

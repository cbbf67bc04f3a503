//! Native implementations of `extern action`s, one small type per action, registered by the
//! qualified name the engine calls (`shell.run`).

mod alertmanager;
mod cert;
mod github;
mod http;
mod jira;
mod json_api;
pub mod k8s;
mod pagerduty;
mod pagerduty_incidents;
mod postgres;
mod prometheus;
mod rest;
mod shell;
mod slack;
mod tls;
mod web;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::OnceLock;

use rbk_compiler::config::Integrations;
use rbk_compiler::lints::natives::{NativeCatalog, NativeSignature};
use rbk_compiler::syntax::Effect;
use rbk_interpreter::{ActionCall, ActionError, Actions, BoxFuture, Environment, Value};
use web::EnvLookup;

pub trait NativeAction: Send + Sync {
    /// `module.action`, as declared in `std/MODULE.rbk`.
    fn name(&self) -> &'static str;
    /// Parameter count of the declaration, checked when the registry is built.
    fn arity(&self) -> usize;
    fn effect(&self) -> Effect;
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>>;
}

/// Every native action this build has, configured from the project's `[integrations]`, with
/// credentials read from the process environment.
pub fn all(integrations: &Integrations) -> Vec<Box<dyn NativeAction>> {
    all_reading(integrations, web::process_env())
}

/// Every native action, reading the credentials `[integrations]` names through `secrets`.
/// Each module adds its actions here, one line per module.
fn all_reading(integrations: &Integrations, secrets: EnvLookup) -> Vec<Box<dyn NativeAction>> {
    let mut actions: Vec<Box<dyn NativeAction>> = Vec::new();
    actions.push(Box::new(shell::Run));
    actions.extend(postgres::actions());
    actions.push(Box::new(slack::Post::with_env(
        integrations.slack.as_ref(),
        secrets.clone(),
    )));
    actions.push(Box::new(pagerduty::Page::with_env(
        integrations.pagerduty.as_ref(),
        secrets.clone(),
    )));
    actions.push(Box::new(pagerduty::Resolve::with_env(
        integrations.pagerduty.as_ref(),
        secrets.clone(),
    )));
    actions.extend(pagerduty_incidents::actions(
        integrations.pagerduty.as_ref(),
        secrets.clone(),
    ));
    actions.extend(jira::actions(integrations.jira.as_ref(), secrets.clone()));
    actions.extend(github::actions(
        integrations.github.as_ref(),
        secrets.clone(),
    ));
    actions.push(Box::new(http::Get::new(integrations.http.as_ref())));
    actions.push(Box::new(http::Post::new(integrations.http.as_ref())));
    actions.push(Box::new(cert::CertExpiresIn::new(
        integrations.http.as_ref(),
    )));
    actions.extend(k8s::actions(integrations.kubernetes.clone()));
    actions.extend(prometheus::actions(
        integrations.prometheus.as_ref(),
        secrets.clone(),
    ));
    actions.extend(alertmanager::actions(
        integrations.alertmanager.as_ref(),
        secrets,
    ));
    let _ = integrations;
    actions
}

/// The actions `rbk run` calls.
pub struct NativeActions {
    actions: HashMap<&'static str, Box<dyn NativeAction>>,
}

impl NativeActions {
    pub fn new(integrations: &Integrations) -> Self {
        NativeActions::from_list(all(integrations))
    }

    /// The actions of a project whose credentials (a Slack webhook, PagerDuty keys) are read as
    /// `secret()` reads: from `environment`, which also looks in the project's secret files.
    pub fn for_project(integrations: &Integrations, environment: Arc<dyn Environment>) -> Self {
        let secrets: EnvLookup = Arc::new(move |name: &str| environment.secret(name));
        NativeActions::from_list(all_reading(integrations, secrets))
    }

    fn from_list(actions: Vec<Box<dyn NativeAction>>) -> Self {
        NativeActions {
            actions: actions.into_iter().map(|a| (a.name(), a)).collect(),
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

/// This build's native actions, as the compiler checks a user module's `extern action`s
/// against them (E0309): arity and effect of each, and whether its std declaration says
/// `safe_to_auto_approve`. Built once.
pub fn catalog() -> &'static NativeCatalog {
    static CATALOG: OnceLock<NativeCatalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // Each std module is parsed once, not once per native action it declares: parsing all
        // of them per action was 7% of checking a 500-runbook workspace.
        let mut auto_approvable: HashMap<&str, HashSet<String>> = HashMap::new();
        all(&Integrations::default())
            .iter()
            .map(|action| {
                let (module, name) = action.name().split_once('.').unwrap_or(("", action.name()));
                let safe_to_auto_approve = auto_approvable
                    .entry(module)
                    .or_insert_with(|| {
                        crate::module_source(module)
                            .map(|source| {
                                externs(source)
                                    .filter(|ext| ext.safe_to_auto_approve)
                                    .map(|ext| ext.name.name)
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .contains(name);
                (
                    action.name().to_string(),
                    NativeSignature {
                        arity: action.arity(),
                        effect: action.effect(),
                        safe_to_auto_approve,
                    },
                )
            })
            .collect()
    })
}

/// Natives and `extern action`s match both ways: every native action matches its `extern`
/// (name, arity, effect) and is implemented once, and every `extern action` in every std module
/// has a native implementation.
pub fn check_against_declarations() -> Vec<String> {
    check(&all(&Integrations::default()))
}

fn check(natives: &[Box<dyn NativeAction>]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut implemented: HashMap<&'static str, usize> = HashMap::new();
    for action in natives {
        *implemented.entry(action.name()).or_default() += 1;
    }
    let mut twice: Vec<_> = implemented.iter().filter(|(_, n)| **n > 1).collect();
    twice.sort();
    for (name, count) in twice {
        problems.push(format!("{name}: implemented {count} times"));
    }
    for action in natives {
        let (module, name) = action.name().split_once('.').unwrap_or(("", action.name()));
        let Some(source) = crate::module_source(module) else {
            problems.push(format!("{}: no module std.{module}", action.name()));
            continue;
        };
        let declaration = externs(source).find(|ext| ext.name.name == name);
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
    for (module, source) in crate::MODULES {
        for ext in externs(source) {
            let qualified = format!("{module}.{}", ext.name.name);
            if !implemented.contains_key(qualified.as_str()) {
                problems.push(format!(
                    "{qualified}: `extern action` in std/{module}.rbk has no native implementation"
                ));
            }
        }
    }
    problems
}

/// The `extern action`s declared in one std module's source.
fn externs(source: &str) -> impl Iterator<Item = rbk_compiler::syntax::ExternItem> {
    let parsed = rbk_compiler::syntax::parse(rbk_compiler::FileId(0), source);
    parsed
        .file
        .items
        .into_iter()
        .filter_map(|item| match item.kind {
            rbk_compiler::syntax::ItemKind::Extern(ext) => Some(ext),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn natives_match_their_declarations() {
        assert_eq!(super::check_against_declarations(), Vec::<String>::new());
    }

    #[test]
    fn the_check_finds_missing_and_doubled_natives() {
        use super::*;
        let mut natives: Vec<_> = all(&Integrations::default())
            .into_iter()
            .filter(|a| a.name() != "http.cert_expires_in")
            .collect();
        natives.push(Box::new(shell::Run));
        assert_eq!(
            check(&natives),
            vec![
                "shell.run: implemented 2 times".to_string(),
                "http.cert_expires_in: `extern action` in std/http.rbk has no native implementation"
                    .to_string(),
            ]
        );
    }
}

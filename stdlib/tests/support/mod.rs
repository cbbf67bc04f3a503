//! What the tests of configured natives share: a call as the engine makes it, and the natives
//! built from an rbk.toml as `rbk run` builds them.

use rbk_compiler::config::ProjectConfig;
use rbk_compiler::syntax::Effect;
use rbk_compiler::types::Ty;
use rbk_interpreter::{ActionCall, Value};
use rbk_stdlib::natives::NativeActions;

pub fn call(action: &str, args: Vec<(&str, Value)>) -> ActionCall {
    ActionCall {
        action: action.into(),
        effect: Effect::Write,
        returns_handle: None,
        returns: Ty::Unknown,
        args: args.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
        run_id: "r-2024-0001".into(),
    }
}

pub fn natives(toml: &str) -> NativeActions {
    NativeActions::new(&ProjectConfig::parse(toml).unwrap().integrations)
}

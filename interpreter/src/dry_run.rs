//! `--dry-run`: read actions run for real; write and destructive ones are reported with their
//! resolved arguments and not executed.

use std::sync::Mutex;

use rbk_compiler::syntax::Effect;
use rbk_compiler::types::Ty;

use crate::action::{ActionCall, ActionError, Actions, BoxFuture};
use crate::value::Value;

pub struct DryRunActions<'a> {
    pub inner: &'a dyn Actions,
    /// Every call that was not executed, described with its arguments.
    pub withheld: Mutex<Vec<String>>,
}

impl<'a> DryRunActions<'a> {
    pub fn new(inner: &'a dyn Actions) -> Self {
        DryRunActions {
            inner,
            withheld: Mutex::new(Vec::new()),
        }
    }
}

impl Actions for DryRunActions<'_> {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            if call.effect <= Effect::Read {
                return self.inner.call(call).await;
            }
            self.withheld
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("[{}] {}", call.effect, call.describe()));
            Ok(placeholder(&call.returns))
        })
    }
}

/// A harmless value of the declared type, so the rest of the run can be followed.
pub fn placeholder(ty: &Ty) -> Value {
    match ty {
        Ty::Int => Value::Int(0),
        Ty::Float => Value::Float(0.0),
        Ty::Bool => Value::Bool(false),
        Ty::Str => Value::str(""),
        Ty::Duration => Value::Duration(0),
        Ty::Percent => Value::Percent(0.0),
        Ty::Time => Value::Time(0),
        Ty::List(_) => Value::List(Vec::new()),
        Ty::Map(..) => Value::Map(Default::default()),
        Ty::Record(fields) => Value::Record(
            fields
                .iter()
                .map(|(n, t)| (n.clone(), placeholder(t)))
                .collect(),
        ),
        Ty::Named(named) => Value::Handle {
            type_name: named.display.clone(),
            id: "dry-run".into(),
        },
        _ => Value::None,
    }
}

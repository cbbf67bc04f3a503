//! `--dry-run`: read actions run for real; write and destructive ones are reported with their
//! resolved arguments and not executed.

use std::collections::HashMap;
use std::sync::Mutex;

use rbk_compiler::syntax::Effect;
use rbk_compiler::types::{Ty, TypeKey};

use crate::action::{ActionCall, ActionError, Actions, BoxFuture};
use crate::present::PlannedAction;
use crate::secrets::SecretMask;
use crate::value::Value;

/// The fields of the program's named record types (`http.Response`), as the checker found them.
pub type NamedTypes = HashMap<TypeKey, Option<Vec<(String, Ty)>>>;

pub struct DryRunActions<'a> {
    pub inner: &'a dyn Actions,
    /// Every call that was not executed, with its arguments (the engine masked them already;
    /// a secret itself shows as `<secret NAME>`).
    pub withheld: Mutex<Vec<PlannedAction>>,
    /// So that a withheld call returning a named record (`http.post`) gives a record whose
    /// fields the run can read on, not an opaque handle.
    named_types: &'a NamedTypes,
}

impl<'a> DryRunActions<'a> {
    pub fn new(inner: &'a dyn Actions, named_types: &'a NamedTypes) -> Self {
        DryRunActions {
            inner,
            withheld: Mutex::new(Vec::new()),
            named_types,
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
                .push(PlannedAction::from_call(call, &SecretMask::default()));
            Ok(placeholder(&call.returns, self.named_types))
        })
    }
}

/// A harmless value of the declared type, so the rest of the run can be followed.
pub fn placeholder(ty: &Ty, named_types: &NamedTypes) -> Value {
    match ty {
        Ty::Int => Value::Int(0),
        Ty::Float => Value::Float(0.0),
        Ty::Bool => Value::Bool(false),
        Ty::Str => Value::str(""),
        Ty::Duration => Value::Duration(0),
        Ty::Percent => Value::Percent(0.0),
        Ty::Size => Value::Size(0),
        Ty::Time => Value::Time(0),
        Ty::List(_) => Value::List(Vec::new()),
        Ty::Map(..) => Value::Map(Default::default()),
        Ty::Record(fields) => Value::Record(
            fields
                .iter()
                .map(|(n, t)| (n.clone(), placeholder(t, named_types)))
                .collect(),
        ),
        Ty::Named(named) => match named_types.get(&named.key) {
            Some(Some(fields)) => Value::Record(
                fields
                    .iter()
                    .map(|(n, t)| (n.clone(), placeholder(t, named_types)))
                    .collect(),
            ),
            _ => Value::Handle {
                type_name: named.display.clone(),
                id: "dry-run".into(),
            },
        },
        _ => Value::None,
    }
}

#[cfg(test)]
mod tests {
    use rbk_compiler::types::NamedTy;

    use super::*;

    #[test]
    fn a_withheld_call_returning_a_named_record_gives_a_record_the_run_can_read() {
        let key = TypeKey::Alert;
        let named_types: NamedTypes = [(
            key.clone(),
            Some(vec![
                ("status".to_string(), Ty::Int),
                ("body".to_string(), Ty::Str),
            ]),
        )]
        .into_iter()
        .collect();
        let response = Ty::Named(NamedTy {
            key,
            display: "http.Response".into(),
        });
        let Value::Record(fields) = placeholder(&response, &named_types) else {
            panic!("a record type gives a record");
        };
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(names, ["body", "status"]);
    }

    #[test]
    fn an_opaque_named_type_gives_a_handle() {
        let key = TypeKey::Run;
        let named_types: NamedTypes = [(key.clone(), None)].into_iter().collect();
        let handle = Ty::Named(NamedTy {
            key,
            display: "postgres.Database".into(),
        });
        assert!(matches!(
            placeholder(&handle, &named_types),
            Value::Handle { .. }
        ));
    }
}

//! A test's mocks: each `mock` line is a rule for one action; a call takes the first rule, in
//! written order, whose argument patterns match its arguments and whose `where` holds. Every
//! call is recorded with its arguments, so `expect called X(p) where ...` can count the ones
//! that match.

use std::collections::HashMap;
use std::sync::Mutex;

use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::{ArgPattern, ArgPatternKind, CallPattern, Expr, ExprId};
use rbk_compiler::Analysis;

use super::{TestApprover, TestEnvironment};
use crate::action::{ActionCall, ActionError, Actions, BoxFuture};
use crate::engine::{evaluate, Services};
use crate::journal::MemoryJournal;
use crate::operators::equal;
use crate::value::Value;

pub(super) enum Mock {
    Always(Value),
    Sequence(Vec<Value>),
    Fails(String),
}

/// What one argument must look like, with its literals evaluated.
enum ArgMatcher {
    Any,
    Bind(String),
    Equals(Value),
    List {
        elements: Vec<ArgMatcher>,
        rest: bool,
    },
}

impl ArgMatcher {
    fn new(pattern: &ArgPattern, literals: &HashMap<ExprId, Value>) -> ArgMatcher {
        match &pattern.kind {
            ArgPatternKind::Any => ArgMatcher::Any,
            ArgPatternKind::Bind(name) => ArgMatcher::Bind(name.name.clone()),
            ArgPatternKind::Value(expr) => {
                ArgMatcher::Equals(literals.get(&expr.id).cloned().unwrap_or(Value::None))
            }
            ArgPatternKind::List { elements, rest } => ArgMatcher::List {
                elements: elements
                    .iter()
                    .map(|e| ArgMatcher::new(e, literals))
                    .collect(),
                rest: *rest,
            },
        }
    }

    /// Whether `value` fits, adding the names it binds to `bound`.
    fn accepts(&self, value: &Value, bound: &mut HashMap<String, Value>) -> bool {
        match self {
            ArgMatcher::Any => true,
            ArgMatcher::Bind(name) => {
                bound.insert(name.clone(), value.clone());
                true
            }
            ArgMatcher::Equals(wanted) => equal(value, wanted),
            ArgMatcher::List { elements, rest } => {
                let Value::List(items) = value else {
                    return false;
                };
                let length_fits = if *rest {
                    items.len() >= elements.len()
                } else {
                    items.len() == elements.len()
                };
                length_fits
                    && elements
                        .iter()
                        .zip(items)
                        .all(|(matcher, item)| matcher.accepts(item, bound))
            }
        }
    }
}

/// Which calls of an action a `mock` or `expect called` line is about, ready to match.
pub(super) struct CallMatcher<'p> {
    args: Vec<ArgMatcher>,
    guard: Option<&'p Expr>,
    /// The test's `let`s when the line was reached: its `where` sees them.
    bindings: HashMap<String, Value>,
    /// What `env()` and `secret()` gave when the line was reached.
    environment: TestEnvironment,
    /// As written, for messages: `k8s.delete_pod(p) where p.name == "api-1"`.
    pub(super) written: String,
}

impl<'p> CallMatcher<'p> {
    /// `literals` holds the value of every literal pattern of `pattern`.
    pub(super) fn new(
        pattern: &'p CallPattern,
        literals: &HashMap<ExprId, Value>,
        bindings: HashMap<String, Value>,
        environment: TestEnvironment,
        written: String,
    ) -> Self {
        CallMatcher {
            args: pattern
                .args
                .iter()
                .map(|a| ArgMatcher::new(a, literals))
                .collect(),
            guard: pattern.guard.as_ref(),
            bindings,
            environment,
            written,
        }
    }

    /// Whether the call's arguments (in declaration order) match; Err when the `where` could
    /// not be evaluated.
    pub(super) async fn matches(
        &self,
        program: &Analysis,
        module: ModuleId,
        args: &[(String, Value)],
    ) -> Result<bool, GuardError> {
        let mut bound = self.bindings.clone();
        // Arguments past the patterns were left to their defaults: they match anything.
        let shaped = self
            .args
            .iter()
            .zip(args)
            .all(|(matcher, (_, value))| matcher.accepts(value, &mut bound));
        if !shaped {
            return Ok(false);
        }
        let Some(guard) = self.guard else {
            return Ok(true);
        };
        let services = Services {
            actions: &NoActions,
            approver: &TestApprover::default(),
            journal: &MemoryJournal::default(),
            environment: &self.environment,
        };
        match evaluate(program, services, module, bound, guard).await {
            Ok(Value::Bool(holds)) => Ok(holds),
            Ok(other) => Err(GuardError::NotABool {
                mock: self.written.to_string(),
                value: other,
            }),
            Err(error) => Err(GuardError::Failed {
                mock: self.written.to_string(),
                error,
            }),
        }
    }
}

/// Why a mock's `where` could not decide; `mock` is the mock as written.
#[derive(Debug, thiserror::Error)]
pub(super) enum GuardError {
    #[error("the `where` of `{mock}` gave {value}, not a bool")]
    NotABool { mock: String, value: Value },
    #[error("the `where` of `{mock}` failed: {error}")]
    Failed {
        mock: String,
        #[source]
        error: crate::engine::EvalError,
    },
}

/// A mock's `where` decides from the arguments alone: it reaches no action.
struct NoActions;

impl Actions for NoActions {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            Err(ActionError::fatal(format!(
                "a mock's `where` cannot call `{}`: it decides from the call's arguments alone",
                call.action
            )))
        })
    }
}

/// One `mock` line.
pub(super) struct MockRule<'p> {
    /// `None`: a `mock X returns ...` without patterns, which takes every call.
    pub(super) matcher: Option<CallMatcher<'p>>,
    pub(super) behaviour: Mock,
    /// Calls this rule has answered (successive values are per rule).
    pub(super) answered: Mutex<usize>,
}

/// One call the run made.
pub(super) struct RecordedCall {
    pub(super) action: String,
    pub(super) args: Vec<(String, Value)>,
}

pub(super) struct MockActions<'p> {
    pub(super) program: &'p Analysis,
    pub(super) module: ModuleId,
    /// Per action (`k8s.delete_pod`), its mocks in written order.
    pub(super) mocks: HashMap<String, Vec<MockRule<'p>>>,
    pub(super) calls: Mutex<Vec<RecordedCall>>,
}

impl<'p> MockActions<'p> {
    pub(super) fn new(program: &'p Analysis, module: ModuleId) -> Self {
        MockActions {
            program,
            module,
            mocks: HashMap::new(),
            calls: Mutex::new(Vec::new()),
        }
    }

    pub(super) fn add(
        &mut self,
        action: String,
        matcher: Option<CallMatcher<'p>>,
        behaviour: Mock,
    ) {
        self.mocks.entry(action).or_default().push(MockRule {
            matcher,
            behaviour,
            answered: Mutex::new(0),
        });
    }

    /// The arguments of every recorded call of `action`, in order.
    pub(super) fn calls_of(&self, action: &str) -> Vec<Vec<(String, Value)>> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|c| c.action == action)
            .map(|c| c.args.clone())
            .collect()
    }

    async fn answer(
        &self,
        call: &ActionCall,
        rules: &[MockRule<'p>],
    ) -> Result<Value, ActionError> {
        for rule in rules {
            if let Some(matcher) = &rule.matcher {
                let matched = matcher
                    .matches(self.program, self.module, &call.args)
                    .await
                    .map_err(|e| ActionError::fatal(e.to_string()))?;
                if !matched {
                    continue;
                }
            }
            let count = {
                let mut answered = rule.answered.lock().unwrap_or_else(|e| e.into_inner());
                *answered += 1;
                *answered
            };
            return match &rule.behaviour {
                Mock::Always(value) => Ok(value.clone()),
                Mock::Sequence(values) => values.get(count - 1).cloned().ok_or_else(|| {
                    ActionError::fatal(format!(
                        "`{}` was called {count} times but the mock gives only {} values",
                        call.action,
                        values.len()
                    ))
                }),
                Mock::Fails(message) => Err(ActionError::new(message.clone())),
            };
        }
        let tried: Vec<String> = rules
            .iter()
            .filter_map(|r| r.matcher.as_ref())
            .map(|m| format!("`mock {}`", m.written))
            .collect();
        Err(ActionError::fatal(format!(
            "`{}` matches no mock of `{}` (not matched: {}): add a mock for these arguments, or `mock {} returns ...` for any call",
            describe_args(&call.action, &call.args),
            call.action,
            tried.join(", "),
            call.action
        )))
    }
}

/// `k8s.delete_pod(pod: {...}, grace: 30s)`, as a call was made.
pub(super) fn describe_args(action: &str, args: &[(String, Value)]) -> String {
    let args: Vec<String> = args.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    format!("{action}({})", args.join(", "))
}

impl Actions for MockActions<'_> {
    fn call<'a>(&'a self, call: &'a ActionCall) -> BoxFuture<'a, Result<Value, ActionError>> {
        Box::pin(async move {
            self.calls
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(RecordedCall {
                    action: call.action.clone(),
                    args: call.args.clone(),
                });
            match self.mocks.get(&call.action) {
                Some(rules) => self.answer(call, rules).await,
                None => match &call.returns_handle {
                    Some(type_name) => Ok(Value::Handle {
                        type_name: type_name.clone(),
                        id: "test".into(),
                    }),
                    None => Err(ActionError::fatal(format!(
                        "`{}` was called but is not mocked: add a `mock ... returns ...` for it (tests never reach real systems)",
                        call.action
                    ))),
                },
            }
        })
    }
}

//! Checking the argument patterns and `where` of `mock X(p) where ...` and
//! `expect called X(p) where ...` against the extern's parameters.

use std::collections::HashMap;

use super::checker::Checker;
use super::env::{BindingKind, Env};
use super::ty::assignable;
use super::{Signature, Ty};
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::{duplicate_definition, Duplicate};
use crate::syntax::*;
use crate::FileId;

impl Checker<'_> {
    /// Checks `pattern` against `signature` (`None` when the target is not an extern; that is
    /// reported already, and the patterns are only checked for what they say themselves).
    pub(super) fn check_call_pattern(
        &mut self,
        env: &mut Env,
        target: &Path,
        signature: Option<&Signature>,
        pattern: &CallPattern,
    ) {
        if let Some(signature) = signature {
            self.check_pattern_arity(env, target, signature, pattern);
        }
        env.push();
        let mut bound: HashMap<&str, Span> = HashMap::new();
        for (index, arg) in pattern.args.iter().enumerate() {
            let param = signature.and_then(|s| s.params.get(index));
            let ty = param.map_or(Ty::Unknown, |p| p.ty.clone());
            let name = param.map_or("this argument", |p| p.name.as_str());
            self.check_arg_pattern(env, arg, &ty, name, &mut bound);
        }
        if let Some(guard) = &pattern.guard {
            self.expect_condition(env, guard, "a mock's `where`");
        }
        env.pop();
    }

    fn check_pattern_arity(
        &mut self,
        env: &Env,
        target: &Path,
        signature: &Signature,
        pattern: &CallPattern,
    ) {
        let required = signature.params.iter().filter(|p| !p.has_default).count();
        let total = signature.params.len();
        let given = pattern.args.len();
        if (required..=total).contains(&given) {
            return;
        }
        let params: Vec<&str> = signature.params.iter().map(|p| p.name.as_str()).collect();
        let wanted = if required == total {
            format!("{total}")
        } else {
            format!("{required} to {total}")
        };
        self.report(pattern_arity(
            env.file,
            pattern.args_span,
            target,
            &wanted,
            total,
            given,
            &params,
        ));
    }

    fn check_arg_pattern<'p>(
        &mut self,
        env: &mut Env,
        pattern: &'p ArgPattern,
        ty: &Ty,
        param: &str,
        bound: &mut HashMap<&'p str, Span>,
    ) {
        match &pattern.kind {
            ArgPatternKind::Any => {}
            ArgPatternKind::Bind(name) => {
                if let Some(first) = bound.insert(name.name.as_str(), name.span) {
                    self.report(duplicate_definition(
                        env.file,
                        name.span,
                        Duplicate::PatternBinding {
                            name: &name.name,
                            previous: first,
                        },
                    ));
                }
                env.bind(name, ty.clone(), BindingKind::Lambda);
            }
            ArgPatternKind::Value(value) => {
                let found = self.check_expr(env, value, Some(ty));
                if !assignable(&found, ty) {
                    self.never_matches(env, pattern.span, param, ty, &format!("of type `{found}`"));
                }
            }
            ArgPatternKind::List { elements, .. } => {
                let element = match ty {
                    Ty::List(inner) => (**inner).clone(),
                    Ty::Optional(inner) => match &**inner {
                        Ty::List(element) => (**element).clone(),
                        _ => self.list_pattern_mismatch(env, pattern.span, param, ty),
                    },
                    Ty::Unknown => Ty::Unknown,
                    _ => self.list_pattern_mismatch(env, pattern.span, param, ty),
                };
                for item in elements {
                    self.check_arg_pattern(env, item, &element, param, bound);
                }
            }
        }
    }

    fn list_pattern_mismatch(&mut self, env: &Env, span: Span, param: &str, ty: &Ty) -> Ty {
        self.never_matches(env, span, param, ty, "a list");
        Ty::Unknown
    }

    fn never_matches(&mut self, env: &Env, span: Span, param: &str, ty: &Ty, found: &str) {
        self.report(pattern_never_matches(env.file, span, param, ty, found));
    }
}

/// E0220: fires when a mock or expectation gives `given` argument patterns to `target`, which
/// takes `wanted` (of `total` parameters, `params`).
fn pattern_arity(
    file: FileId,
    span: Span,
    target: &Path,
    wanted: &str,
    total: usize,
    given: usize,
    params: &[&str],
) -> Diagnostic {
    Diagnostic::new(
        Code::PatternArity,
        file,
        span,
        format!(
            "`{target}` takes {wanted} argument{}, but {given} pattern{} {} given",
            if total == 1 { "" } else { "s" },
            if given == 1 { "" } else { "s" },
            if given == 1 { "is" } else { "are" },
        ),
    )
    .label(format!("its parameters are ({})", params.join(", ")))
    .help(
        "write one pattern per parameter, in order (`_` matches anything); parameters \
         with a default may be left off the end",
    )
}

/// E0221: fires when an argument pattern (`found`: what it is) can never match a parameter
/// `param` of type `ty`.
fn pattern_never_matches(
    file: FileId,
    span: Span,
    param: &str,
    ty: &Ty,
    found: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::PatternNeverMatches,
        file,
        span,
        format!("this pattern can never match `{param}`, of type `{ty}`"),
    )
    .label(format!("this pattern is {found}"))
    .help(format!(
        "write a literal of type `{ty}`, or bind the argument to a name (or `_`) and test it in `where`"
    ))
}

//! Checking the argument patterns and `where` of `mock X(p) where ...` and
//! `expect called X(p) where ...` against the extern's parameters.

use std::collections::HashMap;

use super::checker::Checker;
use super::env::{BindingKind, Env};
use super::ty::assignable;
use super::{Signature, Ty};
use crate::diagnostics::{Code, Diagnostic};
use crate::syntax::*;

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
        self.report(
            Diagnostic::new(
                Code::PatternArity,
                env.file,
                pattern.args_span,
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
            ),
        );
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
                    self.report(
                        Diagnostic::new(
                            Code::DuplicateDefinition,
                            env.file,
                            name.span,
                            format!("`{}` is bound twice in these patterns", name.name),
                        )
                        .label("bound again here")
                        .with_secondary(first, "first bound here")
                        .help("give each argument its own name, and compare them in the `where`"),
                    );
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
        self.report(
            Diagnostic::new(
                Code::PatternNeverMatches,
                env.file,
                span,
                format!("this pattern can never match `{param}`, of type `{ty}`"),
            )
            .label(format!("this pattern is {found}"))
            .help(format!(
                "write a literal of type `{ty}`, or bind the argument to a name (or `_`) and test it in `where`"
            )),
        );
    }
}

use super::{Lint, LintContext, RunbookFacts};
use crate::diagnostics::{Code, Diagnostic};
use crate::resolve::ModuleOrigin;
use crate::syntax::visit::{stmt_blocks, stmt_exprs, walk_expr};
use crate::syntax::{Expr, ExprKind, Stmt, StrPart};
use crate::types::Callee;

/// W0107: a value interpolated into the SQL of `pg.query` or `pg.execute`. The value becomes
/// SQL: a quote in it ends the string it was meant to be, and whatever follows runs. Bind
/// parameters (`$1` and `params: [..]`) send it apart from the SQL, as data.
pub struct SqlInterpolation;

/// The std.postgres actions that take SQL, as `(action, SQL parameter)`.
const SQL_ACTIONS: &[(&str, &str)] = &[("query", "sql"), ("execute", "sql")];

impl Lint for SqlInterpolation {
    fn codes(&self) -> &'static [Code] {
        &[Code::SqlInterpolation]
    }

    fn check(&self, cx: &LintContext, facts: &RunbookFacts, out: &mut Vec<Diagnostic>) {
        for (step, _) in &facts.steps {
            let mut found = Vec::new();
            visit(&step.body, &mut |expr| {
                if let Some(found_here) = interpolated_sql(cx, facts, expr) {
                    found.push(found_here);
                }
            });
            for (span, action) in found {
                out.push(sql_interpolation(facts.module.file, span, action));
            }
        }
    }
}

/// W0107: fires when a value is interpolated into the SQL text given to `pg.{action}`.
fn sql_interpolation(file: crate::FileId, span: crate::syntax::Span, action: &str) -> Diagnostic {
    Diagnostic::new(
        Code::SqlInterpolation,
        file,
        span,
        format!("a value is interpolated into the SQL of `pg.{action}`"),
    )
    .label("this value becomes part of the SQL")
    .help("write `$1` in the SQL and pass the value as a bind parameter: `params: [value]`; it is then sent as data, never as SQL")
}

fn visit<'a>(stmts: &'a [Stmt], f: &mut impl FnMut(&'a Expr)) {
    for stmt in stmts {
        for expr in stmt_exprs(stmt) {
            walk_expr(expr, f);
        }
        for block in stmt_blocks(stmt) {
            visit(block, f);
        }
    }
}

/// The span of the first interpolation in the SQL argument of a std.postgres call, with the
/// action's name.
fn interpolated_sql(
    cx: &LintContext,
    facts: &RunbookFacts,
    expr: &Expr,
) -> Option<(crate::syntax::Span, &'static str)> {
    let ExprKind::Call { args, .. } = &expr.kind else {
        return None;
    };
    let Some(Callee::Extern { module, item }) = cx.types.callee(facts.module.id, expr.id) else {
        return None;
    };
    let target = cx.modules.get(module.0 as usize)?;
    if !matches!(&target.origin, ModuleOrigin::Std(name) if name == "postgres") {
        return None;
    }
    let signature = cx.types.signatures.get(&(module, item))?;
    let (action, sql_param) = SQL_ACTIONS.iter().find(|(action, _)| {
        target.ast.items.get(item).is_some_and(|i| match &i.kind {
            crate::syntax::ItemKind::Extern(ext) => ext.name.name == *action,
            _ => false,
        })
    })?;
    let position = signature.params.iter().position(|p| p.name == *sql_param)?;
    let sql = args
        .iter()
        .find(|a| a.name.as_ref().is_some_and(|n| n.name == *sql_param))
        .or_else(|| args.iter().filter(|a| a.name.is_none()).nth(position))?;
    let ExprKind::Str(parts) = &sql.value.kind else {
        return None;
    };
    parts.iter().find_map(|part| match part {
        StrPart::Interpolation(value) => Some((value.span, *action)),
        StrPart::Text(_) => None,
    })
}

//! Go to definition: `let` bindings, inputs, parameters, `fn`s, consts, runbooks, externs
//! (through `alias.name` and calls, into local modules and the standard library), the file of
//! a `use "./x.rbk"`, and the steps named in `expect step`, `approve`, `deny`.

use rbk_compiler::resolve::{Member, Module, ModuleId};
use rbk_compiler::syntax::{
    ClauseKind, ExprKind, Ident, Item, ItemKind, Path, Span, Stmt, StmtKind, TestStmtKind, UseItem,
    UseTarget,
};
use rbk_compiler::types::Callee;

use crate::documents::Checked;
use crate::query;

/// Where the name at `offset` is defined: a module and the span of the defining name.
pub fn definition(checked: &Checked, offset: usize) -> Option<(ModuleId, Span)> {
    let module = checked.module();
    if let Some(found) = test_reference(checked, module, offset) {
        return Some(found);
    }
    if let Some(found) = used_file(module, offset) {
        return Some(found);
    }
    // A call's callee: what the checker resolved it to.
    // (On the alias of `pg.terminate(…)` the answer is the import, found below.)
    let on_callee_name = |call: &&rbk_compiler::syntax::Expr| match &call.kind {
        ExprKind::Call { callee, .. } => match &callee.kind {
            ExprKind::Field(_, field) => field.span.contains(offset),
            _ => true,
        },
        _ => false,
    };
    if let Some(call) = query::call_at(&module.ast, offset).filter(on_callee_name) {
        if let Some(Callee::Extern { module, item } | Callee::Fn { module, item }) =
            checked.analysis.types.callee(checked.root, call.id)
        {
            let m = checked.analysis.module(module);
            let name = query::item_name(m.ast.items.get(item)?)?;
            return Some((module, name.span));
        }
    }
    let expr = query::expr_at(&module.ast, offset)?;
    match &expr.kind {
        ExprKind::Field(base, field) if field.span.contains(offset) => {
            let ExprKind::Name(alias) = &base.kind else {
                return None;
            };
            member(checked, module, alias, field)
        }
        ExprKind::Name(ident) => {
            local(module, ident, offset).or_else(|| top_level(checked, module, &ident.name))
        }
        _ => None,
    }
}

/// On the path of `use "./lib.rbk" as lib`: the start of that file.
fn used_file(module: &Module, offset: usize) -> Option<(ModuleId, Span)> {
    module.ast.items.iter().find_map(|item| match &item.kind {
        ItemKind::Use(UseItem {
            target: UseTarget::Local(path),
            alias: Some(alias),
        }) if path.span.contains(offset) => {
            let target = module.names.imports.get(&alias.name)?.module?;
            Some((target, Span::new(0, 0)))
        }
        _ => None,
    })
}

fn member(
    checked: &Checked,
    module: &Module,
    alias: &Ident,
    field: &Ident,
) -> Option<(ModuleId, Span)> {
    let target = module.names.imports.get(&alias.name)?.module?;
    let m = checked.analysis.module(target);
    let index = match m.names.member(&field.name)? {
        Member::Type(i)
        | Member::Extern(i)
        | Member::Fn(i)
        | Member::Const(i)
        | Member::Runbook(i) => i,
    };
    Some((target, query::item_name(&m.ast.items[index])?.span))
}

fn top_level(checked: &Checked, module: &Module, name: &str) -> Option<(ModuleId, Span)> {
    if let Some(import) = module.names.imports.get(name) {
        return Some((checked.root, import.span));
    }
    let index = match module.names.member(name)? {
        Member::Type(i)
        | Member::Extern(i)
        | Member::Fn(i)
        | Member::Const(i)
        | Member::Runbook(i) => i,
    };
    Some((
        checked.root,
        query::item_name(&module.ast.items[index])?.span,
    ))
}

/// The binding of a name inside the item that contains it: the last one before the use.
fn local(module: &Module, ident: &Ident, offset: usize) -> Option<(ModuleId, Span)> {
    let item = module.ast.items.iter().find(|i| i.span.contains(offset))?;
    let mut binders: Vec<&Ident> = Vec::new();
    item_binders(item, &mut binders);
    // Lambda parameters around the cursor.
    for expr in query::all_exprs(&module.ast) {
        if let ExprKind::Lambda { params, .. } = &expr.kind {
            if expr.span.contains(offset) {
                binders.extend(params);
            }
        }
    }
    binders
        .into_iter()
        .filter(|b| b.name == ident.name && b.span.start <= ident.span.start)
        .max_by_key(|b| b.span.start)
        .map(|b| (module.id, b.span))
}

/// The names bound inside an item: inputs, parameters, `let`s and loop variables (not lambda
/// parameters, which are expressions).
pub(crate) fn item_binders<'a>(item: &'a Item, out: &mut Vec<&'a Ident>) {
    match &item.kind {
        ItemKind::Runbook(runbook) => {
            for clause in &runbook.clauses {
                match &clause.kind {
                    ClauseKind::Input(fields) => out.extend(fields.iter().map(|f| &f.name)),
                    ClauseKind::Step(step) => stmt_binders(&step.body, out),
                    _ => {}
                }
            }
        }
        ItemKind::Fn(function) => {
            out.extend(function.params.iter().map(|p| &p.name));
            stmt_binders(&function.body, out);
        }
        ItemKind::Test(test) => {
            for stmt in &test.body {
                if let TestStmtKind::Let { name, .. } = &stmt.kind {
                    out.push(name);
                }
            }
        }
        _ => {}
    }
}

pub(crate) fn stmt_binders<'a>(stmts: &'a [Stmt], out: &mut Vec<&'a Ident>) {
    for stmt in stmts {
        match &stmt.kind {
            StmtKind::Let { name, .. } => out.push(name),
            StmtKind::For { var, body, .. } => {
                out.push(var);
                stmt_binders(body, out);
            }
            StmtKind::If {
                then_body,
                else_body,
                ..
            } => {
                stmt_binders(then_body, out);
                if let Some(else_body) = else_body {
                    stmt_binders(else_body, out);
                }
            }
            _ => {}
        }
    }
}

/// Names in `test` blocks: steps (`expect step`, `approve`, `deny`), runbooks (`run`), mocked
/// actions (`mock pg.terminate`, `expect called`).
fn test_reference(checked: &Checked, module: &Module, offset: usize) -> Option<(ModuleId, Span)> {
    for item in &module.ast.items {
        let ItemKind::Test(test) = &item.kind else {
            continue;
        };
        if !item.span.contains(offset) {
            continue;
        }
        let ran: Vec<&str> = test
            .body
            .iter()
            .filter_map(|s| match &s.kind {
                TestStmtKind::Run { runbook, .. } => Some(runbook.name.as_str()),
                _ => None,
            })
            .collect();
        for stmt in &test.body {
            match &stmt.kind {
                TestStmtKind::ExpectStep { step, .. }
                | TestStmtKind::Approve { step, .. }
                | TestStmtKind::Deny { step, .. }
                    if step.span.contains(offset) =>
                {
                    return find_step(module, &ran, &step.name);
                }
                TestStmtKind::Run { runbook, .. } if runbook.span.contains(offset) => {
                    return top_level(checked, module, &runbook.name);
                }
                TestStmtKind::Mock { target, .. } | TestStmtKind::ExpectCalled { target, .. }
                    if target.span.contains(offset) =>
                {
                    return path_target(checked, module, target, offset);
                }
                _ => {}
            }
        }
    }
    None
}

fn path_target(
    checked: &Checked,
    module: &Module,
    path: &Path,
    offset: usize,
) -> Option<(ModuleId, Span)> {
    match path.segments.as_slice() {
        [alias, _] if alias.span.contains(offset) => top_level(checked, module, &alias.name),
        [alias, name] => member(checked, module, alias, name),
        [name] => top_level(checked, module, &name.name),
        _ => None,
    }
}

/// A step by name, in the runbooks a test runs (or any runbook of the file).
fn find_step(module: &Module, runbooks: &[&str], name: &str) -> Option<(ModuleId, Span)> {
    let mut fallback = None;
    for item in &module.ast.items {
        let ItemKind::Runbook(runbook) = &item.kind else {
            continue;
        };
        for clause in &runbook.clauses {
            if let ClauseKind::Step(step) = &clause.kind {
                if step.name.name == name {
                    if runbooks.contains(&runbook.name.name.as_str()) {
                        return Some((module.id, step.name.span));
                    }
                    fallback.get_or_insert((module.id, step.name.span));
                }
            }
        }
    }
    fallback
}

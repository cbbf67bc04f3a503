//! Questions about one module's tree: every expression, the one under the cursor, the names of
//! items. Read-only walks over the compiler's syntax tree.

use rbk_compiler::syntax::visit::walk_items;
use rbk_compiler::syntax::{Expr, ExprKind, Ident, Item, ItemKind, SourceFile};

/// Every expression of a file, nested ones included.
pub fn all_exprs(file: &SourceFile) -> Vec<&Expr> {
    let mut out = Vec::new();
    walk_items(&file.items, &mut |e| out.push(e));
    out
}

/// The innermost expression at `offset`.
pub fn expr_at(file: &SourceFile, offset: usize) -> Option<&Expr> {
    all_exprs(file)
        .into_iter()
        .filter(|e| e.span.contains(offset))
        .min_by_key(|e| e.span.len())
}

/// The innermost call whose callee (`pg.terminate`, `len`) is under the cursor.
pub fn call_at(file: &SourceFile, offset: usize) -> Option<&Expr> {
    all_exprs(file)
        .into_iter()
        .filter(|e| match &e.kind {
            ExprKind::Call { callee, .. } => callee.span.contains(offset),
            _ => false,
        })
        .min_by_key(|e| e.span.len())
}

/// The name an item is known by.
pub fn item_name(item: &Item) -> Option<&Ident> {
    match &item.kind {
        ItemKind::Runbook(r) => Some(&r.name),
        ItemKind::Fn(f) => Some(&f.name),
        ItemKind::Const(c) => Some(&c.name),
        ItemKind::Extern(e) => Some(&e.name),
        ItemKind::Type(t) => Some(&t.name),
        ItemKind::Use(u) => u.binding(),
        ItemKind::Template(t) => Some(&t.name),
        ItemKind::Instance(i) => Some(&i.name),
        ItemKind::Test(_) => None,
    }
}

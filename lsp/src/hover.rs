//! Hover: the type of the expression under the cursor; for a call, what it calls (signature,
//! effect, `///` doc).

use rbk_compiler::effects::extern_of;
use rbk_compiler::resolve::ModuleId;
use rbk_compiler::syntax::ItemKind;
use rbk_compiler::types::{Builtin, Callee};

use crate::documents::Checked;
use crate::query;

/// `(a: int, b: string = ...) -> T`, from the checker's signature of an extern or `fn`.
pub fn signature(checked: &Checked, module: ModuleId, item: usize) -> String {
    let Some(sig) = checked.analysis.types.signatures.get(&(module, item)) else {
        return "(...)".to_string();
    };
    let params: Vec<String> = sig
        .params
        .iter()
        .map(|p| {
            let default = if p.has_default { " = ..." } else { "" };
            format!("{}: {}{default}", p.name, p.ty)
        })
        .collect();
    format!("({}) -> {}", params.join(", "), sig.ret)
}

/// Markdown describing an extern or `fn`: signature, effect, doc.
pub fn describe_item(checked: &Checked, module: ModuleId, item: usize) -> Option<String> {
    let analysis = &checked.analysis;
    let m = analysis.modules.get(module.0 as usize)?;
    let it = m.ast.items.get(item)?;
    let qualifier = if module == checked.root {
        String::new()
    } else {
        format!("{}.", m.display_name())
    };
    let (head, effect) = match &it.kind {
        ItemKind::Extern(external) => {
            let safe = if external.safe_to_auto_approve {
                " (safe to auto-approve)"
            } else {
                ""
            };
            (
                format!("extern {qualifier}{}", external.name.name),
                format!("effect: **{}**{safe}", external.effect),
            )
        }
        ItemKind::Fn(function) => {
            let effect = analysis.effects.fn_effect(&analysis.modules, module, item);
            (
                format!("fn {qualifier}{}", function.name.name),
                format!("effect: **{effect}**"),
            )
        }
        _ => return None,
    };
    let mut out = format!(
        "```rbk\n{head}{}\n```\n{effect}",
        signature(checked, module, item)
    );
    if let Some(doc) = &it.doc {
        out.push_str("\n\n");
        out.push_str(doc.trim());
    }
    Some(out)
}

pub fn describe_builtin(builtin: Builtin) -> String {
    format!("```rbk\n{}\n```\n{}", builtin.signature(), builtin.doc())
}

/// The hover text at `offset` in the checked buffer, with the span it is about.
pub fn hover(checked: &Checked, offset: usize) -> Option<(String, rbk_compiler::syntax::Span)> {
    let module = checked.module();
    if let Some(call) = query::call_at(&module.ast, offset) {
        let rbk_compiler::syntax::ExprKind::Call { callee, .. } = &call.kind else {
            return None;
        };
        let text = match checked.analysis.types.callee(module.id, call.id) {
            Some(Callee::Extern {
                module: target,
                item,
            }) => {
                describe_item(checked, target, item).map(|text| {
                    // This call's own effect, when it is not the declared one.
                    let analysis = &checked.analysis;
                    let this_call = analysis
                        .effects
                        .call_actions(&analysis.modules, &analysis.types, module.id, call)
                        .into_iter()
                        .next()
                        .and_then(|action| {
                            action
                                .reason
                                .map(|why| format!("\n\nthis call: **{}** — {why}", action.effect))
                        });
                    text + &this_call.unwrap_or_default()
                })
            }
            Some(Callee::Fn { module, item }) => describe_item(checked, module, item),
            Some(Callee::Builtin(builtin)) => Some(describe_builtin(builtin)),
            None => None,
        };
        if let Some(text) = text {
            return Some((text, callee.span));
        }
    }
    let Some(expr) = query::expr_at(&module.ast, offset) else {
        return keyword_at(checked, offset);
    };
    let ty = checked.analysis.types.type_of(module.id, expr.id);
    let source = checked.text().get(expr.span.start..expr.span.end)?;
    let shown: String = if source.chars().count() > 60 {
        source.chars().take(57).chain("...".chars()).collect()
    } else {
        source.to_string()
    };
    let shown = shown.replace('\n', " ");
    if ty.is_unknown() {
        // A module alias (`pg` in `pg.Database`) has no type of its own.
        if let rbk_compiler::syntax::ExprKind::Name(ident) = &expr.kind {
            if let Some(import) = module.names.imports.get(&ident.name) {
                let target = import
                    .module
                    .map(|m| checked.analysis.module(m).display_name())
                    .unwrap_or_default();
                return Some((format!("module `{target}`"), expr.span));
            }
        }
        return None;
    }
    Some((format!("```rbk\n{shown}: {ty}\n```"), expr.span))
}

/// The doc of the keyword under the cursor, outside expressions (and not inside a comment or
/// string).
fn keyword_at(checked: &Checked, offset: usize) -> Option<(String, rbk_compiler::syntax::Span)> {
    let text = checked.text();
    let word = crate::cursor::word_at(text, offset)?;
    if crate::cursor::at(text, word.start).place != crate::cursor::Place::Code {
        return None;
    }
    crate::keyword_docs::keyword_doc(&text[word.start..word.end]).map(|doc| (doc, word))
}

/// Whether an item of a module is an extern (for completion kinds).
pub fn is_extern(checked: &Checked, module: ModuleId, item: usize) -> bool {
    extern_of(&checked.analysis.modules, module, item).is_some()
}

//! Issue 9, item 9: a file of very many unknown names among very many names in scope is
//! diagnosed in linear time. Each "did you mean" compares one name with every name in scope, so
//! only the first unknown names of a module get one; the rest get the plain help.

mod support;

use rbk_compiler::diagnostics::Code;
use support::analyse;

/// A runbook whose step binds `base`, then `count` names, each from `basf`: an unknown name
/// one letter away from `base`, so each could be given a "did you mean".
fn unknown_names(count: usize) -> String {
    let lets: String = std::iter::once("    let base = 1\n".to_string())
        .chain((0..count).map(|i| format!("    let x{i} = basf\n")))
        .collect();
    format!("runbook many {{\n  title \"Many\"\n  step s {{\n{lets}  }}\n}}\n")
}

#[test]
fn only_the_first_unknown_names_are_compared_with_the_whole_scope() {
    let analysis = analyse(&unknown_names(300));
    let helps: Vec<String> = analysis
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownName)
        .map(|d| d.help.clone())
        .collect();
    assert_eq!(helps.len(), 300, "every unknown name is reported");
    let suggested = helps
        .iter()
        .filter(|h| h.starts_with("did you mean"))
        .count();
    assert!(
        (1..300).contains(&suggested),
        "{suggested} of 300 unknown names were compared with the whole scope"
    );
    assert!(helps
        .last()
        .is_some_and(|h| h.starts_with("declare it with `let`")));
}

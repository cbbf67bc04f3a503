//! Every wording of every diagnostic in compiler/src, with the case that shows it.
//!
//! Each code is built by one constructor (constructors.rs finds them by reading the sources).
//! A site is one wording of a code: an arm of the constructor's situation enum
//! (`Mismatch::ForNeedsList { found } => (…)`), its text the arm up to the next one; or, for a
//! constructor that takes no situation, its `Diagnostic::new(Code::…)` call with the builder
//! chain (`.label(…)`, `.help(…)`). Each entry below names a site by an anchor (text of that
//! arm or call: a piece of its message, label or help, or of its arguments where two messages
//! are alike), its code, and the case whose snapshot shows it. The tests fail when a site has
//! no entry (a new diagnostic or situation without a case), when an entry matches no site (a
//! stale one), or when a case's snapshot does not show the entry's code and text.
//!
//! Helpers that raise through one situation with a caller's wording (`mismatch`,
//! `expect_type`, `expect_condition`, `check_message`, `expect_call`) are one site each; every
//! wording their callers pass ("`rate`", "the separator") is shown by some case too
//! (every_helper_wording_has_a_case), apart from WORDINGS_WITHOUT_A_CASE.
//!
//! Cases are written as source in, diagnostics out, so they survive code moving between files;
//! when a site's code changes on purpose, its entry's code and the snapshots change with it.

use std::path::PathBuf;

use rbk_compiler::diagnostics::Code;

use crate::constructors::{self, matching, rust_files};

struct Site {
    code: &'static str,
    /// Text of the site's call, whitespace collapsed to single spaces.
    anchor: &'static str,
    /// `module::case` in this test binary.
    case: &'static str,
    /// What the case's snapshot must show; the anchor when empty.
    shows: &'static str,
}

const fn site(code: &'static str, anchor: &'static str, case: &'static str) -> Site {
    Site {
        code,
        anchor,
        case,
        shows: "",
    }
}

const fn site_showing(
    code: &'static str,
    anchor: &'static str,
    case: &'static str,
    shows: &'static str,
) -> Site {
    Site {
        code,
        anchor,
        case,
        shows,
    }
}

/// Grouped by the file whose checks raise them (the wordings themselves are in the constructors).
#[rustfmt::skip]
const SITES: &[Site] = &[
    // analysis.rs
    site("E0102", "not a standard module", "modules::use_of_a_module_outside_std"),
    site("E0102", "there is no standard module", "modules::use_of_a_standard_module_that_does_not_exist"),
    site("E0105", "standard modules cannot use local files", "modules::standard_module_using_a_local_file"),
    site("E0107", "not a regular file", "modules::use_of_a_path_that_is_not_a_regular_file"),
    site("E0105", "the path is relative to the file that uses it", "modules::use_of_a_local_module_that_does_not_exist"),
    // resolve/mod.rs
    site("E0117", "a local module needs a name", "modules::local_module_without_a_name"),
    site("E0104", "every name in this scope must be unique", "modules::item_defined_twice"),
    // syntax/parser.rs
    site("E0001", "this does not belong here", "syntax::step_option_after_a_statement"),
    site("E0004", "this number is too large", "syntax::quorum_too_large_to_hold"),
    site("E0002", "`else if` branches", "syntax::more_else_if_branches_than_allowed"),
    site("E0003", "this expression is too long", "syntax::expression_too_long"),
    site("E0002", "too many prefix operators in a row", "syntax::too_many_prefix_operators"),
    site("E0004", "this integer is too large", "syntax::integer_too_large"),
    site("E0210", "this duration is too long", "syntax::duration_longer_than_the_longest"),
    site("E0005", "only a template parameter may be interpolated", "templates::template_string_interpolating_an_expression"),
    site("E0005", "interpolation is not allowed in this string", "syntax::interpolation_in_a_plain_string"),
    // syntax/recovery.rs
    site("E0002", "brackets are nested too deeply", "syntax::brackets_nested_too_deeply"),
    site_showing("E0001", "see docs/language.md for the syntax of this construct", "syntax::statement_that_does_not_parse", "expected "),
    site("E0001", "starts an interpolation, and what follows it is not an expression", "syntax::brace_in_a_string_that_starts_no_interpolation"),
    site("E0001", "is never closed", "syntax::call_never_closed"),
    // templates/mod.rs
    site("E0101", "names no parameter of template", "templates::placeholder_that_names_no_parameter"),
    site_showing("E0113", "no template named", "templates::instance_of_an_unknown_template", "the templates of this file are"),
    site("E0114", "unknown parameter", "templates::argument_name_the_template_does_not_have"),
    site("E0114", "a positional argument after a named one", "templates::positional_argument_after_a_named_one"),
    site("E0114", "one argument too many", "templates::more_arguments_than_the_template_takes"),
    site("E0114", "give each parameter once", "templates::template_argument_given_twice"),
    site_showing("E0115", "must be a literal {}, not {found}", "templates::template_argument_that_is_not_a_literal_of_its_type", "not a literal of the parameter's type"),
    site("E0115", "the default of `", "templates::template_default_that_is_not_a_literal_of_its_type"),
    site("E0114", "is missing: template", "templates::template_argument_missing"),
    site("E0116", "cannot be bound again inside it", "templates::template_parameter_bound_again"),
    // types/declarations.rs
    site_showing("E0101", "unknown type `", "types::unknown_type_in_an_input", "did you mean `duration`?"),
    site_showing("E0102", "not imported in this file", "types::type_from_a_module_that_is_not_imported", "add `use std.pg`"),
    site_showing("E0103", "not defined in that module", "types::module_has_no_such_action", "has no member `send`"),
    site("E0104", "is declared twice", "types::input_declared_twice"),
    site("E0104", "give every step of a runbook its own name", "types::step_defined_twice"),
    // types/statements.rs
    site("E0204", "`for` needs a list", "types::for_over_something_that_is_not_a_list"),
    site("E0222", "`return` outside a `fn`", "types::return_outside_a_fn"),
    site("E0303", "a secret is passed to", "types::secret_passed_to_log"),
    site("E0204", "takes a string, found", "types::log_of_something_that_is_not_a_string"),
    site("E0205", "must be a bool, found", "types::if_condition_that_is_not_a_bool"),
    site("E0204", "takes an action call", "types::escalate_without_a_call"),
    site_showing("E0204", "expects `{expected}`, found `{found}`", "types::constant_of_the_wrong_type", "this constant expects `int`"),
    site("W0002", "bound here and never read", "types::unused_let"),
    // types/expressions.rs
    site("E0303", "a secret is interpolated into a string", "types::secret_interpolated_into_a_string"),
    site_showing("E0204", "this {what} has no value", "types::interpolation_of_an_action_without_a_value", "this interpolation has no value"),
    site("E0204", "cannot be indexed", "types::indexing_something_that_is_neither_list_nor_map"),
    site("E0207", "does not apply to", "types::not_applied_to_an_int"),
    site("E0207", "is not defined for", "types::binary_operator_on_unrelated_types"),
    site("E0204", "a lambda can only be passed to a builtin", "types::lambda_outside_a_builtin"),
    site("E0223", "a map literal mixes quoted and bare keys", "types::map_literal_mixing_quoted_and_bare_keys"),
    site_showing("E0104", "field `{name}` is given twice", "types::record_field_given_twice", "field `name` is given twice"),
    site("E0108", "may have no value here", "types::binding_of_a_skippable_step_read_later"),
    site("E0204", "is a function, not a value", "types::function_used_as_a_value"),
    site("E0204", "is a module, not a value", "types::module_used_as_a_value"),
    site_showing("E0101", "unknown name `", "types::unknown_name_with_a_suggestion", "did you mean `channel`?"),
    site("E0204", "an action, function or type", "types::module_action_used_as_a_value"),
    site_showing("E0103", "\"no such field\"", "types::record_has_no_such_field", "its fields are: name, size"),
    // types/calls.rs
    site("E0206", "is a value, not a function", "types::value_called_like_a_function"),
    site("E0101", "unknown function `", "types::unknown_function"),
    site("E0206", "this cannot be called", "types::module_type_called_like_a_function"),
    site("E0201", "but more were given", "types::more_arguments_than_parameters"),
    site("E0202", "unknown argument name", "types::argument_name_the_action_does_not_have"),
    site("E0202", "give each argument once", "types::argument_given_twice"),
    site("E0203", "in this call", "types::argument_missing"),
    site("E0202", "takes no named arguments", "types::builtin_given_a_named_argument"),
    site("E0201", "wrong number of arguments to", "types::builtin_given_too_many_arguments"),
    site("E0303", "a secret is turned into a string", "types::secret_turned_into_a_string"),
    site("E0204", "cannot add", "types::sum_of_strings"),
    site("E0204", "values cannot be ordered", "types::max_of_bools"),
    site("E0204", "takes a list, found", "types::first_of_something_that_is_not_a_list"),
    site("E0204", "takes a lambda as its second argument", "types::filter_without_a_lambda"),
    site("E0201", "passes one", "types::lambda_with_two_parameters"),
    site("E0204", "cannot order", "types::sort_by_keys_that_cannot_be_ordered"),
    // types/clauses.rs
    site_showing("E0104", "the runbook's `{keyword}` is given twice", "decisions::timeout_given_twice", "the runbook's `timeout` is given twice"),
    site("E0104", "the runbook's `mode` is given twice", "decisions::mode_given_twice"),
    site("E0104", "the runbook has a second `trigger`", "decisions::trigger_given_twice"),
    // types/decisions.rs
    site_showing("E0104", "the approval asks for `{name}` twice", "decisions::approval_asks_for_one_value_twice", "the approval asks for `size` twice"),
    site("E0218", "an approver cannot be asked for a value of type", "decisions::approval_asks_for_a_list"),
    site_showing("E0109", "no asked value here", "decisions::asked_value_read_after_its_step", "asks its approver for no values"),
    site("E0109", "the approval of this step does not ask for", "decisions::asked_value_the_approval_does_not_ask_for"),
    site("E0109", "is read outside the step whose approval asks for it", "decisions::asked_value_read_outside_a_step"),
    site("E0110", "is read outside a runbook's steps", "decisions::step_outcome_read_in_a_fn"),
    site("W0108", "add `on failure continue` to step", "decisions::step_outcome_that_is_always_false"),
    site_showing("W0108", "give step `{}` a `when`", "decisions::skipped_outcome_of_a_step_without_when", "give step `purge` a `when`"),
    site("E0110", "has not run yet where its outcome is read", "decisions::step_outcome_read_before_the_step_runs"),
    site("E0110", "reads its own outcome", "decisions::step_outcome_read_in_its_own_step"),
    site_showing("E0106", "the runbook has no step `{name}`", "decisions::step_outcome_of_a_step_that_does_not_exist", "the runbook has no step `prge`"),
    site_showing("E0219", "and this is `{given}`", "test_blocks::approval_value_of_the_wrong_type", "as `string`, and this is `int`"),
    site_showing("E0219", "does not ask for `{name}`", "test_blocks::approval_value_the_gate_does_not_ask_for", "does not ask for `size`"),
    // types/durations.rs
    site_showing("E0211", "duration out of range", "decisions::negative_duration_arithmetic", "this duration is negative"),
    site("E0209", "is zero", "decisions::poll_every_zero_seconds"),
    // types/test_blocks.rs
    site("E0224", "this test never runs a runbook", "test_blocks::test_that_never_runs_a_runbook"),
    site("E0101", "unknown runbook `", "test_blocks::test_runs_an_unknown_runbook"),
    site("W0109", "can reach this mock", "test_blocks::mock_after_a_mock_that_takes_every_call"),
    site("E0208", "is not an action\"", "test_blocks::mock_of_a_path_that_is_not_an_action"),
    site("E0208", "is not an extern action", "test_blocks::mock_of_a_fn"),
    site("E0103", "unknown action", "test_blocks::mock_of_an_undefined_action"),
    site("E0103", "an alert has no field", "test_blocks::run_with_an_alert_field_alerts_do_not_have"),
    site("E0101", "the runbook has no input", "test_blocks::run_with_an_input_the_runbook_does_not_have"),
    // types/call_patterns.rs
    site_showing("E0220", "pattern{} {} given", "test_blocks::mock_with_more_patterns_than_parameters", "but 5 patterns are given"),
    site("E0104", "is bound twice in these patterns", "test_blocks::mock_pattern_binds_one_name_twice"),
    site("E0221", "this pattern can never match", "test_blocks::mock_pattern_that_never_matches"),
    // types/text_builtins.rs
    site_showing("E0204", "cannot convert `{found}`\", builtin.name()", "builtins::int_of_a_list", "`int` cannot convert `list<int>`"),
    site("E0204", "`size` cannot convert", "builtins::size_of_an_int"),
    site("E0303", "secrets are joined into a string", "builtins::secrets_joined_into_a_string"),
    site("E0213", "is not a size", "builtins::size_literal_with_a_unit_kubernetes_does_not_know"),
    site("E0212", "invalid regular expression", "builtins::pattern_that_does_not_compile"),
    // lints/
    site("W0104", "is started by alerts and can", "lints::alert_triggered_runbook_without_limits"),
    site("E0301", "can take a destructive action but has no approval clause", "lints::destructive_step_without_an_approval"),
    site("E0308", "nobody gave one", "lints::auto_approve_of_a_gate_that_asks_for_values"),
    site("E0302", "with nobody's approval", "lints::auto_approve_of_an_action_not_safe_to_auto_approve"),
    site("E0310", "an approval needs at least one approver", "lints::quorum_of_zero"),
    site("W0101", "unknown group", "lints::approver_group_not_in_rbk_toml"),
    site("E0304", "can never be satisfied", "lints::quorum_larger_than_the_group"),
    site("W0102", "unbounded blast radius", "lints::every_pod_deleted_without_a_bound"),
    site("E0307", "a constant cannot call actions", "lints::constant_calling_an_action"),
    site("W0103", "can take destructive actions but never escalates", "lints::destructive_runbook_without_escalation"),
    site("E0305", "can change something", "lints::condition_that_changes_something"),
    site("E0306", "no approval gate can stand there", "lints::destructive_escalation"),
    site_showing("E0309", "has no native implementation: nothing runs", "lints::extern_without_a_native", "has no native implementation"),
    site_showing("E0309", "but its native implementation takes {native}", "lints::extern_with_another_arity_than_its_native", "but its native implementation takes 2"),
    site_showing("E0309", "but its native implementation is `{native}`", "lints::extern_weaker_than_its_native", "but its native implementation is `destructive`"),
    site("E0309", "but std does not declare it so", "lints::extern_safe_to_auto_approve_where_its_native_is_not"),
    site("W0107", "this value becomes part of the SQL", "lints::value_interpolated_into_sql"),
    site("W0001", "has no title", "lints::runbook_without_a_title"),
    site("W0003", "this code never runs", "lints::code_after_fail"),
];

/// Sites no source text reaches, with why; each must still match a site (or it is stale).
#[rustfmt::skip]
const NO_CASE: &[(&str, &str, &str)] = &[
    ("E0001", "Syntax::Refused",
     "syntax/recovery.rs `pest_error_diagnostic`: pest's derived parser reports every failure as \
      a ParsingError (what it expected); a CustomError is only made by hand, which rbk never \
      does"),
    ("E0002", "this expression is nested too deeply",
     "syntax/parser.rs `expr`, a guard against stack overflow: brackets are refused past 128 \
      levels before parsing (127 levels of `-(` check clean: \
      syntax::deepest_brackets_with_prefix_operators_are_clean), binary operands, lambdas and \
      interpolations found no deeper path, and a run of prefix operators meets its own guard"),
];

/// The cases that reach the other wordings of sites listed above (one site, several
/// messages): kept in step with the snapshots so a wording that stops being reached shows.
#[rustfmt::skip]
const MORE_WORDINGS: &[(&str, &str, &str)] = &[
    ("E0101", "types::unknown_type_without_a_near_name", "built-in types are int, float"),
    ("E0103", "types::module_has_no_such_type", "has no member `Databse`"),
    ("E0113", "templates::instance_of_a_template_in_a_file_without_templates", "declare `template NAME(PARAMS)"),
    ("E0211", "decisions::duration_arithmetic_beyond_the_longest_duration", "is longer than the longest duration"),
    ("E0103", "types::value_without_fields", "`int` has no fields"),
    ("E0204", "types::input_default_of_the_wrong_type", "this default expects `duration`"),
    ("E0204", "types::concurrency_that_is_not_an_int", "`concurrency` expects `int`"),
    ("E0204", "types::return_value_of_the_wrong_type", "the return value expects `int`"),
    ("E0204", "types::list_element_of_another_type", "this list element expects `int`"),
    ("E0204", "types::list_index_that_is_not_an_int", "a list index expects `int`"),
    ("E0204", "types::map_value_of_another_type", "this map value expects `int`"),
    ("E0204", "types::argument_of_the_wrong_type", "argument `older_than` expects `duration`"),
    ("E0204", "types::len_of_an_int", "`len` expects"),
    ("E0204", "builtins::join_of_something_that_is_not_a_list", "`join` expects"),
    ("E0204", "builtins::split_of_an_int", "the text expects `string`"),
    ("E0204", "test_blocks::mock_returns_a_value_of_the_wrong_type", "this mock"),
    ("E0207", "types::minus_applied_to_a_string", "does not apply to `string`"),
    ("E0101", "types::alert_outside_an_alert_triggered_runbook", "exists only in runbooks with `trigger alert"),
];

fn compiler_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn snapshot_of(case: &str) -> String {
    let file = format!("diagnostic_cases__{}.snap", case.replace("::", "__"));
    let path = compiler_dir()
        .join("tests/diagnostic_cases/snapshots")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no snapshot {} for case {case}: {e}", path.display()))
}

fn code_named(code: &str) -> Code {
    Code::parse(code).unwrap_or_else(|| panic!("{code} is not a diagnostic code"))
}

/// One wording in the sources: a constructor's situation arm, or a constructor that takes no
/// situation.
struct SourceSite {
    file: String,
    line: usize,
    /// `Code::` variant name as written.
    variant: String,
    /// The arm's text, or the call and its builder chain, whitespace collapsed.
    text: String,
}

fn source_sites() -> Vec<SourceSite> {
    let mut sites = Vec::new();
    for construction in constructors::constructions() {
        let arms = construction
            .function
            .as_ref()
            .map(|f| f.arms.as_slice())
            .unwrap_or_default();
        if arms.is_empty() {
            sites.push(SourceSite {
                file: construction.file,
                line: construction.line,
                variant: construction.variant,
                text: construction.chain,
            });
            continue;
        }
        for (_, line, text) in arms {
            sites.push(SourceSite {
                file: construction.file.clone(),
                line: *line,
                variant: construction.variant.clone(),
                text: text.clone(),
            });
        }
    }
    sites
}

/// Which listed entry accounts for which source site: every site needs its own entry (an
/// augmenting-path matching, so two alike sites need two entries).
fn assign(sites: &[SourceSite]) -> Vec<Option<usize>> {
    let entries: Vec<(&str, &str)> = SITES
        .iter()
        .map(|e| (e.code, e.anchor))
        .chain(NO_CASE.iter().map(|(code, anchor, _)| (*code, *anchor)))
        .collect();
    let candidates: Vec<Vec<usize>> = sites
        .iter()
        .map(|s| {
            entries
                .iter()
                .enumerate()
                .filter(|(_, (code, anchor))| {
                    s.text.contains(anchor) && format!("{:?}", code_named(code)) == s.variant
                })
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; entries.len()];
    fn augment(
        site: usize,
        candidates: &[Vec<usize>],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for &entry in &candidates[site] {
            if seen[entry] {
                continue;
            }
            seen[entry] = true;
            if owner[entry].is_none_or(|other| augment(other, candidates, owner, seen)) {
                owner[entry] = Some(site);
                return true;
            }
        }
        false
    }
    for site in 0..sites.len() {
        let mut seen = vec![false; entries.len()];
        augment(site, &candidates, &mut owner, &mut seen);
    }
    owner
}

#[test]
fn every_diagnostic_site_has_a_case() {
    let sites = source_sites();
    assert!(
        sites.len() >= 100,
        "found only {} sites: has the way diagnostics are created changed? update source_sites",
        sites.len()
    );
    let owner = assign(&sites);
    let missing: Vec<String> = (0..sites.len())
        .filter(|i| !owner.contains(&Some(*i)))
        .map(|i| {
            let s = &sites[i];
            format!("{}:{} Code::{}: {}", s.file, s.line, s.variant, s.text)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "sites without a case: write a case reaching each and list it in SITES\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_listed_site_still_exists() {
    let sites = source_sites();
    let owner = assign(&sites);
    let listed = SITES
        .iter()
        .map(|e| format!("{} {:?} ({})", e.code, e.anchor, e.case))
        .chain(
            NO_CASE
                .iter()
                .map(|(code, anchor, _)| format!("{code} {anchor:?} (no case)")),
        );
    let stale: Vec<String> = listed
        .zip(&owner)
        .filter(|(_, o)| o.is_none())
        .map(|(entry, _)| entry)
        .collect();
    assert!(
        stale.is_empty(),
        "entries that match no site of their code (or share one with another entry):\n{}",
        stale.join("\n")
    );
}

#[test]
fn every_listed_case_shows_its_site() {
    let mut wrong = Vec::new();
    let entries = SITES
        .iter()
        .map(|e| {
            (
                e.code,
                e.case,
                if e.shows.is_empty() {
                    e.anchor
                } else {
                    e.shows
                },
            )
        })
        .chain(MORE_WORDINGS.iter().copied());
    for (code, case, shows) in entries {
        let snapshot = snapshot_of(case);
        if !snapshot.contains(&format!("\"code\": \"{code}\"")) {
            wrong.push(format!("{case}: no {code} in its snapshot"));
        } else if !snapshot.contains(shows) {
            wrong.push(format!("{case}: its snapshot does not show {shows:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_code_has_a_case() {
    let dir = compiler_dir().join("tests/diagnostic_cases/snapshots");
    let snapshots: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let uncovered: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|code| {
            let wanted = format!("\"code\": \"{code}\"");
            !snapshots.iter().any(|s| s.contains(&wanted))
        })
        .collect();
    assert!(uncovered.is_empty(), "codes no case reports: {uncovered:?}");
}

/// Wordings a helper is called with that no case can show, with why.
#[rustfmt::skip]
const WORDINGS_WITHOUT_A_CASE: &[(&str, &str)] = &[
    ("a rate window",
     "types/statements.rs `rate`: the grammar takes only a duration literal after `per` \
      (wordings::rate_window_must_be_a_duration_literal is a syntax error)"),
    ("this mocked result",
     "types/test_blocks.rs `check_mock_value`: when a mock's list is read as successive results and \
      an element does not fit, those diagnostics are dropped and the single-value reading's \
      are reported (\"this mock expects ...\")"),
];

/// The wording (`what`) of every call of a reporting helper: the last string literal of the
/// call, up to its first `{` placeholder.
fn helper_wordings() -> Vec<(String, String)> {
    let src = constructors::src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let call = regex::Regex::new(
        r"\.(?:mismatch|expect_type|expect_condition|check_message|expect_call)\(",
    )
    .unwrap();
    let literal = regex::Regex::new(r#""((?:[^"\\]|\\.)*)""#).unwrap();
    let mut wordings = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let relative = path
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for found in call.find_iter(&text) {
            let end = matching(&text, found.end() - 1, b'(', b')');
            let Some(last) = literal.captures_iter(&text[found.end()..end]).last() else {
                continue;
            };
            let wording = last[1].split('{').next().unwrap_or("").to_string();
            let line = text[..found.start()].lines().count();
            wordings.push((format!("{relative}:{line}"), wording));
        }
    }
    wordings
}

/// What a snapshot holds when it shows `wording`: a word-ending wording is followed by a space,
/// so "the text" is not taken for "the text to look for".
fn needle(wording: &str) -> String {
    if wording.ends_with(|c: char| c.is_alphanumeric()) {
        format!("{wording} ")
    } else {
        wording.to_string()
    }
}

#[test]
fn every_helper_wording_has_a_case() {
    let dir = compiler_dir().join("tests/diagnostic_cases/snapshots");
    let snapshots: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let wordings = helper_wordings();
    assert!(
        wordings.len() >= 40,
        "found only {} helper calls",
        wordings.len()
    );
    let missing: Vec<String> = wordings
        .iter()
        .filter(|(_, wording)| {
            !WORDINGS_WITHOUT_A_CASE.iter().any(|(w, _)| w == wording)
                && !snapshots.iter().any(|s| s.contains(&needle(wording)))
        })
        .map(|(at, wording)| format!("{at}: {wording:?}"))
        .collect();
    assert!(
        missing.is_empty(),
        "helper wordings no case shows:\n{}",
        missing.join("\n")
    );
    for (wording, _) in WORDINGS_WITHOUT_A_CASE {
        assert!(
            wordings.iter().any(|(_, w)| w == wording),
            "{wording:?} is no longer a helper wording: remove it from WORDINGS_WITHOUT_A_CASE"
        );
    }
}

//! End-to-end tests of `rbk graph`: the picture of a runbook in Mermaid, DOT and SVG.

mod support;

use support::{rbk, rbk_in, repo_root};

const SEED: &str = "examples/db_pool_exhaustion.rbk";
const DISK: &str = "examples/disk_almost_full.rbk";
const HOSTILE: &str = "tests/fixtures/graph/hostile.rbk";

#[test]
fn the_seed_runbook_as_mermaid() {
    let run = rbk(&["graph", SEED]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn the_seed_runbook_as_dot() {
    let run = rbk(&["graph", SEED, "--format", "dot"]);
    assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!(run.stdout);
}

/// Conditions (`when`), a two-person gate that escalates on timeout, and escalation.
#[test]
fn a_runbook_with_conditions_and_escalation_as_mermaid_and_dot() {
    let mermaid = rbk(&["graph", DISK, "--format", "mermaid"]);
    assert_eq!(mermaid.status, 0, "{}{}", mermaid.stdout, mermaid.stderr);
    insta::assert_snapshot!("disk_almost_full_mermaid", mermaid.stdout);
    let dot = rbk(&["graph", DISK, "--format", "dot"]);
    assert_eq!(dot.status, 0, "{}{}", dot.stdout, dot.stderr);
    insta::assert_snapshot!("disk_almost_full_dot", dot.stdout);
}

/// Every example runbook draws as well-formed XML naming each of its steps.
#[test]
fn every_example_draws_as_svg_that_parses_and_names_every_step() {
    let examples = std::fs::read_dir(repo_root().join("examples")).unwrap();
    let mut drawn = 0;
    for entry in examples {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rbk") {
            continue;
        }
        let file = path.display().to_string();
        let source = std::fs::read_to_string(&path).unwrap();
        // A file of several runbooks (a template's instances) draws one runbook at a time.
        let runbooks: Vec<&str> = source
            .lines()
            .filter_map(|line| line.strip_prefix("runbook "))
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        let targets: Vec<String> = if runbooks.len() > 1 {
            runbooks
                .iter()
                .map(|name| format!("{file}::{name}"))
                .collect()
        } else {
            vec![file.clone()]
        };
        let mut text = String::new();
        for target in &targets {
            let run = rbk(&["graph", target, "--format", "svg"]);
            assert_eq!(run.status, 0, "{target}: {}{}", run.stdout, run.stderr);
            let svg = roxmltree::Document::parse(&run.stdout)
                .unwrap_or_else(|e| panic!("{target} does not draw as XML: {e}\n{}", run.stdout));
            assert_eq!(svg.root_element().tag_name().name(), "svg");
            text.extend(
                svg.descendants()
                    .filter(|n| n.is_text())
                    .filter_map(|n| n.text()),
            );
        }
        for line in source.lines() {
            let Some(rest) = line
                .trim_start()
                .strip_prefix("step ")
                .or_else(|| line.trim_start().strip_prefix("verify "))
            else {
                continue;
            };
            let name = rest.split_whitespace().next().unwrap();
            assert!(
                text.contains(name),
                "{file}: step {name} is not in the picture"
            );
        }
        drawn += 1;
    }
    assert!(drawn >= 5, "only {drawn} examples were drawn");
}

/// Titles, calls and conditions are the runbook author's text, and the picture is embedded in
/// pages and docs: nothing in them can end a label, open an element or start a script.
#[test]
fn hostile_text_stays_text_in_every_format() {
    let svg = rbk(&["graph", HOSTILE, "--format", "svg"]);
    assert_eq!(svg.status, 0, "{}{}", svg.stdout, svg.stderr);
    let document = roxmltree::Document::parse(&svg.stdout).expect("the SVG parses");
    let elements: Vec<&str> = document
        .descendants()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    for forbidden in ["script", "b", "foreignObject", "svg:script"] {
        assert!(
            !elements.contains(&forbidden),
            "<{forbidden}> made it into the picture"
        );
    }
    let text: String = document
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(
        text.contains("<script>alert(1)</script>"),
        "the title is shown as text"
    );
    assert!(text.contains("</svg>"), "the condition is shown as text");

    let mermaid = rbk(&["graph", HOSTILE]);
    assert_eq!(mermaid.status, 0);
    for line in mermaid.stdout.lines().filter(|l| l.contains('"')) {
        let quotes = line.matches('"').count();
        assert_eq!(quotes % 2, 0, "unbalanced quotes: {line}");
        assert!(!line.contains("<script"), "markup in a label: {line}");
    }
    insta::assert_snapshot!("hostile_mermaid", mermaid.stdout);

    let dot = rbk(&["graph", HOSTILE, "--format", "dot"]);
    assert_eq!(dot.status, 0);
    insta::assert_snapshot!("hostile_dot", dot.stdout);
}

#[test]
fn a_file_with_errors_has_no_graph_and_exits_1() {
    let dir = tempdir("graph-errors");
    std::fs::write(
        dir.join("broken.rbk"),
        "runbook broken {\n  title \"B\"\n  step s {\n    log \"{nope}\"\n  }\n}\n",
    )
    .unwrap();
    let run = rbk_in(&dir, &["graph", "broken.rbk"]);
    assert_eq!(run.status, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("nope"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("broken.rbk has errors; fix them to see its graph"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("flowchart"));
}

#[test]
fn usage_problems_exit_2() {
    let missing = rbk(&["graph", "no/such/file.rbk"]);
    assert_eq!(missing.status, 2, "{}", missing.stderr);
    let format = rbk(&["graph", SEED, "--format", "png"]);
    assert_eq!(format.status, 2, "{}", format.stderr);
    assert!(
        format.stderr.contains("invalid value 'png'"),
        "{}",
        format.stderr
    );
    let unknown = rbk(&["graph", SEED, "--runbook", "nope"]);
    assert_eq!(unknown.status, 2, "{}", unknown.stderr);
    assert!(
        unknown
            .stderr
            .contains("has no runbook `nope`; it has: db_pool_exhaustion"),
        "{}",
        unknown.stderr
    );
    let both = rbk(&[
        "graph",
        &format!("{SEED}::db_pool_exhaustion"),
        "--runbook",
        "other",
    ]);
    assert_eq!(both.status, 2, "{}", both.stderr);
}

#[test]
fn a_runbook_is_chosen_by_name_either_way() {
    let named = rbk(&["graph", SEED, "--runbook", "db_pool_exhaustion"]);
    let suffixed = rbk(&["graph", &format!("{SEED}::db_pool_exhaustion")]);
    assert_eq!(named.status, 0, "{}", named.stderr);
    assert_eq!(named.stdout, suffixed.stdout);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = repo_root()
        .join("target")
        .join("test-tmp")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

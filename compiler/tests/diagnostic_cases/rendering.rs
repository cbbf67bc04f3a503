//! The human renderer's parameters (diagnostics/human.rs): colour only when asked for, the
//! width it is given, and the one-line fallback for lines too long to draw.

use rbk_compiler::diagnostics::{human, HumanStyle};

use crate::harness::Case;

const UNKNOWN_NAME: &str = "runbook r {\n  title \"t\"\n  step s {\n    log chanel\n  }\n}\n";

fn rendered(style: HumanStyle) -> String {
    let analysis = Case::new(UNKNOWN_NAME).analyse();
    assert_eq!(analysis.diagnostics.len(), 1, "{:?}", analysis.diagnostics);
    human(&analysis, &analysis.diagnostics[0], style)
}

#[test]
fn colour_is_drawn_only_when_asked_for() {
    let escape = "\u{1b}[";
    assert!(!rendered(HumanStyle::PLAIN).contains(escape));
    let coloured = rendered(HumanStyle {
        color: true,
        ..HumanStyle::PLAIN
    });
    assert!(coloured.contains(escape), "{coloured}");
}

#[test]
fn the_help_is_wrapped_to_the_width_given() {
    let longest_line = |text: &str| text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let wide = rendered(HumanStyle::PLAIN);
    let narrow = rendered(HumanStyle {
        width: 40,
        ..HumanStyle::PLAIN
    });
    assert!(longest_line(&narrow) <= 40, "{narrow}");
    assert!(longest_line(&wide) > 40, "{wide}");
}

assert_diagnostics!(
    line_too_long_to_draw_is_reported_by_position,
    format!(
        "runbook r {{\n  title \"t\"\n  step s {{\n    log \"{}\" + chanel\n  }}\n}}\n",
        "x".repeat(5_000)
    )
);

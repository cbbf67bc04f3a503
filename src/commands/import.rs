//! `rbk import FILE.md… [--out DIR] [--force] [--approvers GROUP] [--format json]`: writes one
//! `.rbk` draft per Markdown runbook and says what it could not translate. The translation is
//! the `rbk-import` library's; this file reads, writes and prints.

use std::fs;
use std::path::{Path, PathBuf};

use rbk_import::{import, FileReport, ImportOptions, DEFAULT_APPROVERS};

use rbk_compiler::check;

use super::check::usage_error;
use super::render;
use crate::workspace::{describe_io, load_config, load_projects, FileLoader};
use crate::{exit, Format};

pub struct ImportArgs {
    pub files: Vec<PathBuf>,
    pub out: Option<PathBuf>,
    pub force: bool,
    pub approvers: Option<String>,
    pub format: Format,
}

pub fn run(args: ImportArgs) -> u8 {
    if let Some(out) = &args.out {
        if let Err(error) = fs::create_dir_all(out) {
            return usage_error(format!("{}: {}", out.display(), describe_io(&error)));
        }
    }
    let mut reports = Vec::new();
    let mut refused = 0;
    for file in &args.files {
        let markdown = match fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) => {
                return usage_error(format!("{}: {}", file.display(), describe_io(&error)))
            }
        };
        let dir = match &args.out {
            Some(out) => out.clone(),
            None => file.parent().map(Path::to_path_buf).unwrap_or_default(),
        };
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "runbook".into());
        let target = dir.join(format!("{stem}.rbk"));
        let options = match options_for(&dir, &args, file) {
            Ok(options) => options,
            Err(message) => return usage_error(&message),
        };
        if target.exists() && !args.force {
            eprintln!(
                "error: {} exists; not overwritten (use --force to replace it)",
                target.display()
            );
            refused += 1;
            continue;
        }
        let draft = match import(&markdown, &stem, &options) {
            Ok(draft) => draft,
            Err(message) => {
                eprintln!("error: {}: {message}", file.display());
                refused += 1;
                continue;
            }
        };
        if let Err(error) = fs::write(&target, &draft.text) {
            return usage_error(format!("{}: {}", target.display(), describe_io(&error)));
        }
        let mut report = draft.report;
        report.draft = target.display().to_string();
        if args.format == Format::Human {
            print!("{}", human(&report));
        }
        reports.push(report);
    }
    let written: Vec<PathBuf> = reports.iter().map(|r| PathBuf::from(&r.draft)).collect();
    let broken = match drafts_with_errors(&written) {
        Ok(broken) => broken,
        Err(message) => return usage_error(&message),
    };
    match args.format {
        Format::Human => {
            let plural = |n: usize| if n == 1 { "draft" } else { "drafts" };
            println!(
                "{} {} written, {refused} not; review them, then `rbk check` and `rbk test` them",
                reports.len(),
                plural(reports.len())
            );
        }
        _ => println!(
            "{}",
            serde_json::to_string_pretty(&reports).expect("reports serialise")
        ),
    }
    if refused > 0 || broken > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// Checks the drafts as `rbk check` would; a draft with errors is a bug in the importer, so its
/// errors go to standard error and the command fails. Returns how many errors there were.
fn drafts_with_errors(drafts: &[PathBuf]) -> Result<usize, rbk_compiler::project::ProjectError> {
    if drafts.is_empty() {
        return Ok(0);
    }
    let (_, projects) = load_projects(drafts)?;
    let mut errors = 0;
    for project in projects {
        let analysis = check(project.sources, &FileLoader, &project.options);
        for diagnostic in analysis.diagnostics.iter().filter(|d| d.is_error()) {
            errors += 1;
            eprint!("{}", render::human(&analysis, diagnostic));
            eprintln!();
        }
    }
    if errors > 0 {
        eprintln!("error: a draft does not check; this is a bug in rbk import, please report it with the Markdown file");
    }
    Ok(errors)
}

/// The approver group and read-only shell commands: flags first, then the rbk.toml that will
/// govern the draft (found from the directory it is written to).
fn options_for(
    dir: &Path,
    args: &ImportArgs,
    file: &Path,
) -> Result<ImportOptions, rbk_compiler::project::ProjectError> {
    let config = match governing_config(dir) {
        Some(path) => Some(load_config(&path)?),
        None => None,
    };
    let approvers = args
        .approvers
        .clone()
        .or_else(|| config.as_ref()?.approvers.keys().next().cloned())
        .unwrap_or_else(|| DEFAULT_APPROVERS.to_string());
    let shell_read_only = config
        .as_ref()
        .and_then(|c| c.shell.as_ref())
        .map(|s| s.read_only.clone())
        .unwrap_or_default();
    let source_name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    Ok(ImportOptions {
        approvers,
        shell_read_only,
        source_name,
    })
}

fn governing_config(dir: &Path) -> Option<PathBuf> {
    let start = fs::canonicalize(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })
    .ok()?;
    start
        .ancestors()
        .map(|d| d.join("rbk.toml"))
        .find(|candidate| candidate.is_file())
}

fn human(report: &FileReport) -> String {
    let mut out = format!("imported {} -> {}\n", report.source, report.draft);
    let trigger = match &report.alert {
        Some(alert) => format!(" (trigger alert \"{alert}\")"),
        None => String::new(),
    };
    let steps = if report.steps == 1 { "step" } else { "steps" };
    out.push_str(&format!(
        "  runbook {}{trigger}: {} {steps}, {} behind an approval, {} manual\n",
        report.runbook, report.steps, report.gated_steps, report.manual_steps
    ));
    out.push_str(&format!(
        "  commands: {} typed, {} shell.run\n",
        report.commands_typed, report.commands_shell
    ));
    if !report.placeholders.is_empty() {
        let list: Vec<String> = report
            .placeholders
            .iter()
            .map(|p| format!("{} -> {}", p.written, p.input))
            .collect();
        out.push_str(&format!("  inputs: {}\n", list.join(", ")));
    }
    if !report.skipped.is_empty() {
        out.push_str("  not translated:\n");
        for skipped in &report.skipped {
            out.push_str(&format!(
                "    line {}: {}: {}\n",
                skipped.line, skipped.what, skipped.reason
            ));
        }
    }
    out
}

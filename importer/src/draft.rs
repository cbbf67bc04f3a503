//! Builds the `.rbk` draft from a parsed Markdown runbook: one runbook with the prose kept as
//! comments, one step per numbered item or command block, every step that can write or destroy
//! behind an approval, `escalate`, `concurrency 1`, and a test per path.

use std::collections::BTreeSet;

use crate::alert_name;
use crate::commands::{commands_of, BlockContent, Command};
use crate::markdown::{Block, CodeBlock, Document};
use crate::rbk_text::{self, comment_lines, sample_value, snake_name};
use crate::report::{CommandReport, FileReport, PlaceholderReport, SkippedReport};
use crate::translate::{translate, Fresh, Mock, Translation, IDLE_FOR_INPUT};
use crate::words::{is_taken, Placeholder};
use crate::ImportOptions;

/// Comment width inside a step (the formatter indents by four).
const WIDTH: usize = 92;

struct StepDraft {
    name: String,
    title: String,
    comments: Vec<String>,
    commands: Vec<(Command, Translation)>,
}

impl StepDraft {
    fn gated(&self) -> bool {
        self.commands.iter().any(|(_, t)| t.destructive)
    }
}

enum Item {
    Comments(Vec<String>),
    Step(StepDraft),
}

#[derive(Default)]
struct Builder<'o> {
    options: Option<&'o ImportOptions>,
    items: Vec<Item>,
    step_names: BTreeSet<String>,
    placeholders: Vec<Placeholder>,
    fresh: Fresh,
    skipped: Vec<SkippedReport>,
}

/// The draft's text (not yet formatted) and what it holds.
pub fn build(document: &Document, stem: &str, options: &ImportOptions) -> (String, FileReport) {
    let mut builder = Builder {
        options: Some(options),
        ..Builder::default()
    };
    for section in &document.sections {
        let mut comments = Vec::new();
        if let Some(heading) = &section.heading {
            comments.push(format!("// {heading}"));
        }
        let mut last_prose: Option<&str> = None;
        for block in &section.blocks {
            match block {
                Block::Prose(text) => {
                    comments.extend(comment_lines(text, WIDTH));
                    last_prose = Some(text);
                }
                Block::Skipped(skipped) => {
                    comments.push(format!("// ({} not imported)", skipped.what));
                    builder.skip(
                        skipped.line,
                        &skipped.what,
                        "not representable in a runbook",
                    );
                }
                Block::Step(item) => {
                    builder.flush(&mut comments);
                    let mut step_comments: Vec<String> = item
                        .prose
                        .iter()
                        .flat_map(|p| comment_lines(p, WIDTH))
                        .collect();
                    let commands = builder.commands(&item.code, &mut step_comments);
                    builder.step(&item.title, step_comments, commands);
                }
                Block::Code(code) => {
                    let mut step_comments = Vec::new();
                    let commands = builder.commands(std::slice::from_ref(code), &mut step_comments);
                    if commands.is_empty() {
                        comments.extend(step_comments);
                        continue;
                    }
                    builder.flush(&mut comments);
                    let title = match last_prose {
                        Some(text) if text.chars().count() <= 72 => {
                            text.trim_end_matches(':').to_string()
                        }
                        _ => section
                            .heading
                            .clone()
                            .unwrap_or_else(|| "Run the commands".into()),
                    };
                    builder.step(&title, step_comments, commands);
                }
            }
        }
        builder.flush(&mut comments);
    }
    builder.finish(document, stem)
}

impl Builder<'_> {
    fn options(&self) -> &ImportOptions {
        self.options.expect("set by build")
    }

    fn flush(&mut self, comments: &mut Vec<String>) {
        if !comments.is_empty() {
            self.items.push(Item::Comments(std::mem::take(comments)));
        }
    }

    fn skip(&mut self, line: usize, what: &str, reason: &str) {
        self.skipped.push(SkippedReport {
            line,
            what: what.to_string(),
            reason: reason.to_string(),
        });
    }

    /// Translates the commands of `blocks`; blocks without commands are kept as comments.
    fn commands(
        &mut self,
        blocks: &[CodeBlock],
        comments: &mut Vec<String>,
    ) -> Vec<(Command, Translation)> {
        let mut translated = Vec::new();
        for block in blocks {
            match commands_of(block) {
                BlockContent::Commands(commands) => {
                    for command in commands {
                        for placeholder in command.placeholders() {
                            if !self
                                .placeholders
                                .iter()
                                .any(|p| p.input == placeholder.input)
                            {
                                self.placeholders.push(placeholder.clone());
                            }
                        }
                        let read_only = self.options().shell_read_only.clone();
                        let translation = translate(&command, &read_only, &mut self.fresh);
                        translated.push((command, translation));
                    }
                }
                BlockContent::NotCommands(reason) => {
                    let what = format!("`{}` block", block.language);
                    self.skip(block.line, &what, &reason);
                    comments.push(format!("// {what} kept as a comment: it holds no commands"));
                    comments.extend(block.text.lines().map(|l| format!("// | {l}")));
                }
            }
        }
        translated
    }

    fn step(&mut self, title: &str, comments: Vec<String>, commands: Vec<(Command, Translation)>) {
        let title = shorten(title.trim().trim_end_matches(':'), 80);
        let base = snake_name(&title, 3)
            .filter(|n| !is_taken(n))
            .unwrap_or_else(|| "step".to_string());
        let mut name = base.clone();
        let mut n = 2;
        while !self.step_names.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.items.push(Item::Step(StepDraft {
            name,
            title,
            comments,
            commands,
        }));
    }

    fn finish(self, document: &Document, stem: &str) -> (String, FileReport) {
        let options = self.options();
        let group = &options.approvers;
        let steps: Vec<&StepDraft> = self
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Step(s) => Some(s),
                Item::Comments(_) => None,
            })
            .collect();
        let translations = || steps.iter().flat_map(|s| s.commands.iter().map(|(_, t)| t));
        let uses = |prefix: &str| translations().any(|t| t.action.starts_with(prefix));
        let uses_db = uses("pg.");
        let uses_idle_for = translations().any(|t| t.action == "pg.terminate");
        let prose: Vec<&str> = document
            .sections
            .iter()
            .flat_map(|s| &s.blocks)
            .filter_map(|b| match b {
                Block::Prose(p) => Some(p.as_str()),
                _ => None,
            })
            .take(8)
            .collect();
        let alert = alert_name::find(stem, document.title.as_deref(), &prose);
        let name = snake_name(stem, 8)
            .or_else(|| document.title.as_deref().and_then(|t| snake_name(t, 6)))
            .filter(|n| !is_taken(n))
            .unwrap_or_else(|| "imported_runbook".to_string());
        let title = document.title.clone().unwrap_or_else(|| stem.to_string());

        let mut out = String::new();
        let mut line = |text: &str| {
            out.push_str(text);
            out.push('\n');
        };
        if uses("k8s.") {
            line("use std.k8s");
        }
        if uses_db {
            line("use std.postgres as pg");
        }
        if uses("shell.") {
            line("use std.shell");
        }
        line("use std.pagerduty");
        line("");
        line(&format!(
            "/// Imported from {} by `rbk import`: review every step before it runs for real.",
            options.source_name
        ));
        line(&format!("runbook {name} {{"));
        line(&format!("  title {}", rbk_text::string(&title)));
        line(&format!("  owner {}", rbk_text::string(group)));
        if let Some(alert) = &alert {
            line(&format!("  trigger alert {}", rbk_text::string(alert)));
        }
        if !self.placeholders.is_empty() || uses_db {
            line("  input {");
            for placeholder in &self.placeholders {
                line(&format!(
                    "    // written {} in the Markdown",
                    placeholder.written
                ));
                match &alert {
                    Some(_) => line(&format!(
                        "    {}: string = alert.labels[{}] ?? \"\"",
                        placeholder.input,
                        rbk_text::string(&placeholder.label)
                    )),
                    None => line(&format!("    {}: string", placeholder.input)),
                }
            }
            if uses_db {
                line("    db: pg.Database = pg.connect(secret(\"DATABASE_URL\"))");
            }
            if uses_idle_for {
                line(&format!("    {IDLE_FOR_INPUT}: duration = 10m"));
            }
            line("  }");
        }
        line("");
        line("  concurrency 1");
        line(&format!(
            "  escalate pagerduty.page(service: {}, summary: \"{name} needs a human: {{run.summary}}\")",
            rbk_text::string(group)
        ));
        for item in &self.items {
            line("");
            match item {
                Item::Comments(comments) => {
                    for comment in comments {
                        line(&format!("  {comment}"));
                    }
                }
                Item::Step(step) => write_step(&mut line, step, group, alert.is_some()),
            }
        }
        line("}");
        write_tests(&mut line, &name, &steps, &self.placeholders);

        let report = FileReport {
            source: options.source_name.clone(),
            draft: String::new(),
            runbook: name,
            title,
            alert: alert.clone(),
            steps: steps.len(),
            gated_steps: steps.iter().filter(|s| s.gated()).count(),
            manual_steps: steps.iter().filter(|s| s.commands.is_empty()).count(),
            commands_typed: translations().filter(|t| t.typed()).count(),
            commands_shell: translations().filter(|t| !t.typed()).count(),
            commands: steps
                .iter()
                .flat_map(|s| {
                    s.commands.iter().map(|(c, t)| CommandReport {
                        line: c.line,
                        command: c.original.clone(),
                        step: s.name.clone(),
                        action: t.action.to_string(),
                        effect: if t.destructive { "destructive" } else { "read" }.to_string(),
                    })
                })
                .collect(),
            placeholders: self
                .placeholders
                .iter()
                .map(|p| PlaceholderReport {
                    written: p.written.clone(),
                    input: p.input.clone(),
                    alert_label: alert.as_ref().map(|_| p.label.clone()),
                })
                .collect(),
            skipped: self.skipped.clone(),
        };
        (out, report)
    }
}

fn write_step(line: &mut impl FnMut(&str), step: &StepDraft, group: &str, from_alert: bool) {
    line(&format!(
        "  step {} {} {{",
        step.name,
        rbk_text::string(&step.title)
    ));
    if step.gated() {
        line(&format!(
            "    approval required from {} timeout 15m on timeout escalate",
            rbk_text::string(group)
        ));
    }
    for comment in &step.comments {
        line(&format!("    {comment}"));
    }
    if from_alert {
        // An alert without the label leaves the input empty: stop rather than act on "".
        let mut inputs: Vec<&Placeholder> = Vec::new();
        for placeholder in step.commands.iter().flat_map(|(c, _)| c.placeholders()) {
            if !inputs.iter().any(|p| p.input == placeholder.input) {
                inputs.push(placeholder);
            }
        }
        for placeholder in inputs {
            line(&format!(
                "    expect {input} != \"\" else \"the alert has no `{label}` label: run it with --input {input}=...\"",
                input = placeholder.input,
                label = placeholder.label.replace(['"', '\\', '{', '}'], "")
            ));
        }
    }
    if step.commands.is_empty() {
        line("    // A step for a person: the Markdown gives no command for it.");
        line(&format!(
            "    log {}",
            rbk_text::string(&format!("manual: {}", step.title))
        ));
    }
    for (command, translation) in &step.commands {
        line(&format!("    // $ {}", command.original));
        if let Some(note) = &translation.note {
            line(&format!("    // {note}"));
        }
        for statement in &translation.statements {
            line(&format!("    {statement}"));
        }
    }
    line("  }");
}

fn write_tests(
    line: &mut impl FnMut(&str),
    name: &str,
    steps: &[&StepDraft],
    placeholders: &[Placeholder],
) {
    let mut mocks: Vec<String> = Vec::new();
    let mut pods: Vec<String> = Vec::new();
    for (_, translation) in steps.iter().flat_map(|s| &s.commands) {
        for mock in &translation.mocks {
            match mock {
                Mock::Returns { action, value } => {
                    let text = format!("mock {action} returns {value}");
                    if !mocks.contains(&text) {
                        mocks.push(text);
                    }
                }
                Mock::Pod { name, namespace } => {
                    let pod = format!(
                        "k8s.pod({}, namespace: {})",
                        rbk_text::string(name),
                        rbk_text::string(namespace)
                    );
                    if !pods.contains(&pod) {
                        pods.push(pod);
                    }
                }
            }
        }
    }
    if !pods.is_empty() {
        mocks.insert(0, format!("mock k8s.pods returns [{}]", pods.join(", ")));
    }
    let run = if placeholders.is_empty() {
        format!("run {name}")
    } else {
        let inputs: Vec<String> = placeholders
            .iter()
            .map(|p| format!("{}: {}", p.input, rbk_text::string(&sample_value(&p.input))))
            .collect();
        format!("run {name} with {{ {} }}", inputs.join(", "))
    };
    let gated: Vec<&str> = steps
        .iter()
        .filter(|s| s.gated())
        .map(|s| s.name.as_str())
        .collect();

    line("");
    line(&format!(
        "test {} {{",
        rbk_text::string(&format!("{name}: every approval given, every step runs"))
    ));
    for mock in &mocks {
        line(&format!("  {mock}"));
    }
    for step in &gated {
        line(&format!("  approve {step}"));
    }
    line(&format!("  {run}"));
    for step in steps {
        line(&format!("  expect step {} succeeded", step.name));
    }
    line("  expect not escalated");
    line("}");

    for (index, denied) in gated.iter().enumerate() {
        line("");
        line(&format!(
            "test {} {{",
            rbk_text::string(&format!(
                "{name}: denying {denied} stops the run and escalates"
            ))
        ));
        for mock in &mocks {
            line(&format!("  {mock}"));
        }
        line("  mock pagerduty.page returns none");
        for step in &gated[..index] {
            line(&format!("  approve {step}"));
        }
        line(&format!("  deny {denied}"));
        line(&format!("  {run}"));
        line(&format!("  expect step {denied} denied"));
        line("  expect escalated");
        line("}");
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{}…", cut.trim_end())
}

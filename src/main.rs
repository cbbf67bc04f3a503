//! `rbk`: check, plan and explain runbooks. This file only parses arguments and dispatches;
//! the work is done by the library crates.

mod commands;
mod exit;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "rbk", version, about = "Operational runbooks as checked programs", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    Warnings,
}

#[derive(clap::Args)]
struct AnswerArgs {
    /// The run id (or a unique prefix of it).
    run: String,
    /// The step that waits for approval.
    step: String,
    /// Who answers (default: $RBK_USER, else the OS user).
    #[arg(long = "as")]
    as_user: Option<String>,
    #[arg(long)]
    comment: Option<String>,
    /// A value the step's approval asks for (`ask { new_size: int }`): `--value new_size=5`,
    /// once per asked value.
    #[arg(long = "value", value_name = "NAME=VALUE", value_parser = parse_asked_value)]
    values: Vec<(String, String)>,
    #[arg(long)]
    store: Option<String>,
    /// Decide through a running `rbk serve` at this URL (its JSON API) instead of the store.
    #[arg(long, value_name = "URL", conflicts_with_all = ["store", "as_user"])]
    server: Option<String>,
    /// With --server: the environment variable holding your token (default RBK_TOKEN).
    #[arg(long, value_name = "VAR", requires = "server")]
    token_env: Option<String>,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token for a person: its hash goes into rbk.toml, the token is printed once.
    Create {
        /// The person (a [people.NAME] entry; added when missing).
        #[arg(long = "as", value_name = "NAME")]
        as_person: String,
        /// The rbk.toml to write (default: the one governing the current directory).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Parse, type-check and lint runbooks; exit 1 on errors.
    Check {
        /// Files or directories (searched recursively for *.rbk). Default: the current directory.
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// `--deny warnings`: warnings also make the check fail.
        #[arg(long, value_enum)]
        deny: Option<Deny>,
        /// Write the safe fixes into the files first (a title where one is missing), then
        /// report what remains. Fixes that need a person's judgement are only offered.
        #[arg(long)]
        fix: bool,
    },
    /// Rewrite files in the canonical layout; `--check` only names the files that would change.
    Fmt {
        /// Files or directories (searched recursively for *.rbk). Default: the current directory.
        paths: Vec<PathBuf>,
        /// Change nothing; exit 1 and name the files that are not formatted.
        #[arg(long)]
        check: bool,
    },
    /// Print each runbook's steps with their effects, gates, conditions and escalation.
    Plan {
        file: PathBuf,
        /// `human` (default) or `json`.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Draw a runbook: its trigger, steps, conditions, gates, checks and escalation.
    Graph {
        /// `FILE` or `FILE::RUNBOOK`.
        file: String,
        /// The runbook to draw when the file has several.
        #[arg(long)]
        runbook: Option<String>,
        /// `mermaid` (default; GitHub draws it), `svg` (a self-contained picture) or `dot`
        /// (Graphviz).
        #[arg(long, value_enum, default_value_t = commands::graph::GraphFormat::Mermaid)]
        format: commands::graph::GraphFormat,
    },
    /// Run the `test` blocks: mocked actions, answered approvals, a virtual clock.
    Test {
        /// Files or directories (searched recursively for *.rbk). Default: the current directory.
        paths: Vec<PathBuf>,
        /// Also list the steps, conditions and approval outcomes no test reaches.
        #[arg(long)]
        coverage: bool,
    },
    /// Run a runbook: `rbk run FILE[::RUNBOOK] --input NAME=VALUE`.
    Run {
        /// `FILE` or `FILE::RUNBOOK` (needed when the file has several runbooks).
        target: String,
        /// `NAME=VALUE`, parsed by the input's declared type; repeat for several.
        #[arg(long = "input", short = 'i')]
        inputs: Vec<String>,
        /// Run `read` actions; report `write` and `destructive` ones without executing them.
        #[arg(long)]
        dry_run: bool,
        /// Start the run from an alert: an Alertmanager webhook body (the first firing alert
        /// the runbook's trigger takes) or one alert object; `-` reads standard input.
        #[arg(long, value_name = "PAYLOAD.json")]
        alert: Option<PathBuf>,
        /// A SQLite file or a `postgres://` URL. Default: `.rbk/rbk.db` beside rbk.toml.
        #[arg(long)]
        store: Option<String>,
        /// Who starts the run (default: $RBK_USER, else the OS user).
        #[arg(long = "as")]
        as_user: Option<String>,
        /// `human` (default) or `json` (one event per line).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Continue a run whose process died: finished steps are not run again.
    Resume {
        run: String,
        #[arg(long)]
        store: Option<String>,
        /// Who resumes it (default: $RBK_USER, else the OS user).
        #[arg(long = "as")]
        as_user: Option<String>,
        /// Resume a run whose process is on another machine (or was not recorded), which rbk
        /// cannot check: you state that the process is gone.
        #[arg(long)]
        takeover: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Approve a step a run waits on: `rbk approve RUN STEP --as USER`.
    Approve(AnswerArgs),
    /// Deny a step a run waits on: `rbk deny RUN STEP --as USER`.
    Deny(AnswerArgs),
    /// Web and API tokens for people: `rbk token create --as NAME`.
    #[command(subcommand)]
    Token(TokenCommand),
    /// List recent runs: state, runbook, trigger, who started them, when they started and ended.
    Runs {
        #[arg(long)]
        store: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Only runs in this state: queued, running, waiting, succeeded, failed, cancelled,
        /// suppressed, coalesced, in_doubt.
        #[arg(long)]
        state: Option<String>,
        /// Only runs of this runbook.
        #[arg(long)]
        runbook: Option<String>,
        /// `human` (default) or `json` (an array of run records).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Show a run's journal; `--verify` checks it against its record, its answers and its
    /// anchored head (exit 1 when tampered); `--export` prints the head to keep elsewhere.
    Log {
        run: String,
        #[arg(long)]
        store: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[arg(long)]
        verify: bool,
        /// Print the journal's head (event count, last hash; signed when rbk.toml names a key)
        /// to keep outside the store.
        #[arg(long, conflicts_with_all = ["verify", "anchor"])]
        export: bool,
        /// With --verify: a head printed earlier by --export; the journal must still hold it.
        #[arg(long, value_name = "FILE", requires = "verify")]
        anchor: Option<PathBuf>,
    },
    /// Take alerts in over HTTP and run the runbooks they trigger (docs/serve.md).
    Serve {
        /// Files or directories (searched recursively for *.rbk). Default: the current directory.
        paths: Vec<PathBuf>,
        /// `IP:PORT` to listen on (default: rbk.toml [serve] listen, else 127.0.0.1:9095).
        #[arg(long)]
        listen: Option<String>,
        /// A SQLite file or a `postgres://` URL. Default: `.rbk/rbk.db` beside rbk.toml.
        #[arg(long)]
        store: Option<String>,
        /// Runs executed at once by this process (default: rbk.toml [serve] workers, else 4).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Turn Markdown runbooks into `.rbk` drafts that check and whose tests pass.
    Import {
        /// Markdown files (`.md`), one draft each.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write the drafts (default: beside each Markdown file).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Replace drafts that already exist.
        #[arg(long)]
        force: bool,
        /// The approver group of every gated step (default: rbk.toml's first group, else
        /// `oncall`).
        #[arg(long, value_name = "GROUP")]
        approvers: Option<String>,
        /// `human` (default) or `json` (per file: steps, commands typed vs shell, inputs,
        /// what was skipped).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Scaffold a runbook from a shipped template: `rbk new FILE --template NAME --set KEY=VALUE`.
    New {
        /// The `.rbk` file to write.
        #[arg(required_unless_present = "list")]
        file: Option<PathBuf>,
        /// The template (see `rbk new --list`).
        #[arg(long, required_unless_present = "list")]
        template: Option<String>,
        /// Fill a template parameter; repeat for several.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Replace a file that already exists.
        #[arg(long)]
        force: bool,
        /// List the templates and their parameters.
        #[arg(long, conflicts_with_all = ["file", "template", "set", "force"])]
        list: bool,
    },
    /// Print the long explanation of a diagnostic code, e.g. `rbk explain E0301`.
    Explain { code: String },
    /// Serve the Language Server Protocol on stdin/stdout (diagnostics, hover, completion, fixes).
    Lsp(commands::lsp::TransportArgs),
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => exit::USAGE.into(),
            };
        }
    };
    // Deeply nested input recurses in the parser and checker; give them room.
    let worker = std::thread::Builder::new()
        .stack_size(512 * 1024 * 1024)
        .spawn(move || match cli.command {
            Command::Check {
                paths,
                format,
                deny,
                fix,
            } => commands::check::run(&paths, format, deny.is_some(), fix),
            Command::Fmt { paths, check } => commands::fmt::run(&paths, check),
            Command::Plan { file, format } => commands::plan::run(&file, format),
            Command::Graph {
                file,
                runbook,
                format,
            } => commands::graph::run(&file, runbook.as_deref(), format),
            Command::Test { paths, coverage } => commands::test::run(&paths, coverage),
            Command::Run {
                target,
                inputs,
                dry_run,
                alert,
                store,
                as_user,
                format,
            } => commands::run::run(commands::run::RunArgs {
                target,
                inputs,
                dry_run,
                alert,
                store,
                as_user,
                format,
            }),
            Command::Resume {
                run,
                store,
                as_user,
                takeover,
                format,
            } => commands::resume::run(commands::resume::ResumeArgs {
                run: &run,
                store: store.as_deref(),
                as_user: as_user.as_deref(),
                takeover,
                format,
            }),
            Command::Approve(args) => answer(args, true),
            Command::Deny(args) => answer(args, false),
            Command::Token(TokenCommand::Create { as_person, config }) => {
                commands::token::create(commands::token::TokenArgs { as_person, config })
            }
            Command::Runs {
                store,
                limit,
                state,
                runbook,
                format,
            } => commands::runs::list(commands::runs::RunsArgs {
                store: store.as_deref(),
                limit,
                format,
                state: state.as_deref(),
                runbook: runbook.as_deref(),
            }),
            Command::Log {
                run,
                store,
                export: true,
                ..
            } => commands::head::export(&run, store.as_deref()),
            Command::Log {
                run,
                store,
                format,
                verify,
                anchor,
                ..
            } => commands::runs::log(&run, store.as_deref(), format, verify, anchor.as_deref()),
            Command::Serve {
                paths,
                listen,
                store,
                workers,
            } => commands::serve::run(commands::serve::ServeArgs {
                paths,
                listen,
                store,
                workers,
            }),
            Command::Import {
                files,
                out,
                force,
                approvers,
                format,
            } => commands::import::run(commands::import::ImportArgs {
                files,
                out,
                force,
                approvers,
                format,
            }),
            Command::New {
                file,
                template,
                set,
                force,
                list,
            } => {
                if list {
                    commands::new::list()
                } else {
                    commands::new::scaffold(commands::new::NewArgs {
                        file: file.unwrap_or_default(),
                        template: template.unwrap_or_default(),
                        set,
                        force,
                    })
                }
            }
            Command::Explain { code } => commands::explain::run(&code),
            Command::Lsp(transport) => commands::lsp::run(&transport),
        });
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code.into(),
        _ => {
            eprintln!("rbk: internal error; please report it with the input that caused it");
            exit::INTERNAL.into()
        }
    }
}

/// `NAME=VALUE` for `--value`. A clap value parser: clap shows the `Err` text to the user as
/// it is, so the String is the product (allowed in tests/typed_errors.rs).
fn parse_asked_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "`{text}` is not NAME=VALUE: write e.g. --value new_size=5"
        )),
    }
}

fn answer(args: AnswerArgs, approve: bool) -> u8 {
    let mut values = std::collections::BTreeMap::new();
    for (name, value) in &args.values {
        if values.insert(name.clone(), value.clone()).is_some() {
            return commands::check::usage_error(format!(
                "--value {name}=... is given twice: give each asked value once"
            ));
        }
    }
    if let Some(server) = &args.server {
        return commands::remote_answer::run(commands::remote_answer::RemoteAnswer {
            server,
            token_env: args.token_env.as_deref(),
            run: &args.run,
            step: &args.step,
            approve,
            comment: args.comment.as_deref(),
            values: &values,
        });
    }
    commands::answer::run(commands::answer::AnswerArgs {
        run: args.run,
        step: args.step,
        as_user: args.as_user,
        comment: args.comment,
        store: args.store,
        approve,
        values,
    })
}

/// `rbk check | head` should end quietly when `head` stops reading, as other Unix tools do,
/// rather than fail on a write to a closed pipe.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default at startup, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

//! `rbk`: check, plan and explain runbooks. This file only parses arguments and dispatches;
//! the work is done by the library crates.

mod commands;
mod exit;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

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
    },
    /// Print each runbook's steps with their effects, gates, conditions and escalation.
    Plan {
        file: PathBuf,
        /// `human` (default) or `json`.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Run the `test` blocks: mocked actions, answered approvals, a virtual clock.
    Test {
        /// Files or directories (searched recursively for *.rbk). Default: the current directory.
        paths: Vec<PathBuf>,
        /// Also list the steps, conditions and approval outcomes no test reaches.
        #[arg(long)]
        coverage: bool,
    },
    /// Print the long explanation of a diagnostic code, e.g. `rbk explain E0301`.
    Explain { code: String },
}

fn main() -> ExitCode {
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
            } => commands::check::run(&paths, format, deny.is_some()),
            Command::Plan { file, format } => commands::plan::run(&file, format),
            Command::Test { paths, coverage } => commands::test::run(&paths, coverage),
            Command::Explain { code } => commands::explain::run(&code),
        });
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code.into(),
        _ => {
            eprintln!("rbk: internal error; please report it with the input that caused it");
            exit::INTERNAL.into()
        }
    }
}

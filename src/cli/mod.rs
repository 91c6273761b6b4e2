//! The `driftwarden` command line. `main.rs` parses it; each subcommand lives in its own
//! module and returns the process exit code.

mod check;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use check::CheckArgs;

/// driftwarden keeps a cluster at its declared desired state.
#[derive(Parser, Debug)]
#[command(name = "driftwarden", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the CustomResourceDefinitions of every driftwarden kind, as YAML.
    Crds,
    /// Evaluate policies against manifest files, offline (pre-merge CI). Exit code 0 when
    /// clean, 1 on violations, 2 on invalid input.
    Check(CheckArgs),
}

/// Runs the command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crds => ExitCode::SUCCESS,
        Command::Check(args) => check::run(&args),
    }
}

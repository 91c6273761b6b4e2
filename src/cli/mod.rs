//! The `driftwarden` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

/// Runs the command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crds => ExitCode::SUCCESS,
    }
}

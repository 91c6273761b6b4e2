//! The `driftwarden` command line.

mod sandbox;

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
    /// Run an in-memory Kubernetes API server on 127.0.0.1 with driftwarden's CRDs, and
    /// write a kubeconfig for kubectl.
    Sandbox(sandbox::SandboxArgs),
}

/// Runs the command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crds => ExitCode::SUCCESS,
        Command::Sandbox(args) => sandbox::run_sandbox(args, Vec::new()),
    }
}

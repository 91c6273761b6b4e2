//! The `driftwarden` command line. `main.rs` parses it; each subcommand lives in its own
//! module and returns the process exit code.

mod admission;
mod check;
mod completions;
mod diff;
mod inventory;
mod logging;
pub mod plugin;
mod report;
mod run;
mod sandbox;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use check::CheckArgs;
pub use completions::{KUBECTL_COMPLETION_NAME, run_kubectl_completion};
pub use diff::DiffArgs;
pub use inventory::InventoryArgs;
pub use run::RunArgs;

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
    Crds {
        /// Write one file per CRD into this directory instead, as `crds/` holds them:
        /// `driftwarden crds --out-dir crds`.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Print the argocd-cm patch that gives Argo CD a health check for every driftwarden
    /// kind, as YAML.
    ArgocdHealth {
        /// Write the patch and one `health/<Kind>.lua` per kind into this directory instead,
        /// as the chart holds them: `driftwarden argocd-health --out-dir
        /// charts/driftwarden/argocd`.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Evaluate policies against manifest files, offline (pre-merge CI). Exit code 0 when
    /// clean, 1 on violations, 2 on invalid input.
    Check(CheckArgs),
    /// Run the operator against the cluster of the in-cluster configuration or kubeconfig.
    Run(RunArgs),
    /// Read-only: what each policy would change in the live cluster now. Exit code 0 when
    /// nothing drifts, 1 when something does, 2 when the cluster cannot be read.
    Diff(DiffArgs),
    /// Read-only: the identity inventory (ServiceAccounts, their privileges, tokens,
    /// workloads and risk) as a table or JSON. Exit code 0, or 2 when the cluster cannot be
    /// read.
    Inventory(InventoryArgs),
    /// Run an in-memory Kubernetes API server on 127.0.0.1 with driftwarden's CRDs, and
    /// write a kubeconfig for kubectl.
    Sandbox(sandbox::SandboxArgs),
    /// Prevention at admission: the ValidatingAdmissionPolicies generated from policies'
    /// `spec.admission`.
    #[command(subcommand)]
    Admission(admission::AdmissionCommand),
    /// The kubectl plugin's verbs (status, approve, except, explain), as `kubectl
    /// driftwarden` runs them when this binary is installed as `kubectl-driftwarden`.
    #[command(after_help = plugin::EXIT_CODES_HELP)]
    Plugin(plugin::PluginArgs),
    /// Print a shell completion script for `driftwarden` (or, with --plugin, for
    /// `kubectl-driftwarden`).
    Completions(completions::CompletionsArgs),
    /// A campaign's or a policy's progress as a self-contained HTML page (charts inline),
    /// markdown for a ticket, or JSON. Exit code 0, or 2 when the cluster cannot be read.
    #[command(subcommand)]
    Report(report::ReportCommand),
}

/// Runs the command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crds { out_dir } => crds(out_dir.as_deref()),
        Command::ArgocdHealth { out_dir } => argocd_health(out_dir.as_deref()),
        Command::Check(args) => check::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Inventory(args) => inventory::run(&args),
        Command::Sandbox(args) => sandbox::run_sandbox(args, crate::api::crds()),
        Command::Admission(command) => admission::run(&command),
        Command::Plugin(args) => plugin::run(args),
        Command::Completions(args) => completions::run(&args),
        Command::Report(command) => report::run(&command),
    }
}

fn crds(out_dir: Option<&Path>) -> ExitCode {
    let Some(dir) = out_dir else {
        return match emit(&crate::api::crds_yaml()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("driftwarden crds: cannot write to standard output: {error}");
                ExitCode::FAILURE
            }
        };
    };
    match crate::api::write_crds(dir) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("driftwarden crds: cannot write {}: {error}", dir.display());
            ExitCode::FAILURE
        }
    }
}

fn argocd_health(out_dir: Option<&Path>) -> ExitCode {
    let Some(dir) = out_dir else {
        return match emit(&crate::argocd::argocd_cm_patch()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("driftwarden argocd-health: cannot write to standard output: {error}");
                ExitCode::FAILURE
            }
        };
    };
    match crate::argocd::write_generated(dir) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("driftwarden argocd-health: cannot write {}: {error}", dir.display());
            ExitCode::FAILURE
        }
    }
}

/// Writes `text` to standard output. A reader that stops early (`driftwarden crds | head`)
/// is not an error: the output simply ends there.
pub(crate) fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

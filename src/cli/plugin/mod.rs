//! `kubectl driftwarden`: the kubectl plugin.
//!
//! The same binary is the plugin: installed as (a link named) `kubectl-driftwarden`, kubectl
//! runs it for `kubectl driftwarden …` with the arguments after the plugin's name, and
//! `main.rs` parses them as [`PluginCli`]. Under its own name the binary reaches the same
//! verbs as `driftwarden plugin …`.
//!
//! - [`status`]: policies, campaigns and open escalations at a glance;
//! - [`approve`]: approve an escalated Finding's fix, as the current user;
//! - [`except`]: create a DriftException approved by the current user;
//! - [`explain`]: a Finding or a policy's drift, attribution, evidence and what happens next.
//!
//! Each verb connects as kubectl does ([`cluster`]), reads typed resources and renders
//! plain text (coloured on a terminal, [`style`]) or JSON. Exit codes: [`EXIT_REFUSED`],
//! [`EXIT_INVALID`], [`EXIT_CLUSTER`].

mod approve;
mod cluster;
mod except;
mod explain;
mod next;
mod status;
mod style;
mod target;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub use style::ColorChoice;

/// The file name kubectl looks for on `PATH` to run `kubectl driftwarden`.
pub const PLUGIN_NAME: &str = "kubectl-driftwarden";

/// Exit code: the API server or RBAC refused (the caller lacks a role or a verb, or the
/// approvals admission policy said no), or the object's state leaves nothing to do.
pub const EXIT_REFUSED: u8 = 1;
/// Exit code: invalid input: a flag, a TARGET, a `--for` duration, an unknown kind, or an
/// object that does not exist.
pub const EXIT_INVALID: u8 = 2;
/// Exit code: the cluster could not be reached, or answered with an unexpected error.
pub const EXIT_CLUSTER: u8 = 3;

/// The exit codes, as `--help` states them.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 done; 1 refused (the caller lacks a role, RBAC or admission said \
                                   no, or nothing to do); 2 invalid input or not found; 3 the cluster could not be \
                                   reached.";

/// `kubectl driftwarden`: the command line of the binary when it runs as
/// `kubectl-driftwarden`.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-driftwarden",
    bin_name = "kubectl driftwarden",
    version,
    about = "driftwarden for kubectl: status, approvals, exceptions and explanations",
    after_help = EXIT_CODES_HELP
)]
pub struct PluginCli {
    #[command(flatten)]
    pub args: PluginArgs,
}

/// The plugin's verbs and the flags they share; `driftwarden plugin` takes the same.
#[derive(Args, Debug)]
pub struct PluginArgs {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: PluginCommand,
}

/// The flags every verb takes, as kubectl spells them.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Connection and output")]
pub struct GlobalArgs {
    /// The kubeconfig file to use (default: `KUBECONFIG`, else `~/.kube/config`, else the
    /// in-cluster configuration).
    #[arg(long, global = true, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace (default: the context's namespace, else `default`).
    #[arg(long, short = 'n', global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// When to colour the output: `auto` colours on a terminal unless `NO_COLOR` is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// The plugin's verbs.
#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Policies, campaigns and open escalations at a glance (the current namespace, or all
    /// with -A).
    Status(status::StatusArgs),
    /// Approve the fix of an escalated Finding in your own name: the operator then applies
    /// and verifies it.
    Approve(approve::ApproveArgs),
    /// Create a DriftException, approved by you, for an object or a Finding's asset.
    Except(except::ExceptArgs),
    /// A Finding or a policy: its drift, who changed it and when, the evidence, and what
    /// happens next.
    Explain(explain::ExplainArgs),
}

/// Whether the program was started under `name` (`argv[0]`'s file name, with or without
/// `.exe`), as kubectl starts a plugin: [`PLUGIN_NAME`], or the completion program.
pub fn invoked_as(argv0: Option<&OsStr>, name: &str) -> bool {
    let Some(file) = argv0.and_then(|a| Path::new(a).file_name()) else { return false };
    let file = file.to_string_lossy();
    let stem = match file.len().checked_sub(4) {
        Some(cut) if file.is_char_boundary(cut) && file[cut..].eq_ignore_ascii_case(".exe") => &file[..cut],
        _ => &file[..],
    };
    stem == name
}

/// What went wrong, and the exit code it earns.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The input cannot be acted on (a flag, a TARGET, a duration).
    #[error("{0}")]
    Invalid(String),
    /// An object named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do it, or its state leaves nothing to do.
    #[error("{0}")]
    Refused(String),
    /// No kubeconfig or in-cluster configuration could be loaded.
    #[error("no Kubernetes configuration: {0}")]
    Config(String),
    /// A request failed for another reason than the caller's rights.
    #[error("{what}: {}", cluster::describe(.source))]
    Cluster {
        what: String,
        #[source]
        source: kube::Error,
    },
}

impl PluginError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => EXIT_REFUSED,
            Self::Invalid(_) | Self::NotFound(_) => EXIT_INVALID,
            Self::Config(_) | Self::Cluster { .. } => EXIT_CLUSTER,
        }
    }
}

/// Runs one verb and returns the process exit code; errors go to standard error.
pub fn run(args: PluginArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(EXIT_CLUSTER);
        }
    };
    let palette = style::Palette::detect(args.global.color);
    let result = runtime.block_on(async {
        let cluster = cluster::connect(&args.global).await?;
        match &args.command {
            PluginCommand::Status(verb) => status::run(&cluster, verb, palette).await,
            PluginCommand::Approve(verb) => approve::run(&cluster, verb).await,
            PluginCommand::Except(verb) => except::run(&cluster, verb).await,
            PluginCommand::Explain(verb) => explain::run(&cluster, verb, palette).await,
        }
    });
    match result {
        Ok(text) => match super::emit(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: cannot write to standard output: {err}");
                ExitCode::from(EXIT_CLUSTER)
            }
        },
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_plugin_is_recognised_by_its_file_name() {
        for name in [
            "kubectl-driftwarden",
            "/home/me/.local/bin/kubectl-driftwarden",
            "kubectl-driftwarden.exe",
            "/mnt/c/bin/kubectl-driftwarden.EXE",
        ] {
            assert!(invoked_as(Some(OsStr::new(name)), PLUGIN_NAME), "{name}");
        }
        for name in ["driftwarden", "/usr/bin/driftwarden", "kubectl-driftwarden-old", "kubectl", ".exe", ""] {
            assert!(!invoked_as(Some(OsStr::new(name)), PLUGIN_NAME), "{name}");
        }
        assert!(!invoked_as(None, PLUGIN_NAME));
        assert!(invoked_as(Some(OsStr::new("/bin/kubectl_complete-driftwarden")), "kubectl_complete-driftwarden"));
    }

    #[test]
    fn the_command_line_is_well_formed_and_takes_kubectl_s_flags() {
        PluginCli::command().debug_assert();
        let cli = PluginCli::try_parse_from([
            "kubectl-driftwarden",
            "approve",
            "finding/web-1",
            "-n",
            "shop",
            "--context",
            "prod",
            "--kubeconfig",
            "/tmp/k",
            "--reason",
            "restores the image",
        ])
        .unwrap();
        assert_eq!(cli.args.global.namespace.as_deref(), Some("shop"));
        assert_eq!(cli.args.global.context.as_deref(), Some("prod"));
        assert_eq!(cli.args.global.kubeconfig.as_deref(), Some(Path::new("/tmp/k")));
        let PluginCommand::Approve(approve) = cli.args.command else { panic!("approve") };
        assert_eq!(approve.finding, "finding/web-1");
        assert_eq!(approve.reason.as_deref(), Some("restores the image"));
        // Flags before the verb, as kubectl users also write them.
        let cli =
            PluginCli::try_parse_from(["kubectl-driftwarden", "-n", "shop", "status", "-A", "-o", "json"]).unwrap();
        assert_eq!(cli.args.global.namespace.as_deref(), Some("shop"));
        assert!(matches!(cli.args.command, PluginCommand::Status(ref s) if s.all_namespaces));
    }

    #[test]
    fn errors_map_to_the_documented_exit_codes() {
        assert_eq!(PluginError::Refused("no".into()).exit_code(), 1);
        assert_eq!(PluginError::Invalid("bad".into()).exit_code(), 2);
        assert_eq!(PluginError::NotFound("gone".into()).exit_code(), 2);
        assert_eq!(PluginError::Config("none".into()).exit_code(), 3);
    }
}

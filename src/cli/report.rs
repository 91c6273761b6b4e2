//! `driftwarden report`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::emit;
use crate::report::{CampaignReport, Format, PolicyReport, read};

/// What to report on.
#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// A RemediationCampaign: burn-down and projection, checkpoints, findings by owner and
    /// severity, the oldest open findings and the evidence of closed ones.
    Campaign(CampaignArgs),
    /// A DriftPolicy (with `-n NAMESPACE`) or a ClusterDriftPolicy (without): its drifts
    /// by owner, class and age, its history, its fixes and their evidence.
    Policy(PolicyArgs),
}

/// The output of a report.
#[derive(Args, Debug)]
pub struct OutputArgs {
    /// The format: a self-contained HTML page, markdown for a ticket, or JSON.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Arguments of `driftwarden report campaign`.
#[derive(Args, Debug)]
pub struct CampaignArgs {
    /// The RemediationCampaign's name.
    pub name: String,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The namespace the operator runs in, where the Findings of cluster-scoped assets live.
    #[arg(long, env = "DRIFTWARDEN_OPERATOR_NAMESPACE", default_value = "driftwarden-system")]
    pub operator_namespace: String,
}

/// Arguments of `driftwarden report policy`.
#[derive(Args, Debug)]
pub struct PolicyArgs {
    /// The policy's name.
    pub name: String,
    /// The namespace of a DriftPolicy; without it, NAME is a ClusterDriftPolicy.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Reads, renders and writes a report. Exit code 0, or 2 when the cluster cannot be read,
/// the object does not exist or the report cannot be written.
pub fn run(command: &ReportCommand) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let rendered: Result<String, String> = runtime.block_on(async {
        let client = kube::Client::try_default()
            .await
            .map_err(|err| format!("no Kubernetes configuration (kubeconfig or in-cluster): {err}"))?;
        let now = jiff::Timestamp::now();
        match command {
            ReportCommand::Campaign(args) => {
                let objects = read::campaign(&client, &args.name, &args.operator_namespace)
                    .await
                    .map_err(|err| err.to_string())?;
                let report = CampaignReport::build(&objects.campaign, &objects.findings, objects.ignored, now);
                Ok(report.render(args.output.format))
            }
            ReportCommand::Policy(args) => {
                let policy = read::policy(&client, args.namespace.as_deref(), &args.name)
                    .await
                    .map_err(|err| err.to_string())?;
                let report = PolicyReport::build(
                    policy.kind,
                    policy.namespace.as_deref(),
                    &policy.name,
                    policy.mode,
                    &policy.status,
                    now,
                );
                Ok(report.render(args.output.format))
            }
        }
    });
    let text = match rendered {
        Ok(text) => text,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    let output = match command {
        ReportCommand::Campaign(args) => &args.output,
        ReportCommand::Policy(args) => &args.output,
    };
    let written = match &output.output {
        Some(path) => std::fs::write(path, text).map_err(|err| format!("cannot write {}: {err}", path.display())),
        None => emit(&text).map_err(|err| format!("cannot write the report: {err}")),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

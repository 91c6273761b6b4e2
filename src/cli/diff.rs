//! `driftwarden diff`.

use std::process::ExitCode;

use clap::Args;

use super::check::Output;
use super::emit;

/// Arguments of `driftwarden diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Only this policy: `name` of a ClusterDriftPolicy, `namespace/name` of a DriftPolicy.
    #[arg(long)]
    pub policy: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Prints what each policy would change now. Exit code 0 when nothing drifts, 1 when
/// something does, 2 when the cluster cannot be read.
pub fn run(args: &DiffArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async {
        let client = match kube::Client::try_default().await {
            Ok(client) => client,
            Err(err) => {
                eprintln!("error: no Kubernetes configuration (kubeconfig or in-cluster): {err}");
                return ExitCode::from(2);
            }
        };
        match crate::diff::diff(client, args.policy.as_deref()).await {
            Ok((report, skipped)) => {
                for s in &skipped {
                    eprintln!("warning: policy {} not evaluated: {}", s.policy, s.reason);
                }
                let text = match args.output {
                    Output::Text => report.to_text(),
                    Output::Json => report.to_json() + "\n",
                };
                if let Err(err) = emit(&text) {
                    eprintln!("error: cannot write the report: {err}");
                    return ExitCode::from(2);
                }
                if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(1) }
            }
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(2)
            }
        }
    })
}

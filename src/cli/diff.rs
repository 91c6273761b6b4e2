//! `driftwarden diff`.

use std::process::ExitCode;

use clap::Args;

use super::check::Output;
use super::emit;
use crate::check::{Fingerprints, KeySource};
use crate::fingerprints;

/// Arguments of `driftwarden diff`.
#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Only this policy: `name` of a ClusterDriftPolicy, `namespace/name` of a DriftPolicy.
    #[arg(long)]
    pub policy: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// The namespace the operator runs in, where its fingerprint key Secret is read from.
    /// When it cannot be read, a key is drawn for the run and the fingerprints are not
    /// comparable across runs.
    #[arg(long, env = "DRIFTWARDEN_OPERATOR_NAMESPACE", default_value = "driftwarden-system")]
    pub operator_namespace: String,
    /// The field managers the operator counts as appliers (its `--appliers`; repeatable or
    /// comma-separated), for the preview of what it does about each drift. Default: the
    /// operator's default.
    #[arg(long = "appliers", env = "DRIFTWARDEN_APPLIERS", value_delimiter = ',', value_name = "MANAGER")]
    pub appliers: Vec<String>,
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
        let (key, source) = match fingerprints::read_installation(client.clone(), &args.operator_namespace).await {
            Ok(key) => (key, KeySource::Installation { namespace: args.operator_namespace.clone() }),
            Err(err) => (fingerprints::draw(), KeySource::PerRun { reason: err.to_string() }),
        };
        let operator = crate::diff::OperatorView {
            namespace: args.operator_namespace.clone(),
            appliers: crate::admission::listed_or(&args.appliers, crate::engine::decide::DEFAULT_APPLIERS),
            max_exception_duration: crate::api::exception::DEFAULT_INSTALLATION_CAP,
        };
        match crate::diff::diff(client, args.policy.as_deref(), &key, &operator).await {
            Ok((mut report, skipped)) => {
                let used = Fingerprints::new(&key, source);
                if let Some(note) = &used.note {
                    eprintln!("note: {note}");
                }
                report.fingerprints = Some(used);
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

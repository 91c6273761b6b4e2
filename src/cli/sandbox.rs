//! `driftwarden sandbox`: the command-line side; the work is in
//! [`crate::sandbox::run`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use std::io::Write;

use crate::notification::{Cidr, SinkAddressPolicy};
use crate::operator::notify::NotifySettings;
use crate::operator::{self, OperatorSettings, Services};
use crate::quickstart;
use crate::sandbox::run::{RunOptions, run, start};

/// Options of `driftwarden sandbox`.
#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// The port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 6443)]
    pub port: u16,
    /// Where to write the kubeconfig (admin token included; keep it private).
    #[arg(long, default_value = "./driftwarden-sandbox.kubeconfig")]
    pub kubeconfig_out: PathBuf,
    /// Keep the sandbox's objects in this file: restored at start, saved every few
    /// seconds and at exit.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// How often, in seconds, changes are saved to the data file.
    #[arg(long, default_value_t = 5)]
    pub save_every: u64,
    /// Serve the API only: no operator, no quickstart.
    #[arg(long)]
    pub no_operator: bool,
    /// Run the operator but do not apply `examples/quickstart` or show the demonstration.
    #[arg(long)]
    pub no_quickstart: bool,
    /// Blocks of addresses notification sinks may use although they are loopback,
    /// link-local, private or unique-local (comma-separated). The sandbox runs on your
    /// machine: by default its sinks may use loopback addresses, where a receiver you
    /// start next to it listens; every other internal address stays refused.
    #[arg(
        long = "notification-allowed-cidrs",
        value_delimiter = ',',
        value_name = "CIDR",
        default_values = ["127.0.0.0/8", "::1/128"]
    )]
    pub notification_allowed_cidrs: Vec<Cidr>,
}

/// Runs `driftwarden sandbox` with `crds` installed at start.
pub fn run_sandbox(args: SandboxArgs, crds: Vec<CustomResourceDefinition>) -> ExitCode {
    let options = RunOptions {
        port: args.port,
        kubeconfig_out: args.kubeconfig_out,
        data: args.data,
        snapshot_interval: Duration::from_secs(args.save_every.max(1)),
        crds,
        admin_token: None,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("driftwarden sandbox: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.no_operator {
        return report(runtime.block_on(run(options, &mut std::io::stdout())));
    }
    let quickstart = !args.no_quickstart;
    let addresses = SinkAddressPolicy::allowing(args.notification_allowed_cidrs);
    report(runtime.block_on(async move {
        let running = start(options).await?;
        let mut out = std::io::stdout();
        let _ = out.write_all(running.banner().as_bytes());
        let client = running.sandbox().client();
        let settings = OperatorSettings::default();
        // The operator's own namespace holds its ledger, as the release namespace of a
        // Helm install does.
        if let Err(err) = operator_namespace(&client, &settings.namespace).await {
            let _ = writeln!(out, "cannot create namespace {}: {err}", settings.namespace);
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let services = Services::with_notify(client.clone(), NotifySettings { addresses, ..Default::default() });
        let operator = tokio::spawn(operator::run_with(client.clone(), settings, services, async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|stop| *stop).await;
        }));
        let _ = writeln!(out, "driftwarden operator running against the sandbox");
        if quickstart {
            let shown = async {
                quickstart::apply(&client).await?;
                let _ = writeln!(
                    out,
                    "applied examples/quickstart (namespace shop, a ConfigMap, a Deployment, a DriftPolicy)"
                );
                quickstart::demo(&client, &mut out).await
            };
            if let Err(err) = shown.await {
                let _ = writeln!(out, "quickstart: {err}");
            }
        }
        let _ = writeln!(out, "\nThe sandbox keeps running for kubectl experiments. Press Ctrl-C to stop.");
        let _ = out.flush();
        let result = running
            .serve_until(async {
                if let Err(e) = tokio::signal::ctrl_c().await {
                    tracing::warn!(error = %e, "cannot listen for Ctrl-C; stopping");
                }
            })
            .await;
        let _ = stop.send(true);
        let _ = operator.await;
        result
    }))
}

/// Creates the operator's namespace (one already there is fine).
async fn operator_namespace(client: &kube::Client, name: &str) -> Result<(), kube::Error> {
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client.clone());
    let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    let params = kube::api::PatchParams::apply("driftwarden-sandbox");
    api.patch(name, &params, &kube::api::Patch::Apply(&body)).await.map(|_| ())
}

fn report(result: Result<(), crate::sandbox::run::RunError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut message = format!("driftwarden sandbox: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sandbox: SandboxArgs,
    }

    #[test]
    fn sandbox_sinks_may_use_loopback_by_default_and_nothing_else() {
        let cli = Cli::try_parse_from(["sandbox"]).unwrap();
        let policy = SinkAddressPolicy::allowing(cli.sandbox.notification_allowed_cidrs);
        for allowed in ["127.0.0.1", "::1"] {
            assert_eq!(policy.check(allowed.parse().unwrap()), Ok(()), "{allowed}");
        }
        for refused in ["169.254.169.254", "10.0.0.1", "fd00::1"] {
            assert!(policy.check(refused.parse().unwrap()).is_err(), "{refused}");
        }
        let narrowed = Cli::try_parse_from(["sandbox", "--notification-allowed-cidrs", "127.0.0.1/32"]).unwrap();
        assert_eq!(narrowed.sandbox.notification_allowed_cidrs, ["127.0.0.1/32".parse().unwrap()]);
    }
}

//! `driftwarden sandbox`: the command-line side; the work is in
//! [`crate::sandbox::run`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use crate::sandbox::run::{RunOptions, run};

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
    match runtime.block_on(run(options, &mut std::io::stdout())) {
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

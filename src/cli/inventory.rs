//! `driftwarden inventory`.

use std::process::ExitCode;

use clap::Args;

use super::check::Output;
use super::emit;
use crate::identity::owner::DEFAULT_OWNER_LABELS;
use crate::identity::{Inventory, InventoryOptions};
use crate::inventory::{Filter, PrivilegeFilter, Report};

/// Arguments of `driftwarden inventory`.
#[derive(Args, Debug)]
pub struct InventoryArgs {
    /// Only ServiceAccounts in this namespace.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Only identities owned by this team (`unowned` for those without an owner).
    #[arg(long)]
    pub owner: Option<String>,
    /// Only identities holding this privilege; repeat for any of several.
    #[arg(long, value_enum)]
    pub privilege: Vec<PrivilegeFilter>,
    /// A label key naming the owner, read on the ServiceAccount, then on its namespace;
    /// repeat for several, first found wins.
    #[arg(long = "owner-label", value_name = "KEY", default_values_t = DEFAULT_OWNER_LABELS.map(String::from))]
    pub owner_labels: Vec<String>,
    /// Also list human subjects (Users and Groups named in bindings) with their privileges.
    #[arg(long)]
    pub subjects: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// Prints the identity inventory. Exit code 0, or 2 when the cluster cannot be read.
pub fn run(args: &InventoryArgs) -> ExitCode {
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
        let snapshot = match crate::inventory::snapshot(&client).await {
            Ok(snapshot) => snapshot,
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::from(2);
            }
        };
        let options = InventoryOptions { owner_labels: args.owner_labels.clone() };
        let inventory = Inventory::build(&snapshot, &options, jiff::Timestamp::now());
        let filter = Filter {
            namespace: args.namespace.clone(),
            owner: args.owner.clone(),
            privileges: args.privilege.clone(),
            subjects: args.subjects,
        };
        let report = Report::new(inventory, &filter);
        let text = match args.output {
            Output::Text => report.to_text(),
            Output::Json => report.to_json() + "\n",
        };
        match emit(&text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("error: cannot write the inventory: {err}");
                ExitCode::from(2)
            }
        }
    })
}

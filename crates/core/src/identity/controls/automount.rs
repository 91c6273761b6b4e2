//! `ServiceAccountTokenAutomount`: API tokens mounted into pods that rely on a default.
//!
//! - **Automatic** on a ServiceAccount whose `automountServiceAccountToken` is not `false`,
//!   only when no workload that runs as it (running or not) leaves its pod template's
//!   `automountServiceAccountToken` unset: then no pod relies on the account's setting, and
//!   setting `automountServiceAccountToken: false` on the account changes no pod. The apply
//!   body holds that one field.
//! - **Owner** on each workload (or bare Pod) whose pod template leaves the setting unset
//!   while its account does not say `false`: its pods mount a token because of a default.
//!   Its owner sets `automountServiceAccountToken: false` in the pod template when the
//!   workload does not call the API, or `true` to declare that it does. Never automatic:
//!   the change restarts the pods and may break a workload that calls the API. Once every
//!   such workload has its own value, the account's finding becomes automatic.
//!
//! Workloads that set `true` themselves declare that they need the token and are not
//! reported.

use serde_json::json;

use super::{ControlFinding, ControlFix, at_least_low};
use crate::identity::inventory::Inventory;

pub(super) fn run(inventory: &Inventory) -> Vec<ControlFinding> {
    let mut out = Vec::new();
    for entry in &inventory.accounts {
        if entry.automount == Some(false) {
            continue;
        }
        let severity = at_least_low(entry.risk.severity);
        let relying: Vec<_> = entry.workloads.iter().filter(|w| w.automount.is_none()).collect();
        let account = &entry.account;
        let namespace = account.namespace.clone().unwrap_or_default();
        if relying.is_empty() {
            let why = if entry.workloads.is_empty() {
                "no workload runs as this ServiceAccount, so no pod loses a token it uses".to_string()
            } else {
                "every workload that runs as this ServiceAccount sets automountServiceAccountToken itself, so no pod changes"
                    .to_string()
            };
            out.push(ControlFinding {
                asset: account.clone(),
                asset_labels: entry.labels.clone(),
                severity,
                summary: format!(
                    "ServiceAccount {namespace}/{} has its API token mounted into pods by default",
                    account.name
                ),
                fix: ControlFix::Automatic {
                    apply: json!({
                        "apiVersion": "v1",
                        "kind": "ServiceAccount",
                        "metadata": {"name": account.name, "namespace": namespace},
                        "automountServiceAccountToken": false,
                    }),
                    why,
                },
            });
            continue;
        }
        for workload in relying {
            let asset = &workload.workload;
            let action = if asset.kind == "Pod" {
                format!(
                    "recreate Pod {namespace}/{} with automountServiceAccountToken: false if it does not call the Kubernetes API (true if it does)",
                    asset.name
                )
            } else {
                format!(
                    "set automountServiceAccountToken: false in the pod template of {} {namespace}/{} if it does not call the Kubernetes API (true if it does)",
                    asset.kind, asset.name
                )
            };
            out.push(ControlFinding {
                asset: asset.clone(),
                asset_labels: workload.labels.clone(),
                severity,
                summary: format!(
                    "{} {namespace}/{} mounts the API token of ServiceAccount {} by default{}",
                    asset.kind,
                    asset.name,
                    account.name,
                    if workload.running { "" } else { " (not running now)" }
                ),
                fix: ControlFix::Owner {
                    action,
                    why: "changing the pod template restarts the pods and breaks them if they call the API; only the owner knows whether they do".to_string(),
                },
            });
        }
    }
    out
}

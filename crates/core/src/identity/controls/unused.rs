//! `UnusedServiceAccounts`: ServiceAccounts no workload runs as: dormant credentials that
//! keep their privileges.
//!
//! Every finding goes to the owner: **delete the ServiceAccount** (and its bindings) once
//! nothing outside the cluster uses it. Never automatic: tokens issued for it may be held
//! outside the cluster, and deleting it revokes them and its bindings' meaning at once.
//!
//! Left alone: accounts named `default` (every namespace has one and Kubernetes recreates
//! it), accounts in `kube-system`, `kube-public` and `kube-node-lease` (controllers run as
//! them without pods), and accounts with a legacy token used in the last 90 days (something
//! outside the cluster uses them).
//!
//! Severity follows the account's risk, at least `Low`.

use jiff::Timestamp;

use super::legacy_tokens::RECENT_USE_DAYS;
use super::{ControlFinding, ControlFix, at_least_low};
use crate::identity::inventory::Inventory;

/// Namespaces whose accounts this control leaves alone.
pub const EXEMPT_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

pub(super) fn run(inventory: &Inventory, now: Timestamp) -> Vec<ControlFinding> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    inventory
        .accounts
        .iter()
        .filter(|entry| {
            let namespace = entry.account.namespace.as_deref().unwrap_or_default();
            let used_outside = entry
                .legacy_tokens
                .iter()
                .any(|t| t.last_used.is_some_and(|d| (today - d).get_days() <= RECENT_USE_DAYS));
            entry.workloads.is_empty()
                && entry.account.name != "default"
                && !EXEMPT_NAMESPACES.contains(&namespace)
                && !used_outside
        })
        .map(|entry| {
            let namespace = entry.account.namespace.as_deref().unwrap_or_default();
            let privileges: Vec<&str> = entry.privileges.iter().map(|p| p.as_str()).collect();
            ControlFinding {
                asset: entry.account.clone(),
                asset_labels: entry.labels.clone(),
                severity: at_least_low(entry.risk.severity),
                summary: format!(
                    "ServiceAccount {namespace}/{} is not used by any workload{}",
                    entry.account.name,
                    if privileges.is_empty() { String::new() } else { format!(" and holds {}", privileges.join(", ")) }
                ),
                fix: ControlFix::Owner {
                    action: format!(
                        "delete ServiceAccount {namespace}/{} and the bindings that name it, once nothing outside the cluster uses it",
                        entry.account.name
                    ),
                    why: "tokens issued for it may be held outside the cluster; deleting it revokes them at once".to_string(),
                },
            }
        })
        .collect()
}

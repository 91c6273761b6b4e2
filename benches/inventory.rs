//! The identity inventory at scale: 10,000 ServiceAccounts in 100 namespaces, 50,000
//! bindings (RoleBindings to Roles and ClusterRoles, ClusterRoleBindings, group subjects),
//! 400 Roles, 50 ClusterRoles (one aggregated), 5,000 Deployments with their ReplicaSets,
//! 10,000 Pods, 1,000 Services and 2,000 legacy token Secrets.
//!
//! Prints the time to build the inventory (median of several runs), the time to run all six
//! controls on it, and the process's resident memory before and after (the snapshot, then
//! the inventory on top).
//!
//! `cargo bench --bench inventory`; `DW_BENCH_ACCOUNTS` (10000) and `DW_BENCH_BINDINGS`
//! (50000) change the scale. A debug build (as `cargo test --all-targets` runs it) uses a
//! twentieth of it.

use std::time::{Duration, Instant};

use driftwarden::api::campaign::{CheckControl, CheckName};
use driftwarden::identity::{Inventory, InventoryOptions, Snapshot, run_control_with};
use k8s_openapi::api::core::v1::Secret;
use serde_json::Value;

mod support;

use support::{rss_kib, setting};

#[path = "support/identity.rs"]
mod identity;

use identity::NAMESPACES;

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("generated object has the shape of its kind")
}

/// The identity fixture, read into a snapshot as the inventory command reads a cluster.
fn snapshot(accounts: usize, bindings: usize) -> Snapshot {
    let mut s = Snapshot::default();
    let mut secrets: Vec<Secret> = Vec::new();
    for object in identity::objects(accounts, bindings) {
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        match kind.as_str() {
            "Namespace" => s.namespaces.push(typed(object)),
            "ServiceAccount" => s.service_accounts.push(typed(object)),
            "Secret" => secrets.push(typed(object)),
            "Pod" => s.pods.push(typed(object)),
            "Service" => s.services.push(typed(object)),
            "Role" => s.roles.push(typed(object)),
            "ClusterRole" => s.cluster_roles.push(typed(object)),
            "RoleBinding" => s.role_bindings.push(typed(object)),
            "ClusterRoleBinding" => s.cluster_role_bindings.push(typed(object)),
            "Deployment" => s.deployments.push(typed(object)),
            "ReplicaSet" => s.replica_sets.push(typed(object)),
            other => panic!("the identity fixture makes no {other}"),
        }
    }
    s.add_secrets(&secrets);
    s
}

fn main() {
    let scale = if cfg!(debug_assertions) { 20 } else { 1 };
    let accounts = (setting("DW_BENCH_ACCOUNTS", 10_000) as usize / scale).max(NAMESPACES);
    let bindings = setting("DW_BENCH_BINDINGS", 50_000) as usize / scale;
    let runs = if cfg!(debug_assertions) { 1 } else { 7 };

    let empty = rss_kib();
    let snap = snapshot(accounts, bindings);
    let with_snapshot = rss_kib();
    let now = jiff::Timestamp::now();
    let options = InventoryOptions::default();

    let mut times: Vec<Duration> = Vec::new();
    let mut inventory = Inventory::default();
    for _ in 0..runs {
        drop(std::mem::take(&mut inventory));
        let start = Instant::now();
        inventory = Inventory::build(&snap, &options, now);
        times.push(start.elapsed());
    }
    let with_inventory = rss_kib();
    times.sort();
    assert_eq!(inventory.accounts.len(), accounts);

    let start = Instant::now();
    let mut findings = 0;
    for name in [
        CheckName::ServiceAccountTokenAutomount,
        CheckName::LegacyServiceAccountTokens,
        CheckName::SecretRotation,
        CheckName::ClusterAdminBindings,
        CheckName::WildcardRbac,
        CheckName::UnusedServiceAccounts,
    ] {
        let check = CheckControl { name, parameters: Default::default() };
        findings += run_control_with(&check, &snap, &inventory, now).expect("valid parameters").len();
    }
    let controls = start.elapsed();
    let grants: usize = inventory.accounts.iter().map(|a| a.grants.len()).sum();

    println!(
        "inventory: {accounts} ServiceAccounts, {bindings} bindings ({} RoleBindings, {} ClusterRoleBindings), {} pods, {} secrets",
        snap.role_bindings.len(),
        snap.cluster_role_bindings.len(),
        snap.pods.len(),
        snap.secrets.len()
    );
    println!(
        "build inventory: median {:.1} ms, min {:.1} ms, max {:.1} ms over {runs} runs ({grants} grants, {} human subjects)",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        inventory.subjects.len()
    );
    println!("all six controls on the inventory: {:.1} ms ({findings} findings)", controls.as_secs_f64() * 1e3);
    println!(
        "RSS: {} MiB at start, {} MiB with the snapshot, {} MiB with snapshot and inventory",
        empty / 1024,
        with_snapshot / 1024,
        with_inventory / 1024
    );
}

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
use serde_json::{Value, json};

mod support;

use support::{rss_kib, setting};

const NAMESPACES: usize = 100;

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("generated object has the shape of its kind")
}

fn snapshot(accounts: usize, bindings: usize) -> Snapshot {
    let mut s = Snapshot::default();
    let ns = |i: usize| format!("team-{}", i % NAMESPACES);
    for n in 0..NAMESPACES {
        s.namespaces.push(typed(json!({"metadata": {"name": ns(n), "labels": {"team": format!("team-{n}")}}})));
        for (r, rule) in [
            json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}),
            json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["tls"]}),
            json!({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "update"]}),
            json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}),
        ]
        .into_iter()
        .enumerate()
        {
            s.roles
                .push(typed(json!({"metadata": {"name": format!("role-{r}"), "namespace": ns(n)}, "rules": [rule]})));
        }
    }
    for c in 0..48 {
        let rule = match c % 4 {
            0 => json!({"apiGroups": [""], "resources": ["pods", "services"], "verbs": ["get", "list", "watch"]}),
            1 => json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}),
            2 => json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}),
            _ => json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"]}),
        };
        s.cluster_roles.push(typed(json!({
            "metadata": {"name": format!("cluster-role-{c}"), "labels": {"aggregate": if c % 2 == 0 { "yes" } else { "no" }}},
            "rules": [rule]
        })));
    }
    s.cluster_roles.push(typed(json!({"metadata": {"name": "aggregated"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"aggregate": "yes"}}]}})));
    s.cluster_roles.push(typed(json!({"metadata": {"name": "cluster-admin"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})));
    for a in 0..accounts {
        s.service_accounts.push(typed(json!({"metadata": {"name": format!("sa-{a}"), "namespace": ns(a)}})));
    }
    for b in 0..bindings {
        let a = b % accounts;
        let subject = match b % 50 {
            0 => json!({"kind": "Group", "name": format!("system:serviceaccounts:{}", ns(a))}),
            1 => json!({"kind": "User", "name": format!("user-{}@example.com", b % 500)}),
            _ => json!({"kind": "ServiceAccount", "name": format!("sa-{a}"), "namespace": ns(a)}),
        };
        if b % 100 == 0 {
            let role = if b % 1000 == 0 { "cluster-admin".to_string() } else { format!("cluster-role-{}", b % 48) };
            s.cluster_role_bindings.push(typed(json!({"metadata": {"name": format!("crb-{b}")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [subject]})));
        } else {
            let role_ref = match b % 3 {
                0 => json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "aggregated"}),
                1 => {
                    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("cluster-role-{}", b % 48)})
                }
                _ => {
                    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": format!("role-{}", b % 4)})
                }
            };
            s.role_bindings.push(typed(json!({"metadata": {"name": format!("rb-{b}"), "namespace": ns(a)},
                "roleRef": role_ref, "subjects": [subject]})));
        }
    }
    for d in 0..accounts / 2 {
        let labels = json!({"app": format!("app-{d}")});
        let template = json!({"metadata": {"labels": labels},
            "spec": {"serviceAccountName": format!("sa-{d}"), "containers": [{"name": "app", "image": "app:1"}]}});
        s.deployments
            .push(typed(json!({"metadata": {"name": format!("app-{d}"), "namespace": ns(d), "uid": format!("d{d}")},
            "spec": {"selector": {"matchLabels": labels}, "template": template}})));
        s.replica_sets.push(typed(json!({"metadata": {"name": format!("app-{d}-1"), "namespace": ns(d),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": format!("app-{d}"), "uid": format!("d{d}"), "controller": true}]},
            "spec": {"selector": {"matchLabels": labels}, "template": template}})));
        for p in 0..2 {
            s.pods.push(typed(json!({"metadata": {"name": format!("app-{d}-1-{p}"), "namespace": ns(d), "labels": labels,
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("app-{d}-1"), "uid": "r", "controller": true}]},
                "spec": template["spec"], "status": {"phase": "Running"}})));
        }
        if d % 5 == 0 {
            s.services.push(typed(json!({"metadata": {"name": format!("app-{d}"), "namespace": ns(d)},
                "spec": {"type": if d % 10 == 0 { "LoadBalancer" } else { "ClusterIP" }, "selector": labels}})));
        }
    }
    let secrets: Vec<Secret> = (0..accounts / 5)
        .map(|t| {
            typed(json!({"metadata": {"name": format!("sa-{t}-token"), "namespace": ns(t),
                    "creationTimestamp": "2025-01-01T00:00:00Z",
                    "annotations": {"kubernetes.io/service-account.name": format!("sa-{t}")}},
                "type": "kubernetes.io/service-account-token", "data": {"token": "dG9rZW4="}}))
        })
        .collect();
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

//! Risk scoring: how much an identity could do, times how exposed it is.
//!
//! The rules, in order (integer arithmetic, so the same input always gives the same score):
//!
//! 1. **Privilege points.** Each privilege has points (see [`privilege_points`]):
//!    cluster-admin 100, namespace-admin 60, bind / escalate / impersonate / token-create 50,
//!    read-secrets 40, pod-exec 30, workload-create 30, workload-modify 30, wildcard verbs
//!    15, wildcard resources 15, wildcard API groups 10. A grant limited to one namespace counts half (namespace-admin
//!    already is), and a grant narrowed by `resourceNames` a quarter. For each privilege the
//!    strongest grant counts; the sum is capped at 100 (the base).
//! 2. **Exposure** multiplies the base, for ServiceAccounts only: used by a running workload
//!    ×1.5; exposed by a LoadBalancer or NodePort Service or an Ingress ×1.5; token mounted
//!    in a running workload ×1.25; a legacy token Secret (a credential that never expires
//!    and may live outside the cluster) ×1.25; and no workload and no legacy token at all
//!    (nothing uses it) ×0.5.
//! 3. **Severity** bands of the score: 120 and more `Critical`, 50 `High`, 20 `Medium`,
//!    1 `Low`, 0 `Info` (no reported privilege).
//!
//! So a cluster-admin account used by an internet-facing workload that mounts its token
//! scores 282 (Critical), the same account unused scores 50 (High), and read access to
//! Secrets in one namespace of a running workload without a mounted token scores 30
//! (Medium).

use std::collections::BTreeMap;

use serde::Serialize;

use super::privileges::{Grant, GrantScope, Privilege};
use crate::api::finding::Severity;

/// The points of a privilege held cluster-wide and not narrowed.
pub fn privilege_points(privilege: Privilege) -> u32 {
    match privilege {
        Privilege::ClusterAdmin => 100,
        Privilege::NamespaceAdmin => 60,
        Privilege::Bind | Privilege::Escalate | Privilege::Impersonate | Privilege::TokenCreate => 50,
        Privilege::ReadSecrets => 40,
        Privilege::PodExec | Privilege::WorkloadCreate | Privilege::WorkloadModify => 30,
        Privilege::WildcardVerbs | Privilege::WildcardResources => 15,
        Privilege::WildcardApiGroups => 10,
    }
}

/// The points one grant is worth: [`privilege_points`], halved in one namespace (except
/// namespace-admin, whose points already say so), quartered when `resourceNames` narrows it.
pub fn grant_points(grant: &Grant) -> u32 {
    let mut points = privilege_points(grant.privilege);
    if matches!(grant.scope, GrantScope::Namespace(_)) && grant.privilege != Privilege::NamespaceAdmin {
        points /= 2;
    }
    if grant.is_narrowed() {
        points /= 4;
    }
    points
}

/// How exposed a ServiceAccount is. Human subjects have no exposure: their base score
/// stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exposure {
    /// A running workload uses it.
    pub running: bool,
    /// A workload using it is exposed by a LoadBalancer or NodePort Service or an Ingress.
    pub internet_facing: bool,
    /// A running workload mounts its token.
    pub token_mounted: bool,
    /// It has a legacy token Secret.
    pub legacy_token: bool,
    /// Some workload (running or not) uses it.
    pub used: bool,
}

/// A score, its severity, and why.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Risk {
    pub score: u32,
    pub severity: Severity,
    /// The privilege points and each multiplier applied, in order.
    pub reasons: Vec<String>,
}

/// The severity band of a score.
pub fn severity_of(score: u32) -> Severity {
    match score {
        120.. => Severity::Critical,
        50..=119 => Severity::High,
        20..=49 => Severity::Medium,
        1..=19 => Severity::Low,
        0 => Severity::Info,
    }
}

/// Scores `grants` under `exposure` (`None` for a human subject).
pub fn score(grants: &[Grant], exposure: Option<Exposure>) -> Risk {
    let mut best: BTreeMap<Privilege, u32> = BTreeMap::new();
    for grant in grants {
        let points = grant_points(grant);
        let entry = best.entry(grant.privilege).or_default();
        *entry = (*entry).max(points);
    }
    let base = best.values().sum::<u32>().min(100);
    let mut reasons: Vec<String> =
        best.iter().filter(|(_, p)| **p > 0).map(|(privilege, points)| format!("{privilege} +{points}")).collect();
    if base == 100 && best.values().sum::<u32>() > 100 {
        reasons.push("capped at 100".to_string());
    }
    // Tenths of a point, so every multiplier stays in integers.
    let mut tenths = u64::from(base) * 10;
    if let Some(exposure) = exposure {
        let mut apply = |applies: bool, percent: u64, why: &str| {
            if applies {
                tenths = tenths * percent / 100;
                reasons.push(format!("{why} x{}", percent as f64 / 100.0));
            }
        };
        apply(exposure.running, 150, "used by a running workload");
        apply(exposure.internet_facing, 150, "internet-facing");
        apply(exposure.token_mounted, 125, "token mounted");
        apply(exposure.legacy_token, 125, "legacy token Secret");
        apply(!exposure.used && !exposure.legacy_token, 50, "unused");
    }
    let score = u32::try_from(tenths.div_ceil(10)).unwrap_or(u32::MAX);
    Risk { score, severity: severity_of(score), reasons }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::privileges::{BindingName, RoleName};

    fn grant(privilege: Privilege, namespace: Option<&str>, names: &[&str]) -> Grant {
        Grant {
            privilege,
            scope: namespace.map_or(GrantScope::Cluster, |ns| GrantScope::Namespace(ns.into())),
            role: RoleName { kind: "ClusterRole".into(), namespace: None, name: "r".into() },
            binding: BindingName { kind: "ClusterRoleBinding".into(), namespace: None, name: "b".into() },
            via: "ServiceAccount a/b".into(),
            rule: String::new(),
            resource_names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    const EXPOSED: Exposure =
        Exposure { running: true, internet_facing: true, token_mounted: true, legacy_token: false, used: true };
    const UNUSED: Exposure =
        Exposure { running: false, internet_facing: false, token_mounted: false, legacy_token: false, used: false };

    #[test]
    fn an_exposed_cluster_admin_outranks_an_unused_one() {
        let admin = [grant(Privilege::ClusterAdmin, None, &[]), grant(Privilege::ReadSecrets, None, &[])];
        let exposed = score(&admin, Some(EXPOSED));
        let unused = score(&admin, Some(UNUSED));
        assert_eq!((exposed.score, exposed.severity), (282, Severity::Critical));
        assert_eq!((unused.score, unused.severity), (50, Severity::High));
    }

    #[test]
    fn an_unused_cluster_admin_still_outranks_namespaced_secret_reading_in_use() {
        let unused_admin = score(&[grant(Privilege::ClusterAdmin, None, &[])], Some(UNUSED));
        let running = Exposure { running: true, used: true, ..Exposure::default() };
        let reader = score(&[grant(Privilege::ReadSecrets, Some("shop"), &[])], Some(running));
        assert_eq!((reader.score, reader.severity), (30, Severity::Medium));
        assert!(unused_admin.score > reader.score);
    }

    #[test]
    fn cluster_wide_outranks_namespaced_outranks_named_objects() {
        let wide = score(&[grant(Privilege::ReadSecrets, None, &[])], None);
        let namespaced = score(&[grant(Privilege::ReadSecrets, Some("a"), &[])], None);
        let named = score(&[grant(Privilege::ReadSecrets, Some("a"), &["tls"])], None);
        assert_eq!([wide.score, namespaced.score, named.score], [40, 20, 5]);
        assert_eq!(
            [wide.severity, namespaced.severity, named.severity],
            [Severity::Medium, Severity::Medium, Severity::Low]
        );
    }

    #[test]
    fn the_strongest_grant_of_a_privilege_counts_once_and_the_base_is_capped() {
        let twice = score(&[grant(Privilege::PodExec, Some("a"), &[]), grant(Privilege::PodExec, None, &[])], None);
        assert_eq!(twice.score, 30);
        let many: Vec<Grant> = Privilege::ALL.iter().map(|p| grant(*p, None, &[])).collect();
        assert_eq!(score(&many, None).score, 100);
    }

    #[test]
    fn a_legacy_token_raises_and_keeps_an_account_from_counting_as_unused() {
        let g = [grant(Privilege::ReadSecrets, None, &[])];
        let with_token = score(&g, Some(Exposure { legacy_token: true, ..Exposure::default() }));
        assert_eq!(with_token.score, 50);
        assert_eq!(score(&g, Some(Exposure::default())).score, 20);
    }

    #[test]
    fn no_privilege_is_info() {
        assert_eq!(score(&[], Some(EXPOSED)).severity, Severity::Info);
    }
}

//! `ClusterAdminBindings`: bindings that give every verb on every resource: to the
//! `cluster-admin` ClusterRole or to any role with an equivalent `*`/`*`/`*` rule. A
//! ClusterRoleBinding gives it cluster-wide; a RoleBinding in its namespace.
//!
//! Every finding goes to the owner: **remove the binding**, or bind its subjects to a role
//! with only what they need. Never automatic: removing a binding can stop a controller or a
//! person at once, and only the owner knows what the subjects need.
//!
//! Left alone, because Kubernetes ships and reconciles them: bindings labelled
//! `kubernetes.io/bootstrapping: rbac-defaults` (such as `cluster-admin` to
//! `system:masters`), bindings whose name starts with `system:`, and bindings whose only
//! subject is the group `system:masters`.
//!
//! Severity: the highest risk among the binding's subjects (each scored over all its
//! grants), at least `Low`.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{ControlFinding, ControlFix, at_least_low};
use crate::api::ObjectRef;
use crate::api::finding::Severity;
use crate::identity::inventory::Inventory;
use crate::identity::privileges::RoleName;
use crate::identity::rbac::rules::is_full_wildcard;
use crate::identity::rbac::{RbacIndex, SubjectKey};
use crate::identity::snapshot::Snapshot;

/// The label Kubernetes puts on the RBAC objects it ships.
pub const BOOTSTRAP_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");

/// Whether Kubernetes ships this RBAC object (so the controls leave it alone).
pub fn is_builtin(meta: &ObjectMeta) -> bool {
    meta.name.as_deref().is_some_and(|n| n.starts_with("system:"))
        || meta.labels.as_ref().and_then(|l| l.get(BOOTSTRAP_LABEL.0)).is_some_and(|v| v == BOOTSTRAP_LABEL.1)
}

/// The risk severity of each subject in the inventory.
pub(super) fn subject_severities(inventory: &Inventory) -> BTreeMap<SubjectKey, Severity> {
    let accounts = inventory.accounts.iter().map(|a| {
        (
            SubjectKey::ServiceAccount {
                namespace: a.account.namespace.clone().unwrap_or_default(),
                name: a.account.name.clone(),
            },
            a.risk.severity,
        )
    });
    accounts.chain(inventory.subjects.iter().map(|s| (s.subject.clone(), s.risk.severity))).collect()
}

/// The most severe risk among `subjects`, at least `Low`.
pub(super) fn severity_of_subjects(
    severities: &BTreeMap<SubjectKey, Severity>,
    subjects: &[Subject],
    namespace: Option<&str>,
) -> Severity {
    subjects
        .iter()
        .filter_map(|s| SubjectKey::from_subject(s, namespace))
        .filter_map(|key| severities.get(&key).copied())
        .min()
        .map_or(Severity::Low, at_least_low)
}

pub(super) fn run(snapshot: &Snapshot, inventory: &Inventory) -> Vec<ControlFinding> {
    let rbac = RbacIndex::build(snapshot);
    let severities = subject_severities(inventory);
    let mut out = Vec::new();
    let bindings = snapshot
        .cluster_role_bindings
        .iter()
        .map(|b| ("ClusterRoleBinding", &b.metadata, &b.role_ref, b.subjects.as_deref().unwrap_or_default()))
        .chain(
            snapshot
                .role_bindings
                .iter()
                .map(|b| ("RoleBinding", &b.metadata, &b.role_ref, b.subjects.as_deref().unwrap_or_default())),
        );
    for (kind, meta, role_ref, subjects) in bindings {
        let only_masters =
            !subjects.is_empty() && subjects.iter().all(|s| s.kind == "Group" && s.name == "system:masters");
        if is_builtin(meta) || only_masters || !grants_everything(&rbac, meta, role_ref) {
            continue;
        }
        let namespace = meta.namespace.as_deref().filter(|_| kind == "RoleBinding");
        let name = meta.name.clone().unwrap_or_default();
        let shown = namespace.map_or_else(|| name.clone(), |ns| format!("{ns}/{name}"));
        let whom: Vec<String> =
            subjects.iter().filter_map(|s| SubjectKey::from_subject(s, namespace)).map(|key| key.to_string()).collect();
        let reach = if namespace.is_some() { "in its namespace" } else { "cluster-wide" };
        out.push(ControlFinding {
            asset: ObjectRef {
                api_version: "rbac.authorization.k8s.io/v1".into(),
                kind: kind.into(),
                namespace: namespace.map(str::to_string),
                name,
                uid: meta.uid.clone(),
            },
            asset_labels: meta.labels.clone().unwrap_or_default(),
            severity: severity_of_subjects(&severities, subjects, namespace),
            summary: format!(
                "{kind} {shown} gives every verb on every resource {reach} (via {} {}) to {}",
                role_ref.kind,
                role_ref.name,
                if whom.is_empty() { "no subject".to_string() } else { whom.join(", ") }
            ),
            fix: ControlFix::Owner {
                action: format!(
                    "remove {kind} {shown}, or bind its subjects to a role with only the verbs and resources they use"
                ),
                why: "removing a binding can stop a controller or a person at once; only the owner knows what the subjects need".to_string(),
            },
        });
    }
    out
}

fn grants_everything(rbac: &RbacIndex, meta: &ObjectMeta, role_ref: &RoleRef) -> bool {
    let role = RoleName {
        kind: role_ref.kind.clone(),
        namespace: (role_ref.kind == "Role").then(|| meta.namespace.clone().unwrap_or_default()),
        name: role_ref.name.clone(),
    };
    (role_ref.kind == "ClusterRole" && role_ref.name == "cluster-admin")
        || rbac.role_rules(&role).is_some_and(|rules| rules.iter().any(is_full_wildcard))
}

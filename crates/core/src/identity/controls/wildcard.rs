//! `WildcardRbac`: Roles and ClusterRoles with a rule that has `*` in `verbs`, `resources`
//! or `apiGroups`: it grants whatever exists now and whatever is installed later.
//!
//! Every finding goes to the owner: **replace the wildcard** with the verbs, resources and
//! API groups the role's subjects use. Never automatic: narrowing a role can stop whatever
//! relies on it, and only the owner knows what that is.
//!
//! Left alone: roles Kubernetes ships (labelled `kubernetes.io/bootstrapping: rbac-defaults`,
//! such as `cluster-admin`, or named `system:*`), and aggregated ClusterRoles (their rules
//! are written by the aggregation controller; the roles they aggregate are reported
//! instead).
//!
//! Severity: the highest risk among the subjects bound to the role, at least `Low`; `Low`
//! when nothing binds it.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{PolicyRule, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::cluster_admin::{is_builtin, severity_of_subjects, subject_severities};
use super::{ControlFinding, ControlFix};
use crate::api::finding::Severity;
use crate::identity::inventory::Inventory;
use crate::identity::rbac::rules::describe;
use crate::identity::snapshot::Snapshot;
use crate::keys::{KindKey, ObjectKey};

const RBAC_V1: &str = "rbac.authorization.k8s.io/v1";

fn has_wildcard(rule: &PolicyRule) -> bool {
    let star = |list: Option<&Vec<String>>| list.into_iter().flatten().any(|item| item == "*");
    star(Some(&rule.verbs)) || star(rule.resources.as_ref()) || star(rule.api_groups.as_ref())
}

/// A Role (with its namespace) or a ClusterRole.
fn role_key(kind: &str, namespace: Option<String>, name: &str) -> ObjectKey {
    ObjectKey::new(KindKey::new(RBAC_V1, kind), namespace, name)
}

pub(super) fn run(snapshot: &Snapshot, inventory: &Inventory) -> Vec<ControlFinding> {
    let severities = subject_severities(inventory);
    let mut bound: BTreeMap<ObjectKey, Severity> = BTreeMap::new();
    let mut bind = |role: ObjectKey, subjects: &[Subject], namespace: Option<&str>| {
        let severity = severity_of_subjects(&severities, subjects, namespace);
        let entry = bound.entry(role).or_insert(severity);
        *entry = (*entry).min(severity);
    };
    for b in &snapshot.cluster_role_bindings {
        bind(role_key(&b.role_ref.kind, None, &b.role_ref.name), b.subjects.as_deref().unwrap_or_default(), None);
    }
    for b in &snapshot.role_bindings {
        let ns = b.metadata.namespace.clone();
        let role_ns = (b.role_ref.kind == "Role").then(|| ns.clone().unwrap_or_default());
        bind(
            role_key(&b.role_ref.kind, role_ns, &b.role_ref.name),
            b.subjects.as_deref().unwrap_or_default(),
            ns.as_deref(),
        );
    }
    let roles = snapshot.roles.iter().map(|r| ("Role", &r.metadata, r.rules.as_deref().unwrap_or_default())).chain(
        snapshot
            .cluster_roles
            .iter()
            .filter(|r| r.aggregation_rule.is_none())
            .map(|r| ("ClusterRole", &r.metadata, r.rules.as_deref().unwrap_or_default())),
    );
    let mut out = Vec::new();
    for (kind, meta, rules) in roles {
        let wild: Vec<String> = rules.iter().filter(|r| has_wildcard(r)).map(describe).collect();
        if wild.is_empty() || is_builtin(meta) {
            continue;
        }
        out.push(finding(kind, meta, &wild, &bound));
    }
    out
}

fn finding(kind: &str, meta: &ObjectMeta, wild: &[String], bound: &BTreeMap<ObjectKey, Severity>) -> ControlFinding {
    let role =
        role_key(kind, meta.namespace.clone().filter(|_| kind == "Role"), meta.name.as_deref().unwrap_or_default());
    let severity = bound.get(&role).copied();
    let shown = role.namespace.as_ref().map_or_else(|| role.name.clone(), |ns| format!("{ns}/{}", role.name));
    ControlFinding {
        asset: role.to_ref(meta.uid.clone()),
        asset_labels: meta.labels.clone().unwrap_or_default(),
        severity: severity.unwrap_or(Severity::Low),
        summary: format!(
            "{kind} {shown} has wildcard rules ({}){}",
            wild.join("; "),
            if severity.is_some() { "" } else { "; nothing binds it" }
        ),
        fix: ControlFix::Owner {
            action: format!(
                "replace the wildcards in {kind} {shown} with the verbs, resources and API groups its subjects use"
            ),
            why: "narrowing a role can stop whatever relies on it; only the owner knows what that is".to_string(),
        },
    }
}

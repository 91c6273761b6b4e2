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
use crate::api::ObjectRef;
use crate::api::finding::Severity;
use crate::identity::inventory::Inventory;
use crate::identity::rbac::rules::describe;
use crate::identity::snapshot::Snapshot;

fn has_wildcard(rule: &PolicyRule) -> bool {
    let star = |list: Option<&Vec<String>>| list.into_iter().flatten().any(|item| item == "*");
    star(Some(&rule.verbs)) || star(rule.resources.as_ref()) || star(rule.api_groups.as_ref())
}

/// The role a binding refers to, as (kind, namespace of a Role, name).
type RoleKey = (String, Option<String>, String);

pub(super) fn run(snapshot: &Snapshot, inventory: &Inventory) -> Vec<ControlFinding> {
    let severities = subject_severities(inventory);
    let mut bound: BTreeMap<RoleKey, Severity> = BTreeMap::new();
    let mut bind = |role: RoleKey, subjects: &[Subject], namespace: Option<&str>| {
        let severity = severity_of_subjects(&severities, subjects, namespace);
        let entry = bound.entry(role).or_insert(severity);
        *entry = (*entry).min(severity);
    };
    for b in &snapshot.cluster_role_bindings {
        bind((b.role_ref.kind.clone(), None, b.role_ref.name.clone()), b.subjects.as_deref().unwrap_or_default(), None);
    }
    for b in &snapshot.role_bindings {
        let ns = b.metadata.namespace.clone();
        let role_ns = (b.role_ref.kind == "Role").then(|| ns.clone().unwrap_or_default());
        bind(
            (b.role_ref.kind.clone(), role_ns, b.role_ref.name.clone()),
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

fn finding(kind: &str, meta: &ObjectMeta, wild: &[String], bound: &BTreeMap<RoleKey, Severity>) -> ControlFinding {
    let namespace = meta.namespace.clone().filter(|_| kind == "Role");
    let name = meta.name.clone().unwrap_or_default();
    let severity = bound.get(&(kind.to_string(), namespace.clone(), name.clone())).copied();
    let shown = namespace.as_ref().map_or_else(|| name.clone(), |ns| format!("{ns}/{name}"));
    ControlFinding {
        asset: ObjectRef {
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: kind.into(),
            namespace,
            name,
            uid: meta.uid.clone(),
        },
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

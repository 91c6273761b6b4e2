//! The built-in kinds the sandbox serves from the start, in one table.

use super::kind::{NameRule, ResourceKind, Scope};

/// One row of the built-in table.
struct Builtin {
    group: &'static str,
    version: &'static str,
    resource: &'static str,
    singular: &'static str,
    kind: &'static str,
    scope: Scope,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    status: bool,
    generation: bool,
    name_rule: NameRule,
    delete_returns_object: bool,
}

use NameRule::{Label, PathSegment, Rfc1035Label, Subdomain};
use Scope::{Cluster, Namespaced};

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    Builtin { group: "", version: "v1", resource: "namespaces", singular: "namespace", kind: "Namespace", scope: Cluster, short_names: &["ns"], categories: NONE, status: true, generation: false, name_rule: Label, delete_returns_object: true },
    Builtin { group: "", version: "v1", resource: "configmaps", singular: "configmap", kind: "ConfigMap", scope: Namespaced, short_names: &["cm"], categories: NONE, status: false, generation: false, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "", version: "v1", resource: "secrets", singular: "secret", kind: "Secret", scope: Namespaced, short_names: NONE, categories: NONE, status: false, generation: false, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "", version: "v1", resource: "serviceaccounts", singular: "serviceaccount", kind: "ServiceAccount", scope: Namespaced, short_names: &["sa"], categories: NONE, status: false, generation: false, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "", version: "v1", resource: "services", singular: "service", kind: "Service", scope: Namespaced, short_names: &["svc"], categories: ALL, status: true, generation: false, name_rule: Rfc1035Label, delete_returns_object: true },
    Builtin { group: "", version: "v1", resource: "pods", singular: "pod", kind: "Pod", scope: Namespaced, short_names: &["po"], categories: ALL, status: true, generation: true, name_rule: Subdomain, delete_returns_object: true },
    Builtin { group: "", version: "v1", resource: "resourcequotas", singular: "resourcequota", kind: "ResourceQuota", scope: Namespaced, short_names: &["quota"], categories: NONE, status: true, generation: false, name_rule: Subdomain, delete_returns_object: true },
    Builtin { group: "", version: "v1", resource: "events", singular: "event", kind: "Event", scope: Namespaced, short_names: &["ev"], categories: NONE, status: false, generation: false, name_rule: PathSegment, delete_returns_object: false },
    Builtin { group: "events.k8s.io", version: "v1", resource: "events", singular: "event", kind: "Event", scope: Namespaced, short_names: &["ev"], categories: NONE, status: false, generation: false, name_rule: PathSegment, delete_returns_object: false },
    Builtin { group: "apps", version: "v1", resource: "deployments", singular: "deployment", kind: "Deployment", scope: Namespaced, short_names: &["deploy"], categories: ALL, status: true, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "apps", version: "v1", resource: "statefulsets", singular: "statefulset", kind: "StatefulSet", scope: Namespaced, short_names: &["sts"], categories: ALL, status: true, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "apps", version: "v1", resource: "daemonsets", singular: "daemonset", kind: "DaemonSet", scope: Namespaced, short_names: &["ds"], categories: ALL, status: true, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "apps", version: "v1", resource: "replicasets", singular: "replicaset", kind: "ReplicaSet", scope: Namespaced, short_names: &["rs"], categories: ALL, status: true, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "batch", version: "v1", resource: "jobs", singular: "job", kind: "Job", scope: Namespaced, short_names: NONE, categories: ALL, status: true, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "batch", version: "v1", resource: "cronjobs", singular: "cronjob", kind: "CronJob", scope: Namespaced, short_names: &["cj"], categories: ALL, status: true, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "rbac.authorization.k8s.io", version: "v1", resource: "roles", singular: "role", kind: "Role", scope: Namespaced, short_names: NONE, categories: NONE, status: false, generation: false, name_rule: PathSegment, delete_returns_object: false },
    Builtin { group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings", singular: "rolebinding", kind: "RoleBinding", scope: Namespaced, short_names: NONE, categories: NONE, status: false, generation: false, name_rule: PathSegment, delete_returns_object: false },
    Builtin { group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles", singular: "clusterrole", kind: "ClusterRole", scope: Cluster, short_names: NONE, categories: NONE, status: false, generation: false, name_rule: PathSegment, delete_returns_object: false },
    Builtin { group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterrolebindings", singular: "clusterrolebinding", kind: "ClusterRoleBinding", scope: Cluster, short_names: NONE, categories: NONE, status: false, generation: false, name_rule: PathSegment, delete_returns_object: false },
    Builtin { group: "networking.k8s.io", version: "v1", resource: "networkpolicies", singular: "networkpolicy", kind: "NetworkPolicy", scope: Namespaced, short_names: &["netpol"], categories: NONE, status: false, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "networking.k8s.io", version: "v1", resource: "ingresses", singular: "ingress", kind: "Ingress", scope: Namespaced, short_names: &["ing"], categories: NONE, status: true, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "policy", version: "v1", resource: "poddisruptionbudgets", singular: "poddisruptionbudget", kind: "PodDisruptionBudget", scope: Namespaced, short_names: &["pdb"], categories: NONE, status: true, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "scheduling.k8s.io", version: "v1", resource: "priorityclasses", singular: "priorityclass", kind: "PriorityClass", scope: Cluster, short_names: &["pc"], categories: NONE, status: false, generation: false, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "coordination.k8s.io", version: "v1", resource: "leases", singular: "lease", kind: "Lease", scope: Namespaced, short_names: NONE, categories: NONE, status: false, generation: false, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions", singular: "customresourcedefinition", kind: "CustomResourceDefinition", scope: Cluster, short_names: &["crd", "crds"], categories: &["api-extensions"], status: true, generation: true, name_rule: Subdomain, delete_returns_object: true },
    Builtin { group: "admissionregistration.k8s.io", version: "v1", resource: "validatingadmissionpolicies", singular: "validatingadmissionpolicy", kind: "ValidatingAdmissionPolicy", scope: Cluster, short_names: NONE, categories: &["api-extensions"], status: true, generation: true, name_rule: Subdomain, delete_returns_object: false },
    Builtin { group: "admissionregistration.k8s.io", version: "v1", resource: "validatingadmissionpolicybindings", singular: "validatingadmissionpolicybinding", kind: "ValidatingAdmissionPolicyBinding", scope: Cluster, short_names: NONE, categories: &["api-extensions"], status: false, generation: true, name_rule: Subdomain, delete_returns_object: false },
];

/// The built-in kinds, in the order discovery lists them.
pub fn builtin_kinds() -> Vec<ResourceKind> {
    BUILTINS
        .iter()
        .map(|b| ResourceKind {
            group: b.group.to_string(),
            version: b.version.to_string(),
            resource: b.resource.to_string(),
            singular: b.singular.to_string(),
            kind: b.kind.to_string(),
            scope: b.scope,
            short_names: b.short_names.iter().map(|s| s.to_string()).collect(),
            categories: b.categories.iter().map(|s| s.to_string()).collect(),
            status_subresource: b.status,
            tracks_generation: b.generation,
            name_rule: b.name_rule,
            delete_returns_object: b.delete_returns_object,
            crd: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_builtin_is_unique_by_group_and_resource() {
        let kinds = builtin_kinds();
        let unique: HashSet<_> = kinds.iter().map(|k| k.group_resource()).collect();
        assert_eq!(unique.len(), kinds.len());
    }

    #[test]
    fn the_sandbox_serves_twenty_seven_builtin_kinds() {
        assert_eq!(builtin_kinds().len(), 27);
    }
}

//! The RBAC objects every cluster starts with, as kube-apiserver's bootstrap policy
//! creates them: `cluster-admin` for `system:masters`; `system:discovery`,
//! `system:basic-user` (the self reviews) and `system:public-info-viewer` for every
//! authenticated user; and the user-facing `admin`, `edit` and `view` roles, aggregated by
//! their `rbac.authorization.k8s.io/aggregate-to-*` labels from the
//! `system:aggregate-to-*` roles that hold Kubernetes' own rules.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::store::{ResourceRef, Store, WriteOptions};

/// The ClusterRoles, with the rules Kubernetes ships (`Read` = get, list, watch; `Write` =
/// create, delete, deletecollection, patch, update).
const CLUSTER_ROLES: &str = r#"
- name: cluster-admin
  rules:
  - {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
  - {nonResourceURLs: ["*"], verbs: ["*"]}
- name: system:discovery
  rules:
  - nonResourceURLs: [/livez, /readyz, /healthz, /version, /version/, /openapi, /openapi/*, /api, /api/*, /apis, /apis/*]
    verbs: [get]
- name: system:basic-user
  rules:
  - {apiGroups: [authorization.k8s.io], resources: [selfsubjectaccessreviews, selfsubjectrulesreviews], verbs: [create]}
  - {apiGroups: [authentication.k8s.io], resources: [selfsubjectreviews], verbs: [create]}
- name: system:public-info-viewer
  rules:
  - {nonResourceURLs: [/livez, /readyz, /healthz, /version, /version/], verbs: [get]}
- name: admin
  aggregateFrom: rbac.authorization.k8s.io/aggregate-to-admin
- name: edit
  labels: {rbac.authorization.k8s.io/aggregate-to-admin: "true"}
  aggregateFrom: rbac.authorization.k8s.io/aggregate-to-edit
- name: view
  labels: {rbac.authorization.k8s.io/aggregate-to-edit: "true"}
  aggregateFrom: rbac.authorization.k8s.io/aggregate-to-view
- name: system:aggregate-to-admin
  labels: {rbac.authorization.k8s.io/aggregate-to-admin: "true"}
  rules:
  - {apiGroups: [authorization.k8s.io], resources: [localsubjectaccessreviews], verbs: [create]}
  - apiGroups: [rbac.authorization.k8s.io]
    resources: [roles, rolebindings]
    verbs: [create, delete, deletecollection, get, list, patch, update, watch]
- name: system:aggregate-to-edit
  labels: {rbac.authorization.k8s.io/aggregate-to-edit: "true"}
  rules:
  - apiGroups: [""]
    resources: [pods/attach, pods/proxy, pods/exec, pods/portforward, secrets, services/proxy]
    verbs: [get, list, watch]
  - {apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate]}
  - apiGroups: [""]
    resources: [pods, pods/attach, pods/proxy, pods/exec, pods/portforward]
    verbs: [create, delete, deletecollection, patch, update]
  - {apiGroups: [""], resources: [pods/eviction], verbs: [create]}
  - apiGroups: [""]
    resources: [replicationcontrollers, replicationcontrollers/scale, serviceaccounts, services, services/proxy, persistentvolumeclaims, configmaps, secrets, events]
    verbs: [create, delete, deletecollection, patch, update]
  - {apiGroups: [""], resources: [serviceaccounts/token], verbs: [create]}
  - apiGroups: [apps]
    resources: [statefulsets, statefulsets/scale, daemonsets, deployments, deployments/scale, deployments/rollback, replicasets, replicasets/scale]
    verbs: [create, delete, deletecollection, patch, update]
  - {apiGroups: [autoscaling], resources: [horizontalpodautoscalers], verbs: [create, delete, deletecollection, patch, update]}
  - {apiGroups: [batch], resources: [jobs, cronjobs], verbs: [create, delete, deletecollection, patch, update]}
  - apiGroups: [extensions]
    resources: [daemonsets, deployments, deployments/scale, deployments/rollback, ingresses, replicasets, replicasets/scale, replicationcontrollers/scale, networkpolicies]
    verbs: [create, delete, deletecollection, patch, update]
  - {apiGroups: [policy], resources: [poddisruptionbudgets], verbs: [create, delete, deletecollection, patch, update]}
  - {apiGroups: [networking.k8s.io], resources: [networkpolicies, ingresses], verbs: [create, delete, deletecollection, patch, update]}
  - {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [create, delete, deletecollection, get, list, patch, update, watch]}
- name: system:aggregate-to-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
  rules:
  - apiGroups: [""]
    resources: [pods, replicationcontrollers, replicationcontrollers/scale, serviceaccounts, services, services/status, endpoints, persistentvolumeclaims, persistentvolumeclaims/status, configmaps]
    verbs: [get, list, watch]
  - apiGroups: [""]
    resources: [limitranges, resourcequotas, bindings, events, pods/status, resourcequotas/status, namespaces/status, replicationcontrollers/status, pods/log]
    verbs: [get, list, watch]
  - {apiGroups: [""], resources: [namespaces], verbs: [get, list, watch]}
  - {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [get, list, watch]}
  - apiGroups: [apps]
    resources: [controllerrevisions, statefulsets, statefulsets/status, statefulsets/scale, daemonsets, daemonsets/status, deployments, deployments/status, deployments/scale, replicasets, replicasets/status, replicasets/scale]
    verbs: [get, list, watch]
  - {apiGroups: [autoscaling], resources: [horizontalpodautoscalers, horizontalpodautoscalers/status], verbs: [get, list, watch]}
  - {apiGroups: [batch], resources: [jobs, cronjobs, cronjobs/status, jobs/status], verbs: [get, list, watch]}
  - apiGroups: [extensions]
    resources: [daemonsets, daemonsets/status, deployments, deployments/scale, deployments/status, ingresses, ingresses/status, replicasets, replicasets/scale, replicasets/status, replicationcontrollers/scale, networkpolicies]
    verbs: [get, list, watch]
  - {apiGroups: [policy], resources: [poddisruptionbudgets, poddisruptionbudgets/status], verbs: [get, list, watch]}
  - {apiGroups: [networking.k8s.io], resources: [networkpolicies, ingresses, ingresses/status], verbs: [get, list, watch]}
"#;

/// The ClusterRoleBindings: role name and the groups bound to it.
const CLUSTER_ROLE_BINDINGS: [(&str, &[&str]); 4] = [
    ("cluster-admin", &["system:masters"]),
    ("system:discovery", &["system:authenticated"]),
    ("system:basic-user", &["system:authenticated"]),
    ("system:public-info-viewer", &["system:authenticated", "system:unauthenticated"]),
];

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleSpec {
    name: String,
    #[serde(default)]
    labels: serde_json::Map<String, Value>,
    #[serde(default)]
    rules: Vec<Value>,
    aggregate_from: Option<String>,
}

fn metadata(name: &str, extra_labels: &serde_json::Map<String, Value>) -> Value {
    let mut labels = serde_json::Map::new();
    labels.insert("kubernetes.io/bootstrapping".to_string(), json!("rbac-defaults"));
    labels.extend(extra_labels.clone());
    json!({
        "name": name,
        "labels": labels,
        "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
    })
}

fn cluster_roles() -> Result<Vec<(String, Value)>, ApiError> {
    let specs: Vec<RoleSpec> = serde_yaml::from_str(CLUSTER_ROLES)
        .map_err(|e| ApiError::internal(format!("the bootstrap ClusterRoles do not parse: {e}")))?;
    Ok(specs
        .into_iter()
        .map(|spec| {
            let mut role = json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": metadata(&spec.name, &spec.labels),
                "rules": spec.rules,
            });
            if let Some(label) = &spec.aggregate_from {
                role["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {label: "true"}}]});
            }
            (spec.name, role)
        })
        .collect())
}

fn cluster_role_bindings() -> Vec<(String, Value)> {
    CLUSTER_ROLE_BINDINGS
        .iter()
        .map(|(role, groups)| {
            let subjects: Vec<Value> = groups
                .iter()
                .map(|g| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}))
                .collect();
            let binding = json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": metadata(role, &serde_json::Map::new()),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": subjects,
            });
            (role.to_string(), binding)
        })
        .collect()
}

/// Creates the bootstrap ClusterRoles and ClusterRoleBindings that do not exist yet.
pub fn install(store: &Store) -> Result<(), ApiError> {
    let roles = ResourceRef::new("rbac.authorization.k8s.io", "v1", "clusterroles", None);
    let bindings = ResourceRef::new("rbac.authorization.k8s.io", "v1", "clusterrolebindings", None);
    let objects = cluster_roles()?
        .into_iter()
        .map(|(name, body)| (&roles, name, body))
        .chain(cluster_role_bindings().into_iter().map(|(name, body)| (&bindings, name, body)));
    for (target, name, body) in objects {
        if store.get(target, &name).is_err() {
            store.create(target, body, WriteOptions::default())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::rbac::v1::ClusterRole;

    use super::*;

    #[test]
    fn every_role_parses_and_every_binding_names_one() {
        let roles = cluster_roles().expect("parses");
        let names: Vec<&str> = roles.iter().map(|(n, _)| n.as_str()).collect();
        for (_, body) in &roles {
            let typed: ClusterRole = serde_json::from_value(body.clone()).expect("a ClusterRole");
            let aggregated = typed.aggregation_rule.is_some();
            assert_eq!(aggregated, typed.rules.as_ref().is_none_or(Vec::is_empty), "{:?}", typed.metadata.name);
        }
        for (role, _) in cluster_role_bindings() {
            assert!(names.contains(&role.as_str()), "{role}");
        }
        assert_eq!(
            roles
                .iter()
                .find(|(n, _)| n == "edit")
                .map(|(_, r)| &r["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"]),
            Some(&json!("true"))
        );
    }
}

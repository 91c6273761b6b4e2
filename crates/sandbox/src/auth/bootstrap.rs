//! The RBAC objects every cluster starts with that tests bind to.

use serde_json::json;

use crate::error::ApiError;
use crate::store::{ResourceRef, Store, WriteOptions};

/// Creates the `cluster-admin` ClusterRole (everything, every path) and its binding to
/// `system:masters`, unless they exist.
pub fn install(store: &Store) -> Result<(), ApiError> {
    let roles = ResourceRef::new("rbac.authorization.k8s.io", "v1", "clusterroles", None);
    let bindings = ResourceRef::new("rbac.authorization.k8s.io", "v1", "clusterrolebindings", None);
    let labels = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "cluster-admin", "labels": labels},
        "rules": [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]}
        ]
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "cluster-admin", "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]
    });
    for (target, body) in [(roles, role), (bindings, binding)] {
        if store.get(&target, "cluster-admin").is_err() {
            store.create(&target, body, WriteOptions::default())?;
        }
    }
    Ok(())
}

//! Helpers shared by the harness tests.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, PostParams};
use kube::core::Status;
use serde_json::json;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A ConfigMap named `name`.
pub fn configmap(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"key": "value"}})).expect("configmap")
}

/// The `Status` of a failed request; panics when the request did not fail with one.
pub fn status_of<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Creates Role `name` with `rules` in `namespace` and binds it to `subject`
/// (`{"kind": "User", "name": ...}` or a ServiceAccount).
pub async fn grant(
    admin: &kube::Client,
    namespace: &str,
    name: &str,
    rules: serde_json::Value,
    subject: serde_json::Value,
) -> Result<(), kube::Error> {
    let role: Role = serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).expect("role");
    Api::<Role>::namespaced(admin.clone(), namespace).create(&PostParams::default(), &role).await?;
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [subject],
    }))
    .expect("binding");
    Api::<RoleBinding>::namespaced(admin.clone(), namespace).create(&PostParams::default(), &binding).await?;
    Ok(())
}

//! A minimal OpenAPI v3 discovery: `/openapi/v3` lists the built-in group versions, and
//! each group version's document declares, per kind, the PATCH operation with its
//! `fieldValidation` query parameter. That is what kubectl reads to decide that the
//! server validates fields itself (`--validate=strict`, its default), so `kubectl
//! create -f` and `kubectl apply` work. The documents carry no schemas: `kubectl explain`
//! finds nothing to explain, and kubectl falls back to its compiled-in types where it
//! needs one. Custom resource group versions are left out, as kubectl then checks the
//! CRD and the Namespace document instead, which the sandbox serves.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::resources::{Registry, ResourceKind};

/// `api/v1` or `apis/{group}/{version}`: the key of a group version under `/openapi/v3`.
fn group_version_path(group: &str, version: &str) -> String {
    if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
}

fn builtin_group_versions(registry: &Registry) -> Vec<(String, String)> {
    let mut gvs: Vec<(String, String)> = Vec::new();
    for kind in registry.kinds().filter(|k| k.crd.is_none()) {
        let gv = (kind.group.clone(), kind.version.clone());
        if !gvs.contains(&gv) {
            gvs.push(gv);
        }
    }
    gvs
}

fn object_path(kind: &ResourceKind) -> String {
    let prefix = format!("/{}", group_version_path(&kind.group, &kind.version));
    if kind.namespaced() {
        format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", kind.resource)
    } else {
        format!("{prefix}/{}/{{name}}", kind.resource)
    }
}

/// The document of one built-in group version, or `None` when it is not served.
pub fn group_version_document(registry: &Registry, path: &str) -> Option<Value> {
    let (group, version) =
        builtin_group_versions(registry).into_iter().find(|(g, v)| group_version_path(g, v) == path)?;
    let mut paths = serde_json::Map::new();
    for kind in registry.kinds_in(&group, &version).into_iter().filter(|k| k.crd.is_none()) {
        let gvk = json!({"group": kind.group, "version": kind.version, "kind": kind.kind});
        let operation = json!({
            "operationId": format!("patch{}", kind.kind),
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [
                {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                {"name": "force", "in": "query", "schema": {"type": "boolean"}}
            ],
            "responses": {"200": {"description": "OK"}}
        });
        paths.insert(object_path(kind), json!({"patch": operation}));
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v{}.{}", super::KUBERNETES_MAJOR, super::KUBERNETES_MINOR)},
        "paths": paths,
        "components": {"schemas": {}}
    }))
}

/// `/openapi/v3`: each built-in group version and where its document is.
pub fn root(registry: &Registry) -> Value {
    let mut paths = serde_json::Map::new();
    for (group, version) in builtin_group_versions(registry) {
        let path = group_version_path(&group, &version);
        let document = group_version_document(registry, &path).unwrap_or_default();
        let hash = hex::encode(Sha256::digest(document.to_string().as_bytes()));
        paths.insert(path.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={}", &hash[..32])}));
    }
    json!({"paths": paths})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_document_declares_field_validation_on_namespace_patches() {
        let registry = Registry::default();
        let root = root(&registry);
        assert!(
            root["paths"]["api/v1"]["serverRelativeURL"]
                .as_str()
                .is_some_and(|u| u.starts_with("/openapi/v3/api/v1?hash="))
        );
        assert!(root["paths"].get("apis/apps/v1").is_some());
        let core = group_version_document(&registry, "api/v1").expect("served");
        let patch = &core["paths"]["/api/v1/namespaces/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Namespace");
        assert!(patch["parameters"].as_array().expect("params").iter().any(|p| p["name"] == "fieldValidation"));
        assert!(group_version_document(&registry, "apis/example.dev/v1").is_none());
    }
}

//! JSON merge patch and JSON patch (with `test`).

use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::{TestResult, configmap, rv, status_of};

#[tokio::test]
async fn merge_patch_merges_and_removes_keys() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let created = api.create(&PostParams::default(), &configmap("cfg", &[("app", "web")])).await?;
    let patch = json!({"metadata": {"labels": {"app": null, "tier": "front"}}, "data": {"extra": "1"}});
    let patched = api.patch("cfg", &PatchParams::default(), &Patch::Merge(patch)).await?;
    assert_eq!(patched.metadata.labels, Some([("tier".to_string(), "front".to_string())].into()));
    assert_eq!(patched.data.as_ref().map(|d| d.len()), Some(2));
    assert!(rv(&patched) > rv(&created));

    let stale = json!({"metadata": {"resourceVersion": created.metadata.resource_version}, "data": {"x": "y"}});
    let conflict = status_of(api.patch("cfg", &PatchParams::default(), &Patch::Merge(stale)).await);
    assert_eq!(conflict.code, 409, "a resourceVersion in a patch is a precondition");
    Ok(())
}

#[tokio::test]
async fn json_patch_applies_atomically_and_honours_test() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    api.create(&PostParams::default(), &configmap("cfg", &[])).await?;

    let ok: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/key", "value": "value"},
        {"op": "replace", "path": "/data/key", "value": "new"},
        {"op": "add", "path": "/data/added", "value": "yes"}
    ]))?;
    let patched = api.patch("cfg", &PatchParams::default(), &Patch::<()>::Json(ok)).await?;
    assert_eq!(patched.data.as_ref().and_then(|d| d.get("key")).map(String::as_str), Some("new"));

    let failing: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/data/key", "value": "lost"},
        {"op": "test", "path": "/data/key", "value": "value"}
    ]))?;
    let invalid = status_of(api.patch("cfg", &PatchParams::default(), &Patch::<()>::Json(failing)).await);
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert_eq!(api.get("cfg").await?.data, patched.data, "a failed patch changes nothing");
    Ok(())
}

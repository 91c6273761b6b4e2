//! Fields the API server refuses to change on an existing object.

use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::{TestResult, configmap, status_of};

#[tokio::test]
async fn sealed_data_and_secret_types_are_immutable() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let mut sealed = configmap("sealed", &[]);
    sealed.immutable = Some(true);
    config_maps.create(&PostParams::default(), &sealed).await?;
    let merge = |patch| Patch::Merge(patch);
    let refused = config_maps.patch("sealed", &PatchParams::default(), &merge(json!({"data": {"key": "other"}}))).await;
    let status = status_of(refused);
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"), "{}", status.message);
    assert!(status.message.contains("data"), "{}", status.message);
    let unsealed = config_maps.patch("sealed", &PatchParams::default(), &merge(json!({"immutable": false}))).await;
    assert_eq!(status_of(unsealed).code, 422);
    // Metadata stays mutable.
    config_maps.patch("sealed", &PatchParams::default(), &merge(json!({"metadata": {"labels": {"a": "b"}}}))).await?;

    let secrets: Api<Secret> = Api::namespaced(sandbox.client(), ns.name());
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "type": "example.com/a", "data": {"k": "dg=="}}))?;
    secrets.create(&PostParams::default(), &secret).await?;
    let retyped = secrets.patch("s", &PatchParams::default(), &merge(json!({"type": "Opaque"}))).await;
    let status = status_of(retyped);
    assert_eq!(status.code, 422);
    assert!(status.message.contains("field is immutable"), "{}", status.message);
    secrets.patch("s", &PatchParams::default(), &merge(json!({"data": {"k": "dw=="}}))).await?;
    Ok(())
}

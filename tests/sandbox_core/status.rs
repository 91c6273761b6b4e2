//! `/status` and `metadata.generation`: spec changes bump generation, metadata and status
//! changes do not; the main resource ignores status and `/status` ignores everything else.

use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::TestResult;

fn deployment(name: &str) -> Result<Deployment, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        },
        "status": {"replicas": 7}
    }))
}

#[tokio::test]
async fn generation_moves_with_the_spec_only() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<Deployment> = Api::namespaced(sandbox.client(), ns.name());
    let created = api.create(&PostParams::default(), &deployment("web")?).await?;
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.status.as_ref().and_then(|s| s.replicas), None, "create ignores status");

    let labelled = api
        .patch("web", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"team": "a"}}})))
        .await?;
    assert_eq!(labelled.metadata.generation, Some(1), "a metadata change keeps the generation");

    let scaled = api.patch("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}}))).await?;
    assert_eq!(scaled.metadata.generation, Some(2));

    let unchanged = api.patch("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}}))).await?;
    assert_eq!(unchanged.metadata.resource_version, scaled.metadata.resource_version, "a no-op write stores nothing");
    Ok(())
}

#[tokio::test]
async fn status_and_main_resource_ignore_each_other() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<Deployment> = Api::namespaced(sandbox.client(), ns.name());
    api.create(&PostParams::default(), &deployment("web")?).await?;

    let mut status_write = api.get("web").await?;
    status_write.status = Some(DeploymentStatus { replicas: Some(3), ..Default::default() });
    status_write.spec.replicas = Some(9);
    status_write.metadata.labels = Some([("ignored".to_string(), "yes".to_string())].into());
    let after_status = api.replace_status("web", &PostParams::default(), &status_write).await?;
    assert_eq!(after_status.status.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(after_status.spec.replicas, Some(1), "/status ignores spec");
    assert_eq!(after_status.metadata.labels, None, "/status ignores metadata");
    assert_eq!(after_status.metadata.generation, Some(1));

    let mut main_write = after_status.clone();
    main_write.status = Some(DeploymentStatus { replicas: Some(0), ..Default::default() });
    let after_main = api.replace("web", &PostParams::default(), &main_write).await?;
    assert_eq!(after_main.status.as_ref().and_then(|s| s.replicas), Some(3), "the main resource ignores status");

    let patched = api
        .patch_status("web", &PatchParams::default(), &Patch::Merge(json!({"status": {"readyReplicas": 2}})))
        .await?;
    assert_eq!(patched.status.as_ref().and_then(|s| s.ready_replicas), Some(2));
    assert_eq!(patched.status.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(api.get_status("web").await?.status, patched.status);
    Ok(())
}

//! delete: finalizers keep an object until they are removed; ownerReferences garbage-collect
//! dependents (background, foreground, orphan); a namespace takes its content with it.

use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::{TestResult, configmap, status_of};

fn owned_by(mut cm: ConfigMap, owners: &[&ConfigMap]) -> ConfigMap {
    cm.metadata.owner_references = Some(
        owners
            .iter()
            .map(|o| OwnerReference {
                api_version: "v1".to_string(),
                kind: "ConfigMap".to_string(),
                name: o.name_any(),
                uid: o.uid().unwrap_or_default(),
                ..Default::default()
            })
            .collect(),
    );
    cm
}

fn with_finalizer(mut cm: ConfigMap) -> ConfigMap {
    cm.metadata.finalizers = Some(vec!["example.dev/hold".to_string()]);
    cm
}

#[tokio::test]
async fn finalizers_hold_a_deleted_object_until_removed() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    api.create(&PostParams::default(), &with_finalizer(configmap("held", &[]))).await?;

    let answer = api.delete("held", &DeleteParams::default()).await?;
    let pending = answer.left().ok_or("a pending delete answers with the object")?;
    assert!(pending.metadata.deletion_timestamp.is_some());
    assert!(api.get("held").await?.metadata.deletion_timestamp.is_some());

    let more = json!({"metadata": {"finalizers": ["example.dev/hold", "example.dev/another"]}});
    let refused = status_of(api.patch("held", &PatchParams::default(), &Patch::Merge(more)).await);
    assert_eq!(refused.code, 422, "no finalizer may be added once deletion started");

    api.patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await?;
    assert_eq!(status_of(api.get("held").await).code, 404);
    Ok(())
}

#[tokio::test]
async fn background_deletion_collects_dependents_without_other_owners() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let pp = PostParams::default();
    let owner = api.create(&pp, &configmap("owner", &[])).await?;
    let other = api.create(&pp, &configmap("other", &[])).await?;
    api.create(&pp, &owned_by(configmap("only-child", &[]), &[&owner])).await?;
    api.create(&pp, &owned_by(configmap("shared-child", &[]), &[&owner, &other])).await?;

    api.delete("owner", &DeleteParams::background()).await?;
    assert_eq!(status_of(api.get("only-child").await).code, 404);
    let shared = api.get("shared-child").await?;
    let owners: Vec<String> = shared.owner_references().iter().map(|o| o.name.clone()).collect();
    assert_eq!(owners, vec!["other"], "the dangling reference is removed, the object kept");
    Ok(())
}

#[tokio::test]
async fn foreground_deletion_waits_for_dependents() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let pp = PostParams::default();
    let owner = api.create(&pp, &configmap("owner", &[])).await?;
    api.create(&pp, &with_finalizer(owned_by(configmap("child", &[]), &[&owner]))).await?;

    api.delete("owner", &DeleteParams::foreground()).await?;
    let waiting = api.get("owner").await?;
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert!(waiting.finalizers().iter().any(|f| f == "foregroundDeletion"));
    assert!(api.get("child").await?.metadata.deletion_timestamp.is_some());

    api.patch("child", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await?;
    assert_eq!(status_of(api.get("child").await).code, 404);
    assert_eq!(status_of(api.get("owner").await).code, 404, "the owner goes once its dependents are gone");
    Ok(())
}

#[tokio::test]
async fn orphan_deletion_keeps_dependents() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let owner = api.create(&PostParams::default(), &configmap("owner", &[])).await?;
    api.create(&PostParams::default(), &owned_by(configmap("child", &[]), &[&owner])).await?;
    api.delete("owner", &DeleteParams::orphan()).await?;
    assert_eq!(status_of(api.get("owner").await).code, 404);
    assert!(api.get("child").await?.owner_references().is_empty());
    Ok(())
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_content() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let name = ns.name().to_string();
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), &name);
    api.create(&PostParams::default(), &configmap("content", &[])).await?;
    api.create(&PostParams::default(), &with_finalizer(configmap("held", &[]))).await?;
    let namespaces: Api<Namespace> = Api::all(sandbox.client());
    namespaces.delete(&name, &DeleteParams::default()).await?;

    let terminating = namespaces.get(&name).await?;
    assert_eq!(terminating.status.and_then(|s| s.phase).as_deref(), Some("Terminating"));
    assert_eq!(status_of(api.get("content").await).code, 404);
    let refused = status_of(api.create(&PostParams::default(), &configmap("late", &[])).await);
    assert_eq!((refused.code, refused.reason.as_str()), (403, "Forbidden"));

    api.patch("held", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"finalizers": null}}))).await?;
    assert_eq!(status_of(namespaces.get(&name).await).code, 404, "the namespace goes with its last object");
    assert_eq!(status_of(ns.delete().await).code, 404, "nothing is left to delete");
    Ok(())
}

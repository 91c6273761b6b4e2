//! `dryRun=All`: the answer of a real write, but nothing stored, no watch event, and the
//! resourceVersion unchanged.

use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::testing::TestCluster;
use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::ResourceExt;
use serde_json::json;

use crate::support::{TestResult, configmap, status_of};

#[tokio::test]
async fn dry_runs_leave_no_trace() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<ConfigMap> = Api::namespaced(sandbox.client(), ns.name());
    let existing = api.create(&PostParams::default(), &configmap("kept", &[])).await?;
    let before = require_sandbox!(sandbox.sandbox()).store().resource_version();
    let mut events = api.watch(&WatchParams::default().disable_bookmarks(), &before.to_string()).await?.boxed();

    let dry = PostParams { dry_run: true, ..Default::default() };
    let would_create = api.create(&dry, &configmap("ghost", &[])).await?;
    assert_eq!(would_create.name_any(), "ghost");
    assert!(would_create.metadata.uid.is_some(), "a dry-run create is defaulted like a real one");
    assert_eq!(status_of(api.get("ghost").await).code, 404);

    let would_patch =
        api.patch("kept", &PatchParams::default().dry_run(), &Patch::Merge(json!({"data": {"key": "dry"}}))).await?;
    assert_eq!(would_patch.data.as_ref().and_then(|d| d.get("key")).map(String::as_str), Some("dry"));
    assert_eq!(would_patch.metadata.resource_version, existing.metadata.resource_version);

    let mut replaced = existing.clone();
    replaced.data = Some([("key".to_string(), "dry-too".to_string())].into());
    api.replace("kept", &dry, &replaced).await?;
    api.delete("kept", &DeleteParams::default().dry_run()).await?;

    assert_eq!(require_sandbox!(sandbox.sandbox()).store().resource_version(), before);
    assert_eq!(api.get("kept").await?, existing);

    // The first event after the dry runs is the real write below: they produced none.
    api.patch("kept", &PatchParams::default(), &Patch::Merge(json!({"data": {"key": "real"}}))).await?;
    match events.next().await {
        Some(Ok(WatchEvent::Modified(cm))) => {
            assert_eq!(cm.data.and_then(|d| d.get("key").cloned()).as_deref(), Some("real"));
        }
        other => panic!("expected the real modification first, got {other:?}"),
    }
    Ok(())
}

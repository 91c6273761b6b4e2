//! `driftwarden sandbox`: the written kubeconfig works, CRDs are installed, and with
//! `--data` nothing is lost across a restart.

use std::time::Duration;

use driftwarden_sandbox::run::{RunOptions, start};
use driftwarden_sandbox::testing::widgets_crd;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

use crate::support::{TestResult, configmap};

async fn client_from(path: &std::path::Path) -> Result<kube::Client, Box<dyn std::error::Error + Send + Sync>> {
    let kubeconfig = Kubeconfig::read_from(path)?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

#[tokio::test]
async fn a_restarted_sandbox_keeps_every_object() -> TestResult {
    let dir = tempfile::tempdir()?;
    let options = RunOptions {
        port: 0,
        kubeconfig_out: dir.path().join("kubeconfig"),
        data: Some(dir.path().join("store.json")),
        snapshot_interval: Duration::from_secs(3600),
        crds: vec![widgets_crd()],
        admin_token: None,
    };
    let widget = ApiResource::from_gvk(&GroupVersionKind::gvk("example.dev", "v1", "Widget"));

    let first = start(options.clone()).await?;
    assert!(first.banner().contains("get namespaces"), "{}", first.banner());
    let client = client_from(&options.kubeconfig_out).await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let created = cms.create(&PostParams::default(), &configmap("kept")).await?;
    let widgets: Api<DynamicObject> = Api::namespaced_with(client, "default", &widget);
    let body: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.dev/v1", "kind": "Widget", "metadata": {"name": "w"}}))?;
    widgets.create(&PostParams::default(), &body).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(first.serve_until(async move {
        let _ = stopped.await;
    }));
    stop.send(()).map_err(|_| "the server stopped early")?;
    serving.await??;

    let second = start(options.clone()).await?;
    assert!(second.banner().contains("(restored)"));
    let client = client_from(&options.kubeconfig_out).await?;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let kept = cms.get("kept").await?;
    assert_eq!(kept.metadata.uid, created.metadata.uid);
    assert_eq!(kept.metadata.resource_version, created.metadata.resource_version);
    Api::<DynamicObject>::namespaced_with(client.clone(), "default", &widget).get("w").await?;
    let next = cms.create(&PostParams::default(), &configmap("next")).await?;
    let rv = |cm: &ConfigMap| cm.metadata.resource_version.as_deref().and_then(|v| v.parse::<u64>().ok());
    assert!(rv(&next) > rv(&kept), "resourceVersions continue after a restart");
    Ok(())
}

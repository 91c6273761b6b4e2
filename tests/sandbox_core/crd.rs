//! CustomResourceDefinitions make kinds servable, discoverable and removable; discovery of
//! the built-in kinds works for kube's `Discovery`.

use driftwarden_sandbox::testing::{TestCluster, widgets_crd};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::discovery::{Discovery, Scope};
use kube::runtime::{conditions, wait::await_condition};
use serde_json::json;

use crate::support::{TestResult, status_of};

#[tokio::test]
async fn discovery_describes_the_builtin_kinds() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let discovery = Discovery::new(sandbox.client()).run().await?;
    let (deployments, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
        .ok_or("apps/v1 Deployment is discoverable")?;
    assert_eq!(deployments.plural, "deployments");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(caps.subresources.iter().any(|(sub, _)| sub.plural == "status"));
    let (_, ns_caps) = discovery.resolve_gvk(&GroupVersionKind::gvk("", "v1", "Namespace")).ok_or("core Namespace")?;
    assert_eq!(ns_caps.scope, Scope::Cluster);
    for (group, version, kind) in [
        ("events.k8s.io", "v1", "Event"),
        ("", "v1", "Event"),
        ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
        ("coordination.k8s.io", "v1", "Lease"),
        ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
    ] {
        assert!(discovery.resolve_gvk(&GroupVersionKind::gvk(group, version, kind)).is_some(), "{group}/{kind}");
    }
    Ok(())
}

#[tokio::test]
async fn a_crd_makes_its_kind_servable_until_it_is_deleted() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(sandbox.client());
    let crd = widgets_crd();
    crds.create(&PostParams::default(), &crd).await?;
    await_condition(crds.clone(), "widgets.example.dev", conditions::is_crd_established()).await?;

    let gvk = GroupVersionKind::gvk("example.dev", "v1", "Widget");
    let discovery = Discovery::new(sandbox.client()).run().await?;
    let (resource, caps) = discovery.resolve_gvk(&gvk).ok_or("Widget is discoverable")?;
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(caps.subresources.iter().any(|(sub, _)| sub.plural == "status"));

    let widgets: Api<DynamicObject> = Api::namespaced_with(sandbox.client(), ns.name(), &resource);
    let widget: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.dev/v1", "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 1},
        "status": {"ready": true}
    }))?;
    let created = widgets.create(&PostParams::default(), &widget).await?;
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.data.get("status").is_none(), "status is a subresource, so create ignores it");

    let resized = widgets.patch("w1", &PatchParams::default(), &Patch::Merge(json!({"spec": {"size": 2}}))).await?;
    assert_eq!(resized.metadata.generation, Some(2));
    let ready =
        widgets.patch_status("w1", &PatchParams::default(), &Patch::Merge(json!({"status": {"ready": true}}))).await?;
    assert_eq!(ready.data["status"]["ready"], json!(true));
    assert_eq!(ready.metadata.generation, Some(2));

    crds.delete("widgets.example.dev", &DeleteParams::default()).await?;
    assert_eq!(status_of(crds.get("widgets.example.dev").await).code, 404);
    let rediscovered = Discovery::new(sandbox.client()).run().await?;
    assert!(rediscovered.resolve_gvk(&gvk).is_none(), "the kind is no longer served");
    assert_eq!(status_of(widgets.get("w1").await).code, 404);
    Ok(())
}

#[tokio::test]
async fn an_invalid_crd_is_rejected_with_its_causes() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(sandbox.client());
    let mut crd = widgets_crd();
    crd.metadata.name = Some("gadgets.example.dev".into());
    let invalid = status_of(crds.create(&PostParams::default(), &crd).await);
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert!(invalid.details.map(|d| d.causes).unwrap_or_default().iter().any(|c| c.field == "metadata.name"));
    Ok(())
}

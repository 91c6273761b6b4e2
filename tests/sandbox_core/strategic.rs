//! Strategic merge patch for built-in kinds (containers merged by name, `$patch: delete`),
//! and the 415 custom resources answer; custom resources apply with the list types of
//! their schema instead.

use driftwarden_sandbox::testing::{TestCluster, install_crds};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::{TestResult, status_of};

const GADGETS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gizmos.example.dev}
spec:
  group: example.dev
  scope: Namespaced
  names: {plural: gizmos, singular: gizmo, kind: Gizmo}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              parts:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [id]
                items:
                  type: object
                  properties:
                    id: {type: string}
                    size: {type: integer}
"#;

fn deployment(containers: Value) -> Result<Deployment, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}
        }}
    }))
}

fn container_images(deployment: &Deployment) -> Vec<(String, Option<String>)> {
    let containers = deployment.spec.template.spec.as_ref().map(|p| &p.containers);
    containers.into_iter().flatten().map(|c| (c.name.clone(), c.image.clone())).collect()
}

#[tokio::test]
async fn containers_merge_by_name_and_patch_delete_removes_one() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    let api: Api<Deployment> = Api::namespaced(sandbox.client(), ns.name());
    let containers = json!([{"name": "app", "image": "nginx:1"}, {"name": "sidecar", "image": "envoy:1"}]);
    api.create(&PostParams::default(), &deployment(containers)?).await?;

    let bump = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "envoy:2"}]}}}});
    let bumped = api.patch("web", &PatchParams::default(), &Patch::Strategic(bump)).await?;
    let expected = [("app", "nginx:1"), ("sidecar", "envoy:2")].map(|(n, i)| (n.to_string(), Some(i.to_string())));
    assert_eq!(container_images(&bumped), expected, "a merge patch would have replaced the whole list");
    assert_eq!(bumped.metadata.generation, Some(2));

    let delete = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}});
    let deleted = api.patch("web", &PatchParams::default(), &Patch::Strategic(delete)).await?;
    assert_eq!(container_images(&deleted), [("app".to_string(), Some("nginx:1".to_string()))]);

    let labels = json!({"metadata": {"labels": {"team": "web", "gone": null}}});
    let labelled = api.patch("web", &PatchParams::default(), &Patch::Strategic(labels)).await?;
    assert_eq!(labelled.metadata.labels.and_then(|l| l.get("team").cloned()).as_deref(), Some("web"));
    Ok(())
}

#[tokio::test]
async fn custom_resources_refuse_strategic_merge_and_apply_by_schema_keys() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let ns = sandbox.temp_namespace().await?;
    install_crds(&sandbox.client(), &[serde_yaml::from_str(GADGETS)?]).await?;
    let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("example.dev", "v1", "Gizmo"), "gizmos");
    let gizmos: Api<DynamicObject> = Api::namespaced_with(sandbox.client(), ns.name(), &resource);
    let gizmo = |parts: Value| json!({"apiVersion": "example.dev/v1", "kind": "Gizmo", "metadata": {"name": "g"}, "spec": {"parts": parts}});

    gizmos.patch("g", &PatchParams::apply("one"), &Patch::Apply(gizmo(json!([{"id": "a", "size": 1}])))).await?;
    let both =
        gizmos.patch("g", &PatchParams::apply("two"), &Patch::Apply(gizmo(json!([{"id": "b", "size": 2}])))).await?;
    assert_eq!(both.data["spec"]["parts"], json!([{"id": "a", "size": 1}, {"id": "b", "size": 2}]));

    let refused =
        status_of(gizmos.patch("g", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"parts": []}}))).await);
    assert_eq!((refused.code, refused.reason.as_str()), (415, "UnsupportedMediaType"));
    assert!(refused.message.contains("application/merge-patch+json"), "{}", refused.message);
    Ok(())
}

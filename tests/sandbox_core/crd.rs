//! CustomResourceDefinitions make kinds servable, discoverable and removable; discovery of
//! the built-in kinds works for kube's `Discovery`; CRDs whose CEL rules exceed the
//! apiserver's estimated cost budget are refused.

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

/// A CRD `tagsets.cost.example.dev` whose `spec.tags` (strings) carries `rule`, with the
/// given bounds.
fn tagsets_crd(
    rule: &str,
    max_items: Option<u64>,
    max_length: Option<u64>,
) -> Result<CustomResourceDefinition, serde_json::Error> {
    let mut tags = json!({"type": "array", "items": {"type": "string"}, "x-kubernetes-validations": [
        {"rule": rule, "message": "tags must all be equal"}
    ]});
    if let Some(max) = max_items {
        tags["maxItems"] = json!(max);
    }
    if let Some(max) = max_length {
        tags["items"]["maxLength"] = json!(max);
    }
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "tagsets.cost.example.dev"},
        "spec": {
            "group": "cost.example.dev", "scope": "Namespaced",
            "names": {"plural": "tagsets", "singular": "tagset", "kind": "TagSet"},
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {"type": "object", "properties": {"tags": tags}}}
            }}}]
        }
    }))
}

#[tokio::test]
async fn a_crd_whose_rules_exceed_the_cost_budget_is_refused() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let crds: Api<CustomResourceDefinition> = Api::all(sandbox.client());
    let rule = "self.all(x, self.all(y, x == y))";
    let refused = status_of(crds.create(&PostParams::default(), &tagsets_crd(rule, None, None)?).await);
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    let causes = refused.details.map(|d| d.causes).unwrap_or_default();
    let at_rule = "spec.validation.openAPIV3Schema.properties[spec].properties[tags].x-kubernetes-validations[0].rule";
    assert!(
        causes.iter().any(|c| c.field == at_rule
            && c.reason == "FieldValueForbidden"
            && c.message.contains("estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)")),
        "{causes:?}"
    );
    assert!(
        causes.iter().any(|c| c.field == "spec.validation.openAPIV3Schema"
            && c.message.contains(
                "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget"
            )),
        "{causes:?}"
    );
    assert!(refused.message.contains("Forbidden: estimated rule cost exceeds budget"), "{}", refused.message);

    let bounded = tagsets_crd(rule, Some(10), Some(63))?;
    crds.create(&PostParams::default(), &bounded).await?;
    let mut unbounded_again = crds.get("tagsets.cost.example.dev").await?;
    unbounded_again.spec = tagsets_crd(rule, None, None)?.spec;
    let status = status_of(crds.replace("tagsets.cost.example.dev", &PostParams::default(), &unbounded_again).await);
    assert_eq!(status.code, 422, "an update that removes the bounds is refused too");
    crds.delete("tagsets.cost.example.dev", &DeleteParams::default()).await?;
    Ok(())
}

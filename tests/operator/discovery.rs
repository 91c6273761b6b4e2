//! A policy may name a kind the API server does not serve yet: it says so, and the kind is
//! picked up and governed once its CRD is installed.

use driftwarden_sandbox::testing::widgets_crd;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_kind_installed_later_is_picked_up_and_governed() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    // CRD names are cluster-wide: the group carries the test namespace's name.
    let group = format!("{ns}.example.test");
    create_policy(
        &harness,
        drift_policy(
            &ns,
            "widgets",
            json!({"baselines": [{"match": {"apiVersion": format!("{group}/v1"), "kind": "Widget"},
                                  "template": {"spec": {"size": 1}}}]}),
        ),
    )
    .await;
    let waiting = wait_for(&policies(&harness), "widgets", "not served", |p| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == "KindNotServed")
    })
    .await;
    let message = waiting.data["status"]["conditions"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("Widget"), "the message names the kind: {message}");

    // The tests' Widget kind, moved into that group.
    let mut crd = widgets_crd();
    crd.metadata.name = Some(format!("widgets.{group}"));
    crd.spec.group = group.clone();
    let crds: Api<CustomResourceDefinition> = Api::all(harness.client());
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let widgets: Api<DynamicObject> = Api::namespaced_with(
        harness.client(),
        &ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk(&group, "v1", "Widget")),
    );
    let widget: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Widget",
        "metadata": {"name": "gear", "namespace": ns}, "spec": {"size": 3}
    }))
    .unwrap();
    // The API server may take a moment to serve a new CRD.
    within("the widget is created", async {
        while widgets.create(&PostParams::default(), &widget).await.is_err() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    wait_for(&widgets, "gear", "fixed once the kind is served", |w| w.data["spec"]["size"] == 1).await;
    wait_for(&policies(&harness), "widgets", "ready and compliant", |p| {
        condition(p, "Ready").is_some_and(|(s, _)| s == "True")
            && condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    crds.delete(&format!("widgets.{group}"), &DeleteParams::default()).await.unwrap();
    harness.stop().await;
}

/// A namespaced DriftPolicy naming a kind that discovery says is cluster-scoped is refused
/// however it names it (a baseline, a resource to create): the cluster-scoped object is
/// never read into it nor changed, and no request falls back to a cluster-wide API.
#[tokio::test]
async fn a_namespaced_policy_naming_a_cluster_scoped_custom_kind_is_refused() {
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let group = format!("{ns}.cluster.example.test");
    let mut crd = widgets_crd();
    crd.metadata.name = Some(format!("widgets.{group}"));
    crd.spec.group = group.clone();
    crd.spec.scope = "Cluster".to_string();
    let crds: Api<CustomResourceDefinition> = Api::all(harness.client());
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let widgets: Api<DynamicObject> =
        Api::all_with(harness.client(), &ApiResource::from_gvk(&GroupVersionKind::gvk(&group, "v1", "Widget")));
    let gear = format!("gear-{ns}");
    let widget: DynamicObject = serde_json::from_value(json!({
        "apiVersion": format!("{group}/v1"), "kind": "Widget", "metadata": {"name": gear}, "spec": {"size": 3}
    }))
    .unwrap();
    within("the cluster-scoped widget is created", async {
        while widgets.create(&PostParams::default(), &widget).await.is_err() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let before = widgets.get(&gear).await.unwrap().metadata.resource_version;
    create_policy(
        &harness,
        drift_policy(
            &ns,
            "reach",
            json!({
                "baselines": [{"match": {"apiVersion": format!("{group}/v1"), "kind": "Widget", "names": [gear]},
                               "template": {"spec": {"size": 1}}}],
                "resources": [{"apiVersion": format!("{group}/v1"), "kind": "Widget",
                               "metadata": {"name": format!("new-{ns}")}, "spec": {"size": 1}}],
                "remediation": {"autoRemediate": ["Metadata", "Spec", "Create"]}
            }),
        ),
    )
    .await;
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    if let Ok(sandbox) = harness.sandbox() {
        sandbox.clear_requests();
    }
    harness.start_operator();
    wait_invalid(
        &harness,
        "reach",
        &[
            "spec.baselines[0].match: Widget is cluster-scoped: only a ClusterDriftPolicy can govern it",
            "spec.resources[0]: Widget is cluster-scoped: only a ClusterDriftPolicy can govern it",
        ],
    )
    .await;
    // The healthy policy works: the operator went on serving the others.
    wait_for(&policies(&harness), "owners", "ready", |p| condition(p, "Ready").is_some_and(|(s, _)| s == "True")).await;
    assert_eq!(widgets.get(&gear).await.unwrap().metadata.resource_version, before, "the widget is untouched");
    assert!(widgets.get_opt(&format!("new-{ns}")).await.unwrap().is_none(), "no widget was created");
    if let Ok(sandbox) = harness.sandbox() {
        let writes: Vec<_> = sandbox
            .requests()
            .into_iter()
            .filter(|r| r.resource == "widgets" && matches!(r.verb.as_str(), "patch" | "create" | "update" | "delete"))
            .collect();
        assert!(writes.is_empty(), "nothing was written to widgets: {writes:#?}");
    }
    crds.delete(&format!("widgets.{group}"), &DeleteParams::default()).await.unwrap();
    harness.stop().await;
}

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

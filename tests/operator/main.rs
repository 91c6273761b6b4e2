//! The operator end to end against the sandbox API server: detect, decide, fix, verify,
//! escalate.

mod support;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::{Harness, condition, status_number, wait_for};

fn policies(harness: &Harness) -> Api<DynamicObject> {
    let resource = ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&());
    Api::namespaced_with(harness.client(), harness.ns(), &resource)
}

async fn create_policy(harness: &Harness, body: Value) {
    let object: DynamicObject = serde_json::from_value(body).unwrap();
    policies(harness).create(&PostParams::default(), &object).await.expect("policy created");
}

fn config_map(ns: &str, name: &str, team: &str) -> ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": team, "app": "shop"}},
        "data": {"mode": "fast"}
    }))
    .unwrap()
}

/// A change by someone else, as `kubectl edit` would make it.
async fn edit<K>(api: &Api<K>, name: &str, patch: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams { field_manager: Some("kubectl-edit".into()), ..Default::default() },
        &Patch::Merge(&patch),
    )
    .await
    .expect("edit applied");
}

#[tokio::test]
async fn label_drift_is_fixed_and_verified() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await.unwrap();
    create_policy(
        &harness,
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
            "metadata": {"name": "owners", "namespace": ns},
            "spec": {"baselines": [{
                "name": "team-label",
                "match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                "template": {"metadata": {"labels": {"team": "shop"}}}
            }]}
        }),
    )
    .await;
    let policy = wait_for(&policies(&harness), "owners", "Ready and compliant", |p| {
        condition(p, "Ready").is_some_and(|(s, _)| s == "True")
            && condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(status_number(&policy, "targets"), 1);

    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "someone-else"}}})).await;
    let fixed = wait_for(&config_maps, "settings", "label restored", |cm| {
        cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    })
    .await;
    let managers: Vec<_> = fixed.metadata.managed_fields.iter().flatten().filter_map(|m| m.manager.clone()).collect();
    assert!(managers.contains(&"driftwarden".to_string()), "fixed with field manager driftwarden: {managers:?}");
    let policy =
        wait_for(&policies(&harness), "owners", "remediation counted", |p| status_number(p, "remediated") == 1).await;
    assert!(policy.data.pointer("/status/lastRemediationTime").is_some());
    assert_eq!(condition(&policy, "Compliant").map(|(s, _)| s), Some("True".into()));
    harness.stop().await;
}

#[tokio::test]
async fn pod_template_drift_is_escalated_not_fixed() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let deployments: Api<Deployment> = Api::namespaced(harness.client(), &ns);
    let deployment: Deployment = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns, "labels": {"tier": "web"}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "shop/web:1.4.2"}]}}
        }
    }))
    .unwrap();
    deployments.create(&PostParams::default(), &deployment).await.unwrap();
    create_policy(
        &harness,
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
            "metadata": {"name": "images", "namespace": ns},
            "spec": {"baselines": [{
                "match": {"apiVersion": "apps/v1", "kind": "Deployment", "selector": {"matchLabels": {"tier": "web"}}},
                "template": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:1.4.2"}]}}}}
            }]}
        }),
    )
    .await;
    wait_for(&policies(&harness), "images", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;

    edit(
        &deployments,
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:9.9.9"}]}}}}),
    )
    .await;
    let policy = wait_for(&policies(&harness), "images", "escalated", |p| {
        condition(p, "Escalated").is_some_and(|(s, _)| s == "True")
    })
    .await;
    let drift = &policy.data["status"]["drifts"][0];
    assert_eq!(drift["class"], "Rollout");
    assert_eq!(drift["action"], "Escalate");
    assert_eq!(drift["changedBy"], "kubectl-edit");
    assert_eq!(drift["paths"][0], "/spec/template/spec/containers/name=app/image");
    let live = deployments.get("web").await.unwrap();
    let live = serde_json::to_value(&live).unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"], "shop/web:9.9.9",
        "a Rollout drift is never fixed without a person"
    );
    harness.stop().await;
}

#[tokio::test]
async fn an_invalid_policy_is_not_ready_and_others_keep_working() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "someone-else")).await.unwrap();
    create_policy(
        &harness,
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
            "metadata": {"name": "broken", "namespace": ns},
            "spec": {"ignore": [{"paths": ["spec/replicas"]}],
                     "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"x": "y"}}}}]}
        }),
    )
    .await;
    create_policy(
        &harness,
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
            "metadata": {"name": "owners", "namespace": ns},
            "spec": {"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"team": "shop"}}}}]}
        }),
    )
    .await;
    let broken = wait_for(&policies(&harness), "broken", "not ready", |p| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == "InvalidSpec")
    })
    .await;
    let message = broken.data["status"]["conditions"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("spec.ignore[0].paths[0]"), "{message}");
    assert_eq!(condition(&broken, "Stalled").map(|(s, _)| s), Some("True".into()));
    wait_for(&config_maps, "settings", "the valid policy still fixes", |cm| {
        cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    })
    .await;
    let live = config_maps.get("settings").await.unwrap();
    assert!(!live.metadata.labels.unwrap().contains_key("x"), "nothing of the invalid policy is applied");
    harness.stop().await;
}

//! Drift that may not be fixed automatically goes to a person, with the evidence.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use crate::support::*;

/// The `DriftEscalated` Events of the namespace regarding an object of `kind`.
async fn escalated_events(harness: &Harness, kind: &str) -> Vec<Event> {
    let events: Api<Event> = Api::namespaced(harness.client(), harness.ns());
    let list = events.list(&ListParams::default()).await.expect("Events listed");
    list.items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("DriftEscalated"))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some(kind))
        .collect()
}

/// How many times an Event was observed: its series count, or once.
fn occurrences(event: &Event) -> i32 {
    event.series.as_ref().map_or(1, |series| series.count)
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
        drift_policy(&ns, "images", json!({"baselines": [{
                "match": {"apiVersion": "apps/v1", "kind": "Deployment", "selector": {"matchLabels": {"tier": "web"}}},
                "template": {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:1.4.2"}]}}}}
            }]})),
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

    // The escalation is an Event on the Deployment and one on the policy.
    eventually("DriftEscalated on the Deployment and the policy", || async {
        escalated_events(&harness, "Deployment").await.len() == 1
            && escalated_events(&harness, "DriftPolicy").await.len() == 1
    })
    .await;
    let on_object = escalated_events(&harness, "Deployment").await.remove(0);
    assert_eq!(on_object.regarding.as_ref().and_then(|r| r.name.as_deref()), Some("web"));
    assert_eq!(on_object.type_.as_deref(), Some("Warning"));
    let note = on_object.note.clone().unwrap_or_default();
    assert!(note.contains("/spec/template/spec/containers/name=app/image"), "{note}");
    let on_policy = escalated_events(&harness, "DriftPolicy").await.remove(0);
    assert_eq!(on_policy.regarding.as_ref().and_then(|r| r.name.as_deref()), Some("images"));
    assert_eq!(occurrences(&on_policy), 1);

    // Put right by a person, then drifted again: the escalation repeats, and the policy's
    // Event counts up as a series instead of a new Event.
    edit(
        &deployments,
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:1.4.2"}]}}}}),
    )
    .await;
    wait_for(&policies(&harness), "images", "compliant again", |p| {
        condition(p, "Escalated").is_some_and(|(s, _)| s == "False")
    })
    .await;
    edit(
        &deployments,
        "web",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "shop/web:9.9.8"}]}}}}),
    )
    .await;
    eventually("the policy's Event series counts two escalations", || async {
        escalated_events(&harness, "DriftPolicy").await.first().is_some_and(|e| occurrences(e) == 2)
    })
    .await;
    assert_eq!(escalated_events(&harness, "DriftPolicy").await.len(), 1, "one Event series on the policy");
    eventually("the Deployment's Event series counts two escalations", || async {
        escalated_events(&harness, "Deployment").await.first().is_some_and(|e| occurrences(e) == 2)
    })
    .await;
    assert_eq!(escalated_events(&harness, "Deployment").await.len(), 1, "one Event series on the Deployment");
    harness.stop().await;
}

#[tokio::test]
async fn a_missing_object_is_escalated_when_create_is_not_allowed() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    create_policy(
        &harness,
        drift_policy(&ns, "flags", json!({"resources": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flags"}, "data": {"beta": "false"}}]})),
    )
    .await;
    let policy = wait_for(&policies(&harness), "flags", "escalated", |p| {
        condition(p, "Escalated").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(policy.data["status"]["drifts"][0]["class"], "Create");
    assert_eq!(policy.data["status"]["drifts"][0]["action"], "Escalate");
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(harness.client(), &ns);
    assert!(config_maps.get_opt("flags").await.unwrap().is_none(), "nothing is created without Create");
    harness.stop().await;
}

#[tokio::test]
async fn audit_mode_changes_nothing_and_reports_everything() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    create_policy(
        &harness,
        drift_policy(&ns, "owners", json!({
                "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"team": "shop"}}}}],
                "remediation": {"mode": "Audit"}
            })),
    )
    .await;
    let policy = wait_for(&policies(&harness), "owners", "reported", |p| status_number(p, "drifted") == 1).await;
    assert_eq!(policy.data["status"]["drifts"][0]["action"], "Audit");
    assert_eq!(condition(&policy, "Escalated").map(|(s, _)| s), Some("True".into()));
    assert_eq!(status_number(&policy, "remediated"), 0);
    let live = config_maps.get("settings").await.unwrap();
    assert_eq!(live.metadata.labels.unwrap()["team"], "other");
    harness.stop().await;
}

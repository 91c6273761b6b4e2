//! The guards that protect the cluster from driftwarden itself: the circuit breaker,
//! flapping detection and the per-object opt-out.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn the_circuit_breaker_stops_mass_changes() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for (name, team) in [("a", "other"), ("b", "other"), ("c", "shop"), ("d", "shop")] {
        config_maps.create(&PostParams::default(), &config_map(&ns, name, team)).await.unwrap();
    }
    create_policy(&harness, owners_policy(&ns, json!({"circuitBreaker": {"maxDriftedPercent": 25}}))).await;
    let policy =
        wait_for(&policies(&harness), "owners", "both drifts escalated", |p| status_number(p, "escalated") == 2).await;
    for drift in policy.data["status"]["drifts"].as_array().unwrap() {
        assert_eq!(drift["action"], "Escalate");
        assert!(drift["reason"].as_str().unwrap().contains("50% of targets drift"), "{drift}");
    }
    assert_eq!(status_number(&policy, "remediated"), 0);
    assert!(team_is(&config_maps.get("a").await.unwrap(), "other"), "nothing is fixed while the breaker is open");
    harness.stop().await;
}

#[tokio::test]
async fn a_field_fought_over_turns_into_a_conflict() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({"flapping": {"maxFixes": 2, "window": "10m"}}))).await;
    wait_for(&policies(&harness), "owners", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    // Another actor keeps reverting the label; driftwarden fixes it twice, then stops.
    for round in 1..=2 {
        edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "other"}}})).await;
        wait_for(&policies(&harness), "owners", "fixed again", |p| status_number(p, "remediated") == round).await;
        wait_for(&config_maps, "settings", "restored", |cm| team_is(cm, "shop")).await;
    }
    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "other"}}})).await;
    let policy =
        wait_for(&policies(&harness), "owners", "flapping escalated", |p| status_number(p, "escalated") == 1).await;
    let reason = policy.data["status"]["drifts"][0]["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("fixed 2 times"), "{reason}");
    assert_eq!(status_number(&policy, "remediated"), 2);
    assert!(team_is(&config_maps.get("settings").await.unwrap(), "other"));
    harness.stop().await;
}

#[tokio::test]
async fn an_opted_out_object_is_reported_but_never_fixed() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    let mut cm = config_map(&ns, "settings", "other");
    cm.metadata.annotations = Some([("driftwarden.dev/enforce".to_string(), "disabled".to_string())].into());
    config_maps.create(&PostParams::default(), &cm).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    let policy = wait_for(&policies(&harness), "owners", "reported", |p| status_number(p, "optedOut") == 1).await;
    assert_eq!(policy.data["status"]["drifts"][0]["action"], "Escalate");
    assert!(policy.data["status"]["drifts"][0]["reason"].as_str().unwrap().contains("opts out"));
    assert!(team_is(&config_maps.get("settings").await.unwrap(), "other"));
    harness.stop().await;
}

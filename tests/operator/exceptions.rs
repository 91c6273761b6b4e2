//! DriftExceptions: an active one suppresses, an expired one stops suppressing by itself.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn an_exception_suppresses_until_it_expires_then_the_drift_is_fixed() {
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    let now = jiff::Timestamp::now();
    let expires = now + jiff::SignedDuration::from_secs(3);
    let exceptions: Api<DynamicObject> = Api::namespaced_with(
        harness.client(),
        &ns,
        &ApiResource::erase::<driftwarden::api::exception::DriftException>(&()),
    );
    let exception: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
        "metadata": {"name": "migration", "namespace": ns},
        "spec": {
            "match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["settings"]},
            "paths": ["/metadata/labels/team"],
            "justification": "team rename in progress", "approvedBy": "platform-lead@example.com", "ticket": "PLAT-42",
            "approvedAt": now.to_string(), "expiresAt": expires.to_string()
        }
    }))
    .unwrap();
    exceptions.create(&PostParams::default(), &exception).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    harness.start_operator();
    let policy = wait_for(&policies(&harness), "owners", "excepted", |p| status_number(p, "excepted") == 1).await;
    assert_eq!(policy.data["status"]["drifts"][0]["action"], "Excepted");
    if jiff::Timestamp::now() < expires {
        let live = config_maps.get("settings").await.unwrap();
        assert_eq!(live.metadata.labels.unwrap()["team"], "other", "not fixed while the exception is active");
    }
    wait_for(&config_maps, "settings", "fixed once the exception expired", |cm| {
        cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    })
    .await;
    assert!(jiff::Timestamp::now() >= expires, "the fix came only after expiry");
    harness.stop().await;
}

fn exception_body(ns: &str, name: &str, names: &[&str], expires: jiff::Timestamp) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "match": {"apiVersion": "v1", "kind": "ConfigMap", "names": names},
            "justification": "vendor migration", "approvedBy": "security-lead@example.com", "ticket": "SEC-9",
            "approvedAt": jiff::Timestamp::now().to_string(), "expiresAt": expires.to_string()
        }
    }))
    .unwrap()
}

fn exceptions_in(harness: &Harness, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(harness.client(), ns, &ApiResource::erase::<driftwarden::api::exception::DriftException>(&()))
}

#[tokio::test]
async fn exception_status_counts_what_it_covers_and_flags_what_covers_nothing() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let in_a_month = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30);
    let exceptions = exceptions_in(&harness, &ns);
    exceptions
        .create(&PostParams::default(), &exception_body(&ns, "covering", &["settings"], in_a_month))
        .await
        .unwrap();
    exceptions
        .create(&PostParams::default(), &exception_body(&ns, "idle", &["nothing-here"], in_a_month))
        .await
        .unwrap();
    let covering = wait_for(&exceptions, "covering", "covers the drift", |e| status_number(e, "covered") == 1).await;
    assert_eq!(condition(&covering, "Active").map(|(s, _)| s), Some("True".into()));
    assert_eq!(condition(&covering, "CoversNothing").map(|(s, _)| s), Some("False".into()));
    assert_eq!(condition(&covering, "ExpiringSoon").map(|(s, _)| s), Some("False".into()));
    let idle =
        wait_for(&exceptions, "idle", "flagged", |e| condition(e, "CoversNothing").is_some_and(|(s, _)| s == "True"))
            .await;
    assert_eq!(condition(&idle, "Ready").map(|(s, _)| s), Some("True".into()));
    harness.stop().await;
}

#[tokio::test]
async fn an_exception_never_covers_another_namespace() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let other = harness.cluster.temp_namespace().await.unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    // Written in another team's namespace, naming this namespace's object.
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    exceptions_in(&harness, other.name())
        .create(&PostParams::default(), &exception_body(other.name(), "reach", &["settings"], expires))
        .await
        .unwrap();
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    wait_for(&config_maps, "settings", "fixed: the other namespace's exception does not apply", |cm| {
        team_is(cm, "shop")
    })
    .await;
    let reach = wait_for(&exceptions_in(&harness, other.name()), "reach", "covers nothing", |e| {
        condition(e, "CoversNothing").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(status_number(&reach, "covered"), 0);
    harness.stop().await;
}

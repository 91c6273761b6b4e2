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

//! One wrong policy never disturbs the others.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::support::*;

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
            // The schema admits any time zone name; only the operator knows there is no Mars.
            "spec": {"remediation": {"windows": [{"start": "09:00", "end": "17:00", "timeZone": "Mars/Olympus"}]},
                     "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"x": "y"}}}}]}
        }),
    )
    .await;
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    let broken = wait_for(&policies(&harness), "broken", "not ready", |p| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == "InvalidSpec")
    })
    .await;
    let message = broken.data["status"]["conditions"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("spec.remediation.windows[0]") && message.contains("Mars/Olympus"), "{message}");
    assert_eq!(condition(&broken, "Stalled").map(|(s, _)| s), Some("True".into()));
    wait_for(&config_maps, "settings", "the valid policy still fixes", |cm| {
        cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    })
    .await;
    let live = config_maps.get("settings").await.unwrap();
    assert!(!live.metadata.labels.unwrap().contains_key("x"), "nothing of the invalid policy is applied");
    harness.stop().await;
}

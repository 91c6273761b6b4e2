//! RemediationCampaigns over a policy's drifts: findings per asset, fixed in waves or by
//! owners, closed only on a fresh read, reopened when the asset drifts again.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

fn campaigns(harness: &Harness) -> Api<DynamicObject> {
    Api::all_with(harness.client(), &ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&()))
}

fn findings(harness: &Harness, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(harness.client(), ns, &ApiResource::erase::<driftwarden::api::finding::Finding>(&()))
}

/// A campaign named after the test namespace (campaigns are cluster-scoped) following the
/// `owners` policy of that namespace.
fn campaign(ns: &str, extra: Value) -> (String, DynamicObject) {
    let name = format!("{ns}-labels");
    let deadline = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)).to_string();
    let mut spec = json!({
        "objective": "Every shop ConfigMap names its team",
        "owner": {"team": "platform", "contact": "platform@example.com"},
        "control": {"policyRef": {"kind": "DriftPolicy", "namespace": ns, "name": "owners"}},
        "deadline": deadline,
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    let object = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap();
    (name, object)
}

async fn create_campaign(harness: &Harness, extra: Value) -> String {
    let (name, object) = campaign(harness.ns(), extra);
    campaigns(harness).create(&PostParams::default(), &object).await.expect("campaign created");
    name
}

fn state(finding: &DynamicObject) -> &str {
    finding.data["status"]["state"].as_str().unwrap_or_default()
}

fn evidence_actions(finding: &DynamicObject) -> Vec<String> {
    finding.data["status"]["evidence"]
        .as_array()
        .map(|e| e.iter().map(|r| r["action"].as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_auto_campaign_fixes_an_audit_policy_wave_by_wave_until_completed() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for index in 0..200 {
        config_maps.create(&PostParams::default(), &config_map(&ns, &format!("cm-{index:03}"), "other")).await.unwrap();
    }
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    let name = create_campaign(
        &harness,
        json!({"strategy": {"mode": "Auto", "waveSize": 50, "waveInterval": "1s", "pauseOnFailurePercent": 10}}),
    )
    .await;
    let done = wait_for(&campaigns(&harness), &name, "completed", |c| {
        condition(c, "Completed").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(status_number(&done, "total"), 200, "{:#}", done.data["status"]);
    assert_eq!(done.data["status"]["findings"]["closed"], 200);
    assert_eq!(done.data["status"]["compliantPercent"], 100);
    assert!(done.data["status"]["lastWaveTime"].is_string());
    let all_closed = || async {
        let listed = findings(&harness, &ns).list(&ListParams::default()).await.unwrap();
        listed.items.len() == 200 && listed.items.iter().all(|f| state(f) == "Closed")
    };
    eventually("every finding is written closed", all_closed).await;
    let listed = findings(&harness, &ns).list(&ListParams::default()).await.unwrap();
    for finding in &listed.items {
        assert_eq!(state(finding), "Closed", "{:?}", finding.data["status"]);
        let last = finding.data["status"]["evidence"].as_array().unwrap().last().unwrap().clone();
        assert_eq!((last["action"].as_str(), last["result"].as_str()), (Some("Verified"), Some("Succeeded")));
        assert_eq!(last["actor"], "driftwarden");
        assert!(last["resourceVersion"].is_string() && last["desiredHash"] == last["liveHash"], "{last}");
        assert!(evidence_actions(finding).contains(&"Applied".to_string()), "{:#}", finding.data["status"]);
    }
    for index in [0, 199] {
        assert!(team_is(&config_maps.get(&format!("cm-{index:03}")).await.unwrap(), "shop"));
    }
    let policy = policies(&harness).get("owners").await.unwrap();
    assert_eq!(status_number(&policy, "remediated"), 200, "the policy counts the campaign's verified fixes");
    campaigns(&harness).delete(&name, &DeleteParams::default()).await.unwrap();
    eventually("findings are garbage-collected with their campaign", || async {
        findings(&harness, &ns).list(&ListParams::default()).await.unwrap().items.is_empty()
    })
    .await;
    harness.stop().await;
}

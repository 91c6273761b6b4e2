//! What a finding's evidence records when the operator's own fix does not hold: the
//! resourceVersion and the hash of what the verifying read returned, not of what was
//! declared.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;

use super::{create_campaign, finding_of, state};
use crate::support::*;

#[tokio::test]
async fn a_fix_undone_before_its_verifying_read_records_what_was_read_back() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::start().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await?;
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit"}))).await;
    // The fix's verifying GET is held long enough for someone to undo the fix first.
    use driftwarden_sandbox::faults::{Fault, RequestMatch};
    let read = RequestMatch::new("get", "configmaps").namespace(&ns).name("settings");
    harness.sandbox()?.inject(Fault::delay(read, std::time::Duration::from_secs(3)).times(1))?;
    let name = create_campaign(
        &harness,
        json!({"strategy": {"mode": "Auto", "waveInterval": "1s", "pauseOnFailurePercent": 100}}),
    )
    .await;
    wait_for(&config_maps, "settings", "applied", |cm| team_is(cm, "shop")).await;
    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "other"}}})).await;

    // The next wave fixes it for good.
    let closed = finding_of(&harness, &name, "settings", "fixed by a later wave", |f| state(f) == "Closed").await;
    let evidence = closed.data["status"]["evidence"].as_array().cloned().unwrap_or_default();
    let failed = evidence
        .iter()
        .find(|e| e["action"] == "Verified" && e["result"] == "Failed")
        .unwrap_or_else(|| panic!("a failed verification: {evidence:#?}"));
    let hash =
        |team: &str| driftwarden::engine::campaign::hash_fields(&[("/metadata/labels/team".into(), Some(json!(team)))]);
    assert_eq!(failed["desiredHash"], hash("shop").as_str(), "{failed}");
    assert_eq!(failed["liveHash"], hash("other").as_str(), "the hash of what the read returned: {failed}");
    assert!(failed["resourceVersion"].is_string(), "the resourceVersion read back: {failed}");
    let verified = evidence.last().unwrap();
    assert_eq!((verified["result"].as_str(), verified["liveHash"].as_str()), (Some("Succeeded"), Some(&*hash("shop"))));
    assert_ne!(verified["resourceVersion"], failed["resourceVersion"]);
    harness.stop().await;
    Ok(())
}

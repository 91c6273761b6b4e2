//! A campaign fixes whatever its policy's mode, but under the policy's guards: the rate
//! limit spreads its fixes over waves, and the circuit breaker escalates instead of fixing.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use super::{by_wave, campaigns, create_campaign, findings, state};
use crate::support::*;

#[tokio::test]
async fn the_policys_rate_limit_spreads_a_campaigns_fixes_over_waves() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for name in ["a", "b", "c", "d"] {
        config_maps.create(&PostParams::default(), &config_map(&ns, name, "other")).await.unwrap();
    }
    create_policy(&harness, owners_policy(&ns, json!({"mode": "Audit", "rateLimit": {"perMinute": 2}}))).await;
    let name =
        create_campaign(&harness, json!({"strategy": {"mode": "Auto", "waveSize": 10, "waveInterval": "1s"}})).await;
    // A wave may fix 10 (of the findings written so far), but the policy allows 2 a minute.
    let first =
        wait_for(&campaigns(&harness), &name, "two fixed", |c| c.data["status"]["findings"]["closed"] == 2).await;
    assert_eq!(first.data["status"]["findings"]["open"], 2, "{:#}", first.data["status"]);
    // A minute later (on the operator's clock) the next wave fixes the rest.
    harness.clock.advance(jiff::SignedDuration::from_secs(61));
    wait_for(&campaigns(&harness), &name, "all fixed", |c| c.data["status"]["findings"]["closed"] == 4).await;
    let all_closed = || async {
        let listed = findings(&harness, &ns).list(&ListParams::default()).await.unwrap();
        listed.items.len() == 4 && listed.items.iter().all(|f| state(f) == "Closed")
    };
    eventually("every finding is written closed", all_closed).await;
    let listed = findings(&harness, &ns).list(&ListParams::default()).await.unwrap();
    let waves = by_wave(&listed.items);
    assert!(waves.len() >= 2 && waves.values().all(|(fixed, _, _)| *fixed <= 2), "{waves:?}");
    harness.stop().await;
}

#[tokio::test]
async fn the_policys_circuit_breaker_escalates_a_campaigns_mass_change() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::start().await;
    driftwarden_sandbox::require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for name in ["a", "b", "c"] {
        config_maps.create(&PostParams::default(), &config_map(&ns, name, "other")).await?;
    }
    // Every target drifts: above the breaker's 50%.
    let remediation = json!({"mode": "Audit", "circuitBreaker": {"maxDriftedPercent": 50}});
    create_policy(&harness, owners_policy(&ns, remediation)).await;
    harness.sandbox()?.clear_requests();
    let name =
        create_campaign(&harness, json!({"strategy": {"mode": "Auto", "waveSize": 10, "waveInterval": "1s"}})).await;
    let counted =
        wait_for(&campaigns(&harness), &name, "all escalated", |c| c.data["status"]["findings"]["escalated"] == 3)
            .await;
    assert_eq!(counted.data["status"]["findings"]["closed"], 0);
    for asset in ["a", "b", "c"] {
        let finding = findings(&harness, &ns).get(&format!("{name}.configmap.{asset}")).await?;
        let last = finding.data["status"]["evidence"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["action"], "Escalated");
        assert!(last["message"].as_str().unwrap_or_default().contains("circuit breaker"), "{last}");
        assert!(team_is(&config_maps.get(asset).await?, "other"));
    }
    let applies = harness
        .sandbox()?
        .requests()
        .into_iter()
        .filter(|r| r.resource == "configmaps" && r.verb == "patch" && !r.dry_run)
        .filter(|r| !r.name.starts_with("driftwarden-ledger-"));
    assert_eq!(applies.count(), 0, "nothing applied");
    harness.stop().await;
    Ok(())
}

//! Pacing: a closed remediation window and a used-up rate limit delay fixes; they do not
//! need a person, and the fix comes once the window opens.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::*;

/// A window of `hours` hours starting `offset` hours from now, in UTC, every day.
fn window_from_now(offset: i64, hours: i64) -> serde_json::Value {
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let at = |h: i64| {
        let t = &now + jiff::SignedDuration::from_hours(h);
        format!("{:02}:{:02}", t.hour(), t.minute())
    };
    json!({"start": at(offset), "end": at(offset + hours), "timeZone": "UTC"})
}

#[tokio::test]
async fn a_closed_window_defers_the_fix_until_it_opens() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    // Opens in six hours, for two hours: closed now, whatever the time of day.
    create_policy(&harness, owners_policy(&ns, json!({"windows": [window_from_now(6, 2)]}))).await;
    let policy =
        wait_for(&policies(&harness), "owners", "deferred", |p| p.data["status"]["drifts"][0]["action"] == "Defer")
            .await;
    let reason = policy.data["status"]["drifts"][0]["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("remediation window"), "{reason}");
    assert_eq!(status_number(&policy, "escalated"), 0, "a closed window is not an escalation");
    assert!(team_is(&config_maps.get("settings").await.unwrap(), "other"), "nothing is fixed outside the window");

    // The window is moved to include now: the deferred fix runs without a new drift.
    policies(&harness)
        .patch(
            "owners",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"remediation": {"windows": [window_from_now(-1, 3)]}}})),
        )
        .await
        .unwrap();
    wait_for(&config_maps, "settings", "fixed once the window opened", |cm| team_is(cm, "shop")).await;
    wait_for(&policies(&harness), "owners", "counted", |p| status_number(p, "remediated") == 1).await;
    harness.stop().await;
}

#[tokio::test]
async fn the_rate_limit_paces_fixes_per_minute() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    // Eight compliant objects and two drifted ones: the circuit breaker stays closed.
    for index in 0..10 {
        let team = if index < 2 { "other" } else { "shop" };
        config_maps.create(&PostParams::default(), &config_map(&ns, &format!("cm-{index}"), team)).await.unwrap();
    }
    create_policy(&harness, owners_policy(&ns, json!({"rateLimit": {"perMinute": 1}}))).await;
    let policy = wait_for(&policies(&harness), "owners", "one fixed, one waiting", |p| {
        status_number(p, "remediated") == 1
            && p.data["status"]["drifts"].as_array().is_some_and(|d| d.len() == 1 && d[0]["action"] == "Defer")
    })
    .await;
    let reason = policy.data["status"]["drifts"][0]["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("rate limit"), "{reason}");
    assert_eq!(status_number(&policy, "escalated"), 0, "a rate limit is not an escalation");
    let teams: Vec<bool> = [
        team_is(&config_maps.get("cm-0").await.unwrap(), "shop"),
        team_is(&config_maps.get("cm-1").await.unwrap(), "shop"),
    ]
    .into();
    assert_eq!(teams.iter().filter(|fixed| **fixed).count(), 1, "exactly one fix in the first minute: {teams:?}");
    harness.stop().await;
}

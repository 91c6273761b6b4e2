//! API errors and dropped watches are survived: fixes are retried with backoff, watches
//! resume, and nothing is lost.

use std::error::Error;

use driftwarden_sandbox::faults::{Fault, RequestMatch};
use driftwarden_sandbox::require_sandbox;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn server_errors_conflicts_dropped_watches_and_expired_history_are_survived() -> Result<(), Box<dyn Error>> {
    let mut harness = Harness::prepare().await;
    require_sandbox!(harness.sandbox());
    harness.start_operator();
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    wait_for(&policies(&harness), "owners", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;

    // The next fixes meet a 500 and then a 409: each failed attempt is retried later.
    let patches = || RequestMatch::new("patch", "configmaps").namespace(&ns).name("settings");
    harness.sandbox()?.inject(Fault::fail(patches(), 500, 1)).unwrap();
    harness.sandbox()?.inject(Fault::fail(patches(), 409, 1)).unwrap();
    // The drift is made with an update, so that only driftwarden's patches meet the faults.
    let mut drifted = config_maps.get("settings").await.unwrap();
    drifted.metadata.labels.get_or_insert_default().insert("team".into(), "first".into());
    let params = PostParams { field_manager: Some("kubectl-edit".into()), ..Default::default() };
    config_maps.replace("settings", &params, &drifted).await.unwrap();
    wait_for(&config_maps, "settings", "fixed despite the errors", |cm| team_is(cm, "shop")).await;
    assert_eq!(harness.sandbox()?.faults().pending(), 0, "both faults were met");

    // Every watch is cut: the operator resumes and still sees the next drift.
    harness.sandbox()?.drop_watches();
    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "second"}}})).await;
    wait_for(&config_maps, "settings", "fixed after the watches dropped", |cm| team_is(cm, "shop")).await;

    // History is compacted and watches cut again: resuming gets 410 Gone, relists, and
    // still sees the next drift.
    harness.sandbox()?.compact();
    harness.sandbox()?.drop_watches();
    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "third"}}})).await;
    wait_for(&config_maps, "settings", "fixed after 410 Gone", |cm| team_is(cm, "shop")).await;

    let policy =
        wait_for(&policies(&harness), "owners", "three verified fixes", |p| status_number(p, "remediated") == 3).await;
    assert_eq!(condition(&policy, "Compliant").map(|(s, _)| s), Some("True".into()));
    harness.stop().await;
    Ok(())
}

#[tokio::test]
async fn throttled_fixes_and_status_writes_are_retried_and_the_fix_counts_once() -> Result<(), Box<dyn Error>> {
    let mut harness = Harness::prepare().await;
    require_sandbox!(harness.sandbox());
    harness.start_operator();
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await?;
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    wait_for(&policies(&harness), "owners", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;

    // The next two fix attempts and the next two status writes are throttled (429 with
    // Retry-After).
    let sandbox = harness.sandbox()?;
    sandbox.inject(Fault::throttle(RequestMatch::new("patch", "configmaps").namespace(&ns).name("settings"), 1, 2))?;
    sandbox.inject(Fault::throttle(
        RequestMatch::new("patch", "driftpolicies/status").namespace(&ns).name("owners"),
        1,
        2,
    ))?;
    sandbox.clear_requests();
    let mut drifted = config_maps.get("settings").await?;
    drifted.metadata.labels.get_or_insert_default().insert("team".into(), "throttled".into());
    let params = PostParams { field_manager: Some("kubectl-edit".into()), ..Default::default() };
    config_maps.replace("settings", &params, &drifted).await?;
    wait_for(&config_maps, "settings", "fixed despite the throttling", |cm| team_is(cm, "shop")).await;
    let policy = wait_for(&policies(&harness), "owners", "the fix verified in the status", |p| {
        status_number(p, "remediated") == 1 && condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(harness.sandbox()?.faults().pending(), 0, "every throttle was met");
    assert_eq!(status_number(&policy, "escalated"), 0, "a throttled fix is retried, not escalated");

    let requests = harness.sandbox()?.requests();
    let patches = |dry_run: bool, code: u16| {
        requests
            .iter()
            .filter(|r| r.verb == "patch" && r.resource == "configmaps" && r.name == "settings")
            .filter(|r| r.dry_run == dry_run && r.code == code)
            .count()
    };
    assert_eq!(patches(true, 429), 2, "two dry-runs throttled: {requests:#?}");
    assert_eq!(patches(true, 200), 1, "one dry-run passed: {requests:#?}");
    assert_eq!(patches(false, 200), 1, "the fix was applied once: {requests:#?}");
    let status_writes = |code: u16| {
        requests
            .iter()
            .filter(|r| r.resource == "driftpolicies" && r.subresource.as_deref() == Some("status"))
            .filter(|r| r.code == code)
            .count()
    };
    assert_eq!(status_writes(429), 2, "two status writes throttled");
    assert!(status_writes(200) >= 1, "the status was written after the throttling");
    let metrics = harness.metrics().encode();
    assert!(
        metrics.contains(r#"driftwarden_remediations_total{class="Metadata",result="verified"} 1"#),
        "one verified fix: {metrics}"
    );
    harness.stop().await;
    Ok(())
}

//! The operator's metrics record what it really did: a fix, a failed fix, a failed status
//! write, the objects it watches and the requests it sent, and which of them failed.

use std::collections::BTreeMap;
use std::error::Error;

use driftwarden_sandbox::faults::{Fault, RequestMatch};
use driftwarden_sandbox::require_sandbox;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;

use crate::support::*;

/// The sample lines of OpenMetrics text, as `name{labels}` → value.
pub fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' '))
        .filter_map(|(series, value)| value.parse::<f64>().ok().map(|value| (series.to_string(), value)))
        .collect()
}

#[tokio::test]
async fn a_fix_a_failed_fix_and_a_failed_status_write_are_counted() -> Result<(), Box<dyn Error>> {
    let mut harness = Harness::prepare().await;
    let identity = require_sandbox!(harness.cluster.add_user("driftwarden-metrics", &["system:masters"]));
    let client = harness.cluster.client_as(&identity)??;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await?;
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    harness.start_operator_as(client);
    wait_for(&policies(&harness), "owners", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;

    // The first fix's dry-run meets a 500, and so does the next status write.
    let sandbox = harness.sandbox()?;
    sandbox.inject(Fault::fail(RequestMatch::new("patch", "configmaps").namespace(&ns).name("settings"), 500, 1))?;
    sandbox.inject(Fault::fail(
        RequestMatch::new("patch", "driftpolicies/status").namespace(&ns).name("owners"),
        500,
        1,
    ))?;
    let mut drifted = config_maps.get("settings").await?;
    drifted.metadata.labels.get_or_insert_default().insert("team".into(), "other".into());
    let params = PostParams { field_manager: Some("kubectl-edit".into()), ..Default::default() };
    config_maps.replace("settings", &params, &drifted).await?;
    wait_for(&config_maps, "settings", "fixed after the failed attempt", |cm| team_is(cm, "shop")).await;
    wait_for(&policies(&harness), "owners", "the fix in the status", |p| status_number(p, "remediated") == 1).await;
    assert_eq!(harness.sandbox()?.faults().pending(), 0, "both faults were met");

    let metrics = harness.metrics();
    let text = metrics.encode();
    let values = samples(&text);
    let value = |series: &str| values.get(series).copied().unwrap_or_else(|| panic!("{series} missing from:\n{text}"));
    assert_eq!(value(r#"driftwarden_drifts_detected_total{class="Metadata"}"#), 1.0);
    assert_eq!(value(r#"driftwarden_remediations_total{class="Metadata",result="dry_run_rejected"}"#), 1.0);
    assert_eq!(value(r#"driftwarden_remediations_total{class="Metadata",result="verified"}"#), 1.0);
    assert_eq!(value(r#"driftwarden_reconcile_errors_total{controller="DriftPolicy",category="DryRunRejected"}"#), 1.0);
    assert_eq!(
        value(r#"driftwarden_reconcile_errors_total{controller="DriftPolicy",category="StatusWriteFailed"}"#),
        1.0
    );
    assert_eq!(value("driftwarden_drift_to_verified_seconds_count"), 1.0);
    assert!(value(r#"driftwarden_reconcile_duration_seconds_count{controller="DriftPolicy"}"#) >= 3.0, "{text}");
    assert!(value(r#"driftwarden_reconcile_duration_seconds_count{controller="DriftPolicyBatch"}"#) >= 1.0, "{text}");

    // The gauge holds what the ConfigMap cache holds: every ConfigMap in the cluster.
    let all: Api<ConfigMap> = Api::all(harness.client());
    let cluster_wide = all.list(&ListParams::default()).await?.items.len() as f64;
    assert!(cluster_wide >= 1.0);
    eventually("the watched ConfigMaps counted", || {
        let metrics = metrics.clone();
        async move {
            samples(&metrics.encode()).get(r#"driftwarden_watched_objects{kind="ConfigMap.v1"}"#) == Some(&cluster_wide)
        }
    })
    .await;

    // Every request the server logged for the operator's identity was counted, by verb.
    let logged = harness.sandbox()?.requests();
    let values = samples(&metrics.encode());
    for verb in ["get", "list", "watch", "patch", "create"] {
        let sent = logged.iter().filter(|r| r.user == "driftwarden-metrics" && r.verb == verb).count() as f64;
        let counted = values.get(&format!(r#"driftwarden_api_requests_total{{verb="{verb}"}}"#)).copied();
        assert!(sent > 0.0, "the operator sent no {verb} request");
        assert!(counted.is_some_and(|c| c >= sent), "{verb}: {sent} logged, {counted:?} counted");
    }
    // And the two 500s injected above as failed patches.
    let failed = values.get(r#"driftwarden_api_errors_total{verb="patch",reason="server_error"}"#).copied();
    assert!(failed.is_some_and(|f| f >= 2.0), "the injected 500s, counted: {failed:?}\n{}", metrics.encode());

    // A kind no policy names any more is not watched, and its gauge goes.
    policies(&harness).delete("owners", &DeleteParams::default()).await?;
    eventually("the ConfigMap gauge removed", || {
        let metrics = metrics.clone();
        async move { !metrics.encode().contains(r#"driftwarden_watched_objects{kind="ConfigMap.v1"}"#) }
    })
    .await;
    harness.stop().await;
    Ok(())
}

//! An owner for every escalation: a policy resolves each drifted object's owner (its owner
//! labels, then its namespace's, then `spec.escalation.owner`), shows it in status and
//! Events, and sends each owner's notifications to that owner's route as well; a sink's
//! `types` chooses what it is sent, `drift.detected` and `drift.recurred` included.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::receiver;
use crate::support::*;

/// A receiver and the Secret `name` (key `url`) pointing at it.
async fn sink(harness: &Harness, name: &str) -> UnboundedReceiver<receiver::Received> {
    let (url, events) = receiver::start().await;
    let secrets: Api<Secret> = Api::namespaced(harness.client(), harness.ns());
    let hook: Secret = serde_json::from_value(receiver::hook_secret(name, &url)).unwrap();
    secrets.create(&PostParams::default(), &hook).await.unwrap();
    events
}

/// What a sink received so far, by CloudEvents type, as (type, owner, object name).
fn drain(events: &mut UnboundedReceiver<receiver::Received>, into: &mut Vec<(String, String, String)>) {
    while let Ok(received) = events.try_recv() {
        let event: Value = serde_json::from_slice(&received.body).unwrap();
        let kind = received.header("ce-type").to_string();
        let owner = event["owner"].as_str().unwrap_or_default().to_string();
        let name = event["object"]["name"].as_str().unwrap_or_default().to_string();
        into.push((kind, owner, name));
    }
}

fn owned(ns: &str, name: &str, owner: Option<&str>) -> ConfigMap {
    let mut labels =
        BTreeMap::from([("app".to_string(), "shop".to_string()), ("team".to_string(), "shop".to_string())]);
    if let Some(owner) = owner {
        labels.insert("driftwarden.dev/owner".to_string(), owner.to_string());
    }
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": ns, "labels": labels}, "data": {"mode": "fast"}
    }))
    .unwrap()
}

#[tokio::test]
async fn each_owner_hears_of_its_own_drift_and_sinks_get_the_types_they_ask_for() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let mut central = sink(&harness, "central").await;
    let mut payments = sink(&harness, "payments-hook").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &owned(&ns, "pay", Some("payments"))).await.unwrap();
    config_maps.create(&PostParams::default(), &owned(&ns, "misc", None)).await.unwrap();
    create_policy(
        &harness,
        drift_policy(&ns, "owners", json!({
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                           "template": {"metadata": {"labels": {"team": "shop"}}, "data": {"mode": "fast"}}}],
            "remediation": {"autoRemediate": ["Spec"]},
            "escalation": {
                "owner": {"team": "platform"},
                "ownerLabels": ["driftwarden.dev/owner"],
                "notify": {"urlSecretRef": {"name": "central", "key": "url"}},
                "routes": [{"owners": ["payments"], "notify": {
                    "urlSecretRef": {"name": "payments-hook", "key": "url"},
                    "types": ["drift.detected", "drift.escalated", "drift.remediated", "drift.recurred"]
                }}]
            }
        })),
    )
    .await;
    wait_for(&policies(&harness), "owners", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;

    // Metadata is not fixed automatically here: both label drifts are escalated.
    edit(&config_maps, "pay", json!({"metadata": {"labels": {"team": "other"}}})).await;
    edit(&config_maps, "misc", json!({"metadata": {"labels": {"team": "other"}}})).await;
    let policy =
        wait_for(&policies(&harness), "owners", "both escalated", |p| status_number(p, "escalated") == 2).await;
    let owner_of = |name: &str| {
        policy.data["status"]["drifts"].as_array().unwrap().iter().find(|d| d["target"]["name"] == name).unwrap()["owner"]
            .clone()
    };
    assert_eq!(owner_of("pay"), "payments");
    assert_eq!(owner_of("misc"), "platform", "no owner label: the policy's escalation.owner");

    // A Spec drift is fixed; when it comes back it has recurred.
    edit(&config_maps, "pay", json!({"data": {"mode": "slow"}})).await;
    wait_for(&policies(&harness), "owners", "fixed", |p| status_number(p, "remediated") == 1).await;
    wait_for(&config_maps, "pay", "restored", |cm| cm.data.as_ref().is_some_and(|d| d["mode"] == "fast")).await;
    edit(&config_maps, "pay", json!({"data": {"mode": "slow"}})).await;

    let mut to_payments = Vec::new();
    let mut to_central = Vec::new();
    let has = |got: &[(String, String, String)], kind: &str, name: &str| {
        got.iter().any(|(k, _, n)| k == &format!("dev.driftwarden.drift.{kind}") && n == name)
    };
    within("the payments route hears of detection, escalation, fix and recurrence", async {
        loop {
            drain(&mut payments, &mut to_payments);
            drain(&mut central, &mut to_central);
            let done = ["detected", "escalated", "remediated", "recurred"].iter().all(|k| has(&to_payments, k, "pay"))
                && has(&to_central, "escalated", "misc")
                && has(&to_central, "escalated", "pay");
            if done {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(to_payments.iter().all(|(_, owner, name)| owner == "payments" && name == "pay"), "{to_payments:?}");
    assert!(
        to_central
            .iter()
            .all(|(kind, _, _)| kind != "dev.driftwarden.drift.detected" && kind != "dev.driftwarden.drift.recurred"),
        "a sink without types is not sent detections or recurrences: {to_central:?}"
    );
    assert!(
        to_central
            .iter()
            .any(|(kind, owner, name)| kind.ends_with("escalated") && owner == "platform" && name == "misc")
    );

    let events: Api<Event> = Api::namespaced(harness.client(), &ns);
    let escalation = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("DriftEscalated"))
        .find(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("pay"))
        .expect("an escalation Event on the object");
    assert!(escalation.note.as_deref().unwrap_or_default().starts_with("escalated to payments: "), "{escalation:?}");
    harness.stop().await;
}

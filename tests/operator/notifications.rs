//! Escalations and fixes reach people: CloudEvents to the policy's sink, Kubernetes
//! Events, status — and no Secret value ever appears in any of them.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams};
use serde_json::json;

use crate::receiver;
use crate::support::*;

const DESIRED: &str = "correct-horse-battery-staple";
const LEAKED: &str = "hunter2-leaked-value";

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Collects what the operator logs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

/// A receiver for notifications and the Secret `hooks` (key `url`) that points at it;
/// answers the namespace's Secrets and what the receiver gets.
async fn sink_secret(harness: &Harness) -> (Api<Secret>, tokio::sync::mpsc::UnboundedReceiver<receiver::Received>) {
    let (url, events) = receiver::start().await;
    let secrets: Api<Secret> = Api::namespaced(harness.client(), harness.ns());
    let hook: Secret = serde_json::from_value(crate::receiver::hook_secret("hooks", &url)).unwrap();
    secrets.create(&PostParams::default(), &hook).await.unwrap();
    (secrets, events)
}

#[tokio::test]
async fn escalations_and_fixes_are_notified_and_secret_values_never_leak() {
    // Everything the operator logs, at every level. The test runtime runs every task on
    // this thread, so a subscriber set for this thread sees the operator's tasks too.
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new("driftwarden::operator=trace"))
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let (secrets, mut events) = sink_secret(&harness).await;
    let db: Secret =
        serde_json::from_value(json!({"metadata": {"name": "db"}, "stringData": {"password": DESIRED}})).unwrap();
    secrets.create(&PostParams::default(), &db).await.unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await.unwrap();
    create_policy(
        &harness,
        drift_policy(&ns, "owners", json!({
                "resources": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": DESIRED}}],
                "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"team": "shop"}}}}],
                "escalation": {"notify": {"urlSecretRef": {"name": "hooks", "key": "url"}, "mode": "Structured"}}
            })),
    )
    .await;
    wait_for(&policies(&harness), "owners", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;

    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "other"}}})).await;
    edit(&secrets, "db", json!({"data": {"password": b64(LEAKED)}})).await;

    let mut by_type: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    let mut bodies = String::new();
    within("a remediation and an escalation notified", async {
        while !(by_type.contains_key("dev.driftwarden.drift.remediated")
            && by_type.contains_key("dev.driftwarden.drift.escalated"))
        {
            let received = events.recv().await.expect("the receiver runs");
            assert_eq!(received.header("content-type"), "application/cloudevents+json");
            let event: serde_json::Value = serde_json::from_slice(&received.body).unwrap();
            bodies.push_str(&String::from_utf8_lossy(&received.body));
            by_type.entry(event["type"].as_str().unwrap().to_string()).or_default().push(event);
        }
    })
    .await;
    let remediated = &by_type["dev.driftwarden.drift.remediated"][0];
    assert_eq!(remediated["specversion"], "1.0");
    assert_eq!(remediated["subject"], format!("ConfigMap {ns}/settings"));
    assert_eq!(remediated["data"]["paths"][0], "/metadata/labels/team");
    let escalated = &by_type["dev.driftwarden.drift.escalated"][0];
    assert_eq!(escalated["data"]["drifts"][0]["class"], "SecretData");
    assert_eq!(escalated["data"]["drifts"][0]["path"], "/data/password");

    // Everything driftwarden wrote or sent: status, Events, notifications.
    let policy = wait_for(&policies(&harness), "owners", "escalated", |p| status_number(p, "escalated") == 1).await;
    let mut written = serde_json::to_string(&policy.data["status"]).unwrap();
    for resource in [
        ApiResource::erase::<k8s_openapi::api::core::v1::Event>(&()),
        ApiResource::erase::<k8s_openapi::api::events::v1::Event>(&()),
    ] {
        let list = Api::<DynamicObject>::namespaced_with(harness.client(), &ns, &resource)
            .list(&ListParams::default())
            .await
            .unwrap();
        written.push_str(&serde_json::to_string(&list.items).unwrap());
    }
    written.push_str(&bodies);
    let logged = logs.text();
    assert!(logged.contains("drift fixed and verified"), "the operator's logs were captured: {logged}");
    written.push_str(&logged);
    assert!(written.contains("DriftEscalated"), "the Events were read: {written}");
    for secret in [DESIRED, LEAKED, &b64(DESIRED), &b64(LEAKED)] {
        assert!(!written.contains(secret), "a Secret value leaked: {secret}");
    }
    let live = secrets.get("db").await.unwrap();
    assert_eq!(live.data.unwrap()["password"].0, LEAKED.as_bytes(), "SecretData is not fixed without a person");
    harness.stop().await;
}

/// The `DriftEscalated` Events of the namespace regarding the object `name`.
async fn escalations_of(harness: &Harness, name: &str) -> usize {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(harness.client(), harness.ns());
    let list = events.list(&ListParams::default()).await.expect("Events listed");
    list.items
        .iter()
        .filter(|e| e.reason.as_deref() == Some("DriftEscalated"))
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .count()
}

/// Whether the ledger in the operator's namespace waits to deliver anything.
async fn ledger_backlog(harness: &Harness) -> bool {
    let maps: Api<ConfigMap> = Api::namespaced(harness.client(), harness.ns());
    let listed = maps.list(&ListParams::default().labels("driftwarden.dev/ledger=true")).await.expect("listed");
    listed.items.iter().any(|map| map.data.as_ref().is_some_and(|d| d.values().any(|v| v.contains("\"outbox\""))))
}

#[tokio::test]
async fn a_restarted_operator_neither_repeats_nor_loses_an_escalation() {
    let mut harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let (_, mut events) = sink_secret(&harness).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "first", "other")).await.unwrap();
    create_policy(
        &harness,
        drift_policy(&ns, "audited", json!({
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"team": "shop"}}}}],
            "remediation": {"mode": "Audit"},
            "escalation": {"notify": {"urlSecretRef": {"name": "hooks", "key": "url"}, "mode": "Structured"}}
        })),
    )
    .await;
    let received = |body: &[u8]| serde_json::from_slice::<serde_json::Value>(body).unwrap();
    let first = within("the first escalation notified", async { received(&events.recv().await.unwrap().body) }).await;
    assert_eq!(first["subject"], format!("ConfigMap {ns}/first"));
    // Delivered and known to be (nothing waits in the operator's outbox), and restarted at
    // once: the shutdown records the deliveries, which the ledger would otherwise write
    // within a second.
    eventually("its Event published and every delivery taken", || async {
        escalations_of(&harness, "first").await > 0 && harness.metrics().backlog() == 0
    })
    .await;
    harness.restart_operator().await;
    assert!(!ledger_backlog(&harness).await, "the ledger holds no delivered announcement");
    // A second drift after the restart: once it is announced, the new operator has
    // evaluated the first object too (both are listed before either is decided).
    config_maps.create(&PostParams::default(), &config_map(&ns, "second", "other")).await.unwrap();
    let second = within("the second escalation notified", async { received(&events.recv().await.unwrap().body) }).await;
    assert_eq!(second["subject"], format!("ConfigMap {ns}/second"), "the first was not notified again");
    eventually("the second's Event", || async { escalations_of(&harness, "second").await > 0 }).await;
    assert_eq!(escalations_of(&harness, "first").await, 1, "the first escalation's Event is not published again");
    assert!(events.try_recv().is_err(), "nothing else was notified");
    harness.stop().await;
}

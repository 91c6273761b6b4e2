//! Notification sinks cannot be turned against the cluster: a sink on a loopback address
//! is refused unless `--notification-allowed-cidrs` allows it, the cloud metadata address
//! is refused before any connection, and a Secret not labelled for notifications is not
//! read. Each refusal shows on the policy as `NotificationSinkReady=False`, and nothing
//! reaches the receiver. A campaign whose sink is refused says so the same way.

use driftwarden::operator::notify::NotifySettings;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};

use crate::receiver;
use crate::support::*;

/// The `NotificationSinkReady` condition of a policy: status, reason and message.
fn sink_condition(policy: &DynamicObject) -> Option<(String, String, String)> {
    let conditions = policy.data.pointer("/status/conditions")?.as_array()?;
    let found = conditions.iter().find(|c| c["type"] == "NotificationSinkReady")?;
    let text = |field: &str| found[field].as_str().unwrap_or_default().to_string();
    Some((text("status"), text("reason"), text("message")))
}

/// An Audit policy on the harness's ConfigMaps whose escalations go to the Secret `hooks`,
/// and a ConfigMap that drifts: one escalation to notify.
async fn escalate_to_hooks(harness: &Harness, config_map_name: &str) {
    let ns = harness.ns();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), ns);
    config_maps.create(&PostParams::default(), &config_map(ns, config_map_name, "other")).await.unwrap();
    let policy = drift_policy(
        ns,
        "audited",
        json!({
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"team": "shop"}}}}],
            "remediation": {"mode": "Audit"},
            "escalation": {"notify": {"urlSecretRef": {"name": "hooks", "key": "url"}, "mode": "Structured"}}
        }),
    );
    create_policy(harness, policy).await;
}

/// Waits for the policy `audited` to say its sink refused, and answers the condition's
/// reason and message.
async fn refusal(harness: &Harness) -> (String, String) {
    let policy = wait_for(&policies(harness), "audited", "NotificationSinkReady is False", |p| {
        sink_condition(p).is_some_and(|(status, ..)| status == "False")
    })
    .await;
    let (_, reason, message) = sink_condition(&policy).unwrap();
    (reason, message)
}

async fn create_secret(harness: &Harness, body: Value) {
    let secrets: Api<Secret> = Api::namespaced(harness.client(), harness.ns());
    secrets.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.unwrap();
}

#[tokio::test]
async fn a_loopback_sink_is_refused_without_the_allowed_block_and_nothing_reaches_it() {
    let mut harness = Harness::prepare().await;
    // As `driftwarden run` starts without --notification-allowed-cidrs.
    harness.start_operator_with_notify(NotifySettings::default());
    let (url, mut events) = receiver::start().await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    create_secret(&harness, receiver::hook_secret("hooks", &url)).await;
    escalate_to_hooks(&harness, "loopback").await;

    let (reason, message) = refusal(&harness).await;
    assert_eq!(reason, "AddressRefused");
    assert!(message.contains("is a loopback (127.0.0.0/8, ::1) address"), "{message}");
    assert!(message.contains(&format!("sink {}/hooks", harness.ns())), "the message names the sink: {message}");
    assert!(!message.contains("/events"), "the message does not show the URL: {message}");
    assert!(events.try_recv().is_err(), "nothing reached the receiver");
    let metrics = harness.metrics().encode();
    assert!(metrics.contains(r#"driftwarden_notifications_total{result="misconfigured"}"#), "{metrics}");
    assert!(!metrics.contains(r#"driftwarden_notifications_total{result="delivered"}"#), "{metrics}");
    harness.stop().await;
}

#[tokio::test]
async fn the_cloud_metadata_address_is_refused_before_any_connection() {
    // Loopback allowed, as in every test: the metadata address stays refused.
    let harness = Harness::start().await;
    create_secret(&harness, receiver::hook_secret("hooks", "http://169.254.169.254/latest/meta-data/iam/")).await;
    escalate_to_hooks(&harness, "metadata").await;

    // A connection attempted would end as a transport error or a timeout, neither of which
    // sets the condition; the refusal is made on the address, before connecting.
    let (reason, message) = refusal(&harness).await;
    assert_eq!(reason, "AddressRefused");
    assert!(
        message.contains(
            "not connected: 169.254.169.254 is a link-local (169.254.0.0/16, fe80::/10, where cloud metadata \
             endpoints answer) address"
        ),
        "{message}"
    );
    assert!(!message.contains("meta-data"), "the message does not show the URL: {message}");
    harness.stop().await;
}

#[tokio::test]
async fn an_unlabelled_secret_is_refused_with_a_condition_naming_it_until_it_is_labelled() {
    let harness = Harness::start().await;
    let (url, mut events) = receiver::start().await;
    let mut unlabelled = receiver::hook_secret("hooks", &url);
    unlabelled["metadata"].as_object_mut().unwrap().remove("labels");
    create_secret(&harness, unlabelled).await;
    escalate_to_hooks(&harness, "first").await;

    let (reason, message) = refusal(&harness).await;
    assert_eq!(reason, "SecretNotLabelled");
    assert!(
        message.contains(r#"Secret hooks is not labelled driftwarden.dev/notification-credentials: "true""#),
        "the message names the Secret and the label: {message}"
    );
    assert!(events.try_recv().is_err(), "nothing read from the Secret was used");

    // Labelled, the Secret is read: the next escalation goes out and the condition clears.
    let secrets: Api<Secret> = Api::namespaced(harness.client(), harness.ns());
    edit(&secrets, "hooks", json!({"metadata": {"labels": {"driftwarden.dev/notification-credentials": "true"}}}))
        .await;
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), harness.ns());
    config_maps.create(&PostParams::default(), &config_map(harness.ns(), "second", "other")).await.unwrap();
    within("an escalation delivered", events.recv()).await.expect("the receiver runs");
    wait_for(&policies(&harness), "audited", "NotificationSinkReady is True", |p| {
        sink_condition(p).is_some_and(|(status, reason, _)| status == "True" && reason == "NotificationDelivered")
    })
    .await;
    harness.stop().await;
}

#[tokio::test]
async fn a_campaign_whose_sink_is_refused_says_so() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    // Campaign sinks keep their Secret in the operator's namespace, the test's here.
    create_secret(&harness, receiver::hook_secret("campaign-hooks", "http://169.254.169.254/hook")).await;
    let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> = Api::namespaced(harness.client(), &ns);
    let account = serde_json::from_value(json!({"metadata": {"name": "builder", "labels": {"app": "shop"}}})).unwrap();
    accounts.create(&PostParams::default(), &account).await.unwrap();
    // A ServiceAccount drift touches access: its finding is Critical and notified at once.
    let policy = drift_policy(
        &ns,
        "owners",
        json!({
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ServiceAccount", "selector": {"matchLabels": {"app": "shop"}}},
                           "template": {"automountServiceAccountToken": false}}],
            "remediation": {"mode": "Audit"}
        }),
    );
    create_policy(&harness, policy).await;
    let notify = json!({"urlSecretRef": {"name": "campaign-hooks", "key": "url"}, "mode": "Structured"});
    let name =
        crate::campaigns::create_campaign(&harness, json!({"strategy": {"mode": "Manual"}, "notify": notify})).await;

    let campaign = wait_for(&crate::campaigns::campaigns(&harness), &name, "NotificationSinkReady is False", |c| {
        sink_condition(c).is_some_and(|(status, ..)| status == "False")
    })
    .await;
    let (_, reason, message) = sink_condition(&campaign).unwrap();
    assert_eq!(reason, "AddressRefused");
    assert!(message.contains("169.254.169.254 is a link-local"), "{message}");
    assert!(message.contains(&format!("sink {ns}/campaign-hooks")), "{message}");
    harness.stop().await;
}

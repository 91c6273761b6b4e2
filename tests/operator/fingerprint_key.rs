//! The installation's fingerprint key: made once in the operator's namespace, kept across
//! restarts, the one key of replicas that start together, and required before the operator
//! is ready.

use driftwarden::engine::FingerprintKey;
use driftwarden::fingerprints::{KEY_FIELD, KEY_SECRET, get_or_create};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

use crate::support::*;

/// The key Secret as it stands: uid, resourceVersion and the key's bytes.
async fn key_secret(harness: &Harness) -> Option<(String, String, Vec<u8>)> {
    let secrets: Api<Secret> = Api::namespaced(harness.client(), harness.ns());
    let secret = secrets.get_opt(KEY_SECRET).await.expect("the key Secret is read")?;
    let bytes = secret.data.as_ref().and_then(|d| d.get(KEY_FIELD)).map(|b| b.0.clone()).unwrap_or_default();
    Some((secret.metadata.uid.unwrap_or_default(), secret.metadata.resource_version.unwrap_or_default(), bytes))
}

#[tokio::test]
async fn the_key_is_made_once_and_kept_across_a_restart() {
    let mut harness = Harness::start().await;
    eventually("the operator ready", || async { harness.readiness().is_ok() }).await;
    let made = key_secret(&harness).await.expect("the operator made its key");
    assert_eq!(made.2.len(), FingerprintKey::GENERATED_LEN);

    harness.restart_operator().await;
    eventually("the restarted operator ready", || async { harness.readiness().is_ok() }).await;
    let kept = key_secret(&harness).await;
    assert_eq!(kept.as_ref(), Some(&made), "the same Secret, never written again");
    // The same bytes, so every fingerprint shown before the restart is shown the same after.
    let before = FingerprintKey::new(&made.2).unwrap().fingerprint(b"hunter2");
    assert_eq!(FingerprintKey::new(&kept.unwrap().2).unwrap().fingerprint(b"hunter2"), before);
    harness.stop().await;
}

#[tokio::test]
async fn replicas_that_start_together_converge_on_one_key() {
    let harness = Harness::prepare().await;
    // Four at once: each finds no Secret, one creates it, the others are refused (409) and
    // read the winner's.
    let keys = futures::future::join_all((0..4).map(|_| get_or_create(harness.client(), harness.ns()))).await;
    let prints: Vec<String> = keys.into_iter().map(|key| key.unwrap().fingerprint(b"hunter2")).collect();
    let (uid, version, bytes) = key_secret(&harness).await.expect("one of them made the key");
    let stored = FingerprintKey::new(&bytes).unwrap().fingerprint(b"hunter2");
    assert!(prints.iter().all(|print| *print == stored), "{prints:?} vs {stored}");

    // Two operator replicas start on the key that is there and leave it as it is.
    let replicas = [replica(&harness, "replica-a"), replica(&harness, "replica-b")];
    for (_, _, services) in &replicas {
        eventually("each replica ready", || async { services.health.is_ready() }).await;
    }
    assert_eq!(key_secret(&harness).await, Some((uid, version, bytes)), "the key is neither made again nor changed");
    for (stop, task, _) in replicas {
        let _ = stop.send(true);
        task.await.unwrap();
    }
    harness.stop().await;
}

#[tokio::test]
async fn without_a_usable_key_the_operator_is_not_ready_and_says_why() {
    let mut harness = Harness::prepare().await;
    let secrets: Api<Secret> = Api::namespaced(harness.client(), harness.ns());
    let unusable: Secret =
        serde_json::from_value(json!({"metadata": {"name": KEY_SECRET}, "data": {KEY_FIELD: "c2hvcnQ="}})).unwrap();
    secrets.create(&PostParams::default(), &unusable).await.unwrap();
    harness.start_operator();
    eventually("not ready, saying why", || async {
        harness.readiness().is_err_and(|why| why.contains("no usable fingerprint key") && why.contains(KEY_SECRET))
    })
    .await;
    let (_, _, bytes) = key_secret(&harness).await.unwrap();
    assert_eq!(bytes, b"short", "a key once written is never overwritten");

    // Deleted by a person, the Secret is made anew and the operator gets ready.
    secrets.delete(KEY_SECRET, &DeleteParams::default()).await.unwrap();
    eventually("ready with a new key", || async { harness.readiness().is_ok() }).await;
    let (_, _, bytes) = key_secret(&harness).await.expect("a new key");
    assert_eq!(bytes.len(), FingerprintKey::GENERATED_LEN);
    harness.stop().await;
}

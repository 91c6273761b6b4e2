//! Drift of an immutable field: escalated by default, fixed by deleting and creating the
//! object again only when the policy lists `Recreate` in `autoRemediate`.

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

/// A Secret of a type the policy does not want, with data that must survive a recreation.
fn legacy_secret(ns: &str) -> Secret {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "api", "namespace": ns, "labels": {"app": "shop"}},
        "type": "example.com/legacy",
        "data": {"token": "c2VjcmV0"}
    }))
    .unwrap()
}

fn type_policy(ns: &str, remediation: Value) -> Value {
    drift_policy(
        ns,
        "secret-types",
        json!({
            "baselines": [{"name": "opaque",
                "match": {"apiVersion": "v1", "kind": "Secret", "names": ["api"]},
                "template": {"type": "Opaque"}}],
            "remediation": remediation
        }),
    )
}

#[tokio::test]
async fn an_immutable_field_is_escalated_by_default_and_nothing_is_deleted() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    let created = secrets.create(&PostParams::default(), &legacy_secret(&ns)).await.unwrap();
    create_policy(&harness, type_policy(&ns, json!({}))).await;

    let policy = wait_for(&policies(&harness), "secret-types", "escalated", |p| {
        condition(p, "Escalated").is_some_and(|(s, _)| s == "True")
    })
    .await;
    let drift = &policy.data["status"]["drifts"][0];
    assert_eq!(drift["class"], "Recreate");
    assert_eq!(drift["action"], "Escalate");
    let live = secrets.get("api").await.unwrap();
    assert_eq!(live.metadata.uid, created.metadata.uid, "the object was not deleted");
    assert_eq!(live.type_.as_deref(), Some("example.com/legacy"));
    assert_eq!(status_number(&policy, "remediated"), 0);
    harness.stop().await;
}

#[tokio::test]
async fn an_immutable_field_is_fixed_by_recreating_the_object_when_the_policy_allows_it() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    let created = secrets.create(&PostParams::default(), &legacy_secret(&ns)).await.unwrap();
    // The API server refuses to change the type in place: a fix must recreate the Secret.
    let refused = secrets
        .patch("api", &PatchParams::default(), &Patch::Merge(json!({"type": "Opaque"})))
        .await
        .expect_err("a Secret's type is immutable");
    assert!(matches!(&refused, kube::Error::Api(status) if status.code == 422), "{refused}");

    create_policy(&harness, type_policy(&ns, json!({"autoRemediate": ["Metadata", "Spec", "Recreate"]}))).await;
    let recreated = wait_for(&secrets, "api", "recreated as Opaque", |s| s.type_.as_deref() == Some("Opaque")).await;
    assert_ne!(recreated.metadata.uid, created.metadata.uid, "a new object");
    assert_eq!(recreated.data, created.data, "the data survives the recreation");
    assert_eq!(recreated.metadata.labels, created.metadata.labels);
    let managers: Vec<_> =
        recreated.metadata.managed_fields.iter().flatten().filter_map(|m| m.manager.clone()).collect();
    assert!(managers.contains(&"driftwarden".to_string()), "created by driftwarden: {managers:?}");

    let policy = wait_for(&policies(&harness), "secret-types", "remediated and compliant", |p| {
        status_number(p, "remediated") == 1 && condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(status_number(&policy, "escalated"), 0);
    let events: Api<Event> = Api::namespaced(harness.client(), &ns);
    let new_uid = recreated.metadata.uid.clone().unwrap();
    eventually("a Remediated Event says the Secret was recreated", || async {
        events.list(&ListParams::default()).await.is_ok_and(|list| {
            list.items.iter().any(|e| {
                e.reason.as_deref() == Some("Remediated")
                    && e.note.as_deref().is_some_and(|n| n.contains("recreated") && n.contains(&new_uid))
            })
        })
    })
    .await;
    harness.stop().await;
}

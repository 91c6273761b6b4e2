//! Two replicas: one leads and reconciles; when it shuts down, the other takes over.

use driftwarden::operator::Services;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::support::*;

fn leads(services: &Services) -> bool {
    services.metrics.encode().lines().any(|line| line == "driftwarden_leader 1")
}

async fn wait_for_holder(harness: &Harness, pred: impl Fn(&str) -> bool) -> String {
    let leases: Api<Lease> = Api::namespaced(harness.client(), harness.ns());
    let lease = wait_for(&leases, "driftwarden-leader", "a leader", move |lease: &Lease| {
        lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()).is_some_and(&pred)
    })
    .await;
    lease.spec.and_then(|s| s.holder_identity).unwrap_or_default()
}

#[tokio::test]
async fn one_replica_leads_and_the_other_takes_over_on_shutdown() {
    let harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await.unwrap();
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    let a = replica(&harness, "replica-a");
    let b = replica(&harness, "replica-b");
    let first = wait_for_holder(&harness, |_| true).await;

    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "other"}}})).await;
    wait_for(&config_maps, "settings", "fixed by the leader", |cm| team_is(cm, "shop")).await;

    let ((stop_leader, leader, leader_services), (stop_standby, standby, standby_services)) =
        if first == "replica-a" { (a, b) } else { (b, a) };
    // Both replicas are ready, so a PodDisruptionBudget lets a rollout proceed; only one
    // leads, as the gauge says.
    eventually("the leader ready", || async { leader_services.health.is_ready() }).await;
    eventually("the standby ready", || async { standby_services.health.is_ready() }).await;
    assert!(leads(&leader_services), "{}", leader_services.metrics.encode());
    assert!(!leads(&standby_services), "{}", standby_services.metrics.encode());

    let _ = stop_leader.send(true);
    leader.await.unwrap();
    assert!(!leader_services.health.is_ready(), "a stopped replica is not ready");
    assert!(!leads(&leader_services), "a stopped replica does not lead");
    let second = wait_for_holder(&harness, |h| h != first).await;
    assert_ne!(second, first);

    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "again"}}})).await;
    wait_for(&config_maps, "settings", "fixed by the new leader", |cm| team_is(cm, "shop")).await;
    assert!(leads(&standby_services), "the new leader's gauge: {}", standby_services.metrics.encode());
    eventually("the new leader ready", || async { standby_services.health.is_ready() }).await;
    let _ = stop_standby.send(true);
    standby.await.unwrap();
}

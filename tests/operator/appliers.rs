//! Appliers respected: a drifted field last written by a declared applier (Argo CD, Flux,
//! Helm, or those an installation or policy names) is a `Conflict` escalated to its owner
//! and never fixed; a person's edit or server-side apply is drift, fixed per its class.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::*;

/// A server-side apply of the `team` label by field manager `manager`, as that tool makes it.
async fn apply_team(config_maps: &Api<ConfigMap>, name: &str, manager: &str, team: &str) {
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"team": team}}});
    config_maps.patch(name, &PatchParams::apply(manager).force(), &Patch::Apply(&body)).await.expect("applied");
}

/// An update of the `team` label by field manager `manager` (Helm 3 writes with `Update`).
async fn update_team(config_maps: &Api<ConfigMap>, name: &str, manager: &str, team: &str) {
    let patch = json!({"metadata": {"labels": {"team": team}}});
    let params = PatchParams { field_manager: Some(manager.into()), ..Default::default() };
    config_maps.patch(name, &params, &Patch::Merge(&patch)).await.expect("updated");
}

fn drift_of<'a>(policy: &'a kube::api::DynamicObject, name: &str) -> &'a serde_json::Value {
    policy.data["status"]["drifts"]
        .as_array()
        .and_then(|drifts| drifts.iter().find(|d| d["target"]["name"] == name))
        .unwrap_or_else(|| panic!("no drift of {name}: {:#}", policy.data["status"]))
}

/// The ConfigMaps `names` of the harness's namespace, compliant, under the owners policy
/// once it says so.
async fn governed(harness: &Harness, names: &[&str]) -> Api<ConfigMap> {
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for name in names {
        config_maps.create(&PostParams::default(), &config_map(&ns, name, "shop")).await.unwrap();
    }
    create_policy(harness, owners_policy(&ns, json!({}))).await;
    wait_for(&policies(harness), "owners", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    config_maps
}

#[tokio::test]
async fn fields_of_argo_cd_flux_and_helm_are_conflicts_and_a_persons_server_side_apply_is_fixed() {
    let harness = Harness::start().await;
    let config_maps = governed(&harness, &["argo", "flux", "helm", "person"]).await;

    apply_team(&config_maps, "argo", "argocd-controller", "argo-team").await;
    apply_team(&config_maps, "flux", "kustomize-controller", "flux-team").await;
    update_team(&config_maps, "helm", "helm", "helm-team").await;
    apply_team(&config_maps, "person", "kubectl", "someone").await;

    wait_for(&config_maps, "person", "a person's server-side apply fixed", |cm| team_is(cm, "shop")).await;
    let policy = wait_for(&policies(&harness), "owners", "three conflicts escalated, one fix", |p| {
        status_number(p, "escalated") == 3 && status_number(p, "remediated") == 1
    })
    .await;
    for (name, manager, team) in [
        ("argo", "argocd-controller", "argo-team"),
        ("flux", "kustomize-controller", "flux-team"),
        ("helm", "helm", "helm-team"),
    ] {
        let drift = drift_of(&policy, name);
        assert_eq!(drift["action"], "Escalate", "{drift}");
        let reason = drift["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(&format!("owned by {manager}")), "{name}: {reason}");
        assert_eq!(drift["changedBy"], manager, "{drift}");
        // The owner is the team the object's labels name (`team` is an owner label).
        assert_eq!(drift["owner"], team, "{drift}");
        assert!(team_is(&config_maps.get(name).await.unwrap(), team), "{name} is never fixed");
    }
    harness.stop().await;
}

#[tokio::test]
async fn a_policy_names_its_own_appliers_and_the_installation_its_defaults() {
    let mut harness = Harness::prepare().await;
    harness.start_operator_tweaked(harness.client(), |settings| {
        settings.appliers = vec!["platform-bot".to_string(), "argocd-controller".to_string()];
    });
    let config_maps = governed(&harness, &["argo", "bot", "flux"]).await;
    apply_team(&config_maps, "argo", "argocd-controller", "argo-team").await;
    apply_team(&config_maps, "bot", "platform-bot", "bot-team").await;
    // Not an applier of this installation: Flux's field is fixed.
    apply_team(&config_maps, "flux", "kustomize-controller", "flux-team").await;
    wait_for(&config_maps, "flux", "fixed", |cm| team_is(cm, "shop")).await;
    let policy = wait_for(&policies(&harness), "owners", "two conflicts", |p| status_number(p, "escalated") == 2).await;
    assert!(drift_of(&policy, "bot")["reason"].as_str().unwrap_or_default().contains("platform-bot"));

    // The policy's own list replaces the installation's: only platform-bot now.
    let patch = json!({"spec": {"remediation": {"appliers": ["platform-bot"]}}});
    policies(&harness).patch("owners", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    wait_for(&config_maps, "argo", "Argo CD's field fixed under the policy's list", |cm| team_is(cm, "shop")).await;
    let policy = wait_for(&policies(&harness), "owners", "one conflict", |p| status_number(p, "escalated") == 1).await;
    assert!(drift_of(&policy, "bot")["reason"].as_str().unwrap_or_default().contains("platform-bot"));
    assert!(team_is(&config_maps.get("bot").await.unwrap(), "bot-team"));
    harness.stop().await;
}

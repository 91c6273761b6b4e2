//! A permission the operator lacks is surfaced on the policy, naming the verb and the
//! resource, and the operator keeps serving what it may do.

use std::error::Error;

use driftwarden::require_sandbox;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_missing_permission_is_forbidden_on_the_policy_and_others_keep_working() -> Result<(), Box<dyn Error>> {
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let identity = require_sandbox!(harness.cluster.add_service_account(&ns, "driftwarden"));
    let roles: Api<ClusterRole> = Api::all(harness.client());
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": format!("driftwarden-{ns}")},
        "rules": [
            {"apiGroups": ["driftwarden.dev"], "resources": ["driftpolicies", "clusterdriftpolicies", "driftexceptions"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["driftwarden.dev"], "resources": ["driftpolicies/status", "clusterdriftpolicies/status"], "verbs": ["get", "patch"]},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "patch"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]}
        ]
    }))
    .unwrap();
    roles.create(&PostParams::default(), &role).await.unwrap();
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": format!("driftwarden-{ns}")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("driftwarden-{ns}")},
        "subjects": [{"kind": "ServiceAccount", "name": "driftwarden", "namespace": ns}]
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(harness.client()).create(&PostParams::default(), &binding).await.unwrap();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await.unwrap();
    create_policy(
        &harness,
        drift_policy(&ns, "deployments", json!({"baselines": [{"match": {"apiVersion": "apps/v1", "kind": "Deployment"}, "template": {"metadata": {"labels": {"team": "shop"}}}}]})),
    )
    .await;
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    let client = harness.cluster.client_as(&identity)??;
    harness.start_operator_as(client);

    let forbidden = wait_for(&policies(&harness), "deployments", "forbidden", |p| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == "Forbidden")
    })
    .await;
    let message = forbidden.data["status"]["conditions"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("list") && message.contains("deployments"), "{message}");
    wait_for(&config_maps, "settings", "the permitted policy still fixes", |cm| {
        cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    })
    .await;
    harness.stop().await;
    Ok(())
}

#[tokio::test]
async fn a_fix_without_patch_permission_is_forbidden_on_the_policy_until_granted() -> Result<(), Box<dyn Error>> {
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let identity = require_sandbox!(harness.cluster.add_service_account(&ns, "driftwarden"));
    let name = format!("driftwarden-write-{ns}");
    let role = |config_map_verbs: &[&str]| -> ClusterRole {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "rules": [
                {"apiGroups": ["driftwarden.dev"], "resources": ["driftpolicies", "clusterdriftpolicies", "driftexceptions", "remediationcampaigns", "findings"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["driftwarden.dev"], "resources": ["driftpolicies/status", "clusterdriftpolicies/status"], "verbs": ["get", "patch"]},
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": config_map_verbs},
                {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]}
            ]
        }))
        .unwrap()
    };
    let roles: Api<ClusterRole> = Api::all(harness.client());
    roles.create(&PostParams::default(), &role(&["get", "list", "watch"])).await?;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": "driftwarden", "namespace": ns}]
    }))?;
    Api::<ClusterRoleBinding>::all(harness.client()).create(&PostParams::default(), &binding).await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await?;
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    harness.start_operator_as(harness.cluster.client_as(&identity)??);

    let forbidden = wait_for(&policies(&harness), "owners", "forbidden to patch", |p| {
        condition(p, "Ready").is_some_and(|(s, r)| s == "False" && r == "Forbidden")
    })
    .await;
    let message = forbidden.data["status"]["conditions"][0]["message"].as_str().unwrap_or_default().to_string();
    assert!(message.contains("may not patch configmaps in namespace"), "{message}");
    assert_eq!(condition(&forbidden, "Stalled").map(|(s, _)| s), Some("True".into()));
    assert!(team_is(&config_maps.get("settings").await?, "other"), "nothing was changed");

    // Granted patch, the retried fix goes through and the policy is ready again.
    let granted = serde_json::to_value(role(&["get", "list", "watch", "patch"]))?;
    roles.patch(&name, &PatchParams::default(), &Patch::Merge(&json!({"rules": granted["rules"]}))).await?;
    wait_for(&config_maps, "settings", "fixed once permitted", |cm| team_is(cm, "shop")).await;
    wait_for(&policies(&harness), "owners", "ready again", |p| condition(p, "Ready").is_some_and(|(s, _)| s == "True"))
        .await;
    harness.stop().await;
    Ok(())
}

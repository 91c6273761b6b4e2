//! A permission the operator lacks is surfaced on the policy, naming the verb and the
//! resource, and the operator keeps serving what it may do.

use std::error::Error;

use driftwarden_sandbox::require_sandbox;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::*;

/// Binds the ClusterRole `role` to the test's `driftwarden` ServiceAccount, under the
/// role's name.
async fn bind_the_operator(harness: &Harness, role: &str) {
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": role},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "driftwarden", "namespace": harness.ns()}]
    }))
    .unwrap();
    Api::<ClusterRoleBinding>::all(harness.client()).create(&PostParams::default(), &binding).await.expect("bound");
}

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
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
            // The fingerprint key, made once in the operator's namespace.
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["driftwarden-fingerprint-key"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}
        ]
    }))
    .unwrap();
    roles.create(&PostParams::default(), &role).await.unwrap();
    bind_the_operator(&harness, &format!("driftwarden-{ns}")).await;
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
                {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
                // The fingerprint key, made once in the operator's namespace.
                {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["driftwarden-fingerprint-key"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}
            ]
        }))
        .unwrap()
    };
    let roles: Api<ClusterRole> = Api::all(harness.client());
    roles.create(&PostParams::default(), &role(&["get", "list", "watch"])).await?;
    bind_the_operator(&harness, &name).await;
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

#[tokio::test]
async fn a_check_fix_without_patch_permission_is_forbidden_on_the_campaign_until_granted() -> Result<(), Box<dyn Error>>
{
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let identity = require_sandbox!(harness.cluster.add_service_account(&ns, "driftwarden"));
    let name = format!("driftwarden-check-{ns}");
    // Everything an identity check reads, and the campaign's own writes; ServiceAccounts
    // may be patched only once `account_verbs` says so.
    let role = |account_verbs: &[&str]| -> ClusterRole {
        serde_json::from_value(json!({
            "metadata": {"name": name},
            "rules": [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["driftwarden.dev"], "resources": ["findings"], "verbs": ["create", "patch", "delete"]},
                {"apiGroups": ["driftwarden.dev"], "resources": ["findings/status", "remediationcampaigns/status"], "verbs": ["patch"]},
                {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": account_verbs},
                {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
                // The fingerprint key, made once in the operator's namespace.
                {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["driftwarden-fingerprint-key"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}
            ]
        }))
        .unwrap()
    };
    let roles: Api<ClusterRole> = Api::all(harness.client());
    roles.create(&PostParams::default(), &role(&["get"])).await?;
    bind_the_operator(&harness, &name).await;
    // An account no workload uses: turning its token automount off is the one automatic fix.
    let accounts: Api<ServiceAccount> = Api::namespaced(harness.client(), &ns);
    accounts.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "builder"}}))?).await?;
    let campaigns: Api<DynamicObject> =
        Api::all_with(harness.client(), &ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&()));
    let campaign = format!("{ns}-automount");
    let body: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign", "metadata": {"name": campaign},
        "spec": {"objective": "No token where none is needed", "owner": {"team": "security"},
                 "control": {"check": {"name": "ServiceAccountTokenAutomount"}}, "scope": {"namespaces": [ns]},
                 "deadline": "2099-01-01T00:00:00Z", "strategy": {"mode": "Auto", "waveInterval": "1s"}}
    }))?;
    campaigns.create(&PostParams::default(), &body).await?;
    harness.start_operator_as(harness.cluster.client_as(&identity)??);

    let forbidden = wait_for(&campaigns, &campaign, "forbidden to patch", |c| {
        condition(c, "Ready").is_some_and(|(s, r)| s == "False" && r == "Forbidden")
    })
    .await;
    let conditions = forbidden.data["status"]["conditions"].as_array().cloned().unwrap_or_default();
    let ready = conditions.iter().find(|c| c["type"] == "Ready").cloned().unwrap_or_default();
    let message = ready["message"].as_str().unwrap_or_default();
    assert!(message.contains("may not patch serviceaccounts in namespace"), "{message}");
    let builder = accounts.get("builder").await?;
    assert_eq!(builder.automount_service_account_token, None, "nothing was changed");

    // Granted patch, the next wave's fix goes through and the campaign is ready again.
    let granted = serde_json::to_value(role(&["get", "patch"]))?;
    roles.patch(&name, &PatchParams::default(), &Patch::Merge(&json!({"rules": granted["rules"]}))).await?;
    wait_for(&accounts, "builder", "automount turned off once permitted", |a| {
        a.automount_service_account_token == Some(false)
    })
    .await;
    wait_for(&campaigns, &campaign, "ready again", |c| condition(c, "Ready").is_some_and(|(s, _)| s == "True")).await;
    campaigns.delete(&campaign, &Default::default()).await?;
    harness.stop().await;
    Ok(())
}

//! A DriftPolicy governs its own namespace only, whatever it names: objects of another
//! namespace and cluster-scoped objects are never read into it nor changed by it.

use std::error::Error;

use driftwarden_sandbox::require_sandbox;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_namespaced_policy_never_touches_another_namespace_or_cluster_objects() -> Result<(), Box<dyn Error>> {
    let mut harness = Harness::prepare().await;
    require_sandbox!(harness.sandbox());
    let ns = harness.ns().to_string();
    let other = harness.cluster.temp_namespace().await?;
    let other_ns = other.name().to_string();
    let here: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    let there: Api<ConfigMap> = Api::namespaced(harness.client(), &other_ns);
    here.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await?;
    // Labelled like the one the healthy policy governs, but in another namespace.
    there.create(&PostParams::default(), &config_map(&other_ns, "settings", "other")).await?;
    let role_name = format!("reader-{ns}");
    let roles: Api<ClusterRole> = Api::all(harness.client());
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": role_name, "labels": {"team": "other"}},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]
    }))?;
    roles.create(&PostParams::default(), &role).await?;
    let there_before = there.get("settings").await?.metadata.resource_version;
    let role_before = roles.get(&role_name).await?.metadata.resource_version;

    // A baseline naming another namespace is refused by the API server already.
    let naming_namespaces = drift_policy(
        &ns,
        "reach",
        json!({"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "namespaces": [other_ns]},
                              "template": {"metadata": {"labels": {"team": "reach"}}}}]}),
    );
    let refused = policies(&harness)
        .create(&PostParams::default(), &serde_json::from_value::<DynamicObject>(naming_namespaces)?)
        .await
        .expect_err("the schema refuses namespaces in a DriftPolicy");
    assert!(refused.to_string().contains("governs its own namespace only"), "{refused}");
    // What the schema cannot tell, the operator refuses: a resource in another namespace,
    // and a cluster-scoped kind.
    create_policy(
        &harness,
        drift_policy(
            &ns,
            "reach",
            json!({
                "resources": [{"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "settings", "namespace": other_ns, "labels": {"team": "reach"}}}],
                "baselines": [
                    {"match": {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "names": [role_name]},
                     "template": {"metadata": {"labels": {"team": "reach"}}}}
                ]
            }),
        ),
    )
    .await;
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    harness.sandbox()?.clear_requests();
    harness.start_operator();

    let why = [
        format!(
            "spec.resources[0]: metadata.namespace \"{other_ns}\": a DriftPolicy governs its own namespace ({ns}) only"
        ),
        "spec.baselines[0].match: ClusterRole is cluster-scoped: only a ClusterDriftPolicy can govern it".to_string(),
    ];
    wait_invalid(&harness, "reach", &why).await;
    // The healthy policy fixes its own namespace's ConfigMap, and only that one.
    wait_for(&here, "settings", "fixed in the policy's namespace", |cm| team_is(cm, "shop")).await;
    wait_for(&policies(&harness), "owners", "one target, fixed", |p| {
        status_number(p, "targets") == 1 && status_number(p, "remediated") == 1
    })
    .await;
    assert_eq!(there.get("settings").await?.metadata.resource_version, there_before, "the other namespace's ConfigMap");
    assert_eq!(roles.get(&role_name).await?.metadata.resource_version, role_before, "the ClusterRole");
    let writes: Vec<_> = harness
        .sandbox()?
        .requests()
        .into_iter()
        .filter(|r| matches!(r.verb.as_str(), "patch" | "create" | "update" | "delete"))
        .filter(|r| r.namespace == other_ns || r.resource == "clusterroles")
        .collect();
    assert!(writes.is_empty(), "nothing was written outside the policy's namespace: {writes:#?}");
    harness.stop().await;
    Ok(())
}

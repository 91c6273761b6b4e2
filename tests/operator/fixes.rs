//! Drift that may be fixed is fixed, then verified against a fresh read.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn label_drift_is_fixed_and_verified() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "shop")).await.unwrap();
    create_policy(
        &harness,
        drift_policy(
            &ns,
            "owners",
            json!({"baselines": [{
                "name": "team-label",
                "match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                "template": {"metadata": {"labels": {"team": "shop"}}}
            }]}),
        ),
    )
    .await;
    let policy = wait_for(&policies(&harness), "owners", "Ready and compliant", |p| {
        condition(p, "Ready").is_some_and(|(s, _)| s == "True")
            && condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(status_number(&policy, "targets"), 1);

    edit(&config_maps, "settings", json!({"metadata": {"labels": {"team": "someone-else"}}})).await;
    let fixed = wait_for(&config_maps, "settings", "label restored", |cm| {
        cm.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    })
    .await;
    let managers: Vec<_> = fixed.metadata.managed_fields.iter().flatten().filter_map(|m| m.manager.clone()).collect();
    assert!(managers.contains(&"driftwarden".to_string()), "fixed with field manager driftwarden: {managers:?}");
    let policy =
        wait_for(&policies(&harness), "owners", "remediation counted", |p| status_number(p, "remediated") == 1).await;
    assert!(policy.data.pointer("/status/lastRemediationTime").is_some());
    assert_eq!(condition(&policy, "Compliant").map(|(s, _)| s), Some("True".into()));
    // The evidence of the fix: what was read back, with the hashes that prove it.
    let fixes = policy.data["status"]["fixes"].as_array().expect("the fix is on record");
    assert_eq!(fixes.len(), 1, "{fixes:#?}");
    let fix = &fixes[0];
    assert_eq!(fix["target"]["name"], "settings");
    assert_eq!(fix["paths"], json!(["/metadata/labels/team"]));
    assert_eq!((fix["action"].as_str(), fix["result"].as_str()), (Some("Verified"), Some("Succeeded")));
    assert_eq!(fix["actor"], "driftwarden");
    assert_eq!(fix["class"], "Metadata");
    assert_eq!(fix["resourceVersion"].as_str(), fixed.metadata.resource_version.as_deref(), "the version read back");
    assert_eq!(fix["desiredHash"], fix["liveHash"], "verified: the live value hashes as the declared one");
    assert_eq!(fix["desiredHash"].as_str().map(str::len), Some(64));
    // The history: the counts when the policy started and after the fix.
    let history = policy.data["status"]["history"].as_array().expect("a history");
    assert!(!history.is_empty());
    assert_eq!(history.last().unwrap()["remediated"], 1, "{history:#?}");
    harness.stop().await;
}

fn deployment(ns: &str, name: &str) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"team": "shop", "version": "v1"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "shop/web:1.4.2"}]}}
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn ignored_paths_and_fields_owned_by_ignored_managers_are_left_alone() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let deployments: Api<Deployment> = Api::namespaced(harness.client(), &ns);
    deployments.create(&PostParams::default(), &deployment(&ns, "web")).await.unwrap();
    create_policy(
        &harness,
        drift_policy(
            &ns,
            "web",
            json!({
                "baselines": [{
                    "match": {"apiVersion": "apps/v1", "kind": "Deployment"},
                    "template": {"metadata": {"labels": {"team": "shop", "version": "v1"}}, "spec": {"replicas": 2}}
                }],
                "ignore": [{"paths": ["/metadata/labels/version"]}, {"managers": ["hpa-controller"]}]
            }),
        ),
    )
    .await;
    wait_for(&policies(&harness), "web", "compliant", |p| condition(p, "Compliant").is_some_and(|(s, _)| s == "True"))
        .await;

    // An autoscaler owns replicas; a release tool bumps the version label.
    let params = |manager: &str| kube::api::PatchParams { field_manager: Some(manager.into()), ..Default::default() };
    deployments
        .patch("web", &params("hpa-controller"), &kube::api::Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .unwrap();
    edit(&deployments, "web", json!({"metadata": {"labels": {"version": "v2"}}})).await;
    // A real drift after them proves the operator saw both and left them alone.
    edit(&deployments, "web", json!({"metadata": {"labels": {"team": "other"}}})).await;
    wait_for(&deployments, "web", "team label restored", |d| {
        d.metadata.labels.as_ref().and_then(|l| l.get("team")).is_some_and(|t| t == "shop")
    })
    .await;
    let live = deployments.get("web").await.unwrap();
    assert_eq!(live.spec.replicas, Some(5), "replicas owned by the autoscaler are not governed");
    assert_eq!(live.metadata.labels.unwrap()["version"], "v2", "an ignored path is not governed");
    harness.stop().await;
}

#[tokio::test]
async fn a_missing_object_is_created_when_create_is_allowed() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    create_policy(
        &harness,
        drift_policy(&ns, "flags", json!({
                "resources": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flags", "labels": {"team": "shop"}}, "data": {"beta": "false"}}],
                "remediation": {"autoRemediate": ["Metadata", "Spec", "Create"]}
            })),
    )
    .await;
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    let created = wait_for(&config_maps, "flags", "created", |_| true).await;
    assert_eq!(created.data.unwrap()["beta"], "false");
    let policy = wait_for(&policies(&harness), "flags", "compliant after the create", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True") && status_number(p, "remediated") == 1
    })
    .await;
    assert_eq!(status_number(&policy, "targets"), 1);
    harness.stop().await;
}

/// The cache keeps only governed fields; a policy edit that governs more relists the kind
/// first, so field ownership of the newly governed fields is known before anything is fixed.
#[tokio::test]
async fn a_policy_edit_that_governs_more_fields_sees_their_owners() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let deployments: Api<Deployment> = Api::namespaced(harness.client(), &ns);
    deployments.create(&PostParams::default(), &deployment(&ns, "web")).await.unwrap();
    let params = |manager: &str| kube::api::PatchParams { field_manager: Some(manager.into()), ..Default::default() };
    deployments
        .patch("web", &params("hpa-controller"), &kube::api::Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .unwrap();
    let baseline = |template: serde_json::Value| {
        json!({
            "baselines": [{"match": {"apiVersion": "apps/v1", "kind": "Deployment"}, "template": template}],
            "ignore": [{"managers": ["hpa-controller"]}]
        })
    };
    create_policy(&harness, drift_policy(&ns, "web", baseline(json!({"metadata": {"labels": {"team": "shop"}}}))))
        .await;
    wait_for(&policies(&harness), "web", "compliant", |p| condition(p, "Compliant").is_some_and(|(s, _)| s == "True"))
        .await;

    // Now replicas are governed too, and the autoscaler owns them.
    policies(&harness)
        .patch(
            "web",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"spec": baseline(json!({"metadata": {"labels": {"team": "shop"}}, "spec": {"replicas": 2}}))}),
            ),
        )
        .await
        .unwrap();
    let policy = wait_for(&policies(&harness), "web", "compliant at the new generation", |p| {
        p.data["status"]["observedGeneration"] == 2 && condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    assert_eq!(status_number(&policy, "remediated"), 0);
    assert_eq!(
        deployments.get("web").await.unwrap().spec.replicas,
        Some(5),
        "the autoscaler's replicas are left alone"
    );
    harness.stop().await;
}

#[tokio::test]
async fn a_policy_edit_relists_a_kind_only_when_it_governs_new_fields() -> Result<(), Box<dyn std::error::Error>> {
    let mut harness = Harness::prepare().await;
    let identity =
        driftwarden_sandbox::require_sandbox!(harness.cluster.add_user("driftwarden-edits", &["system:masters"]));
    let operator = harness.cluster.client_as(&identity)??;
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    for name in ["a", "b", "c"] {
        config_maps.create(&PostParams::default(), &config_map(&ns, name, "shop")).await?;
    }
    create_policy(&harness, owners_policy(&ns, json!({}))).await;
    harness.start_operator_as(operator);
    wait_for(&policies(&harness), "owners", "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True")
    })
    .await;
    let lists = |harness: &Harness| -> Result<usize, driftwarden_sandbox::testing::Skipped> {
        Ok(harness
            .sandbox()?
            .requests()
            .iter()
            .filter(|r| r.user == "driftwarden-edits" && r.verb == "list" && r.resource == "configmaps")
            .count())
    };
    let edit_template = |template: serde_json::Value| {
        json!({"spec": {"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "selector": {"matchLabels": {"app": "shop"}}},
                                       "template": template}]}})
    };
    let patch = |body: serde_json::Value| {
        let policies = policies(&harness);
        async move { policies.patch("owners", &PatchParams::default(), &Patch::Merge(&body)).await }
    };

    // A new value for a field already governed: every target is re-evaluated from the
    // cache and fixed, with no list call.
    harness.sandbox()?.clear_requests();
    patch(edit_template(json!({"metadata": {"labels": {"team": "web"}}}))).await?;
    for name in ["a", "b", "c"] {
        wait_for(&config_maps, name, "fixed to the edited value", |cm| team_is(cm, "web")).await;
    }
    wait_for(&policies(&harness), "owners", "three fixes at generation 2", |p| {
        p.data["status"]["observedGeneration"] == 2 && status_number(p, "remediated") == 3
    })
    .await;
    assert_eq!(lists(&harness)?, 0, "an edit governing no new field lists nothing");

    // A field the cache does not keep: the kind is listed again to learn it.
    patch(edit_template(json!({"metadata": {"labels": {"team": "web", "tier": "front"}}}))).await?;
    for name in ["a", "b", "c"] {
        wait_for(&config_maps, name, "the new field fixed", |cm| {
            cm.metadata.labels.as_ref().and_then(|l| l.get("tier")).is_some_and(|t| t == "front")
        })
        .await;
    }
    assert_eq!(lists(&harness)?, 1, "an edit governing a new field relists the kind once");
    harness.stop().await;
    Ok(())
}

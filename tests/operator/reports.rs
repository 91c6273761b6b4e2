//! Results published as `wgpolicyk8s.io/v1alpha2` PolicyReports when their CRDs are served.

use driftwarden_sandbox::testing::install_crds;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};

use crate::support::*;

/// A minimal PolicyReport or ClusterPolicyReport CRD: the real ones validate more, but
/// driftwarden's reports do not depend on it.
fn report_crd(kind: &str, plural: &str, scope: &str) -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.wgpolicyk8s.io")},
        "spec": {
            "group": "wgpolicyk8s.io", "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "versions": [{"name": "v1alpha2", "served": true, "storage": true,
                          "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
        }
    }))
    .unwrap()
}

pub(crate) async fn install_report_crds(harness: &Harness) {
    install_crds(
        &harness.client(),
        &[
            report_crd("PolicyReport", "policyreports", "Namespaced"),
            report_crd("ClusterPolicyReport", "clusterpolicyreports", "Cluster"),
        ],
    )
    .await
    .expect("report CRDs installed");
}

pub(crate) fn report_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "wgpolicyk8s.io".into(),
        version: "v1alpha2".into(),
        api_version: "wgpolicyk8s.io/v1alpha2".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn namespaced_reports(harness: &Harness) -> Api<DynamicObject> {
    Api::namespaced_with(harness.client(), harness.ns(), &report_resource("PolicyReport", "policyreports"))
}

/// The report's result for the object named `name`, if any.
fn result_for<'a>(report: &'a DynamicObject, name: &str) -> Option<&'a Value> {
    report.data["results"].as_array()?.iter().find(|r| r["resources"][0]["name"] == name)
}

#[tokio::test]
async fn results_are_published_per_namespace_and_removed_with_the_policy() {
    let mut harness = Harness::prepare().await;
    install_report_crds(&harness).await;
    harness.start_operator();
    let ns = harness.ns().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "compliant", "shop")).await.unwrap();
    let escalated = config_maps.create(&PostParams::default(), &config_map(&ns, "escalated", "other")).await.unwrap();
    // Labels are Metadata: with only Spec fixed automatically, the wrong team is escalated.
    create_policy(&harness, owners_policy(&ns, json!({"autoRemediate": ["Spec"]}))).await;

    let report = wait_for(&namespaced_reports(&harness), "driftwarden", "one pass and one fail", |r| {
        r.data["summary"] == json!({"pass": 1, "fail": 1, "warn": 0, "error": 0, "skip": 0})
    })
    .await;
    let labels = report.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("app.kubernetes.io/managed-by").map(String::as_str), Some("driftwarden"));
    let pass = result_for(&report, "compliant").expect("a result for the compliant object");
    assert_eq!(pass["result"], "pass");
    assert_eq!(pass["policy"], format!("{ns}/owners"));
    assert_eq!(pass["source"], "driftwarden");
    let fail = result_for(&report, "escalated").expect("a result for the escalated object");
    assert_eq!(fail["result"], "fail");
    assert_eq!(fail["rule"], pass["rule"]);
    assert_eq!(fail["category"], "Metadata");
    assert_eq!(fail["severity"], "low");
    assert!(fail["message"].as_str().unwrap().contains("/metadata/labels/team"), "{}", fail["message"]);
    assert_eq!(fail["resources"][0]["uid"], json!(escalated.metadata.uid));
    assert!(fail["timestamp"]["seconds"].as_i64().unwrap() > 0);

    // Fixing the escalated object by hand turns its result into a pass.
    edit(&config_maps, "escalated", json!({"metadata": {"labels": {"team": "shop"}}})).await;
    wait_for(&namespaced_reports(&harness), "driftwarden", "two passes", |r| {
        r.data["summary"] == json!({"pass": 2, "fail": 0, "warn": 0, "error": 0, "skip": 0})
    })
    .await;

    // Without the policy the namespace has no results, and no report.
    policies(&harness).delete("owners", &DeleteParams::default()).await.unwrap();
    eventually("the namespace's report is deleted", || async {
        matches!(namespaced_reports(&harness).get_opt("driftwarden").await, Ok(None))
    })
    .await;
    harness.stop().await;
}

#[tokio::test]
async fn cluster_scoped_objects_go_to_the_cluster_report_once_the_crds_appear() {
    // The operator starts without the report CRDs: it publishes nothing and keeps working.
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let cluster_policies: Api<DynamicObject> =
        Api::all_with(harness.client(), &ApiResource::erase::<driftwarden::api::policy::ClusterDriftPolicy>(&()));
    let name = format!("{ns}-namespaces");
    let policy: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "ClusterDriftPolicy",
        "metadata": {"name": name},
        "spec": {"baselines": [{"name": "tenant",
            "match": {"apiVersion": "v1", "kind": "Namespace", "names": [ns]},
            "template": {"metadata": {"labels": {"driftwarden.dev/test": "reports"}}}}]}
    }))
    .unwrap();
    cluster_policies.create(&PostParams::default(), &policy).await.unwrap();
    // The missing label is Metadata, fixed at once: the namespace ends up compliant.
    wait_for(&cluster_policies, &name, "compliant", |p| {
        condition(p, "Compliant").is_some_and(|(s, _)| s == "True") && status_number(p, "targets") == 1
    })
    .await;

    install_report_crds(&harness).await;
    let cluster_reports: Api<DynamicObject> =
        Api::all_with(harness.client(), &report_resource("ClusterPolicyReport", "clusterpolicyreports"));
    let report =
        wait_for(&cluster_reports, "driftwarden", "a result for the namespace", |r| result_for(r, &ns).is_some()).await;
    let result = result_for(&report, &ns).unwrap();
    assert_eq!(result["result"], "pass");
    assert_eq!(result["policy"], name.as_str());
    assert_eq!(result["rule"], "baseline tenant");
    assert_eq!(result["resources"][0]["kind"], "Namespace");
    cluster_policies.delete(&name, &DeleteParams::default()).await.unwrap();
    harness.stop().await;
}

//! `driftwarden report` against the sandbox API server: read-only, from the caller's
//! kubeconfig. The campaign, its Findings and the policy are written here, statuses through
//! the status subresource as the operator writes them (tests/operator/campaign_report.rs
//! reports on a campaign the operator ran).

use std::path::PathBuf;
use std::process::{Command, Output};

use driftwarden_sandbox::testing::{Sandbox, TempNamespace, install_crds};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

struct Scene {
    sandbox: Sandbox,
    /// The assets' namespace.
    namespace: TempNamespace,
    /// The operator's namespace, where the Findings of cluster-scoped assets live.
    operator: TempNamespace,
    campaign: String,
    dir: tempfile::TempDir,
}

fn api(sandbox: &Sandbox, resource: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(sandbox.client(), ns, resource),
        None => Api::all_with(sandbox.client(), resource),
    }
}

/// Creates `object` and writes its `status` through the status subresource.
async fn create(sandbox: &Sandbox, resource: &ApiResource, object: Value) -> DynamicObject {
    let namespace = object["metadata"]["namespace"].as_str().map(str::to_string);
    let api = api(sandbox, resource, namespace.as_deref());
    let status = object.get("status").cloned();
    let created = api.create(&PostParams::default(), &serde_json::from_value(object).unwrap()).await.unwrap();
    let Some(status) = status else { return created };
    let name = created.metadata.name.clone().unwrap();
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(json!({"status": status}))).await.unwrap()
}

fn finding_resource() -> ApiResource {
    ApiResource::erase::<driftwarden::api::finding::Finding>(&())
}

/// A Finding as the operator writes it (name, namespace, owner reference), unless `forged`.
fn finding(campaign: &str, uid: &str, ns: &str, asset: Value, team: &str, severity: &str, status: Value) -> Value {
    let kind = asset["kind"].as_str().unwrap().to_lowercase();
    let name = format!("{campaign}.{kind}.{}", asset["name"].as_str().unwrap());
    json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding",
        "metadata": {"name": name, "namespace": ns, "labels": {"driftwarden.dev/campaign": campaign},
            "ownerReferences": [{"apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
                "name": campaign, "uid": uid, "controller": true}]},
        "spec": {"campaign": campaign, "control": "ClusterAdminBindings", "severity": severity, "asset": asset,
            "owner": {"team": team}},
        "status": status
    })
}

async fn scene() -> Scene {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    install_crds(&sandbox.client(), &driftwarden::api::crds()).await.unwrap();
    let namespace = sandbox.temp_namespace().await.unwrap();
    let operator = sandbox.temp_namespace().await.unwrap();
    let ns = namespace.name().to_string();
    let campaign = format!("{ns}-admins");
    let now = jiff::Timestamp::now();
    let at = |hours: i64| (now + jiff::SignedDuration::from_hours(hours)).to_string();
    let campaigns = ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&());
    let created = create(
        &sandbox,
        &campaigns,
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
            "metadata": {"name": campaign},
            "spec": {
                "objective": "No workload is bound to cluster-admin",
                "owner": {"team": "platform-security"},
                "control": {"check": {"name": "ClusterAdminBindings"}},
                "deadline": at(24 * 20),
                "checkpoints": [{"date": at(-24 * 7), "compliantPercent": 25}, {"date": at(24 * 7), "compliantPercent": 75}]
            },
            "status": {
                "total": 4, "findings": {"open": 1, "escalated": 1, "closed": 2}, "compliantPercent": 50,
                "checkpoints": [
                    {"date": at(-24 * 7), "target": 25, "actual": 25, "result": "Met"},
                    {"date": at(24 * 7), "target": 75, "actual": 50, "result": "Pending"}
                ],
                "burnDown": [
                    {"time": at(-24 * 14), "open": 4, "closed": 0},
                    {"time": at(-24 * 8), "open": 3, "closed": 1},
                    {"time": at(-2), "open": 2, "closed": 2}
                ],
                "projectedCompletion": at(24 * 12),
                "conditions": [{"type": "OnTrack", "status": "True", "reason": "OnTrack", "message": "on track",
                    "lastTransitionTime": at(-2)}]
            }
        }),
    )
    .await;
    let uid = created.metadata.uid.clone().unwrap();
    let deployment = |name: &str| json!({"apiVersion": "apps/v1", "kind": "Deployment", "namespace": ns, "name": name});
    let verified = json!({"state": "Closed", "lastTransitionTime": at(-3), "class": "Access",
    "evidence": [
        {"time": at(-30), "action": "Detected", "actor": "external", "result": "Succeeded", "desiredHash": "d1", "liveHash": "e9"},
        {"time": at(-3), "action": "Verified", "actor": "driftwarden", "resourceVersion": "4242",
         "desiredHash": "d1", "liveHash": "d1", "result": "Succeeded"}
    ]});
    let findings = finding_resource();
    for object in [
        finding(
            &campaign,
            &uid,
            &ns,
            deployment("web"),
            "<script>alert(1)</script>",
            "Critical",
            json!({"state": "Escalated"}),
        ),
        finding(&campaign, &uid, &ns, deployment("api"), "shop", "High", json!({"state": "Open"})),
        finding(&campaign, &uid, &ns, deployment("cart"), "shop", "High", verified.clone()),
        // A cluster-scoped asset: its Finding lives in the operator's namespace.
        finding(
            &campaign,
            &uid,
            operator.name(),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "name": format!("{ns}-ci")}),
            "platform",
            "Critical",
            verified,
        ),
    ] {
        create(&sandbox, &findings, object).await;
    }
    // Forged: names the campaign, but not as the operator would have written it.
    let mut forged = finding(&campaign, &uid, &ns, deployment("forged"), "mallory", "Info", json!({"state": "Closed"}));
    forged["metadata"]["name"] = json!("looks-closed");
    create(&sandbox, &findings, forged).await;
    let mut unowned = finding(&campaign, &uid, &ns, deployment("stray"), "mallory", "Info", json!({"state": "Closed"}));
    unowned["metadata"].as_object_mut().unwrap().remove("ownerReferences");
    create(&sandbox, &findings, unowned).await;

    let policies = ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&());
    create(
        &sandbox,
        &policies,
        json!({
            "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
            "metadata": {"name": "owners", "namespace": ns},
            "spec": {"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"},
                "template": {"metadata": {"labels": {"team": "shop"}}}}]},
            "status": {
                "targets": 3, "compliant": 2, "drifted": 1, "remediated": 5, "escalated": 1,
                "drifts": [{"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": ns, "name": "settings"},
                    "paths": ["/metadata/labels/team"], "class": "Metadata", "action": "Escalate",
                    "firstSeen": at(-5), "attempts": 0, "owner": "shop"}],
                "fixes": [{"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": ns, "name": "flags"},
                    "paths": ["/metadata/labels/team"], "owner": "shop", "time": at(-1), "action": "Verified",
                    "actor": "driftwarden", "resourceVersion": "77", "desiredHash": "aa", "liveHash": "aa",
                    "result": "Succeeded"}],
                "history": [
                    {"time": at(-3), "targets": 3, "drifted": 2, "escalated": 0, "remediated": 1},
                    {"time": at(-2), "targets": 3, "drifted": 2, "escalated": 1, "remediated": 4},
                    {"time": at(-1), "targets": 3, "drifted": 1, "escalated": 1, "remediated": 5}
                ]
            }
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kubeconfig"), serde_yaml::to_string(&sandbox.kubeconfig()).unwrap()).unwrap();
    Scene { sandbox, namespace, operator, campaign, dir }
}

impl Scene {
    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    async fn report(&self, args: &[&str]) -> Output {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let kubeconfig = self.kubeconfig();
        let operator = self.operator.name().to_string();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_driftwarden"))
                .arg("report")
                .args(args)
                .env("KUBECONFIG", &kubeconfig)
                .env("DRIFTWARDEN_OPERATOR_NAMESPACE", operator)
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    }
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn a_campaign_report_reads_the_campaign_and_its_genuine_findings() {
    let scene = scene().await;
    let json: Value =
        serde_json::from_str(&stdout(&scene.report(&["campaign", &scene.campaign, "--format", "json"]).await)).unwrap();
    assert_eq!(json["name"], scene.campaign.as_str());
    assert_eq!(json["control"], "ClusterAdminBindings");
    assert_eq!((json["findingsRead"].as_u64(), json["findingsIgnored"].as_u64()), (Some(4), Some(2)));
    assert_eq!(json["burnDown"].as_array().unwrap().len(), 3);
    assert_eq!(json["checkpoints"][0]["result"], "Met");
    let oldest: Vec<&str> =
        json["oldestOpen"].as_array().unwrap().iter().map(|f| f["asset"]["name"].as_str().unwrap()).collect();
    assert_eq!(oldest.len(), 2);
    assert!(oldest.contains(&"web") && oldest.contains(&"api"), "{oldest:?}");
    let closed = json["recentlyClosed"].as_array().unwrap();
    assert_eq!(closed.len(), 2, "the cluster-scoped asset's finding is read from the operator's namespace");
    assert!(closed.iter().all(|f| f["evidence"][1]["liveHash"] == "d1"));
    let teams: Vec<&str> = json["byOwner"].as_array().unwrap().iter().map(|o| o["team"].as_str().unwrap()).collect();
    assert!(!teams.contains(&"mallory"), "forged findings are left out: {teams:?}");

    let markdown = stdout(&scene.report(&["campaign", &scene.campaign, "--format", "markdown"]).await);
    assert!(markdown.starts_with(&format!("## Campaign {}\n", scene.campaign)), "{markdown}");
    assert!(markdown.contains("- **Progress:** 2 of 4 findings resolved (50% compliant)"));
    assert!(markdown.contains("&lt;script&gt;") && !markdown.contains("<script"));

    let file = scene.dir.path().join("report.html");
    let output = scene.report(&["campaign", &scene.campaign, "-o", file.to_str().unwrap()]).await;
    assert!(output.status.success() && output.stdout.is_empty(), "{output:?}");
    let page = std::fs::read_to_string(&file).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "HTML is the default format");
    assert!(page.contains(r#"data-series="open" data-points="3""#));
    assert!(page.contains(r#"data-series="projection""#));
    assert!(!page.contains("<script>"));
    assert!(page.contains("2 Findings naming this campaign left out"));
}

#[tokio::test]
async fn a_policy_report_reads_the_policy_status_with_its_history_and_fixes() {
    let scene = scene().await;
    let ns = scene.namespace.name();
    let json: Value =
        serde_json::from_str(&stdout(&scene.report(&["policy", "owners", "-n", ns, "--format", "json"]).await))
            .unwrap();
    assert_eq!(json["kind"], "DriftPolicy");
    assert_eq!(json["counts"]["drifted"], 1);
    let fixes: Vec<u64> =
        json["fixesPerInterval"].as_array().unwrap().iter().map(|i| i["fixes"].as_u64().unwrap()).collect();
    assert_eq!(fixes, [3, 1]);
    assert_eq!(json["fixes"][0]["resourceVersion"], "77");
    assert_eq!(json["byOwner"][0]["key"], "shop");
    let page = stdout(&scene.report(&["policy", "owners", "--namespace", ns]).await);
    assert!(page.contains(r#"data-series="drifted" data-points="3""#));
    assert!(page.contains(r#"data-series="fixes" data-points="2""#));

    // Without -n the name is a ClusterDriftPolicy's: there is none.
    let missing = scene.report(&["policy", "owners"]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("ClusterDriftPolicy owners not found"), "{missing:?}");
    let missing = scene.report(&["campaign", "no-such-campaign"]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("RemediationCampaign no-such-campaign not found"));
    drop(scene.sandbox);
}

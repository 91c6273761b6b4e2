//! `status`: policies, campaigns and open escalations, as text and JSON.

use serde_json::{Value, json};

use crate::support::*;

/// A policy with an escalated drift, an at-risk campaign and an escalated Finding, with the
/// status the operator would have written. Returns the campaign's name.
pub async fn scene_with_escalations(scene: &Scene) -> String {
    let ns = scene.ns();
    let policy = policy(ns);
    scene.create(policy.clone()).await;
    scene
        .set_status(
            &policy,
            json!({"targets": 3, "compliant": 1, "drifted": 2, "escalated": 1,
                   "conditions": [ready("True", "Reconciled", "")],
                   "drifts": [{"target": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": ns, "name": "web"},
                               "paths": ["/spec/template/spec/containers/name=app/image"], "class": "Rollout",
                               "action": "Escalate", "reason": "Rollout fixes are not in autoRemediate",
                               "owner": "storefront", "changedBy": "kubectl-set", "changedAt": "2026-04-01T09:00:00Z"}]}),
        )
        .await;
    let campaign_name = format!("{ns}-images");
    let campaign = json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign", "metadata": {"name": campaign_name},
        "spec": {"objective": "owners label every ConfigMap", "owner": {"team": "platform"},
                 "deadline": "2026-06-30T00:00:00Z",
                 "control": {"policyRef": {"kind": "DriftPolicy", "namespace": ns, "name": "owners"}}}
    });
    scene.create(campaign.clone()).await;
    scene
        .set_status(
            &campaign,
            json!({"total": 5, "compliantPercent": 40,
                   "findings": {"open": 1, "escalated": 2, "closed": 1, "excepted": 1},
                   "conditions": [ready("True", "Reconciled", ""),
                                  {"type": "AtRisk", "status": "True", "reason": "ProjectionMissesDeadline",
                                   "message": "projected 2026-08-01", "lastTransitionTime": "2026-04-01T00:00:00Z"}]}),
        )
        .await;
    let finding = finding(ns, "api-settings-1", &campaign_name, "ConfigMap", "api-settings");
    scene.create(finding.clone()).await;
    scene
        .set_status(
            &finding,
            json!({"state": "Escalated", "class": "Spec", "paths": ["/metadata/labels/team"],
                   "evidence": [{"time": "2026-04-01T08:00:00Z", "action": "Escalated", "actor": "driftwarden",
                                 "result": "Succeeded", "message": "the circuit breaker is open"}]}),
        )
        .await;
    campaign_name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_policies_campaigns_and_escalations_as_text_and_json() {
    let scene = Scene::start().await;
    let campaign = scene_with_escalations(&scene).await;

    let run = scene.plugin("admin", &["status"]).await;
    let text = run.expect_code(0);
    for expected in [
        "POLICIES (1)",
        "driftpolicy/owners",
        "Enforce",
        &campaign,
        "40%",
        "AtRisk",
        "2026-06-30",
        "OPEN ESCALATIONS (2)",
        "deployment/web",
        "Rollout fixes are not in autoRemediate",
        "finding/api-settings-1",
        "the circuit breaker is open",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    let web = text.lines().find(|l| l.contains("deployment/web")).unwrap();
    assert!(web.starts_with("storefront"), "the owner comes first: {web}");
    assert!(!text.contains('\x1b'), "no colour on a pipe:\n{text}");

    let json: Value =
        serde_json::from_str(scene.plugin("admin", &["status", "-o", "json"]).await.expect_code(0)).unwrap();
    assert_eq!(json["namespace"], scene.ns());
    assert_eq!(json["policies"][0]["name"], "owners");
    assert_eq!(json["policies"][0]["ready"], "True");
    let ours = json["campaigns"].as_array().unwrap().iter().find(|c| c["name"] == campaign.as_str()).unwrap();
    assert_eq!(
        (ours["state"].as_str(), ours["open"].as_u64(), ours["closed"].as_u64()),
        (Some("AtRisk"), Some(3), Some(2))
    );
    let sources: Vec<&str> =
        json["escalations"].as_array().unwrap().iter().map(|e| e["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["finding/api-settings-1", "driftpolicy/owners"], "{json:#}");
    assert_eq!(json["escalations"][1]["owner"], "storefront");

    let coloured = scene.plugin("admin", &["status", "--color", "always"]).await;
    assert!(coloured.expect_code(0).contains("\x1b[32mTrue\x1b[0m"), "{}", coloured.stdout);

    // Another namespace has none of it; with -A, it is all there with its namespace.
    let other = scene.plugin("admin", &["status", "-n", "default", "-o", "json"]).await;
    let other: Value = serde_json::from_str(other.expect_code(0)).unwrap();
    assert_eq!(other["policies"].as_array().unwrap().len(), 0, "{other:#}");
    let all = scene.plugin("admin", &["status", "-A"]).await;
    let all = all.expect_code(0);
    assert!(all.lines().any(|l| l.contains(scene.ns()) && l.contains("deployment/web")), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_sees_its_namespace_and_is_told_what_it_may_not_read() {
    let scene = Scene::start().await;
    scene_with_escalations(&scene).await;
    scene.tenant("dev").await;
    let run = scene.plugin("dev", &["status"]).await;
    let text = run.expect_code(0);
    assert!(text.contains("driftpolicy/owners") && text.contains("finding/api-settings-1"), "{text}");
    assert!(run.stderr.contains("warning: cannot list remediationcampaigns"), "{}", run.stderr);
    assert!(run.stderr.contains("warning: cannot list clusterdriftpolicies"), "{}", run.stderr);

    // Someone with no grant at all is refused, saying what could not be read.
    let token = scene.user("nobody");
    let run = scene.plugin("nobody", &["status"]).await;
    run.expect_code(1);
    assert!(run.stderr.contains("cannot read driftwarden's resources"), "{}", run.stderr);

    // --kubeconfig and --context choose the user, as with kubectl (and win over KUBECONFIG).
    let both = scene
        .kubeconfig_with_contexts("both.kubeconfig", &[("admin", scene.sandbox.admin_token()), ("nobody", &token)]);
    let both = both.to_str().unwrap();
    scene.plugin("nobody", &["status", "--kubeconfig", both]).await.expect_code(0);
    scene.plugin("admin", &["status", "--kubeconfig", both, "--context", "nobody"]).await.expect_code(1);
    let unknown = scene.plugin("admin", &["status", "--kubeconfig", both, "--context", "elsewhere"]).await;
    unknown.expect_code(3);
    assert!(
        unknown.stderr.contains("no Kubernetes configuration") && unknown.stderr.contains("elsewhere"),
        "{}",
        unknown.stderr
    );
}

//! `explain`: a Finding's drift, attribution, evidence and next step; a policy's drifts and
//! recent fixes with their evidence.

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_shows_a_finding_s_evidence_and_a_policy_s_fixes() {
    let scene = Scene::start().await;
    let ns = scene.ns().to_string();
    let campaign = crate::status::scene_with_escalations(&scene).await;
    let finding = finding(&ns, "web-1", &campaign, "Deployment", "web");
    scene.create(finding.clone()).await;
    scene
        .set_status(
            &finding,
            json!({"state": "Escalated", "class": "Rollout", "lastTransitionTime": "2026-04-01T08:00:00Z",
                   "paths": ["/spec/template/spec/containers/name=app/image"],
                   "attribution": {"changedBy": "kubectl-set", "changedAt": "2026-04-01T07:58:00Z"},
                   "conditions": [ready("False", "AwaitingOwner", "waiting for the owner to fix or approve")],
                   "evidence": [
                       {"time": "2026-04-01T07:59:00Z", "action": "Detected", "actor": "kubectl-set", "resourceVersion": "8812",
                        "desiredHash": "9f2c0e11aa22bb33cc44dd55", "liveHash": "41aa07bb", "result": "Succeeded"},
                       {"time": "2026-04-01T08:00:00Z", "action": "Escalated", "actor": "driftwarden", "result": "Succeeded",
                        "message": "Rollout fixes are not in autoRemediate"}]}),
        )
        .await;

    let run = scene.plugin("admin", &["explain", "finding/web-1"]).await;
    let text = run.expect_code(0);
    for expected in [
        &format!("Finding {ns}/web-1"),
        &format!("Campaign:    {campaign} (control {ns}/owners)"),
        "State:       Escalated since 2026-04-01T08:00:00Z",
        "Changed by:  kubectl-set at 2026-04-01T07:58:00Z",
        "Policy says: Escalate Rollout fixes are not in autoRemediate",
        "Evidence (2 records, oldest first)",
        "2026-04-01T07:59:00Z   Detected    kubectl-set    Succeeded   8812",
        "9f2c0e11aa22…",
        "What happens next",
        "escalated to team storefront (#storefront) (Rollout fixes are not in autoRemediate)",
        &format!("kubectl driftwarden approve web-1 -n {ns}"),
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    // A bare name is a Finding first.
    assert_eq!(scene.plugin("admin", &["explain", "web-1"]).await.expect_code(0), text);

    let policy = policy(&ns);
    scene
        .set_status(
            &policy,
            json!({"remediated": 2, "lastRemediationTime": "2026-04-01T10:00:00Z",
                   "fixes": [{"target": {"apiVersion": "v1", "kind": "ConfigMap", "namespace": ns, "name": "settings"},
                              "paths": ["/metadata/labels/team"], "owner": "shop", "time": "2026-04-01T10:00:00Z",
                              "action": "Verified", "actor": "driftwarden", "result": "Succeeded", "resourceVersion": "9001",
                              "desiredHash": "abcdef", "liveHash": "abcdef"}]}),
        )
        .await;
    let run = scene.plugin("admin", &["explain", "driftpolicy/owners"]).await;
    let text = run.expect_code(0);
    for expected in [
        &format!("DriftPolicy {ns}/owners"),
        "Targets:    3 (1 compliant, 2 drifted, 1 escalated, 0 excepted, 0 opted out)",
        &format!("Deployment {ns}/web"),
        "Owner:       storefront",
        "Changed by:  kubectl-set at 2026-04-01T09:00:00Z",
        "Next:        escalated to team storefront: Rollout fixes are not in autoRemediate",
        "Recent fixes (1, newest first)",
        &format!("ConfigMap {ns}/settings"),
        "9001",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(scene.plugin("admin", &["explain", "owners"]).await.expect_code(0).contains("Recent fixes"));

    let missing = scene.plugin("admin", &["explain", "nothing"]).await;
    missing.expect_code(2);
    assert!(missing.stderr.contains("no finding, driftpolicy"), "{}", missing.stderr);
    let wrong = scene.plugin("admin", &["explain", "configmap/settings"]).await;
    wrong.expect_code(2);
    assert!(
        wrong.stderr.contains("expected finding/NAME, driftpolicy/NAME or clusterdriftpolicy/NAME"),
        "{}",
        wrong.stderr
    );
}

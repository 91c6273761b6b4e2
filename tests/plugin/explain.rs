//! `explain`: a Finding's drift, attribution, evidence and next step; a policy's drifts and
//! recent fixes with their evidence.

use serde_json::json;

use crate::support::*;

/// One `label: value` line of an explanation, as rendered.
fn field(label: &str, value: &str) -> String {
    format!("{:<12}  {value}\n", format!("{label}:"))
}

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

    // What the operator said on the Finding: a Warning Event, and a Normal one left out.
    for (name, type_, reason) in [("web-1.a", "Warning", "ApprovalLapsed"), ("web-1.b", "Normal", "Noted")] {
        scene
            .create(json!({
                "apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
                "involvedObject": {"apiVersion": "driftwarden.dev/v1alpha1", "kind": "Finding", "namespace": ns, "name": "web-1"},
                "type": type_, "reason": reason, "message": format!("{reason} said here"),
                "lastTimestamp": "2026-04-01T08:30:00Z", "source": {"component": "driftwarden"}
            }))
            .await;
    }

    let run = scene.plugin("admin", &["explain", "finding/web-1"]).await;
    let text = run.expect_code(0);
    for expected in [
        format!("Finding {ns}/web-1"),
        field("Campaign", &format!("{campaign} (control {ns}/owners)")),
        field("State", "Escalated since 2026-04-01T08:00:00Z"),
        field("Changed by", "kubectl-set at 2026-04-01T07:58:00Z"),
        field("Policy says", "Escalate Rollout fixes are not in autoRemediate"),
        "Evidence (2 records, oldest first)".into(),
        "2026-04-01T07:59:00Z   Detected    kubectl-set   Succeeded   8812              9f2c0e11aa22…   41aa07bb"
            .into(),
        "Warnings (1, oldest first)".into(),
        "2026-04-01T08:30:00Z   ApprovalLapsed   ApprovalLapsed said here\n".into(),
        "What happens next".into(),
        "escalated to team storefront (#storefront) (Rollout fixes are not in autoRemediate)".into(),
        format!("kubectl driftwarden approve web-1 -n {ns}"),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains("Noted"), "{text}");
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
        format!("DriftPolicy {ns}/owners"),
        field("Targets", "3 (1 compliant, 2 drifted, 1 escalated, 0 excepted, 0 opted out)"),
        format!("Deployment {ns}/web"),
        field("Owner", "storefront"),
        field("Changed by", "kubectl-set at 2026-04-01T09:00:00Z"),
        field("Next", "escalated to team storefront: Rollout fixes are not in autoRemediate"),
        "Recent fixes (1, newest first)".into(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in:\n{text}");
    }
    let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let fix =
        format!("ConfigMap {ns}/settings /metadata/labels/team shop Verified driftwarden Succeeded 9001 abcdef abcdef");
    assert!(text.lines().any(|line| words(line).contains(&fix)), "{fix:?} not in:\n{text}");
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

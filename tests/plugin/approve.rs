//! `approve`: the approval is set in the caller's own name (as `kubectl auth whoami` says),
//! and the chart's approvals admission policy admits it; a caller without the verb is told
//! which role to ask for.

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::json;

use crate::support::*;

fn findings(scene: &Scene) -> Api<DynamicObject> {
    Api::namespaced_with(scene.client(), scene.ns(), &ApiResource::erase::<driftwarden::api::Finding>(&()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_approves_in_their_own_name_and_others_are_told_whom_to_ask() {
    let scene = Scene::start().await;
    let ns = scene.ns().to_string();
    for (name, asset, class) in [("web-1", "web", "Rollout"), ("rbac-1", "rbac", "Access"), ("done-1", "done", "Spec")]
    {
        let finding = finding(&ns, name, "images", "Deployment", asset);
        scene.create(finding.clone()).await;
        let state = if name == "done-1" { "Closed" } else { "Escalated" };
        scene.set_status(&finding, json!({"state": state, "class": class})).await;
    }
    let Some(()) = scene.install_approvals().await else { return };
    let (lead, dev, clerk) = (format!("{ns}-lead"), format!("{ns}-dev"), format!("{ns}-clerk"));
    for user in [&lead, &dev] {
        scene.tenant(user).await;
    }
    scene.bind(&lead, "ClusterRole", "driftwarden-finding-approver").await;
    // The verb without the right to write the Finding: the API server refuses the patch.
    scene.user(&clerk);
    scene
        .grant(
            &clerk,
            "approve-only",
            json!([{"apiGroups": ["driftwarden.dev"], "resources": ["findings"], "verbs": ["get", "approve"]}]),
        )
        .await;
    // Admission needs a moment to see a new policy: wait until it refuses a forged approval.
    let as_dev = scene.sandbox.client_as(&scene.sandbox.add_user(&dev, &[])).unwrap();
    eventually("the approvals policy is in force", || async {
        let forged = json!({"spec": {"approval": {"by": "cto@example.com", "reason": "forged"}}});
        let api: Api<DynamicObject> =
            Api::namespaced_with(as_dev.clone(), &ns, &ApiResource::erase::<driftwarden::api::Finding>(&()));
        api.patch("web-1", &PatchParams::default(), &Patch::Merge(forged))
            .await
            .is_err_and(|e| e.to_string().contains("must be the requesting user"))
    })
    .await;

    let run = scene.plugin(&lead, &["approve", "finding/web-1", "--reason", "the new image is the release"]).await;
    let out = run.expect_code(0);
    assert!(out.contains(&format!("finding {ns}/web-1 approved by {lead}")), "{out}");
    let approved = findings(&scene).get("web-1").await.unwrap();
    assert_eq!(approved.data["spec"]["approval"]["by"], lead.as_str(), "the admission policy admitted it");
    assert_eq!(approved.data["spec"]["approval"]["reason"], "the new image is the release");
    let at = approved.data["spec"]["approval"]["at"].as_str().unwrap();
    at.parse::<jiff::Timestamp>().expect("an RFC 3339 time");

    // Twice is once.
    let again = scene.plugin(&lead, &["approve", "web-1"]).await;
    assert!(again.expect_code(0).contains(&format!("already approved by you ({lead})")), "{}", again.stdout);
    assert_eq!(findings(&scene).get("web-1").await.unwrap().data["spec"]["approval"]["at"], at, "not written again");

    // A tenant without the verb: nothing is written, and the message names the role.
    let refused = scene.plugin(&dev, &["approve", "web-1"]).await;
    refused.expect_code(1);
    assert!(refused.stderr.contains(&format!("you ({dev}) may not approve finding {ns}/web-1")), "{}", refused.stderr);
    assert!(refused.stderr.contains("ClusterRole driftwarden-finding-approver"), "{}", refused.stderr);
    // A privileged fix needs the privileged role.
    let privileged = scene.plugin(&lead, &["approve", "rbac-1"]).await;
    privileged.expect_code(1);
    assert!(privileged.stderr.contains("may not approve-privileged"), "{}", privileged.stderr);
    assert!(privileged.stderr.contains("driftwarden-privileged-approver"), "{}", privileged.stderr);
    assert!(findings(&scene).get("rbac-1").await.unwrap().data["spec"].get("approval").is_none());
    // The API server's own refusal is shown as it said it, with what to do.
    let clerk_run = scene.plugin(&clerk, &["approve", "web-1"]).await;
    clerk_run.expect_code(1);
    assert!(clerk_run.stderr.contains("the API server refused"), "{}", clerk_run.stderr);
    assert!(clerk_run.stderr.contains("patch"), "{}", clerk_run.stderr);
    assert_eq!(findings(&scene).get("web-1").await.unwrap().data["spec"]["approval"]["by"], lead.as_str());

    // Nothing to approve, and nothing of that name.
    let closed = scene.plugin(&lead, &["approve", "done-1"]).await;
    closed.expect_code(1);
    assert!(closed.stderr.contains("is Closed"), "{}", closed.stderr);
    let missing = scene.plugin(&lead, &["approve", "nope"]).await;
    missing.expect_code(2);
    assert!(missing.stderr.contains(&format!("finding {ns}/nope: not found")), "{}", missing.stderr);
}

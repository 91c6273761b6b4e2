//! `except`: a DriftException approved by the caller, admitted by the CRD's validation and
//! the approvals admission policy; too long an exception, or a caller without the approve
//! verb, is refused with a message that says why.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::support::*;

fn time(value: &serde_json::Value) -> Timestamp {
    value.as_str().unwrap_or_else(|| panic!("{value} is not a string")).parse().expect("an RFC 3339 time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exception_approver_creates_a_valid_exception_and_others_are_told_whom_to_ask() {
    let scene = Scene::start().await;
    let ns = scene.ns().to_string();
    let finding = finding(&ns, "web-1", "images", "Deployment", "web");
    scene.create(finding.clone()).await;
    scene
        .set_status(
            &finding,
            json!({"state": "Escalated", "class": "Rollout", "paths": ["/spec/template/spec/containers/name=app/image"]}),
        )
        .await;
    scene
        .create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns}, "data": {"mode": "fast"}}))
        .await;
    let Some(()) = scene.install_approvals().await else { return };
    let (lead, dev) = (format!("{ns}-lead"), format!("{ns}-dev"));
    for user in [&lead, &dev] {
        scene.tenant(user).await;
    }
    scene.bind(&lead, "ClusterRole", "driftwarden-exception-approver").await;
    let args = |target: &str, lasts: &str| -> Vec<String> {
        ["except", target, "--ticket", "OPS-42", "--for", lasts, "--justification", "mode fast until the migration"]
            .map(String::from)
            .to_vec()
    };
    let plugin = |who: String, args: Vec<String>| {
        let scene = &scene;
        async move { scene.plugin(&who, &args.iter().map(String::as_str).collect::<Vec<_>>()).await }
    };

    // Refused before anything is written: too long, and not an approver.
    let long = plugin(lead.clone(), args("configmap/settings", "200d")).await;
    long.expect_code(2);
    assert!(long.stderr.contains("--for \"200d\"") && long.stderr.contains("at most 90 days"), "{}", long.stderr);
    let refused = plugin(dev.clone(), args("configmap/settings", "14d")).await;
    refused.expect_code(1);
    assert!(
        refused.stderr.contains(&format!("you ({dev}) may not approve driftexceptions in namespace {ns}")),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("ClusterRole driftwarden-exception-approver"), "{}", refused.stderr);
    assert!(scene.list("DriftException").await.is_empty());

    // --dry-run prints it and writes nothing.
    let mut dry = args("cm/settings", "36h");
    dry.push("--dry-run".into());
    let printed = plugin(lead.clone(), dry).await;
    let yaml: serde_json::Value = serde_yaml::from_str(printed.expect_code(0)).unwrap();
    assert_eq!(yaml["kind"], "DriftException");
    assert_eq!(yaml["spec"]["approvedBy"], lead.as_str());
    assert_eq!(
        time(&yaml["spec"]["expiresAt"]).duration_since(time(&yaml["spec"]["approvedAt"])),
        SignedDuration::from_hours(36)
    );
    assert!(scene.list("DriftException").await.is_empty());

    // An approver's exception: admitted by the API server, approved now, for 14 days.
    let before = Timestamp::now();
    let mut made = args("configmap/settings", "14d");
    made.extend(["--path".to_string(), "/data/mode".to_string()]);
    let created = plugin(lead.clone(), made).await;
    let out = created.expect_code(0);
    let exceptions = scene.list("DriftException").await;
    assert_eq!(exceptions.len(), 1, "{out}");
    let exception = &exceptions[0];
    let name = exception.metadata.name.clone().unwrap();
    assert!(out.starts_with(&format!("driftexception/{name} created in namespace {ns}")), "{out}");
    assert!(name.starts_with("configmap-settings-"), "{name}");
    let spec = &exception.data["spec"];
    assert_eq!(spec["approvedBy"], lead.as_str());
    assert_eq!(spec["ticket"], "OPS-42");
    assert_eq!(spec["match"], json!({"apiVersion": "v1", "kind": "ConfigMap", "names": ["settings"]}));
    assert_eq!(spec["paths"], json!(["/data/mode"]));
    let (approved, expires) = (time(&spec["approvedAt"]), time(&spec["expiresAt"]));
    assert!(approved >= before - SignedDuration::from_secs(1) && approved <= Timestamp::now(), "{approved}");
    assert_eq!(expires.duration_since(approved), SignedDuration::from_hours(14 * 24));

    // A Finding's asset and drifted paths.
    let from_finding = plugin(lead.clone(), args("finding/web-1", "7d")).await;
    from_finding.expect_code(0);
    let exceptions = scene.list("DriftException").await;
    let covering =
        exceptions.iter().find(|e| e.data["spec"]["match"]["kind"] == "Deployment").expect("a second exception");
    assert_eq!(
        covering.data["spec"]["match"],
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "names": ["web"]})
    );
    assert_eq!(covering.data["spec"]["paths"], json!(["/spec/template/spec/containers/name=app/image"]));

    // A kind the server does not serve, and a TARGET that is not one.
    let unknown = plugin(lead.clone(), args("gizmo/x", "1d")).await;
    unknown.expect_code(2);
    assert!(unknown.stderr.contains("does not serve a resource named \"gizmo\""), "{}", unknown.stderr);
    let bare = plugin(lead.clone(), args("settings", "1d")).await;
    bare.expect_code(2);
    assert!(bare.stderr.contains("names no resource"), "{}", bare.stderr);
}

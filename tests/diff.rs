//! `driftwarden diff` against the sandbox API server: read-only, from the caller's
//! kubeconfig.

use std::process::Command;

use driftwarden::engine::FingerprintKey;
use driftwarden_sandbox::testing::{Sandbox, TempNamespace, install_crds};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::json;

fn key() -> FingerprintKey {
    FingerprintKey::new(b"driftwarden test fingerprint key").unwrap()
}

fn view() -> driftwarden::diff::OperatorView {
    driftwarden::diff::OperatorView {
        namespace: "driftwarden-system".to_string(),
        appliers: driftwarden::engine::decide::DEFAULT_APPLIERS.iter().map(|a| a.to_string()).collect(),
        max_exception_duration: driftwarden::api::exception::DEFAULT_INSTALLATION_CAP,
    }
}

async fn sandbox_with_drift() -> (Sandbox, TempNamespace) {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    install_crds(&sandbox.client(), &driftwarden::api::crds()).await.unwrap();
    let namespace = sandbox.temp_namespace().await.unwrap();
    let ns = namespace.name().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(sandbox.client(), &ns);
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "settings", "labels": {"team": "other"}}, "data": {"mode": "fast"}
    }))
    .unwrap();
    config_maps.create(&PostParams::default(), &cm).await.unwrap();
    let policies: Api<DynamicObject> =
        Api::namespaced_with(sandbox.client(), &ns, &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()));
    let policy: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
        "metadata": {"name": "owners", "namespace": ns},
        "spec": {
            "baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap"}, "template": {"metadata": {"labels": {"team": "shop"}}}}],
            "resources": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flags"}, "data": {"beta": "false"}}]
        }
    }))
    .unwrap();
    policies.create(&PostParams::default(), &policy).await.unwrap();
    (sandbox, namespace)
}

#[tokio::test]
async fn diff_reports_what_each_policy_would_change_and_changes_nothing() {
    let (sandbox, namespace) = sandbox_with_drift().await;
    let ns = namespace.name();
    let before = sandbox.store().resource_version();
    let (report, skipped) = driftwarden::diff::diff(sandbox.client(), None, &key(), &view()).await.unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    let mut found: Vec<(String, String, String)> = report
        .violations
        .iter()
        .map(|v| (v.object.name.clone(), v.drift.path.clone(), v.drift.class.to_string()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("flags".to_string(), String::new(), "Create".to_string()),
            ("settings".to_string(), "/metadata/labels/team".to_string(), "Metadata".to_string()),
        ]
    );
    assert!(report.violations.iter().all(|v| v.policy == format!("{ns}/owners")));
    assert_eq!(sandbox.store().resource_version(), before, "diff writes nothing");

    let only = driftwarden::diff::diff(sandbox.client(), Some("nope"), &key(), &view()).await;
    assert!(matches!(only, Err(driftwarden::diff::DiffError::NoSuchPolicy(_))));
}

#[tokio::test]
async fn diff_says_what_the_operator_will_do_about_each_drift() {
    use driftwarden::check::PlanAction;
    let (sandbox, namespace) = sandbox_with_drift().await;
    let ns = namespace.name().to_string();
    let config_maps: Api<ConfigMap> = Api::namespaced(sandbox.client(), &ns);
    for (name, annotations) in
        [("opted", json!({"driftwarden.dev/enforce": "disabled"})), ("excepted", json!({})), ("by-argo", json!({}))]
    {
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"team": "other", "driftwarden.dev/owner": "payments"}, "annotations": annotations},
        }))
        .unwrap();
        config_maps.create(&PostParams::default(), &cm).await.unwrap();
    }
    // Argo CD's server-side apply last wrote the label: a Conflict, never fixed.
    let applied =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-argo", "labels": {"team": "argo"}}});
    config_maps
        .patch(
            "by-argo",
            &kube::api::PatchParams::apply("argocd-controller").force(),
            &kube::api::Patch::Apply(&applied),
        )
        .await
        .unwrap();
    let exceptions: Api<DynamicObject> =
        Api::namespaced_with(sandbox.client(), &ns, &ApiResource::erase::<driftwarden::api::DriftException>(&()));
    let approved = jiff::Timestamp::now().to_string();
    let expires = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).to_string();
    let exception: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftException",
        "metadata": {"name": "keep-label", "namespace": ns},
        "spec": {"match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["excepted"]}, "paths": ["/metadata/labels/team"],
                 "justification": "migration", "approvedBy": "lead", "approvedAt": approved, "ticket": "OPS-1",
                 "expiresAt": expires}
    }))
    .unwrap();
    exceptions.create(&PostParams::default(), &exception).await.unwrap();

    let (report, _) = driftwarden::diff::diff(sandbox.client(), None, &key(), &view()).await.unwrap();
    let plan_of = |name: &str| {
        let v =
            report.violations.iter().find(|v| v.object.name == name).unwrap_or_else(|| panic!("{name}: {report:#?}"));
        v.operator.clone().unwrap_or_else(|| panic!("{name} has a plan"))
    };
    assert_eq!(plan_of("settings").action, PlanAction::Fix);
    let create = plan_of("flags");
    assert_eq!(create.action, PlanAction::Escalate, "Create is not fixed automatically by default");
    assert!(create.reason.contains("Create"), "{create:?}");
    assert_eq!(create.owner.as_deref(), Some("unowned"));
    let opted = plan_of("opted");
    assert_eq!((opted.action, opted.owner.as_deref()), (PlanAction::OptedOut, Some("payments")));
    let excepted = plan_of("excepted");
    assert_eq!(excepted.action, PlanAction::Excepted);
    assert!(excepted.reason.contains("keep-label"), "{excepted:?}");
    let argo = plan_of("by-argo");
    assert_eq!(argo.action, PlanAction::Escalate);
    assert!(argo.reason.contains("argocd-controller"), "{argo:?}");
    let text = report.to_text();
    assert!(
        text.contains("operator: will escalate it to payments: the live value is owned by argocd-controller"),
        "{text}"
    );
    assert!(text.contains("operator: will fix it and verify the fix"), "{text}");

    // Outside every remediation window the fix waits.
    let policies: Api<DynamicObject> =
        Api::namespaced_with(sandbox.client(), &ns, &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()));
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    let start = now.checked_add(jiff::SignedDuration::from_hours(2)).unwrap();
    let end = now.checked_add(jiff::SignedDuration::from_hours(3)).unwrap();
    let windows = json!({"spec": {"remediation": {"windows": [{
        "start": start.strftime("%H:%M").to_string(), "end": end.strftime("%H:%M").to_string()
    }]}}});
    policies.patch("owners", &kube::api::PatchParams::default(), &kube::api::Patch::Merge(&windows)).await.unwrap();
    let (report, _) = driftwarden::diff::diff(sandbox.client(), None, &key(), &view()).await.unwrap();
    let settings = report.violations.iter().find(|v| v.object.name == "settings").unwrap();
    assert_eq!(settings.operator.as_ref().map(|p| p.action), Some(PlanAction::Wait), "{settings:?}");
}

#[tokio::test]
async fn the_binary_uses_the_kubeconfig_and_exits_one_on_drift() {
    let (sandbox, _ns) = sandbox_with_drift().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, serde_yaml::to_string(&sandbox.kubeconfig()).unwrap()).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_driftwarden"))
            .args(["diff", "-o", "json"])
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["violations"].as_array().unwrap().len(), 2, "{report:#}");
}

#[tokio::test]
async fn diff_policy_reports_only_the_named_policy() {
    let (sandbox, namespace) = sandbox_with_drift().await;
    let ns = namespace.name().to_string();
    let policies: Api<DynamicObject> =
        Api::namespaced_with(sandbox.client(), &ns, &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()));
    let other: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
        "metadata": {"name": "modes", "namespace": ns},
        "spec": {"baselines": [{"match": {"apiVersion": "v1", "kind": "ConfigMap", "names": ["settings"]}, "template": {"data": {"mode": "safe"}}}]}
    }))
    .unwrap();
    policies.create(&PostParams::default(), &other).await.unwrap();

    let policies_in = |report: &driftwarden::check::Report| -> Vec<(String, String)> {
        let mut found: Vec<_> = report.violations.iter().map(|v| (v.policy.clone(), v.drift.path.clone())).collect();
        found.sort();
        found
    };
    let (all, _) = driftwarden::diff::diff(sandbox.client(), None, &key(), &view()).await.unwrap();
    assert_eq!(policies_in(&all).len(), 3, "both policies without --policy: {:?}", policies_in(&all));
    let (only, skipped) =
        driftwarden::diff::diff(sandbox.client(), Some(&format!("{ns}/modes")), &key(), &view()).await.unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(policies_in(&only), [(format!("{ns}/modes"), "/data/mode".to_string())]);

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, serde_yaml::to_string(&sandbox.kubeconfig()).unwrap()).unwrap();
    let policy = format!("{ns}/owners");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_driftwarden"))
            .args(["diff", "--policy", &policy, "-o", "json"])
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let violations = report["violations"].as_array().unwrap();
    assert_eq!(violations.len(), 2, "{report:#}");
    assert!(violations.iter().all(|v| v["policy"] == format!("{ns}/owners")), "{report:#}");
}

#[tokio::test]
async fn diff_fingerprints_with_the_installation_key_when_it_may_read_it() {
    let (sandbox, namespace) = sandbox_with_drift().await;
    let ns = namespace.name().to_string();
    let secrets: Api<Secret> = Api::namespaced(sandbox.client(), &ns);
    // "hunter2-staple" base64-encoded.
    let live: Secret =
        serde_json::from_value(json!({"metadata": {"name": "db"}, "data": {"password": "aHVudGVyMi1zdGFwbGU="}}))
            .unwrap();
    secrets.create(&PostParams::default(), &live).await.unwrap();
    let policies: Api<DynamicObject> =
        Api::namespaced_with(sandbox.client(), &ns, &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()));
    let creds: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "DriftPolicy",
        "metadata": {"name": "creds", "namespace": ns},
        "spec": {"resources": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": "correct-horse-battery"}}]}
    }))
    .unwrap();
    policies.create(&PostParams::default(), &creds).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, serde_yaml::to_string(&sandbox.kubeconfig()).unwrap()).unwrap();
    let run = {
        let (kubeconfig, policy, ns) = (kubeconfig.clone(), format!("{ns}/creds"), ns.clone());
        move || {
            let output = Command::new(env!("CARGO_BIN_EXE_driftwarden"))
                .args(["diff", "--policy", &policy, "--operator-namespace", &ns, "-o", "json"])
                .env("KUBECONFIG", &kubeconfig)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr).to_string();
            assert_eq!(output.status.code(), Some(1), "{stderr}");
            let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            let live = report["violations"].as_array().unwrap().iter().find(|v| v["path"] == "/data/password").unwrap()
                ["live"]
                .clone();
            (report["fingerprints"].clone(), live, stderr)
        }
    };

    // No key Secret in the operator's namespace: a key drawn for the run, and a note.
    let (fingerprints, _, stderr) = tokio::task::spawn_blocking(run.clone()).await.unwrap();
    assert_eq!(fingerprints["key"]["source"], "PerRun", "{fingerprints:#}");
    assert!(
        fingerprints["key"]["reason"].as_str().unwrap().contains("driftwarden-fingerprint-key"),
        "{fingerprints:#}"
    );
    assert!(stderr.contains("not comparable across runs"), "{stderr}");

    // The installation's key, once there, is used: the operator's fingerprints and diff's
    // agree.
    let key: Secret = serde_json::from_value(json!({
        "metadata": {"name": "driftwarden-fingerprint-key"},
        "data": {"key": driftwarden::engine::secret::encode_data(b"driftwarden test fingerprint key")}
    }))
    .unwrap();
    secrets.create(&PostParams::default(), &key).await.unwrap();
    let (fingerprints, live, stderr) = tokio::task::spawn_blocking(run).await.unwrap();
    assert_eq!(fingerprints, json!({"scheme": "hmac-sha256-128", "key": {"source": "Installation", "namespace": ns}}));
    // hmac.new(b"driftwarden test fingerprint key", b"hunter2-staple", hashlib.sha256)
    assert_eq!(live, "hmac-sha256:378ff1ee1d71f1c7b2c94ee3dd591f47");
    assert!(!stderr.contains("not comparable"), "{stderr}");
}

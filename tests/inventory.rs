//! `driftwarden inventory` against the sandbox API server: read-only, from the caller's
//! kubeconfig.

use std::path::PathBuf;
use std::process::{Command, Output};

use driftwarden_sandbox::testing::{Sandbox, TempNamespace};
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use kube::core::GroupVersionKind;
use serde_json::{Value, json};

async fn create(sandbox: &Sandbox, object: Value) {
    let api_version = object["apiVersion"].as_str().unwrap();
    let kind = object["kind"].as_str().unwrap();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (resource, _) =
        kube::discovery::pinned_kind(&sandbox.client(), &GroupVersionKind::gvk(group, version, kind)).await.unwrap();
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(sandbox.client(), ns, &resource),
        None => Api::all_with(sandbox.client(), &resource),
    };
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
}

/// A namespace owned by `shop`, with: `web` bound to cluster-admin and run by a Deployment
/// (one live pod) behind a LoadBalancer Service; `idle`, bound to nothing, used by nothing
/// and not mounting its token; `ci`, with a legacy token Secret; `monitor`, bound in the namespace to an
/// aggregated ClusterRole that picks up Secret reading.
async fn cluster() -> (Sandbox, TempNamespace) {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let namespace = sandbox.temp_namespace().await.unwrap();
    let ns = namespace.name().to_string();
    let namespaces: Api<DynamicObject> =
        Api::all_with(sandbox.client(), &ApiResource::erase::<k8s_openapi::api::core::v1::Namespace>(&()));
    namespaces
        .patch(
            &ns,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"labels": {"team": "shop"}}})),
        )
        .await
        .unwrap();
    for name in ["web", "idle", "ci", "monitor"] {
        let mut account =
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}});
        if name == "idle" {
            account["automountServiceAccountToken"] = json!(false);
        }
        create(&sandbox, account).await;
    }
    let rbac = "rbac.authorization.k8s.io/v1";
    create(
        &sandbox,
        json!({
            "apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": format!("{ns}-web-admin")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": ns}]
        }),
    )
    .await;
    create(&sandbox, json!({
        "apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": format!("{ns}-monitoring")},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"aggregate-to": format!("{ns}-monitoring")}}]},
        "rules": []
    }))
    .await;
    create(
        &sandbox,
        json!({
            "apiVersion": rbac, "kind": "ClusterRole",
            "metadata": {"name": format!("{ns}-secret-reader"), "labels": {"aggregate-to": format!("{ns}-monitoring")}},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]
        }),
    )
    .await;
    create(&sandbox, json!({
        "apiVersion": rbac, "kind": "RoleBinding", "metadata": {"name": "monitor", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("{ns}-monitoring")},
        "subjects": [{"kind": "ServiceAccount", "name": "monitor"}, {"kind": "User", "name": "alice@example.com"}]
    }))
    .await;
    create(
        &sandbox,
        json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "ci-token", "namespace": ns,
                "annotations": {"kubernetes.io/service-account.name": "ci"},
                "labels": {"kubernetes.io/legacy-token-last-used": "2026-01-15"}},
            "data": {"token": "bGVnYWN5LXRva2VuLXZhbHVl"}
        }),
    )
    .await;
    let template = json!({"metadata": {"labels": {"app": "web"}},
        "spec": {"serviceAccountName": "web", "containers": [{"name": "web", "image": "web:1"}]}});
    create(&sandbox, json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns, "uid": "ignored"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}
    }))
    .await;
    create(&sandbox, json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": ns, "labels": {"app": "web"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u", "controller": true}]},
        "spec": template["spec"]
    }))
    .await;
    create(
        &sandbox,
        json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 443}]}
        }),
    )
    .await;
    (sandbox, namespace)
}

fn kubeconfig(sandbox: &Sandbox, dir: &tempfile::TempDir, token: Option<&str>) -> PathBuf {
    let mut config = serde_json::to_value(sandbox.kubeconfig()).unwrap();
    if let Some(token) = token {
        config["users"][0]["user"] = json!({"token": token});
    }
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
    path
}

async fn run(kubeconfig: PathBuf, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_driftwarden"))
            .arg("inventory")
            .args(args)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn accounts(report: &Value) -> Vec<String> {
    report["accounts"].as_array().unwrap().iter().map(|a| a["account"]["name"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn json_ranks_the_exposed_cluster_admin_first_and_filters_narrow_it() {
    let (sandbox, namespace) = cluster().await;
    let ns = namespace.name();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(&sandbox, &dir, None);
    let before = sandbox.store().resource_version();

    let output = run(config.clone(), &["-o", "json", "--namespace", ns]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("bGVnYWN5"), "no Secret data in the output");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names = accounts(&report);
    assert_eq!(names[0], "web", "{report:#}");
    let web = &report["accounts"][0];
    assert_eq!(web["risk"]["severity"], "Critical");
    assert_eq!(web["owner"]["team"], "shop");
    assert!(web["privileges"].as_array().unwrap().contains(&json!("cluster-admin")));
    assert_eq!(web["workloads"][0]["workload"]["kind"], "Deployment");
    assert_eq!(web["workloads"][0]["running"], true);
    assert_eq!(web["workloads"][0]["exposedBy"][0], format!("Service {ns}/web (LoadBalancer)"));
    let monitor = report["accounts"].as_array().unwrap().iter().find(|a| a["account"]["name"] == "monitor").unwrap();
    assert_eq!(monitor["privileges"], json!(["read-secrets"]), "through the aggregated ClusterRole");
    let ci = report["accounts"].as_array().unwrap().iter().find(|a| a["account"]["name"] == "ci").unwrap();
    assert_eq!(ci["legacyTokens"][0]["secret"]["name"], "ci-token");
    assert_eq!(ci["legacyTokens"][0]["lastUsed"], "2026-01-15");
    assert!(names.contains(&"idle".to_string()));
    assert!(report.get("subjects").is_none());

    let admins = run(config.clone(), &["-o", "json", "--namespace", ns, "--privilege", "cluster-admin"]).await;
    assert_eq!(accounts(&serde_json::from_slice(&admins.stdout).unwrap()), ["web"]);
    let secrets = run(config.clone(), &["-o", "json", "-n", ns, "--privilege", "secrets"]).await;
    assert_eq!(accounts(&serde_json::from_slice(&secrets.stdout).unwrap()), ["web", "monitor"]);
    let other_owner = run(config.clone(), &["-o", "json", "-n", ns, "--owner", "payments"]).await;
    assert!(accounts(&serde_json::from_slice(&other_owner.stdout).unwrap()).is_empty());
    let by_label =
        run(config.clone(), &["-o", "json", "-n", ns, "--owner-label", "missing", "--owner", "unowned"]).await;
    assert_eq!(accounts(&serde_json::from_slice(&by_label.stdout).unwrap()).len(), 4, "every account");

    let with_subjects = run(config, &["-o", "json", "-n", ns, "--subjects"]).await;
    let report: Value = serde_json::from_slice(&with_subjects.stdout).unwrap();
    let alice = report["subjects"].as_array().unwrap().iter().find(|s| s["subject"]["name"] == "alice@example.com");
    assert_eq!(alice.unwrap()["privileges"], json!(["read-secrets"]));
    assert_eq!(sandbox.store().resource_version(), before, "inventory writes nothing");
}

#[tokio::test]
async fn the_table_has_one_row_per_account_sorted_by_risk() {
    let (sandbox, namespace) = cluster().await;
    let ns = namespace.name();
    let dir = tempfile::tempdir().unwrap();
    let output = run(kubeconfig(&sandbox, &dir, None), &["--namespace", ns, "--subjects"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("RISK  SEVERITY  NAMESPACE"), "{text}");
    for column in ["ACCOUNT", "OWNER", "PRIVILEGES", "TOKENS", "AUTOMOUNT", "WORKLOADS"] {
        assert!(lines[0].contains(column), "{text}");
    }
    assert!(
        lines[1].contains(" web ")
            && lines[1].contains("Critical")
            && lines[1].contains(" default(mounted) ")
            && lines[1].contains("deployment/web(running)(internet)"),
        "{text}"
    );
    let row = |name: &str| lines.iter().find(|l| l.split_whitespace().nth(3) == Some(name)).copied().unwrap_or("");
    let automount_column = |name: &str| {
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        let at = header.iter().position(|c| *c == "AUTOMOUNT").unwrap();
        row(name).split_whitespace().nth(at).unwrap_or("").to_string()
    };
    assert_eq!(automount_column("idle"), "false", "{text}");
    assert_eq!(automount_column("ci"), "default", "unset and mounted by nothing running: {text}");
    let risks: Vec<u32> = lines[1..5].iter().map(|l| l.split_whitespace().next().unwrap().parse().unwrap()).collect();
    assert!(risks.windows(2).all(|w| w[0] >= w[1]), "{text}");
    assert!(text.contains("KIND") && text.contains("alice@example.com"), "{text}");
}

#[tokio::test]
async fn a_caller_who_cannot_list_gets_exit_two_naming_the_resource_and_verb() {
    let sandbox = Sandbox::start().await.expect("sandbox starts");
    let nobody = sandbox.add_user("nobody", &[]);
    let dir = tempfile::tempdir().unwrap();
    let output = run(kubeconfig(&sandbox, &dir, Some(&nobody.token)), &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot list namespaces (verb list"), "{stderr}");
}

#[tokio::test]
async fn a_caller_with_only_get_and_list_on_the_kinds_it_reads_gets_the_inventory() {
    let (sandbox, namespace) = cluster().await;
    let ns = namespace.name();
    let auditor = sandbox.add_user(&format!("{ns}-auditor@example.com"), &[]);
    let rules = json!([
        {"apiGroups": [""], "resources": ["namespaces", "serviceaccounts", "secrets", "pods", "services"], "verbs": ["get", "list"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "clusterroles", "rolebindings", "clusterrolebindings"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"], "verbs": ["get", "list"]},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["get", "list"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "list"]}
    ]);
    let rbac = "rbac.authorization.k8s.io/v1";
    create(&sandbox, json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": format!("{ns}-inventory")}, "rules": rules}))
        .await;
    create(&sandbox, json!({
        "apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": format!("{ns}-inventory")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("{ns}-inventory")},
        "subjects": [{"kind": "User", "name": auditor.user.name}]
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let before = sandbox.store().resource_version();
    let output = run(kubeconfig(&sandbox, &dir, Some(&auditor.token)), &["-o", "json", "--namespace", ns]).await;
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(accounts(&report)[0], "web", "the same inventory as an admin gets: {report:#}");
    assert_eq!(report["accounts"][0]["risk"]["severity"], "Critical");
    let requests: Vec<_> = sandbox.requests().into_iter().filter(|r| r.user == auditor.user.name).collect();
    assert!(!requests.is_empty());
    let beyond: Vec<_> =
        requests.iter().filter(|r| !r.resource.is_empty() && r.verb != "list" && r.verb != "get").collect();
    assert!(beyond.is_empty(), "only reads: {beyond:#?}");
    assert!(requests.iter().all(|r| r.code != 403), "nothing forbidden");
    assert_eq!(sandbox.store().resource_version(), before, "inventory writes nothing");
}

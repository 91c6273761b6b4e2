//! Fixes are made as the tenant: a DriftPolicy's fixes impersonate the ServiceAccount it
//! names, so a tenant cannot have driftwarden write what that ServiceAccount may not; with
//! `--require-service-account` a policy naming none is refused; and the chart's admission
//! policy admits a ServiceAccount only from a user who may impersonate it. The tenant acts
//! through impersonation (a client, and `kubectl --as`), with the `edit` ClusterRole in its
//! own namespace only.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::chart;
use crate::support::*;

/// Binds the `edit` ClusterRole to `user` in `ns`, and lets them write DriftPolicies there
/// (the chart ships no aggregated role for driftwarden's kinds).
async fn tenant(harness: &Harness, ns: &str, user: &str) {
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": format!("edit-{user}")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(harness.client(), ns).create(&PostParams::default(), &binding).await.unwrap();
    policy_writer(harness, ns, user).await;
}

/// Lets `user` write DriftPolicies in `ns`, and nothing else.
async fn policy_writer(harness: &Harness, ns: &str, user: &str) {
    let rules = json!([{"apiGroups": ["driftwarden.dev"], "resources": ["driftpolicies"],
                        "verbs": ["get", "list", "create", "update", "patch"]}]);
    grant(harness, ns, user, "policy-writer", rules).await;
}

/// The DriftPolicies of `ns`, as `client` sees them.
fn policies_in(client: kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client, ns, &ApiResource::erase::<driftwarden::api::policy::DriftPolicy>(&()))
}

/// The policy `owners` (ConfigMaps labelled `app: shop` get `team: shop`) fixing as `account`.
fn owners_as(ns: &str, account: Option<&str>) -> DynamicObject {
    let mut policy = owners_policy(ns, json!({}));
    if let Some(account) = account {
        policy["spec"]["serviceAccountName"] = json!(account);
    }
    serde_json::from_value(policy).unwrap()
}

/// The Ready condition's status, reason and message.
fn ready(policy: &DynamicObject) -> (String, String, String) {
    let conditions = policy.data.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    let ready = conditions.iter().find(|c| c["type"] == "Ready").cloned().unwrap_or_default();
    let text = |field: &str| ready[field].as_str().unwrap_or_default().to_string();
    (text("status"), text("reason"), text("message"))
}

#[tokio::test]
async fn a_tenant_policy_fixes_only_what_its_service_account_may_write() -> Result<(), Box<dyn std::error::Error>> {
    let mut harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let other = harness.cluster.temp_namespace().await?;
    let user = format!("{ns}-tenant");
    tenant(&harness, &ns, &user).await;
    // The tenant's ServiceAccount may read ConfigMaps, not write them.
    grant_service_account(
        &harness,
        &ns,
        "fixer",
        json!([
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}
        ]),
    )
    .await;
    let config_maps: Api<ConfigMap> = Api::namespaced(harness.client(), &ns);
    config_maps.create(&PostParams::default(), &config_map(&ns, "settings", "other")).await?;
    let elsewhere: Api<ConfigMap> = Api::namespaced(harness.client(), other.name());
    elsewhere.create(&PostParams::default(), &config_map(other.name(), "settings", "other")).await?;
    harness.start_operator_tweaked(harness.client(), |settings| settings.require_service_account = true);

    // As the tenant: one policy fixing as its ServiceAccount, one naming none.
    let as_tenant = harness.cluster.client_impersonating(&user, &[])?;
    let tenant_policies = policies_in(as_tenant.clone(), &ns);
    tenant_policies.create(&PostParams::default(), &owners_as(&ns, Some("fixer"))).await?;
    let mut unnamed = owners_as(&ns, None);
    unnamed.metadata.name = Some("unnamed".into());
    tenant_policies.create(&PostParams::default(), &unnamed).await?;
    // And one in another namespace: RBAC refuses it before driftwarden sees it.
    let refused =
        policies_in(as_tenant, other.name()).create(&PostParams::default(), &owners_as(other.name(), None)).await;
    assert!(matches!(&refused, Err(kube::Error::Api(status)) if status.code == 403), "{refused:?}");

    let required = wait_for(&policies(&harness), "unnamed", "refused for naming no ServiceAccount", |p| {
        ready(p).0 == "False" && ready(p).1 == "ServiceAccountRequired"
    })
    .await;
    assert!(ready(&required).2.contains("set spec.serviceAccountName"), "{:?}", ready(&required));
    let forbidden = wait_for(&policies(&harness), "owners", "forbidden as the ServiceAccount", |p| {
        ready(p).0 == "False" && ready(p).1 == "Forbidden"
    })
    .await;
    let message = ready(&forbidden).2;
    assert!(
        message.starts_with(&format!("ServiceAccount {ns}/fixer may not patch configmaps in namespace {ns}")),
        "{message}"
    );
    let drift = &forbidden.data["status"]["drifts"][0];
    assert_eq!(drift["action"], "Escalate", "{drift}");
    let reason = drift["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with(&format!("Forbidden: ServiceAccount {ns}/fixer may not patch configmaps")), "{reason}");
    assert!(team_is(&config_maps.get("settings").await?, "other"), "the operator wrote nothing as itself");

    // Granted patch, the ServiceAccount's retried fix goes through.
    grant_service_account(
        &harness,
        &ns,
        "fixer-writes",
        json!([
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["patch"]}
        ]),
    )
    .await;
    let bind_to_fixer = json!({"subjects": [{"kind": "ServiceAccount", "name": "fixer", "namespace": ns}]});
    Api::<RoleBinding>::namespaced(harness.client(), &ns)
        .patch("sa-fixer-writes", &PatchParams::default(), &Patch::Merge(&bind_to_fixer))
        .await?;
    wait_for(&config_maps, "settings", "fixed as the ServiceAccount", |cm| team_is(cm, "shop")).await;
    wait_for(&policies(&harness), "owners", "ready again", |p| ready(p).0 == "True").await;
    assert!(team_is(&elsewhere.get("settings").await?, "other"), "nothing changed in another namespace");

    // Every request of the fix went as the ServiceAccount, impersonated; no write to the
    // ConfigMap went as anyone else.
    if let Ok(sandbox) = harness.sandbox() {
        let account = format!("system:serviceaccount:{ns}:fixer");
        let requests: Vec<_> = sandbox
            .requests()
            .into_iter()
            .filter(|r| r.resource == "configmaps" && r.namespace == ns && r.name == "settings")
            .collect();
        let as_account: Vec<_> = requests.iter().filter(|r| r.user == account).collect();
        assert!(as_account.iter().all(|r| r.impersonator.is_some()), "{as_account:#?}");
        let made = |verb: &str, dry_run: bool| {
            as_account.iter().any(|r| r.verb == verb && r.dry_run == dry_run && r.code == 200)
        };
        assert!(made("patch", true) && made("patch", false) && made("get", false), "{as_account:#?}");
        let others: Vec<_> = requests.iter().filter(|r| r.verb == "patch" && r.user != account).collect();
        assert!(others.is_empty(), "writes not made as {account}: {others:#?}");
    }
    harness.stop().await;
    Ok(())
}

/// Installs the chart's ValidatingAdmissionPolicy for ServiceAccounts and its binding;
/// `None` when the chart tests are skipped.
async fn install_service_account_policy(harness: &Harness) -> Option<()> {
    let rendered = chart::render(json!({}), "driftwarden-system")?.expect("the chart renders");
    for (kind, resource) in [
        (
            "ValidatingAdmissionPolicy",
            ApiResource::erase::<k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy>(&()),
        ),
        (
            "ValidatingAdmissionPolicyBinding",
            ApiResource::erase::<k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicyBinding>(&()),
        ),
    ] {
        let object = rendered.named(kind, "driftwarden-service-accounts");
        let api = Api::<DynamicObject>::all_with(harness.client(), &resource);
        api.create(&PostParams::default(), &serde_json::from_value(object).unwrap()).await.expect("installed");
    }
    Some(())
}

#[tokio::test]
async fn naming_a_service_account_needs_the_right_to_impersonate_it() -> Result<(), Box<dyn std::error::Error>> {
    let harness = Harness::prepare().await;
    let ns = harness.ns().to_string();
    let Some(()) = install_service_account_policy(&harness).await else { return Ok(()) };
    let (user, writer) = (format!("{ns}-tenant"), format!("{ns}-writer"));
    tenant(&harness, &ns, &user).await;
    policy_writer(&harness, &ns, &writer).await;
    grant_service_account(&harness, &ns, "fixer", json!([])).await;

    // The edit role may impersonate the ServiceAccounts of its namespace: admitted.
    let as_tenant = policies_in(harness.cluster.client_impersonating(&user, &[])?, &ns);
    as_tenant.create(&PostParams::default(), &owners_as(&ns, Some("fixer"))).await?;
    // A user who may write policies but not act as the ServiceAccount: refused, whether
    // creating a policy naming it or renaming one to it.
    let as_writer = policies_in(harness.cluster.client_impersonating(&writer, &[])?, &ns);
    let mut named = owners_as(&ns, Some("fixer"));
    named.metadata.name = Some("borrowed".into());
    let refused = as_writer.create(&PostParams::default(), &named).await.expect_err("refused at admission");
    let expected =
        format!("{writer} may not impersonate ServiceAccount {ns}/fixer, so may not have driftwarden fix as it");
    assert!(refused.to_string().contains(&expected), "{refused}");
    let mut plain = owners_as(&ns, None);
    plain.metadata.name = Some("plain".into());
    as_writer.create(&PostParams::default(), &plain).await?;
    let renamed = json!({"spec": {"serviceAccountName": "fixer"}});
    let refused = as_writer.patch("plain", &PatchParams::default(), &Patch::Merge(&renamed)).await;
    assert!(refused.as_ref().is_err_and(|e| e.to_string().contains(&expected)), "{refused:?}");
    // Changing only metadata of a policy that names one is not checked.
    let labelled = json!({"metadata": {"labels": {"reviewed": "yes"}}});
    as_writer.patch("owners", &PatchParams::default(), &Patch::Merge(&labelled)).await?;

    // The same through kubectl, as each of them (`--as`). The sandbox's OpenAPI documents
    // carry no schemas, so kubectl's client-side validation is off; the server validates.
    if let (Ok(sandbox), Some(kubectl)) = (harness.sandbox(), crate::kubectl_tool::kubectl_binary()) {
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, serde_yaml::to_string(&sandbox.kubeconfig())?)?;
        let mut manifest = serde_json::to_value(owners_as(&ns, Some("fixer")))?;
        manifest["metadata"]["name"] = json!("by-kubectl");
        let apply = |user: &str| {
            let mut command = tokio::process::Command::new(&kubectl);
            command
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args([&format!("--as={user}"), "apply", "--validate=false", "-f", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .kill_on_drop(true);
            let mut child = command.spawn().expect("kubectl runs");
            let body = serde_json::to_vec(&manifest).unwrap();
            async move {
                use tokio::io::AsyncWriteExt;
                let mut stdin = child.stdin.take().expect("piped");
                stdin.write_all(&body).await.expect("written");
                drop(stdin);
                child.wait_with_output().await.expect("kubectl ends")
            }
        };
        let refused = apply(&writer).await;
        let said = String::from_utf8_lossy(&refused.stderr).to_string();
        assert!(!refused.status.success() && said.contains(&expected), "{said}");
        let admitted = apply(&user).await;
        let said = String::from_utf8_lossy(&admitted.stdout).to_string();
        assert!(admitted.status.success() && said.contains("driftpolicy.driftwarden.dev/by-kubectl created"), "{said}");
    }
    harness.stop().await;
    Ok(())
}

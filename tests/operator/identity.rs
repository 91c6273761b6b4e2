//! Campaigns over the built-in identity checks: the one automatic fix is applied in waves
//! and verified; every other finding waits for its owner and closes only when a fresh read
//! shows the owner's fix.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, Role};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::*;

fn campaigns(harness: &Harness) -> Api<DynamicObject> {
    Api::all_with(harness.client(), &ApiResource::erase::<driftwarden::api::campaign::RemediationCampaign>(&()))
}

fn findings(harness: &Harness, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(harness.client(), ns, &ApiResource::erase::<driftwarden::api::finding::Finding>(&()))
}

/// A campaign running `check` over the test's assets (those in its namespace, or labelled
/// with it when cluster-scoped).
async fn check_campaign(harness: &Harness, check: Value, scope: Value, mode: &str) -> String {
    let name = format!("{}-{}", harness.ns(), check["name"].as_str().unwrap().to_lowercase());
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
        "metadata": {"name": name},
        "spec": {"objective": "Least privilege for machine identities", "owner": {"team": "security"},
                 "control": {"check": check}, "scope": scope, "deadline": "2099-01-01T00:00:00Z",
                 "strategy": {"mode": mode, "waveInterval": "1s"}}
    }))
    .unwrap();
    campaigns(harness).create(&PostParams::default(), &object).await.expect("campaign created");
    name
}

fn in_namespace(harness: &Harness) -> Value {
    json!({"namespaces": [harness.ns()]})
}

async fn finding(harness: &Harness, ns: &str, name: &str, what: &str, state: &'static str) -> DynamicObject {
    wait_for(&findings(harness, ns), name, what, move |f| f.data["status"]["state"] == state).await
}

async fn completed(harness: &Harness, name: &str) -> DynamicObject {
    wait_for(&campaigns(harness), name, "completed", |c| condition(c, "Completed").is_some_and(|(s, _)| s == "True"))
        .await
}

fn last_evidence(finding: &DynamicObject) -> Value {
    finding.data["status"]["evidence"].as_array().and_then(|e| e.last().cloned()).unwrap_or_default()
}

async fn create<K>(api: &Api<K>, body: Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.expect("created")
}

#[tokio::test]
async fn token_automount_is_turned_off_by_itself_only_where_no_workload_relies_on_it() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let accounts: Api<ServiceAccount> = Api::namespaced(harness.client(), &ns);
    let deployments: Api<Deployment> = Api::namespaced(harness.client(), &ns);
    create(&accounts, json!({"metadata": {"name": "builder", "labels": {"team": "ci"}}})).await;
    create(&accounts, json!({"metadata": {"name": "web"}})).await;
    create(
        &deployments,
        json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"serviceAccountName": "web", "containers": [{"name": "app", "image": "shop/web:1"}]}}}
        }),
    )
    .await;
    let name =
        check_campaign(&harness, json!({"name": "ServiceAccountTokenAutomount"}), in_namespace(&harness), "Auto").await;

    // Nothing runs as `builder`: its fix is automatic, applied and verified.
    let builder = finding(&harness, &ns, &format!("{name}.serviceaccount.builder"), "fixed", "Closed").await;
    assert_eq!(builder.data["spec"]["owner"]["team"], "ci");
    assert_eq!(last_evidence(&builder)["actor"], "driftwarden");
    assert_eq!(accounts.get("builder").await.unwrap().automount_service_account_token, Some(false));
    // `web` runs a Deployment that relies on the default: its owner decides, in the pod template.
    let web = finding(&harness, &ns, &format!("{name}.deployment.web"), "sent to its owner", "Escalated").await;
    assert_eq!(web.data["spec"]["owner"]["team"], "unowned");
    assert_eq!(
        accounts.get("web").await.unwrap().automount_service_account_token,
        None,
        "never changed under a workload"
    );
    edit(&deployments, "web", json!({"spec": {"template": {"spec": {"automountServiceAccountToken": false}}}})).await;
    let web = finding(&harness, &ns, &format!("{name}.deployment.web"), "verified", "Closed").await;
    assert_eq!(last_evidence(&web)["actor"], "kubectl-edit");
    // Now no workload relies on the account: its own fix is automatic.
    finding(&harness, &ns, &format!("{name}.serviceaccount.web"), "fixed", "Closed").await;
    let done = completed(&harness, &name).await;
    assert_eq!(done.data["status"]["findings"]["closed"], 3);
    harness.stop().await;
}

/// The ServiceAccount `deployer` and its legacy token Secret `deployer-token`.
async fn legacy_token(accounts: &Api<ServiceAccount>, secrets: &Api<Secret>) {
    create(accounts, json!({"metadata": {"name": "deployer"}})).await;
    create(
        secrets,
        json!({
            "metadata": {"name": "deployer-token", "annotations": {"kubernetes.io/service-account.name": "deployer"}},
            "type": "kubernetes.io/service-account-token", "stringData": {"token": "not-a-real-token"}
        }),
    )
    .await;
}

/// The Secret `api-key`, rotated two days ago (its value `value-never-shown`).
async fn unrotated_secret(secrets: &Api<Secret>) {
    let stale = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(48)).to_string();
    create(
        secrets,
        json!({"metadata": {"name": "api-key", "annotations": {"driftwarden.dev/rotated-at": stale}},
               "stringData": {"key": "value-never-shown"}}),
    )
    .await;
}

/// An Auto `SecretRotation` campaign (`maxAge: 24h`) over the test's namespace.
async fn rotation_campaign(harness: &Harness) -> String {
    let check = json!({"name": "SecretRotation", "parameters": {"maxAge": "24h"}});
    check_campaign(harness, check, in_namespace(harness), "Auto").await
}

#[tokio::test]
async fn a_legacy_token_is_never_deleted_by_driftwarden_and_closes_once_its_owner_deletes_it() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let accounts: Api<ServiceAccount> = Api::namespaced(harness.client(), &ns);
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    legacy_token(&accounts, &secrets).await;
    let name =
        check_campaign(&harness, json!({"name": "LegacyServiceAccountTokens"}), in_namespace(&harness), "Auto").await;
    let escalated =
        finding(&harness, &ns, &format!("{name}.secret.deployer-token"), "sent to its owner", "Escalated").await;
    let message = last_evidence(&escalated)["message"].as_str().unwrap_or_default().to_string();
    assert!(message.to_lowercase().contains("delete"), "{message}");
    assert!(!serde_json::to_string(&escalated.data).unwrap().contains("not-a-real-token"));
    assert!(secrets.get_opt("deployer-token").await.unwrap().is_some(), "driftwarden deletes nothing");
    secrets.delete("deployer-token", &DeleteParams::default()).await.unwrap();
    finding(&harness, &ns, &format!("{name}.secret.deployer-token"), "closed", "Closed").await;
    completed(&harness, &name).await;
    harness.stop().await;
}

#[tokio::test]
async fn cluster_admin_bindings_and_wildcard_roles_wait_for_their_owners() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let accounts: Api<ServiceAccount> = Api::namespaced(harness.client(), &ns);
    let bindings: Api<ClusterRoleBinding> = Api::all(harness.client());
    let roles: Api<Role> = Api::namespaced(harness.client(), &ns);
    create(&accounts, json!({"metadata": {"name": "ops"}})).await;
    let binding = format!("{ns}-ops-admin");
    create(
        &bindings,
        json!({
            "metadata": {"name": binding, "labels": {"test": ns}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "ops", "namespace": ns}]
        }),
    )
    .await;
    create(
        &roles,
        json!({"metadata": {"name": "everything"},
                          "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]}),
    )
    .await;
    let admins = check_campaign(
        &harness,
        json!({"name": "ClusterAdminBindings"}),
        json!({"selector": {"matchLabels": {"test": ns}}}),
        "Auto",
    )
    .await;
    let wildcards = check_campaign(&harness, json!({"name": "WildcardRbac"}), in_namespace(&harness), "Auto").await;
    // Cluster-scoped assets: the finding lives in the operator's namespace.
    let admin =
        finding(&harness, &ns, &format!("{admins}.clusterrolebinding.{binding}"), "escalated", "Escalated").await;
    assert!(matches!(admin.data["spec"]["severity"].as_str(), Some("High" | "Critical")), "{}", admin.data["spec"]);
    finding(&harness, &ns, &format!("{wildcards}.role.everything"), "escalated", "Escalated").await;
    assert!(bindings.get_opt(&binding).await.unwrap().is_some(), "driftwarden removes no binding");

    bindings.delete(&binding, &DeleteParams::default()).await.unwrap();
    roles
        .patch(
            "everything",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]}),
            ),
        )
        .await
        .unwrap();
    finding(&harness, &ns, &format!("{admins}.clusterrolebinding.{binding}"), "closed", "Closed").await;
    finding(&harness, &ns, &format!("{wildcards}.role.everything"), "closed", "Closed").await;
    completed(&harness, &admins).await;
    completed(&harness, &wildcards).await;
    harness.stop().await;
}

#[tokio::test]
async fn unused_accounts_and_unrotated_secrets_close_on_their_owners_fix() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let accounts: Api<ServiceAccount> = Api::namespaced(harness.client(), &ns);
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    create(&accounts, json!({"metadata": {"name": "idle"}})).await;
    unrotated_secret(&secrets).await;
    let unused =
        check_campaign(&harness, json!({"name": "UnusedServiceAccounts"}), in_namespace(&harness), "Auto").await;
    let rotation = rotation_campaign(&harness).await;
    finding(&harness, &ns, &format!("{unused}.serviceaccount.idle"), "escalated", "Escalated").await;
    let key = finding(&harness, &ns, &format!("{rotation}.secret.api-key"), "escalated", "Escalated").await;
    assert!(!serde_json::to_string(&key.data).unwrap().contains("value-never-shown"));

    accounts.delete("idle", &DeleteParams::default()).await.unwrap();
    let now = jiff::Timestamp::now().to_string();
    edit(&secrets, "api-key", json!({"metadata": {"annotations": {"driftwarden.dev/rotated-at": now}}})).await;
    finding(&harness, &ns, &format!("{unused}.serviceaccount.idle"), "closed", "Closed").await;
    finding(&harness, &ns, &format!("{rotation}.secret.api-key"), "closed", "Closed").await;
    completed(&harness, &unused).await;
    completed(&harness, &rotation).await;
    let listed = findings(&harness, &ns).list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 2);
    harness.stop().await;
}

#[tokio::test]
async fn a_cluster_admin_account_behind_a_load_balancer_is_critical_and_its_owner_hears_at_once() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let (url, mut events) = crate::receiver::start().await;
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    create(&secrets, crate::receiver::hook_secret("security-hooks", &url)).await;
    let accounts: Api<ServiceAccount> = Api::namespaced(harness.client(), &ns);
    let bindings: Api<ClusterRoleBinding> = Api::all(harness.client());
    let admin_binding = |name: &str, account: &str| {
        json!({
            "metadata": {"name": format!("{ns}-{name}"), "labels": {"test": ns}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": ns}]
        })
    };
    // An unused account bound to cluster-admin: High, an owner's task, not an alert.
    create(&accounts, json!({"metadata": {"name": "idle"}})).await;
    create(&bindings, admin_binding("idle-admin", "idle")).await;
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "driftwarden.dev/v1alpha1", "kind": "RemediationCampaign",
        "metadata": {"name": format!("{ns}-admins")},
        "spec": {"objective": "No machine identity is cluster-admin", "owner": {"team": "security"},
                 "control": {"check": {"name": "ClusterAdminBindings"}},
                 "scope": {"selector": {"matchLabels": {"test": ns}}}, "deadline": "2099-01-01T00:00:00Z",
                 "strategy": {"mode": "Manual"},
                 "notify": {"urlSecretRef": {"name": "security-hooks", "key": "url"}, "mode": "Structured"}}
    }))
    .unwrap();
    campaigns(&harness).create(&PostParams::default(), &object).await.unwrap();
    let campaign = format!("{ns}-admins");
    let idle =
        finding(&harness, &ns, &format!("{campaign}.clusterrolebinding.{ns}-idle-admin"), "escalated", "Escalated")
            .await;
    assert_eq!(idle.data["spec"]["severity"], "High", "{}", idle.data["spec"]);

    // The same power for an account a running Deployment uses, exposed by a LoadBalancer.
    create(&accounts, json!({"metadata": {"name": "web"}})).await;
    let deployments: Api<Deployment> = Api::namespaced(harness.client(), &ns);
    create(
        &deployments,
        json!({
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"serviceAccountName": "web", "containers": [{"name": "app", "image": "shop/web:1"}]}}}
        }),
    )
    .await;
    deployments
        .patch_status("web", &PatchParams::default(), &Patch::Merge(json!({"status": {"replicas": 2}})))
        .await
        .unwrap();
    let services: Api<k8s_openapi::api::core::v1::Service> = Api::namespaced(harness.client(), &ns);
    create(
        &services,
        json!({"metadata": {"name": "web"},
               "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 443}]}}),
    )
    .await;
    create(&bindings, admin_binding("web-admin", "web")).await;

    let opened = within("the finding.opened notification of the critical finding", async {
        loop {
            let received = events.recv().await.expect("the receiver runs");
            let event: Value = serde_json::from_slice(&received.body).unwrap();
            if event["type"] == "dev.driftwarden.finding.opened" {
                break event;
            }
        }
    })
    .await;
    assert_eq!(opened["data"]["severity"], "Critical", "{opened:#}");
    assert_eq!(opened["data"]["asset"]["kind"], "ClusterRoleBinding");
    assert_eq!(opened["data"]["asset"]["name"], format!("{ns}-web-admin"), "the first alert is the critical one");
    assert_eq!(opened["source"], format!("/apis/driftwarden.dev/v1alpha1/remediationcampaigns/{campaign}"));
    let critical =
        finding(&harness, &ns, &format!("{campaign}.clusterrolebinding.{ns}-web-admin"), "escalated", "Escalated")
            .await;
    assert_eq!(critical.data["spec"]["severity"], "Critical");

    campaigns(&harness).delete(&campaign, &DeleteParams::default()).await.unwrap();
    for name in ["idle-admin", "web-admin"] {
        bindings.delete(&format!("{ns}-{name}"), &DeleteParams::default()).await.unwrap();
    }
    harness.stop().await;
}

/// How many Secrets the operator's watch cache holds.
fn secrets_watched(harness: &Harness) -> Option<u64> {
    let metrics = harness.metrics().encode();
    let line = metrics.lines().find(|l| l.starts_with(r#"driftwarden_watched_objects{kind="Secret.v1"} "#))?;
    line.rsplit(' ').next()?.parse().ok()
}

#[tokio::test]
async fn identity_checks_watch_only_token_secrets_until_secret_rotation_needs_the_others() {
    let harness = Harness::start().await;
    let ns = harness.ns().to_string();
    let accounts: Api<ServiceAccount> = Api::namespaced(harness.client(), &ns);
    let secrets: Api<Secret> = Api::namespaced(harness.client(), &ns);
    legacy_token(&accounts, &secrets).await;
    unrotated_secret(&secrets).await;
    let all = Api::<Secret>::all(harness.client());
    let count = |fields: Option<&'static str>| {
        let all = all.clone();
        async move {
            let params = fields.map_or_else(ListParams::default, |f| ListParams::default().fields(f));
            all.list(&params).await.expect("Secrets listed").items.len() as u64
        }
    };
    let tokens = count(Some("type=kubernetes.io/service-account-token")).await;
    assert!(tokens < count(None).await, "the cluster holds other Secrets than tokens");

    let legacy =
        check_campaign(&harness, json!({"name": "LegacyServiceAccountTokens"}), in_namespace(&harness), "Auto").await;
    finding(&harness, &ns, &format!("{legacy}.secret.deployer-token"), "sent to its owner", "Escalated").await;
    assert_eq!(secrets_watched(&harness), Some(tokens), "only ServiceAccount token Secrets are watched");

    // SecretRotation looks at every other Secret: the watch widens to all of them (their
    // metadata and type only).
    let rotation = rotation_campaign(&harness).await;
    let key = finding(&harness, &ns, &format!("{rotation}.secret.api-key"), "escalated", "Escalated").await;
    assert!(!serde_json::to_string(&key.data).unwrap().contains("value-never-shown"));
    let everything = count(None).await;
    eventually("every Secret watched", || async { secrets_watched(&harness) == Some(everything) }).await;
    harness.stop().await;
}

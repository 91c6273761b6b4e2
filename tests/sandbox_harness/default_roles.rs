//! The user-facing ClusterRoles every cluster has: `edit` granted in one namespace lets a
//! tenant change workloads there but not RBAC and nothing elsewhere; `view` reads no
//! Secrets; aggregation follows the `aggregate-to-*` labels.

use std::time::Duration;

use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authorization::v1::SelfSubjectAccessReview;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::{TestResult, configmap, status_of};

/// Binds ClusterRole `role` to User `user` in `namespace`.
async fn bind(admin: &kube::Client, namespace: &str, role: &str, user: &str) -> Result<(), kube::Error> {
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": format!("{role}-{user}")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }))
    .expect("binding");
    Api::<RoleBinding>::namespaced(admin.clone(), namespace).create(&PostParams::default(), &binding).await?;
    Ok(())
}

#[tokio::test]
async fn edit_in_one_namespace_changes_workloads_there_but_not_rbac() -> TestResult {
    let cluster = TestCluster::start().await?;
    let (home, elsewhere) = (cluster.temp_namespace().await?, cluster.temp_namespace().await?);
    let tenant = format!("{}-tenant", home.name());
    bind(&cluster.client(), home.name(), "edit", &tenant).await?;
    let client = cluster.client_impersonating(&tenant, &[])?;
    let pp = PostParams::default();

    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), home.name());
    configmaps.create(&pp, &configmap("settings")).await?;
    configmaps.patch("settings", &PatchParams::default(), &Patch::Merge(json!({"data": {"key": "new"}}))).await?;
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    }))?;
    Api::<Deployment>::namespaced(client.clone(), home.name()).create(&pp, &deployment).await?;
    Api::<Secret>::namespaced(client.clone(), home.name()).list(&Default::default()).await?;

    let role: Role = serde_json::from_value(json!({"metadata": {"name": "mine"}, "rules": []}))?;
    let status = status_of(Api::<Role>::namespaced(client.clone(), home.name()).create(&pp, &role).await);
    assert_eq!(
        status.message,
        format!(
            "roles.rbac.authorization.k8s.io is forbidden: User \"{tenant}\" cannot create resource \"roles\" in API group \"rbac.authorization.k8s.io\" in the namespace \"{}\"",
            home.name()
        )
    );
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), home.name());
    assert_eq!(status_of(bindings.list(&Default::default()).await).code, 403, "edit does not read RBAC either");
    let theirs: Api<ConfigMap> = Api::namespaced(client, elsewhere.name());
    assert_eq!(status_of(theirs.create(&pp, &configmap("settings")).await).code, 403);
    assert_eq!(status_of(theirs.get("settings").await).code, 403);
    Ok(())
}

#[tokio::test]
async fn view_reads_workloads_but_not_secrets() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let viewer = format!("{}-viewer", ns.name());
    bind(&cluster.client(), ns.name(), "view", &viewer).await?;
    let client = cluster.client_impersonating(&viewer, &[])?;
    Api::<ConfigMap>::namespaced(client.clone(), ns.name()).list(&Default::default()).await?;
    Api::<Deployment>::namespaced(client.clone(), ns.name()).list(&Default::default()).await?;
    let status = status_of(Api::<Secret>::namespaced(client.clone(), ns.name()).get("token").await);
    assert_eq!(
        status.message,
        format!(
            "secrets \"token\" is forbidden: User \"{viewer}\" cannot get resource \"secrets\" in API group \"\" in the namespace \"{}\"",
            ns.name()
        )
    );
    let create = Api::<ConfigMap>::namespaced(client, ns.name()).create(&PostParams::default(), &configmap("x")).await;
    assert_eq!(status_of(create).code, 403);
    Ok(())
}

/// Whether the user of `client` may get widgets in `namespace`, as a SelfSubjectAccessReview says.
async fn may_get_widgets(client: &kube::Client, namespace: &str) -> Result<bool, kube::Error> {
    let review: SelfSubjectAccessReview = serde_json::from_value(json!({"spec": {"resourceAttributes": {
        "namespace": namespace, "verb": "get", "group": "example.dev", "resource": "widgets"}}}))
    .expect("review");
    let answer = Api::<SelfSubjectAccessReview>::all(client.clone()).create(&PostParams::default(), &review).await?;
    Ok(answer.status.is_some_and(|s| s.allowed))
}

/// Waits until the review answers `wanted` (a real cluster's aggregation controller acts
/// asynchronously); fails after ten seconds.
async fn eventually(client: &kube::Client, namespace: &str, wanted: bool) -> TestResult {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while may_get_widgets(client, namespace).await? != wanted {
        if tokio::time::Instant::now() > deadline {
            return Err(format!("may get widgets never became {wanted}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test]
async fn aggregation_follows_the_aggregate_to_labels() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let admin = cluster.client();
    let editor = format!("{}-editor", ns.name());
    let admin_user = format!("{}-admin", ns.name());
    bind(&admin, ns.name(), "edit", &editor).await?;
    bind(&admin, ns.name(), "admin", &admin_user).await?;
    let as_editor = cluster.client_impersonating(&editor, &[])?;
    let as_admin = cluster.client_impersonating(&admin_user, &[])?;
    assert!(!may_get_widgets(&as_editor, ns.name()).await?);

    let name = format!("dw-test-{}-widgets", ns.name());
    let roles: Api<ClusterRole> = Api::all(admin);
    let widgets: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}},
        "rules": [{"apiGroups": ["example.dev"], "resources": ["widgets"], "verbs": ["get"]}]
    }))?;
    roles.create(&PostParams::default(), &widgets).await?;
    eventually(&as_editor, ns.name(), true).await?;
    eventually(&as_admin, ns.name(), true).await?;

    let unlabel = Patch::Merge(json!({"metadata": {"labels": {"rbac.authorization.k8s.io/aggregate-to-edit": null}}}));
    roles.patch(&name, &PatchParams::default(), &unlabel).await?;
    eventually(&as_editor, ns.name(), false).await?;
    roles.delete(&name, &DeleteParams::default()).await?;
    Ok(())
}

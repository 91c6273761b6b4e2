//! RBAC from the store: namespaced grants stay in their namespace, ServiceAccounts get
//! exactly their Role, wildcards and aggregated ClusterRoles, 401 versus 403.

use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::{TestResult, configmap, grant, status_of};

#[tokio::test]
async fn a_namespaced_user_cannot_act_in_another_namespace() -> TestResult {
    let cluster = TestCluster::start().await?;
    let (home, elsewhere) = (cluster.temp_namespace().await?, cluster.temp_namespace().await?);
    let alice = require_sandbox!(cluster.add_user("alice", &["dev"]));
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]);
    grant(&cluster.client(), home.name(), "cm-admin", rules, json!({"kind": "User", "name": "alice"})).await?;
    let client = require_sandbox!(cluster.client_as(&alice))?;

    let mine: Api<ConfigMap> = Api::namespaced(client.clone(), home.name());
    mine.create(&PostParams::default(), &configmap("a")).await?;
    mine.get("a").await?;
    mine.delete("a", &DeleteParams::default()).await?;

    let theirs: Api<ConfigMap> = Api::namespaced(client.clone(), elsewhere.name());
    let status = status_of(theirs.create(&PostParams::default(), &configmap("a")).await);
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        format!(
            "configmaps is forbidden: User \"alice\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"{}\"",
            elsewhere.name()
        )
    );
    let status = status_of(theirs.get("b").await);
    assert_eq!(
        status.message,
        format!(
            "configmaps \"b\" is forbidden: User \"alice\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"{}\"",
            elsewhere.name()
        )
    );
    let details = status.details.expect("details");
    assert_eq!((details.name.as_str(), details.kind.as_str()), ("b", "configmaps"));
    assert_eq!(status_of(Api::<ConfigMap>::all(client).list(&Default::default()).await).code, 403);
    Ok(())
}

#[tokio::test]
async fn a_service_account_can_do_exactly_what_its_role_says() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let admin = cluster.client();
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    }))?;
    Api::<Deployment>::namespaced(admin.clone(), ns.name()).create(&PostParams::default(), &deployment).await?;
    Api::<ConfigMap>::namespaced(admin.clone(), ns.name()).create(&PostParams::default(), &configmap("one")).await?;
    Api::<ConfigMap>::namespaced(admin.clone(), ns.name()).create(&PostParams::default(), &configmap("two")).await?;

    let sa = require_sandbox!(cluster.add_service_account(ns.name(), "reporter"));
    assert_eq!(sa.user.name, format!("system:serviceaccount:{}:reporter", ns.name()));
    let rules = json!([
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["one"], "verbs": ["patch"]},
        {"apiGroups": ["apps"], "resources": ["deployments/status"], "verbs": ["patch"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
    ]);
    let subject = json!({"kind": "ServiceAccount", "name": "reporter", "namespace": ns.name()});
    grant(&admin, ns.name(), "reporter", rules, subject).await?;
    let client = require_sandbox!(cluster.client_as(&sa))?;

    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    assert_eq!(configmaps.list(&Default::default()).await?.items.len(), 2);
    configmaps.get("two").await?;
    let touch = Patch::Merge(json!({"metadata": {"labels": {"seen": "yes"}}}));
    configmaps.patch("one", &PatchParams::default(), &touch).await?;
    let denied = |status: kube::core::Status| (status.code, status.reason);
    assert_eq!(
        denied(status_of(configmaps.patch("two", &PatchParams::default(), &touch).await)),
        (403, "Forbidden".to_string())
    );
    assert_eq!(status_of(configmaps.create(&PostParams::default(), &configmap("three")).await).code, 403);
    assert_eq!(status_of(configmaps.delete("one", &DeleteParams::default()).await).code, 403);
    assert_eq!(status_of(configmaps.delete_collection(&DeleteParams::default(), &Default::default()).await).code, 403);
    assert_eq!(
        status_of(Api::<Secret>::namespaced(client.clone(), ns.name()).list(&Default::default()).await).code,
        403
    );

    let deployments: Api<Deployment> = Api::namespaced(client, ns.name());
    deployments.get("web").await?;
    deployments.patch_status("web", &PatchParams::default(), &Patch::Merge(json!({"status": {"replicas": 1}}))).await?;
    let status = status_of(deployments.patch("web", &PatchParams::default(), &touch).await);
    assert_eq!(
        status.message,
        format!(
            "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:{}:reporter\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"{}\"",
            ns.name(),
            ns.name()
        )
    );
    Ok(())
}

#[tokio::test]
async fn wildcards_and_aggregated_cluster_roles_grant_across_namespaces() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let admin = cluster.client();
    let platform = require_sandbox!(cluster.add_user("pat", &["platform"]));
    let roles: Api<ClusterRole> = Api::all(admin.clone());
    let aggregate: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": "dw-test-platform"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"dw-test/aggregate-to-platform": "true"}}]}
    }))?;
    roles.create(&PostParams::default(), &aggregate).await?;
    let apps: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": "dw-test-apps-all", "labels": {"dw-test/aggregate-to-platform": "true"}},
        "rules": [{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]}]
    }))?;
    roles.create(&PostParams::default(), &apps).await?;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "dw-test-platform"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "dw-test-platform"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "platform"}]
    }))?;
    Api::<ClusterRoleBinding>::all(admin).create(&PostParams::default(), &binding).await?;

    let client = require_sandbox!(cluster.client_as(&platform))?;
    Api::<Deployment>::all(client.clone()).list(&Default::default()).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns.name());
    assert_eq!(status_of(deployments.get("absent").await).code, 404, "allowed, so the answer is NotFound");
    let status = status_of(Api::<ConfigMap>::namespaced(client, ns.name()).list(&Default::default()).await);
    assert_eq!(status.code, 403, "apps/* does not reach the core group");
    Ok(())
}

#[tokio::test]
async fn a_role_change_applies_to_the_next_request() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let bob = require_sandbox!(cluster.add_user("bob", &[]));
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]);
    grant(&cluster.client(), ns.name(), "cm-reader", rules, json!({"kind": "User", "name": "bob"})).await?;
    let configmaps: Api<ConfigMap> = Api::namespaced(require_sandbox!(cluster.client_as(&bob))?, ns.name());
    configmaps.list(&Default::default()).await?;
    assert_eq!(status_of(configmaps.create(&PostParams::default(), &configmap("a")).await).code, 403);

    let roles: Api<Role> = Api::namespaced(cluster.client(), ns.name());
    let widened =
        json!({"rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create"]}]});
    roles.patch("cm-reader", &PatchParams::default(), &Patch::Merge(widened)).await?;
    configmaps.create(&PostParams::default(), &configmap("a")).await?;

    let bindings: Api<RoleBinding> = Api::namespaced(cluster.client(), ns.name());
    bindings.delete("cm-reader", &DeleteParams::default()).await?;
    assert_eq!(status_of(configmaps.list(&Default::default()).await).code, 403);
    Ok(())
}

#[tokio::test]
async fn an_apply_that_creates_needs_create_as_well_as_patch() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let alice = require_sandbox!(cluster.add_user("patcher", &["dev"]));
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"]}]);
    grant(&cluster.client(), ns.name(), "patcher", rules, json!({"kind": "User", "name": "patcher"})).await?;
    let client = require_sandbox!(cluster.client_as(&alice))?;
    let configmaps: Api<ConfigMap> = Api::namespaced(client, ns.name());
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new"}, "data": {"a": "1"}});
    let status = status_of(configmaps.patch("new", &PatchParams::apply("patcher"), &Patch::Apply(&body)).await);
    assert_eq!(status.code, 403, "{status:?}");
    assert!(status.message.contains("cannot create resource \"configmaps\""), "{}", status.message);

    // An existing object is applied to with patch alone.
    let admin: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    admin.create(&PostParams::default(), &configmap("old")).await?;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old"}, "data": {"a": "2"}});
    configmaps.patch("old", &PatchParams::apply("patcher"), &Patch::Apply(&body)).await?;
    Ok(())
}

#[tokio::test]
async fn an_apply_that_creates_answers_201() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let client = cluster.client();
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fresh", "namespace": ns.name()}});
    let path = format!("/api/v1/namespaces/{}/configmaps/fresh?fieldManager=test", ns.name());
    let answer = |body: &serde_json::Value| {
        http::Request::patch(path.clone())
            .header("Content-Type", "application/apply-patch+yaml")
            .body(serde_json::to_vec(body).unwrap())
            .unwrap()
    };
    let (status, _) = client.send(answer(&body).map(Into::into)).await.map(|r| r.into_parts())?;
    assert_eq!(status.status, 201, "created");
    let (status, _) = client.send(answer(&body).map(Into::into)).await.map(|r| r.into_parts())?;
    assert_eq!(status.status, 200, "applied to an existing object");
    Ok(())
}

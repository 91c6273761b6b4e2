//! Impersonation: `Impersonate-User`, `-Group`, `-Uid` and `-Extra-*` run a request as
//! another identity once the caller may `impersonate` each of them; the 403 and the
//! plain-text 500 are worded as kube-apiserver words them.

use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;

use crate::support::{TestResult, configmap, grant, status_of};

/// The user info the server sees for requests of `client`.
async fn whoami(client: kube::Client) -> Result<serde_json::Value, kube::Error> {
    let review = Api::<SelfSubjectReview>::all(client).create(&PostParams::default(), &Default::default()).await?;
    Ok(serde_json::to_value(review.status.and_then(|s| s.user_info)).unwrap_or_default())
}

#[tokio::test]
async fn an_impersonated_user_is_authorized_as_itself() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let alice = format!("{}-alice", ns.name());
    let client = cluster.client_impersonating(&alice, &["dw-test-dev"])?;
    let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());

    let status = status_of(configmaps.list(&Default::default()).await);
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        format!(
            "configmaps is forbidden: User \"{alice}\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"{}\"",
            ns.name()
        )
    );
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list", "create"]}]);
    grant(&cluster.client(), ns.name(), "dev", rules, json!({"kind": "Group", "name": "dw-test-dev"})).await?;
    configmaps.create(&PostParams::default(), &configmap("made-as-alice")).await?;
    assert_eq!(configmaps.list(&Default::default()).await?.items.len(), 1, "granted through the impersonated group");

    let info = whoami(client).await?;
    assert_eq!(info["username"], json!(alice));
    assert_eq!(info["groups"], json!(["dw-test-dev", "system:authenticated"]));
    Ok(())
}

#[tokio::test]
async fn an_impersonated_service_account_gets_its_groups() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let user = format!("system:serviceaccount:{}:builder", ns.name());
    let client = cluster.client_impersonating(&user, &[])?;
    let info = whoami(client.clone()).await?;
    assert_eq!(info["username"], json!(user));
    assert_eq!(
        info["groups"],
        json!(["system:serviceaccounts", format!("system:serviceaccounts:{}", ns.name()), "system:authenticated"])
    );

    let configmaps: Api<ConfigMap> = Api::namespaced(client, ns.name());
    assert_eq!(status_of(configmaps.get("absent").await).code, 403);
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]);
    let subject = json!({"kind": "ServiceAccount", "name": "builder", "namespace": ns.name()});
    grant(&cluster.client(), ns.name(), "builder", rules, subject).await?;
    assert_eq!(status_of(configmaps.get("absent").await).code, 404, "allowed, so the answer is NotFound");
    Ok(())
}

#[tokio::test]
async fn uid_and_extras_reach_the_impersonated_user() -> TestResult {
    let cluster = TestCluster::start().await?;
    let mut config = cluster.config();
    config.auth_info.impersonate = Some("dw-test-extra".to_string());
    config.auth_info.impersonate_uid = Some("uid-1234".to_string());
    config.auth_info.impersonate_user_extra =
        Some([("example.dev/Scopes".to_string(), vec!["read".to_string(), "write".to_string()])].into());
    let info = whoami(kube::Client::try_from(config)?).await?;
    assert_eq!(info["uid"], json!("uid-1234"));
    assert_eq!(info["extra"], json!({"example.dev/scopes": ["read", "write"]}), "the key is lowercased and decoded");
    Ok(())
}

#[tokio::test]
async fn groups_without_a_user_are_a_plain_text_internal_error() -> TestResult {
    let cluster = TestCluster::start().await?;
    let mut config = cluster.config();
    config.auth_info.impersonate_groups = Some(vec!["dw-test-dev".to_string()]);
    let status = status_of(whoami(kube::Client::try_from(config)?).await);
    assert_eq!(status.code, 500);
    assert_eq!(
        status.message,
        "Internal Server Error: \"/apis/authentication.k8s.io/v1/selfsubjectreviews?\": requested [{Group  dw-test-dev    }] without impersonating a user",
        "a plain-text answer, as kube-apiserver's"
    );
    Ok(())
}

#[tokio::test]
async fn impersonation_needs_the_impersonate_verb_on_each_attribute() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let admin = cluster.client();
    let caller = require_sandbox!(cluster.add_user("imp", &[]));
    let sandbox = require_sandbox!(cluster.sandbox());
    let config_as = |user: &str| {
        let mut config = sandbox.config_as(&caller);
        config.auth_info.impersonate = Some(user.to_string());
        config
    };
    let denied = |config: kube::Config| async move {
        let client = kube::Client::try_from(config).expect("a client");
        status_of(whoami(client).await).message
    };

    assert_eq!(
        denied(config_as("bob")).await,
        "users \"bob\" is forbidden: User \"imp\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": "dw-test-impersonator"},
        "rules": [
            {"apiGroups": [""], "resources": ["users"], "resourceNames": ["bob"], "verbs": ["impersonate"]},
            {"apiGroups": [""], "resources": ["groups"], "resourceNames": ["ops"], "verbs": ["impersonate"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["userextras/scopes"], "verbs": ["impersonate"]},
        ]
    }))?;
    Api::<ClusterRole>::all(admin.clone()).create(&PostParams::default(), &role).await?;
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "dw-test-impersonator"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "dw-test-impersonator"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "imp"}]
    }))?;
    Api::<ClusterRoleBinding>::all(admin.clone()).create(&PostParams::default(), &binding).await?;

    let as_bob = whoami(kube::Client::try_from(config_as("bob"))?).await?;
    assert_eq!(as_bob["username"], json!("bob"));
    assert_eq!(
        denied(config_as("carol")).await,
        "users \"carol\" is forbidden: User \"imp\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    let mut groups = config_as("bob");
    groups.auth_info.impersonate_groups = Some(vec!["ops".to_string(), "admins".to_string()]);
    assert_eq!(
        denied(groups).await,
        "groups \"admins\" is forbidden: User \"imp\" cannot impersonate resource \"groups\" in API group \"\" at the cluster scope"
    );
    let mut uid = config_as("bob");
    uid.auth_info.impersonate_uid = Some("1234".to_string());
    assert_eq!(
        denied(uid).await,
        "uids.authentication.k8s.io \"1234\" is forbidden: User \"imp\" cannot impersonate resource \"uids\" in API group \"authentication.k8s.io\" at the cluster scope"
    );
    let mut extras = config_as("bob");
    extras.auth_info.impersonate_user_extra = Some([("other".to_string(), vec!["x".to_string()])].into());
    assert_eq!(
        denied(extras).await,
        "userextras.authentication.k8s.io \"x\" is forbidden: User \"imp\" cannot impersonate resource \"userextras/other\" in API group \"authentication.k8s.io\" at the cluster scope"
    );
    let mut allowed_extras = config_as("bob");
    allowed_extras.auth_info.impersonate_user_extra = Some([("scopes".to_string(), vec!["x".to_string()])].into());
    assert_eq!(whoami(kube::Client::try_from(allowed_extras)?).await?["extra"], json!({"scopes": ["x"]}));
    assert_eq!(
        denied(config_as(&format!("system:serviceaccount:{}:builder", ns.name()))).await,
        format!(
            "serviceaccounts \"builder\" is forbidden: User \"imp\" cannot impersonate resource \"serviceaccounts\" in API group \"\" in the namespace \"{}\"",
            ns.name()
        )
    );
    // `edit` lets a tenant act as the ServiceAccounts of its namespace.
    let subject = json!({"kind": "User", "name": "imp"});
    let edit = json!({
        "metadata": {"name": "imp-edit"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [subject],
    });
    Api::<k8s_openapi::api::rbac::v1::RoleBinding>::namespaced(admin.clone(), ns.name())
        .create(&PostParams::default(), &serde_json::from_value(edit)?)
        .await?;
    let as_sa =
        whoami(kube::Client::try_from(config_as(&format!("system:serviceaccount:{}:builder", ns.name())))?).await?;
    assert_eq!(as_sa["username"], json!(format!("system:serviceaccount:{}:builder", ns.name())));

    Api::<ClusterRoleBinding>::all(admin.clone()).delete("dw-test-impersonator", &DeleteParams::default()).await?;
    Api::<ClusterRole>::all(admin).delete("dw-test-impersonator", &DeleteParams::default()).await?;
    Ok(())
}

#[tokio::test]
async fn the_request_log_records_the_impersonated_user_and_the_impersonator() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let sandbox = require_sandbox!(cluster.sandbox());
    let client = cluster.client_impersonating("dw-test-logged", &[])?;
    assert_eq!(status_of(Api::<ConfigMap>::namespaced(client, ns.name()).get("x").await).code, 403);
    let record = sandbox
        .requests()
        .into_iter()
        .find(|r| r.resource == "configmaps" && r.name == "x")
        .ok_or("the request is logged")?;
    assert_eq!(record.user, "dw-test-logged");
    assert_eq!(record.impersonator.as_deref(), Some("system:admin"));
    assert_eq!(record.code, 403);
    Ok(())
}

//! Access reviews: SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview
//! and SelfSubjectRulesReview answer with the RBAC decision and RBAC's reasons; nothing is
//! stored; creating one needs `create` on it like any write.

use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview,
    SubjectAccessReviewStatus,
};
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::support::{TestResult, grant, status_of};

fn self_review(spec: serde_json::Value) -> SelfSubjectAccessReview {
    serde_json::from_value(json!({"spec": spec})).expect("a SelfSubjectAccessReview")
}

async fn ask(client: &kube::Client, spec: serde_json::Value) -> Result<SubjectAccessReviewStatus, kube::Error> {
    let review =
        Api::<SelfSubjectAccessReview>::all(client.clone()).create(&PostParams::default(), &self_review(spec)).await?;
    Ok(review.status.unwrap_or_default())
}

#[tokio::test]
async fn a_self_review_answers_with_the_rbac_decision_and_its_reason() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let alice = format!("{}-alice", ns.name());
    let client = cluster.client_impersonating(&alice, &[])?;
    let get_configmaps =
        json!({"resourceAttributes": {"namespace": ns.name(), "verb": "get", "resource": "configmaps"}});

    let denied = ask(&client, get_configmaps.clone()).await?;
    assert!(!denied.allowed);
    assert_eq!((denied.denied, denied.reason.as_deref().unwrap_or_default()), (None, ""), "RBAC never denies");

    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]);
    grant(&cluster.client(), ns.name(), "reader", rules, json!({"kind": "User", "name": alice})).await?;
    let allowed = ask(&client, get_configmaps).await?;
    assert!(allowed.allowed);
    assert_eq!(
        allowed.reason.as_deref(),
        Some(
            format!("RBAC: allowed by RoleBinding \"reader/{}\" of Role \"reader\" to User \"{alice}\"", ns.name())
                .as_str()
        )
    );
    let status = json!({"resourceAttributes": {"namespace": ns.name(), "verb": "get", "resource": "configmaps", "subresource": "status"}});
    assert!(!ask(&client, status).await?.allowed, "a subresource needs its own rule");

    let health = ask(&client, json!({"nonResourceAttributes": {"path": "/healthz", "verb": "get"}})).await?;
    assert!(health.allowed);
    assert!(health.reason.unwrap_or_default().starts_with("RBAC: allowed by ClusterRoleBinding \"system:"));
    assert!(!ask(&client, json!({"nonResourceAttributes": {"path": "/metrics", "verb": "get"}})).await?.allowed);

    let neither = status_of(ask(&client, json!({})).await);
    assert_eq!(neither.code, 422);
    assert!(
        neither.message.contains("exactly one of nonResourceAttributes or resourceAttributes must be specified"),
        "{}",
        neither.message
    );
    Ok(())
}

#[tokio::test]
async fn subject_access_reviews_evaluate_the_user_the_spec_names() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let admin = cluster.client();
    let rules = json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]}]);
    grant(&admin, ns.name(), "patcher", rules, json!({"kind": "Group", "name": "dw-test-patchers"})).await?;
    let review = |user: &str, groups: &[&str], namespace: &str| -> SubjectAccessReview {
        serde_json::from_value(json!({"spec": {
            "user": user, "groups": groups,
            "resourceAttributes": {"namespace": namespace, "verb": "patch", "group": "apps", "resource": "deployments", "name": "web"},
        }}))
        .expect("a SubjectAccessReview")
    };
    let reviews: Api<SubjectAccessReview> = Api::all(admin.clone());
    let pp = PostParams::default();
    let allowed =
        reviews.create(&pp, &review("dw-test-bob", &["dw-test-patchers"], ns.name())).await?.status.unwrap_or_default();
    assert!(allowed.allowed);
    assert_eq!(
        allowed.reason.as_deref(),
        Some(
            format!(
                "RBAC: allowed by RoleBinding \"patcher/{}\" of Role \"patcher\" to Group \"dw-test-patchers\"",
                ns.name()
            )
            .as_str()
        )
    );
    assert!(!reviews.create(&pp, &review("dw-test-bob", &[], ns.name())).await?.status.unwrap_or_default().allowed);
    assert!(
        !reviews
            .create(&pp, &review("dw-test-bob", &["dw-test-patchers"], "default"))
            .await?
            .status
            .unwrap_or_default()
            .allowed
    );
    let nobody = status_of(reviews.create(&pp, &review("", &[], ns.name())).await);
    assert_eq!(nobody.code, 422);
    assert!(
        nobody.message.contains("spec.user: Invalid value: \"\": at least one of user or group must be specified"),
        "{}",
        nobody.message
    );

    let local: Api<LocalSubjectAccessReview> = Api::namespaced(admin, ns.name());
    let in_namespace: LocalSubjectAccessReview =
        serde_json::from_value(json!({"spec": review("dw-test-bob", &["dw-test-patchers"], ns.name()).spec}))?;
    assert!(local.create(&pp, &in_namespace).await?.status.unwrap_or_default().allowed);
    let elsewhere: LocalSubjectAccessReview =
        serde_json::from_value(json!({"spec": review("dw-test-bob", &[], "other").spec}))?;
    let mismatch = status_of(local.create(&pp, &elsewhere).await);
    assert_eq!(mismatch.code, 422);
    assert!(
        mismatch
            .message
            .contains("spec.resourceAttributes.namespace: Invalid value: \"other\": must match metadata.namespace"),
        "{}",
        mismatch.message
    );
    Ok(())
}

#[tokio::test]
async fn a_subject_access_review_needs_create_on_it() -> TestResult {
    let cluster = TestCluster::start().await?;
    let client = cluster.client_impersonating("dw-test-curious", &[])?;
    let review: SubjectAccessReview = serde_json::from_value(json!({"spec": {
        "user": "someone", "nonResourceAttributes": {"path": "/healthz", "verb": "get"},
    }}))?;
    let status = status_of(Api::<SubjectAccessReview>::all(client).create(&PostParams::default(), &review).await);
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        "subjectaccessreviews.authorization.k8s.io is forbidden: User \"dw-test-curious\" cannot create resource \"subjectaccessreviews\" in API group \"authorization.k8s.io\" at the cluster scope"
    );
    Ok(())
}

#[tokio::test]
async fn a_rules_review_lists_what_the_user_may_do_in_a_namespace() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let user = format!("{}-lister", ns.name());
    let rules = json!([
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["one"], "verbs": ["get"]},
    ]);
    grant(&cluster.client(), ns.name(), "lister", rules, json!({"kind": "User", "name": user})).await?;
    let client = cluster.client_impersonating(&user, &[])?;
    let review: SelfSubjectRulesReview = serde_json::from_value(json!({"spec": {"namespace": ns.name()}}))?;
    let status = Api::<SelfSubjectRulesReview>::all(client)
        .create(&PostParams::default(), &review)
        .await?
        .status
        .ok_or("a status")?;
    assert!(!status.incomplete);
    let configmaps = status
        .resource_rules
        .iter()
        .find(|r| r.resources.as_deref() == Some(&["configmaps".to_string()][..]))
        .ok_or("the configmaps rule")?;
    assert_eq!(configmaps.verbs, vec!["get"]);
    assert_eq!(configmaps.resource_names.as_deref(), Some(&["one".to_string()][..]));
    assert!(
        status.resource_rules.iter().any(|r| r.resources.iter().flatten().any(|x| x == "selfsubjectaccessreviews")),
        "system:basic-user's rules are listed too"
    );
    assert!(status.non_resource_rules.iter().any(|r| r.non_resource_urls.iter().flatten().any(|u| u == "/version")));
    Ok(())
}

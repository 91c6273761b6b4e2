//! The sandbox's request log: every authenticated API request with its user, the
//! authorizer's verb and resource, whether it was a dry run and the answer's status code.

use driftwarden_sandbox::testing::{RequestRecord, Sandbox};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::support::{TestResult, configmap, grant};

#[tokio::test]
async fn every_authenticated_request_is_recorded_with_its_verb_resource_and_code() -> TestResult {
    let sandbox = Sandbox::start().await?;
    let (home, elsewhere) = (sandbox.temp_namespace().await?, sandbox.temp_namespace().await?);
    let alice = sandbox.add_user("alice", &["dev"]);
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "patch"]}]);
    grant(&sandbox.client(), home.name(), "cm-writer", rules, json!({"kind": "User", "name": "alice"})).await?;
    let client = sandbox.client_as(&alice)?;
    sandbox.clear_requests();

    let mine: Api<ConfigMap> = Api::namespaced(client.clone(), home.name());
    mine.create(&PostParams::default(), &configmap("a")).await?;
    let dry_run = PatchParams { dry_run: true, ..PatchParams::default() };
    mine.patch("a", &dry_run, &Patch::Merge(json!({"data": {"k": "v"}}))).await?;
    let theirs: Api<ConfigMap> = Api::namespaced(client.clone(), elsewhere.name());
    assert!(theirs.get("a").await.is_err());
    Api::<ConfigMap>::all(sandbox.client()).list(&ListParams::default()).await?;
    let stranger: Api<ConfigMap> = Api::namespaced(sandbox.client_with_token(Some("no-such-token"))?, home.name());
    assert!(stranger.get("a").await.is_err());

    let record = |verb: &str, namespace: &str, name: &str, dry_run: bool, code: u16| RequestRecord {
        user: "alice".to_string(),
        impersonator: None,
        verb: verb.to_string(),
        group: String::new(),
        resource: "configmaps".to_string(),
        subresource: None,
        namespace: namespace.to_string(),
        name: name.to_string(),
        dry_run,
        code,
        audit_annotations: Vec::new(),
    };
    let requests = sandbox.requests();
    let by_alice: Vec<&RequestRecord> = requests.iter().filter(|r| r.user == "alice").collect();
    assert_eq!(
        by_alice,
        [
            &record("create", home.name(), "", false, 201),
            &record("patch", home.name(), "a", true, 200),
            &record("get", elsewhere.name(), "a", false, 403),
        ]
    );
    let admin = requests.iter().find(|r| r.user != "alice").expect("the admin's list");
    assert_eq!((admin.user.as_str(), admin.verb.as_str(), admin.namespace.as_str()), ("system:admin", "list", ""));
    assert_eq!(requests.len(), 4, "an unauthenticated request is not recorded: {requests:#?}");

    sandbox.clear_requests();
    assert!(sandbox.requests().is_empty());
    Ok(())
}

//! Request bodies in Kubernetes protobuf (`application/vnd.kubernetes.protobuf`), as Go
//! clients send built-in kinds, and the TokenRequest subresource of ServiceAccounts.

use std::collections::BTreeMap;

use driftwarden_sandbox::protobuf::{Envelope, MEDIA_TYPE};
use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::testing::TestCluster;
use http::{Method, Request, header};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_pb::api::core::v1 as pb;
use k8s_pb::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};

use crate::support::{TestResult, status_of};

fn protobuf(method: Method, uri: &str, body: Vec<u8>) -> Result<Request<Vec<u8>>, http::Error> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, MEDIA_TYPE)
        .header(header::ACCEPT, "application/json")
        .body(body)
}

fn settings(data: &[(&str, &str)], resource_version: Option<String>) -> pb::ConfigMap {
    pb::ConfigMap {
        metadata: Some(ObjectMeta { name: Some("settings".into()), resource_version, ..ObjectMeta::default() }),
        data: data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        binary_data: BTreeMap::from([("blob".into(), vec![0xff, 0x00])]),
        immutable: None,
    }
}

#[tokio::test]
async fn protobuf_bodies_create_and_replace_built_in_objects() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let client = cluster.client();
    let collection = format!("/api/v1/namespaces/{}/configmaps", ns.name());
    let create = Envelope::seal("v1", "ConfigMap", &settings(&[("mode", "fast")], None));
    client.request_text(protobuf(Method::POST, &collection, create)?).await?;

    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns.name());
    let stored = api.get("settings").await?;
    assert_eq!(stored.data, Some(BTreeMap::from([("mode".to_string(), "fast".to_string())])));
    let blob = stored.binary_data.and_then(|b| b.get("blob").cloned()).map(|b| b.0);
    assert_eq!(blob, Some(vec![0xff, 0x00]));

    let replace = Envelope::seal("v1", "ConfigMap", &settings(&[("mode", "slow")], stored.metadata.resource_version));
    client.request_text(protobuf(Method::PUT, &format!("{collection}/settings"), replace)?).await?;
    let replaced = api.get("settings").await?;
    assert_eq!(replaced.data.and_then(|d| d.get("mode").cloned()).as_deref(), Some("slow"));
    ns.delete().await?;
    Ok(())
}

#[tokio::test]
async fn undecodable_protobuf_bodies_are_refused_naming_the_kind() -> TestResult {
    let cluster = TestCluster::start().await?;
    require_sandbox!(cluster.sandbox());
    let client = cluster.client();
    let limit_range = Envelope::seal("v1", "LimitRange", &pb::LimitRange::default());
    let refused = status_of(
        client.request_text(protobuf(Method::POST, "/api/v1/namespaces/default/configmaps", limit_range)?).await,
    );
    assert_eq!((refused.code, refused.reason.as_str()), (415, "UnsupportedMediaType"));
    assert!(refused.message.contains("LimitRange (v1)"), "{}", refused.message);

    let not_protobuf = protobuf(Method::POST, "/api/v1/namespaces/default/configmaps", b"{}".to_vec())?;
    let status = status_of(client.request_text(not_protobuf).await);
    assert_eq!(status.code, 400);
    assert!(status.message.contains("expected prefix [107 56 115 0]"), "{}", status.message);
    Ok(())
}

#[tokio::test]
async fn token_requests_need_the_service_account_and_a_lifetime_of_ten_minutes_or_more() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let accounts: Api<ServiceAccount> = Api::namespaced(cluster.client(), ns.name());
    let request = |seconds: i64| TokenRequest {
        spec: Some(TokenRequestSpec { expiration_seconds: Some(seconds), ..TokenRequestSpec::default() }),
        ..TokenRequest::default()
    };
    let missing = status_of(accounts.create_token_request("robot", &PostParams::default(), &request(600)).await);
    assert_eq!((missing.code, missing.message.as_str()), (404, r#"serviceaccounts "robot" not found"#));

    let account: ServiceAccount = serde_json::from_value(serde_json::json!({"metadata": {"name": "robot"}}))?;
    accounts.create(&PostParams::default(), &account).await?;
    let minted = accounts.create_token_request("robot", &PostParams::default(), &request(600)).await?;
    let status = minted.status.ok_or("no status")?;
    assert!(status.token.is_some_and(|t| !t.is_empty()));
    assert_eq!(minted.spec.and_then(|s| s.expiration_seconds), Some(600));

    let short = status_of(accounts.create_token_request("robot", &PostParams::default(), &request(599)).await);
    assert_eq!(short.code, 422);
    assert!(short.message.contains("may not specify a duration less than 10 minutes"), "{}", short.message);
    ns.delete().await?;
    Ok(())
}

//! The protocol itself: the `Status` shape of errors and the codes of requests that are
//! malformed or address nothing.

use driftwarden_sandbox::testing::TestCluster;
use http::{Method, Request, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::support::{TestResult, status_of};

fn request(method: Method, uri: &str, content_type: &str, body: &str) -> Result<Request<Vec<u8>>, http::Error> {
    Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, content_type).body(body.as_bytes().to_vec())
}

#[tokio::test]
async fn errors_are_status_objects() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let req = Request::get("/api/v1/namespaces/default/configmaps/missing").body(kube::client::Body::empty())?;
    let response = sandbox.client().send(req).await?;
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
    assert_eq!(
        body,
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "reason": "NotFound", "code": 404,
            "message": "configmaps \"missing\" not found",
            "details": {"name": "missing", "kind": "configmaps"}
        })
    );
    Ok(())
}

#[tokio::test]
async fn malformed_and_misdirected_requests() -> TestResult {
    let sandbox = TestCluster::start().await?;
    let client = sandbox.client();
    let cm = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}"#;

    let not_allowed = request(Method::POST, "/api/v1/namespaces/default/configmaps/x", "application/json", cm)?;
    let status = status_of(client.request_text(not_allowed).await);
    assert_eq!((status.code, status.reason.as_str()), (405, "MethodNotAllowed"));

    let bad_json = request(Method::POST, "/api/v1/namespaces/default/configmaps", "application/json", "{not json")?;
    assert_eq!(status_of(client.request_text(bad_json).await).code, 400);

    let wrong_kind = cm.replace("ConfigMap", "Secret");
    let mismatch = request(Method::POST, "/api/v1/namespaces/default/configmaps", "application/json", &wrong_kind)?;
    assert_eq!(status_of(client.request_text(mismatch).await).code, 400);

    let unsupported = request(Method::PATCH, "/api/v1/namespaces/default/configmaps/x", "text/plain", "{}")?;
    let status = status_of(client.request_text(unsupported).await);
    assert_eq!((status.code, status.reason.as_str()), (415, "UnsupportedMediaType"));

    let unknown = request(Method::GET, "/apis/example.dev/v1/widgets", "application/json", "")?;
    assert_eq!(status_of(client.request_text(unknown).await).code, 404);

    let cluster_kind_in_namespace =
        request(Method::GET, "/api/v1/namespaces/default/namespaces", "application/json", "")?;
    assert_eq!(status_of(client.request_text(cluster_kind_in_namespace).await).code, 404);

    let bad_dry_run =
        request(Method::POST, "/api/v1/namespaces/default/configmaps?dryRun=Yes", "application/json", cm)?;
    assert_eq!(status_of(client.request_text(bad_dry_run).await).code, 400);
    Ok(())
}

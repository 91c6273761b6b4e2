//! Failing and delaying requests that match a pattern.

use std::time::{Duration, Instant};

use driftwarden_sandbox::faults::{Fault, RequestMatch};
use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::testing::{Sandbox, TestCluster};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};

use crate::support::{TestResult, configmap, status_of};

/// An admin client without kube's default retries of 429, 503 and 504, to see each answer.
fn without_retries(sandbox: &Sandbox) -> Result<kube::Client, kube::Error> {
    let mut config = sandbox.config().clone();
    config.default_retry = false;
    kube::Client::try_from(config)
}

#[tokio::test]
async fn the_next_n_matching_requests_fail_with_the_given_status() -> TestResult {
    let cluster = TestCluster::start().await?;
    let (ns, other) = (cluster.temp_namespace().await?, cluster.temp_namespace().await?);
    let sandbox = require_sandbox!(cluster.sandbox());
    let faults = sandbox.faults();
    faults.inject(Fault::fail(RequestMatch::new("create", "configmaps").namespace(ns.name()), 503, 2))?;
    let api: Api<ConfigMap> = Api::namespaced(without_retries(sandbox)?, ns.name());
    for attempt in 0..2 {
        let status = status_of(api.create(&PostParams::default(), &configmap("a")).await);
        assert_eq!((status.code, status.reason.as_str()), (503, "ServiceUnavailable"), "attempt {attempt}");
        assert_eq!(status.status, Some(kube::core::response::StatusSummary::Failure));
    }
    Api::<ConfigMap>::namespaced(cluster.client(), other.name())
        .create(&PostParams::default(), &configmap("a"))
        .await?;
    api.create(&PostParams::default(), &configmap("a")).await?;
    assert_eq!(faults.pending(), 0, "an exhausted fault is gone");
    Ok(())
}

#[tokio::test]
async fn conflicts_and_server_errors_target_one_object() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let faults = require_sandbox!(cluster.faults());
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    let a = api.create(&PostParams::default(), &configmap("a")).await?;
    api.create(&PostParams::default(), &configmap("b")).await?;
    faults.inject(Fault::fail(RequestMatch::new("update", "configmaps").name("a"), 409, 1))?;
    faults.inject(Fault::fail(RequestMatch::new("get", "configmaps").name("b"), 500, 1))?;
    let status = status_of(api.replace("a", &PostParams::default(), &a).await);
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    api.replace("a", &PostParams::default(), &a).await?;
    assert_eq!(status_of(api.get("b").await).reason, "InternalError");
    api.get("b").await?;
    Ok(())
}

#[tokio::test]
async fn the_kube_client_retries_injected_unavailability() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let faults = require_sandbox!(cluster.faults());
    faults.inject(Fault::fail(RequestMatch::new("create", "configmaps"), 503, 2))?;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    api.create(&PostParams::default(), &configmap("a")).await?;
    assert_eq!(faults.pending(), 0, "both failures were served, then the retry succeeded");
    Ok(())
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let sandbox = require_sandbox!(cluster.sandbox());
    sandbox.faults().inject(Fault::throttle(RequestMatch::new("list", "configmaps"), 1, 2))?;
    let api: Api<ConfigMap> = Api::namespaced(without_retries(sandbox)?, ns.name());
    let status = status_of(api.list(&Default::default()).await);
    assert_eq!((status.code, status.reason.as_str()), (429, "TooManyRequests"));
    assert_eq!(status.details.map(|d| d.retry_after_seconds), Some(1));

    let request = http::Request::get(format!("/api/v1/namespaces/{}/configmaps", ns.name())).body(Vec::new())?;
    let response = without_retries(sandbox)?.send(request.map(kube::client::Body::from)).await?;
    assert_eq!(response.status(), http::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers().get(http::header::RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"1"[..]));

    // kube's default client waits as long as Retry-After says, then succeeds.
    sandbox.faults().inject(Fault::throttle(RequestMatch::new("list", "configmaps"), 1, 1))?;
    let started = Instant::now();
    Api::<ConfigMap>::namespaced(cluster.client(), ns.name()).list(&Default::default()).await?;
    assert!(started.elapsed() >= Duration::from_secs(1), "retried after {:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn delayed_responses_arrive_late_until_cleared() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let faults = require_sandbox!(cluster.faults());
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    api.create(&PostParams::default(), &configmap("a")).await?;
    let delay = Duration::from_millis(300);
    faults.inject(Fault::delay(RequestMatch::new("get", "configmaps"), delay))?;
    for _ in 0..2 {
        let started = Instant::now();
        api.get("a").await?;
        assert!(started.elapsed() >= delay, "answered after {:?}", started.elapsed());
    }
    faults.clear();
    assert_eq!(faults.pending(), 0);
    api.get("a").await?;
    Ok(())
}

#[tokio::test]
async fn unknown_codes_are_refused() -> TestResult {
    let cluster = TestCluster::start().await?;
    let faults = require_sandbox!(cluster.faults());
    assert!(faults.inject(Fault::fail(RequestMatch::any(), 299, 1)).is_err());
    Ok(())
}

#[tokio::test]
async fn the_http_controls_inject_faults_with_the_admin_token_only() -> TestResult {
    let cluster = TestCluster::start().await?;
    let ns = cluster.temp_namespace().await?;
    let sandbox = require_sandbox!(cluster.sandbox());
    let post = |path: &str, body: serde_json::Value| {
        http::Request::post(path.to_string())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(kube::client::Body::from(serde_json::to_vec(&body).unwrap_or_default()))
    };
    let spec = serde_json::json!({"verb": "create", "resource": "configmaps", "namespace": ns.name(), "code": 409, "times": 1});
    let alice = sandbox.add_user("alice", &["system:masters"]);
    let denied = sandbox.client_as(&alice)?.send(post("/_driftwarden/faults", spec.clone())?).await?;
    assert_eq!(denied.status(), http::StatusCode::FORBIDDEN, "even cluster admins need the admin token");
    let created = cluster.client().send(post("/_driftwarden/faults", spec)?).await?;
    assert_eq!(created.status(), http::StatusCode::CREATED);

    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), ns.name());
    assert_eq!(status_of(api.create(&PostParams::default(), &configmap("a")).await).code, 409);
    api.create(&PostParams::default(), &configmap("a")).await?;
    let compacted = cluster.client().send(post("/_driftwarden/compact", serde_json::json!({}))?).await?;
    assert_eq!(compacted.status(), http::StatusCode::OK);
    Ok(())
}

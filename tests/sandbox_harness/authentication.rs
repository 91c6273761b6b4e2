//! Bearer tokens: 401 without a known token, discovery for every authenticated user.

use driftwarden_sandbox::require_sandbox;
use driftwarden_sandbox::testing::TestCluster;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use kube::discovery::Discovery;

use crate::support::{TestResult, status_of};

#[tokio::test]
async fn missing_and_unknown_tokens_are_unauthorized() -> TestResult {
    let cluster = TestCluster::start().await?;
    let sandbox = require_sandbox!(cluster.sandbox());
    for token in [None, Some("not-a-registered-token")] {
        let api: Api<Namespace> = Api::all(sandbox.client_with_token(token)?);
        let status = status_of(api.list(&Default::default()).await);
        assert_eq!(
            (status.code, status.reason.as_str(), status.message.as_str()),
            (401, "Unauthorized", "Unauthorized")
        );
        let version = sandbox.client_with_token(token)?.apiserver_version().await;
        assert_eq!(status_of(version).code, 401, "even /version needs a token");
    }
    Ok(())
}

#[tokio::test]
async fn any_authenticated_user_reads_discovery_but_nothing_else() -> TestResult {
    let cluster = TestCluster::start().await?;
    let nobody = require_sandbox!(cluster.add_user("nobody", &[]));
    let client = require_sandbox!(cluster.client_as(&nobody))?;
    client.apiserver_version().await?;
    let discovery = Discovery::new(client.clone()).run().await?;
    assert!(discovery.groups().any(|g| g.name() == "apps"));
    let status = status_of(Api::<Namespace>::all(client).list(&Default::default()).await);
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        "namespaces is forbidden: User \"nobody\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
    );
    Ok(())
}

//! The real-cluster switch: a sandbox unless `DRIFTWARDEN_TEST_KUBECONFIG` is set, and
//! sandbox-only helpers say why they are skipped (the environment rules themselves are
//! unit-tested next to `TestCluster`).

use driftwarden_sandbox::testing::{KUBECONFIG_ENV, TestCluster};

use crate::support::TestResult;

#[tokio::test]
async fn the_test_cluster_is_a_sandbox_unless_a_kubeconfig_is_given() -> TestResult {
    let cluster = TestCluster::start().await?;
    let on_real_cluster = std::env::var_os(KUBECONFIG_ENV).is_some_and(|v| !v.is_empty());
    assert_eq!(cluster.is_sandbox(), !on_real_cluster);
    assert_eq!(cluster.faults().is_ok(), !on_real_cluster);
    cluster.client().apiserver_version().await?;
    if let Err(skipped) = cluster.faults() {
        assert!(skipped.to_string().contains(KUBECONFIG_ENV), "{skipped}");
    }
    Ok(())
}

//! The test handle that runs the same test against the sandbox or a real cluster.
//!
//! # Real-cluster mode
//!
//! - With `DRIFTWARDEN_TEST_KUBECONFIG=/path/to/kubeconfig` set, [`TestCluster::start`]
//!   starts no sandbox: [`TestCluster::client`] talks to the current context of that
//!   kubeconfig, and [`TestCluster::temp_namespace`] creates its namespaces there.
//! - What only the sandbox can do (fault injection, registering tokens, compacting
//!   history) answers [`Skipped`] in that mode; tests print it and return, with
//!   [`require_sandbox!`](crate::require_sandbox).
//! - With `DRIFTWARDEN_TEST_REQUIRE_CLUSTER=1` and no `DRIFTWARDEN_TEST_KUBECONFIG`,
//!   [`TestCluster::start`] fails instead of falling back to a sandbox (for CI jobs that
//!   must prove something against a real cluster).
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use driftwarden_sandbox::require_sandbox;
//! use driftwarden_sandbox::testing::TestCluster;
//! let cluster = TestCluster::start().await?;
//! let ns = cluster.temp_namespace().await?;
//! // Runs everywhere:
//! let _client = cluster.client();
//! // Runs against the sandbox only; prints "skipped: ..." and returns elsewhere:
//! let sandbox = require_sandbox!(cluster.sandbox());
//! sandbox.drop_watches();
//! # Ok(()) }
//! ```

use std::ffi::OsString;
use std::fmt;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::temp_namespace::TempNamespace;
use crate::auth::Identity;
use crate::faults::Faults;
use crate::process::{Sandbox, SandboxError};

/// The kubeconfig of a real cluster to test against instead of a sandbox.
pub const KUBECONFIG_ENV: &str = "DRIFTWARDEN_TEST_KUBECONFIG";
/// Set to `1` to fail, rather than fall back to a sandbox, when no real cluster is given.
pub const REQUIRE_CLUSTER_ENV: &str = "DRIFTWARDEN_TEST_REQUIRE_CLUSTER";

/// A sandbox-only helper was asked for while testing against a real cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// What needed the sandbox.
    pub needs: &'static str,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "skipped: needs the sandbox ({}), but {KUBECONFIG_ENV} points at a real cluster", self.needs)
    }
}

impl std::error::Error for Skipped {}

/// Unwraps a sandbox-only helper's result, or prints why the test is skipped and returns
/// `Ok(())` from the test.
#[macro_export]
macro_rules! require_sandbox {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(skipped) => {
                eprintln!("{skipped}");
                return Ok(());
            }
        }
    };
}

enum Backend {
    Sandbox(Box<Sandbox>),
    Cluster(kube::Client, Box<kube::Config>),
}

/// A sandbox, or the real cluster of `DRIFTWARDEN_TEST_KUBECONFIG`.
pub struct TestCluster {
    backend: Backend,
}

/// Where the tests run, as the environment says: `Ok(Some(kubeconfig))` for a real
/// cluster, `Ok(None)` for a sandbox, or an error when a cluster is required but none given.
fn choose(kubeconfig: Option<OsString>, require_cluster: Option<String>) -> Result<Option<OsString>, SandboxError> {
    let kubeconfig = kubeconfig.filter(|v| !v.is_empty());
    let required = require_cluster.is_some_and(|v| v == "1" || v == "true");
    match kubeconfig {
        None if required => Err(SandboxError::Cluster(format!(
            "{REQUIRE_CLUSTER_ENV}=1 but {KUBECONFIG_ENV} is not set; refusing to fall back to the sandbox"
        ))),
        other => Ok(other),
    }
}

impl TestCluster {
    /// Connects to the real cluster when `DRIFTWARDEN_TEST_KUBECONFIG` is set, otherwise
    /// starts a sandbox (or fails, with `DRIFTWARDEN_TEST_REQUIRE_CLUSTER=1`).
    pub async fn start() -> Result<Self, SandboxError> {
        let chosen = choose(std::env::var_os(KUBECONFIG_ENV), std::env::var(REQUIRE_CLUSTER_ENV).ok())?;
        match chosen {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(&path).map_err(|e| {
                    SandboxError::Cluster(format!("cannot read {KUBECONFIG_ENV}={}: {e}", path.to_string_lossy()))
                })?;
                let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                    .await
                    .map_err(|e| SandboxError::Cluster(format!("invalid kubeconfig: {e}")))?;
                let client = kube::Client::try_from(config.clone())?;
                Ok(TestCluster { backend: Backend::Cluster(client, Box::new(config)) })
            }
            None => Ok(TestCluster { backend: Backend::Sandbox(Box::new(Sandbox::start().await?)) }),
        }
    }

    /// Whether the tests run against a sandbox.
    pub fn is_sandbox(&self) -> bool {
        matches!(self.backend, Backend::Sandbox(_))
    }

    /// A client with full access (the sandbox's admin token, or the kubeconfig's user).
    pub fn client(&self) -> kube::Client {
        match &self.backend {
            Backend::Sandbox(sandbox) => sandbox.client(),
            Backend::Cluster(client, _) => client.clone(),
        }
    }

    /// The configuration of [`TestCluster::client`], to derive clients from (with
    /// impersonation headers, for instance).
    pub fn config(&self) -> kube::Config {
        match &self.backend {
            Backend::Sandbox(sandbox) => sandbox.config().clone(),
            Backend::Cluster(_, config) => (**config).clone(),
        }
    }

    /// A client with [`TestCluster::client`]'s credentials that impersonates `user` in
    /// `groups` (`Impersonate-User`, `Impersonate-Group`): requests run as that user,
    /// against the sandbox and a real cluster alike. A ServiceAccount is impersonated as
    /// `system:serviceaccount:<namespace>:<name>`.
    pub fn client_impersonating(&self, user: &str, groups: &[&str]) -> Result<kube::Client, SandboxError> {
        let mut config = self.config();
        config.auth_info.impersonate = Some(user.to_string());
        config.auth_info.impersonate_groups =
            (!groups.is_empty()).then(|| groups.iter().map(|g| g.to_string()).collect());
        Ok(kube::Client::try_from(config)?)
    }

    /// A namespace deleted when dropped.
    pub async fn temp_namespace(&self) -> Result<TempNamespace, SandboxError> {
        Ok(TempNamespace::create(self.client()).await?)
    }

    /// The sandbox, for what only it can do.
    pub fn sandbox(&self) -> Result<&Sandbox, Skipped> {
        match &self.backend {
            Backend::Sandbox(sandbox) => Ok(sandbox),
            Backend::Cluster(..) => Err(Skipped { needs: "the sandbox itself" }),
        }
    }

    /// The sandbox's faults.
    pub fn faults(&self) -> Result<&Faults, Skipped> {
        self.sandbox().map(Sandbox::faults).map_err(|_| Skipped { needs: "fault injection" })
    }

    /// Registers a token for a user; see [`Sandbox::add_user`].
    pub fn add_user(&self, name: &str, groups: &[&str]) -> Result<Identity, Skipped> {
        self.sandbox().map(|s| s.add_user(name, groups)).map_err(|_| Skipped { needs: "registering tokens" })
    }

    /// Registers a token for a ServiceAccount; see [`Sandbox::add_service_account`].
    pub fn add_service_account(&self, namespace: &str, name: &str) -> Result<Identity, Skipped> {
        self.sandbox()
            .map(|s| s.add_service_account(namespace, name))
            .map_err(|_| Skipped { needs: "registering tokens" })
    }

    /// A client authenticated as `identity`; the outer `Result` is `Err` against a real
    /// cluster.
    pub fn client_as(&self, identity: &Identity) -> Result<Result<kube::Client, SandboxError>, Skipped> {
        self.sandbox().map(|s| s.client_as(identity)).map_err(|_| Skipped { needs: "tokens for test identities" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_cluster_does_not_fall_back_to_the_sandbox() {
        assert!(matches!(choose(None, None), Ok(None)));
        assert!(matches!(choose(Some("".into()), None), Ok(None)), "an empty value is unset");
        assert!(matches!(choose(Some("/k".into()), Some("1".into())), Ok(Some(p)) if p == "/k"));
        let err = choose(None, Some("1".into())).expect_err("required");
        assert!(err.to_string().contains("DRIFTWARDEN_TEST_REQUIRE_CLUSTER=1"), "{err}");
        assert!(matches!(choose(None, Some("0".into())), Ok(None)));
    }

    #[test]
    fn skipped_says_what_needed_the_sandbox() {
        let skipped = Skipped { needs: "fault injection" };
        assert!(skipped.to_string().starts_with("skipped: needs the sandbox (fault injection)"));
    }
}

//! Test support: start a sandbox, get a `kube::Client` for it, and work in a temporary
//! namespace.
//!
//! ```no_run
//! # async fn example() -> Result<(), driftwarden::sandbox::testing::SandboxError> {
//! use driftwarden::sandbox::testing::Sandbox;
//! let sandbox = Sandbox::start().await?;
//! let ns = sandbox.temp_namespace().await?;
//! let configmaps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
//!     kube::Api::namespaced(sandbox.client(), ns.name());
//! # Ok(()) }
//! ```

mod cluster;
mod sandbox;
mod temp_namespace;

pub use cluster::{KUBECONFIG_ENV, REQUIRE_CLUSTER_ENV, Skipped, TestCluster};
pub use sandbox::{CONTEXT_NAME, Sandbox, SandboxError, SandboxOptions};
pub use temp_namespace::TempNamespace;

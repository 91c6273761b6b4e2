//! Test support: start a sandbox, get a `kube::Client` for it, work in a temporary
//! namespace, act as other users, and inject faults.
//!
//! - [`Sandbox`]: one sandbox API server (HTTPS on 127.0.0.1) and an admin client.
//!   - identities: [`Sandbox::add_user`], [`Sandbox::add_service_account`] register
//!     bearer tokens; [`Sandbox::client_as`] gives a client that authenticates with one,
//!     so the RBAC objects in the store decide what it may do;
//!     [`Sandbox::client_with_token`] sends any token (or none) to test 401s.
//!   - the request log: [`Sandbox::requests`] lists every authenticated API request as a
//!     [`RequestRecord`] (user, verb, group, resource, subresource, namespace, name, dry
//!     run, status code); [`Sandbox::clear_requests`] empties it.
//!   - faults: [`Sandbox::inject`] a [`Fault`](crate::faults::Fault) (fail the
//!     next N matching requests with a status, throttle with `Retry-After`, delay);
//!     [`Sandbox::drop_watches`]; [`Sandbox::compact`] (410 for older resourceVersions).
//! - [`TestCluster`]: the same test against the sandbox or, with
//!   `DRIFTWARDEN_TEST_KUBECONFIG`, a real cluster; sandbox-only helpers return
//!   [`Skipped`], which [`require_sandbox!`](crate::require_sandbox) prints and returns on.
//! - [`widgets_crd`]: the custom kind tests install (`widgets.example.dev`), written once.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use driftwarden_sandbox::faults::{Fault, RequestMatch};
//! use driftwarden_sandbox::testing::Sandbox;
//! let sandbox = Sandbox::start().await?;
//! let ns = sandbox.temp_namespace().await?;
//! let configmaps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
//!     kube::Api::namespaced(sandbox.client(), ns.name());
//! let builder = sandbox.add_service_account(ns.name(), "builder");
//! let as_builder = sandbox.client_as(&builder)?;
//! sandbox.inject(Fault::fail(RequestMatch::new("update", "configmaps"), 409, 1))?;
//! # Ok(()) }
//! ```

mod cluster;
mod crds;
mod temp_namespace;
mod widgets;

pub use crate::process::{CONTEXT_NAME, Sandbox, SandboxError, SandboxOptions};
pub use cluster::{KUBECONFIG_ENV, REQUIRE_CLUSTER_ENV, Skipped, TestCluster};
pub use crds::install_crds;
pub use temp_namespace::TempNamespace;
pub use widgets::{WIDGETS_CRD, widgets_crd};

pub use crate::server::RequestRecord;

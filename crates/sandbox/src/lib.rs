//! The sandbox API server: an in-memory Kubernetes API server on loopback that the real
//! `kube::Client` (and kubectl) talk to as they talk to a cluster. It serves
//! `driftwarden sandbox` and every integration test.
//!
//! - [`resources`]: the served kinds (built-in table, CRD-defined kinds, registry).
//! - [`store`]: objects, resourceVersions, history and the semantics of every verb.
//! - [`server`]: the HTTP API on loopback (REST paths, watch streams, discovery).
//! - [`auth`]: bearer tokens, users, ServiceAccounts and RBAC for every request.
//! - [`protobuf`]: request bodies in Kubernetes protobuf, decoded into the JSON they stand for.
//! - [`faults`]: fault injection for tests (failures, delays, dropped watches).
//! - [`Sandbox`] (in `process`): one sandbox started in this process, with an admin
//!   client, identities (`add_user`, `client_as`), the request log and faults.
//! - `testing` (feature `testing`, for tests only): `TestCluster`, which runs the same test
//!   against the sandbox or a real cluster named by `DRIFTWARDEN_TEST_KUBECONFIG`,
//!   `TempNamespace`, and CRD installation.
//! - [`run`]: `driftwarden sandbox` (kubeconfig, CRDs, data file, Ctrl-C).
//! - [`error`]: failures as Kubernetes `Status` objects.
//! - [`fuzzing`]: the fuzz entry point (the `fuzz/` crate's `sandbox_http` target).

pub mod admission;
pub mod auth;
pub mod error;
pub mod faults;
pub mod fuzzing;
pub mod protobuf;
pub mod resources;
pub mod run;
pub mod server;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

mod process;

pub use process::{CONTEXT_NAME, Sandbox, SandboxError, SandboxOptions};

//! The sandbox API server: an in-memory Kubernetes API server on loopback that the real
//! `kube::Client` (and kubectl) talk to as they talk to a cluster. It serves
//! `driftwarden sandbox` and every integration test.
//!
//! - [`resources`]: the served kinds (built-in table, CRD-defined kinds, registry).
//! - [`store`]: objects, resourceVersions, history and the semantics of every verb.
//! - [`server`]: the HTTP API on loopback (REST paths, watch streams, discovery).
//! - [`testing`]: the test-support API (`Sandbox::start`, `temp_namespace`).
//! - [`error`]: failures as Kubernetes `Status` objects.

pub mod error;
pub mod resources;
pub mod server;
pub mod store;
pub mod testing;

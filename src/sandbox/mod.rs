//! The sandbox API server: an in-memory Kubernetes API server on loopback that the real
//! `kube::Client` (and kubectl) talk to as they talk to a cluster. It serves
//! `driftwarden sandbox` and every integration test.
//!
//! - [`resources`]: the served kinds (built-in table, CRD-defined kinds, registry).
//! - [`store`]: objects, resourceVersions, history and the semantics of every verb.
//! - [`error`]: failures as Kubernetes `Status` objects.

pub mod error;
pub mod resources;
pub mod store;

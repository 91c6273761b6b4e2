//! The sandbox API server: an in-memory Kubernetes API server on loopback that the real
//! `kube::Client` (and kubectl) talk to as they talk to a cluster. It serves
//! `driftwarden sandbox` and every integration test.
//!
//! - [`resources`]: the served kinds (built-in table, CRD-defined kinds, registry).
//! - [`store`]: objects, resourceVersions, history and the semantics of every verb.
//! - [`server`]: the HTTP API on loopback (REST paths, watch streams, discovery).
//! - [`auth`]: bearer tokens, users, ServiceAccounts and RBAC for every request.
//! - [`faults`]: fault injection for tests (failures, delays, dropped watches).
//! - [`testing`]: the test-support API (`Sandbox::start`, `temp_namespace`, `client_as`,
//!   faults, and the real-cluster mode of `TestCluster`).
//! - [`run`]: `driftwarden sandbox` (kubeconfig, CRDs, data file, Ctrl-C).
//! - [`error`]: failures as Kubernetes `Status` objects.

pub mod auth;
pub mod error;
pub mod faults;
pub mod resources;
pub mod run;
pub mod server;
pub mod store;
pub mod testing;

//! The test harness of the sandbox: identities and RBAC, fault injection, and the
//! real-cluster mode. Tests that need the sandbox itself skip, with a printed reason,
//! when `DRIFTWARDEN_TEST_KUBECONFIG` points at a real cluster.

mod authentication;
mod authorization;
mod default_roles;
mod faults;
mod impersonation;
mod real_cluster;
mod request_log;
mod reviews;
mod run;
mod support;
mod watch_faults;

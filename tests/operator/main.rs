//! The operator end to end against the sandbox API server: detect, decide, fix, verify,
//! escalate.

// Shared with tests/chart.rs, which uses all of it.
#[allow(dead_code)]
#[path = "../common/chart.rs"]
mod chart;
mod argocd_health;
mod chart_rbac;
mod escalations;
mod exceptions;
mod failover;
mod faults;
mod fixes;
mod guards;
mod isolation;
mod notifications;
mod rbac;
mod receiver;
mod support;

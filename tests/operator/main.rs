//! The operator end to end against the sandbox API server: detect, decide, fix, verify,
//! escalate.

// Shared with tests/chart.rs, which uses all of it.
mod admission;
mod appliers;
mod approvals_admission;
mod argocd_health;
mod campaign_report;
mod campaigns;
#[allow(dead_code)]
#[path = "../common/chart.rs"]
mod chart;
mod chart_rbac;
mod confinement;
mod discovery;
mod escalations;
mod exceptions;
mod failover;
mod faults;
mod fingerprint_key;
mod fixes;
mod guards;
mod identity;
mod isolation;
#[path = "../common/kubectl.rs"]
mod kubectl_tool;
mod kubectl_wait;
mod metrics;
mod notifications;
mod owners;
mod pacing;
mod rbac;
mod receiver;
mod recreate;
mod reports;
mod sink_guard;
mod support;
mod tenancy;
mod validation;

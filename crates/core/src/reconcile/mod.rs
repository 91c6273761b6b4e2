//! What the operator's reconciler remembers between events, and what it derives from that
//! memory: plain data and pure functions. The operator holds one entry per resource it
//! watches, updates it from watch events and the results of its own requests, and writes
//! what the entry derives (status, Findings, PolicyReports).
//!
//! - [`policies`]: each DriftPolicy and ClusterDriftPolicy, its governed objects and what
//!   was decided about their drifts; the policy's status.
//! - [`exceptions`]: each DriftException, checked, and what it covers.
//! - [`campaigns`]: each RemediationCampaign, its spec as read, its findings and its waves.
//! - [`findings`]: each Finding: its name, what the operator writes of it and what it reads.
//! - [`policy_report`]: the policies' results as `wgpolicyk8s.io` PolicyReports.
//! - [`sinks`]: how the last delivery to each notification sink went, shown as a condition.
//!
//! The decisions themselves live in [`crate::engine`] (what to do about a drift; how a
//! campaign and its findings move).

pub mod campaigns;
pub mod exceptions;
pub mod findings;
pub mod policies;
pub mod policy_report;
pub mod sinks;

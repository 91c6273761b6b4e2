//! The operator end to end against the sandbox API server: detect, decide, fix, verify,
//! escalate.

mod campaigns;
mod discovery;
mod escalations;
mod exceptions;
mod failover;
mod faults;
mod fixes;
mod guards;
mod isolation;
mod notifications;
mod pacing;
mod rbac;
mod receiver;
mod recreate;
mod reports;
mod support;

//! The operator end to end against the sandbox API server: detect, decide, fix, verify,
//! escalate.

mod escalations;
mod exceptions;
mod fixes;
mod guards;
mod isolation;
mod notifications;
mod receiver;
mod support;

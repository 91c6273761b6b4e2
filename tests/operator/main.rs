//! The operator end to end against the sandbox API server: detect, decide, fix, verify,
//! escalate.

mod escalations;
mod fixes;
mod isolation;
mod support;

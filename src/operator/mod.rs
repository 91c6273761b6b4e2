//! The operator's IO shell: controllers, notifications, metrics, health and leader election.

pub mod health;
pub mod leader;
pub mod metrics;
pub mod notify;

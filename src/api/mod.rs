//! The custom resources of driftwarden (`driftwarden.dev/v1alpha1`).

pub mod common;
pub mod conditions;
pub mod policy;
pub mod reasons;

pub use common::{ObjectRef, Owner, RemediationClass, TargetMatch};
pub use policy::{ClusterDriftPolicy, DriftPolicy, PolicySpec};

#[cfg(test)]
mod testing;

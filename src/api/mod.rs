//! The custom resources of driftwarden (`driftwarden.dev/v1alpha1`).

pub mod common;
pub mod policy;

pub use common::{ObjectRef, Owner, RemediationClass, TargetMatch};
pub use policy::{ClusterDriftPolicy, DriftPolicy, PolicySpec};

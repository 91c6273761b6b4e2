//! The custom resources of driftwarden (`driftwarden.dev/v1alpha1`), their conditions, and
//! the CustomResourceDefinitions generated from them.
//!
//! - [`policy`]: `DriftPolicy` and `ClusterDriftPolicy`, the declared state;
//! - [`campaign`]: `RemediationCampaign`, a control objective tracked across assets;
//! - [`finding`]: `Finding`, one asset's part in a campaign;
//! - [`exception`]: `DriftException`, an approved, time-boxed deviation;
//! - [`conditions`] and [`reasons`]: the one condition setter and the reason constants.

pub mod campaign;
pub mod common;
pub mod conditions;
pub mod exception;
pub mod finding;
pub mod policy;
pub mod reasons;

#[cfg(test)]
mod testing;

pub use campaign::{RemediationCampaign, RemediationCampaignSpec};
pub use common::{ObjectRef, Owner, RemediationClass, TargetMatch};
pub use conditions::{ConditionSpec, ConditionStatus, check_contract, set_condition};
pub use exception::{DriftException, DriftExceptionSpec};
pub use finding::{Finding, FindingSpec, FindingState, Severity};
pub use policy::{ClusterDriftPolicy, DriftPolicy, PolicySpec};

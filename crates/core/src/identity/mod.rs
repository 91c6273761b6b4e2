//! Identity analysis of non-human identities, sans IO: from a [`Snapshot`] of typed
//! Kubernetes lists to an [`Inventory`] (owner, effective privileges with the grants that
//! give them, legacy tokens, token automount, workloads, risk for every ServiceAccount; the
//! same privilege analysis for human subjects) and to the findings of the built-in campaign
//! controls ([`controls::run_control`]).
//!
//! - [`snapshot`]: the input; Secrets are kept without their data.
//! - [`rbac`]: rule matching, ClusterRole aggregation, binding subjects, grants.
//! - [`privileges`]: the privileges reported and the grants that give them.
//! - [`workloads`]: pods mapped to their top owner, automount, exposure.
//! - [`owner`]: the accountable owner from labels.
//! - [`risk`]: the documented risk score and severity bands.
//! - [`inventory`]: everything above, per ServiceAccount and per human subject.
//! - [`controls`]: one file per built-in control, and the interface campaigns consume.

pub mod controls;
pub mod inventory;
pub mod owner;
pub mod privileges;
pub mod rbac;
pub mod risk;
pub mod snapshot;
pub mod workloads;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use controls::{ControlError, ControlFinding, ControlFix, run_control, run_control_with};
pub use inventory::{AccountEntry, Inventory, InventoryOptions, LegacyToken, SubjectEntry};
pub use privileges::{Grant, GrantScope, Privilege};
pub use risk::Risk;
pub use snapshot::{SecretInfo, Snapshot};

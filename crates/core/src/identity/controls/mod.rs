//! The built-in campaign controls over the identity inventory: the interface a
//! `RemediationCampaign` with `spec.control.check` consumes.
//!
//! [`run_control`] is a pure function of the snapshot and the time: the operator verifies a
//! finding as done when the control, re-run on fresh state, no longer reports its asset
//! (and, for an [`ControlFix::Automatic`] fix, when a fresh GET shows the applied fields).
//!
//! Each control lives in its own file and says which fix, if any, is safe to automate:
//! only [`automount`] ever proposes an automatic fix; every other finding goes to the
//! asset's owner.

pub mod automount;
pub mod cluster_admin;
pub mod legacy_tokens;
pub mod rotation;
pub mod unused;
pub mod wildcard;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::inventory::{Inventory, InventoryOptions};
use super::snapshot::Snapshot;
use crate::api::ObjectRef;
use crate::api::campaign::{CheckControl, CheckName};
use crate::api::common::DurationError;
use crate::api::finding::Severity;

/// One asset a control reports.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ControlFinding {
    /// The object to act on.
    pub asset: ObjectRef,
    /// The asset's labels, for scope selectors and owner resolution.
    pub asset_labels: BTreeMap<String, String>,
    pub severity: Severity,
    /// What is wrong, in a sentence. Never a Secret value.
    pub summary: String,
    pub fix: ControlFix,
}

/// How a finding is fixed.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum ControlFix {
    /// Safe to apply without a person: a server-side-apply body holding only the fields to
    /// set (`apiVersion`, `kind`, `metadata.name`/`namespace` and the fields), and why it is
    /// safe now.
    Automatic { apply: serde_json::Value, why: String },
    /// A person must act: `action` says what, `why` why it is never automatic.
    Owner { action: String, why: String },
}

impl ControlFix {
    /// Whether the fix may be applied without a person.
    pub fn is_automatic(&self) -> bool {
        matches!(self, Self::Automatic { .. })
    }
}

/// Parameters a control cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// A parameter the control does not know (a typo would otherwise be ignored).
    #[error("{check:?} has no parameter {parameter:?}; it accepts {}", accepted_list(accepted))]
    UnknownParameter { check: CheckName, parameter: String, accepted: &'static [&'static str] },
    /// A duration parameter that cannot be read.
    #[error("parameter {parameter} of {check:?}: {source}")]
    InvalidDuration {
        check: CheckName,
        parameter: &'static str,
        #[source]
        source: DurationError,
    },
}

fn accepted_list(accepted: &[&str]) -> String {
    if accepted.is_empty() { "none".to_string() } else { accepted.join(", ") }
}

impl ControlError {
    /// A stable PascalCase category, for events and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::UnknownParameter { .. } => "UnknownParameter",
            Self::InvalidDuration { .. } => "InvalidParameter",
        }
    }
}

/// The parameters each control accepts.
pub fn accepted_parameters(check: CheckName) -> &'static [&'static str] {
    match check {
        CheckName::SecretRotation => &[rotation::MAX_AGE_PARAMETER],
        _ => &[],
    }
}

fn validate(check: &CheckControl) -> Result<(), ControlError> {
    let accepted = accepted_parameters(check.name);
    match check.parameters.keys().find(|key| !accepted.contains(&key.as_str())) {
        Some(parameter) => {
            Err(ControlError::UnknownParameter { check: check.name, parameter: parameter.clone(), accepted })
        }
        None => Ok(()),
    }
}

/// Runs the control `check` over `snapshot` at `now`. Findings are sorted by asset.
pub fn run_control(
    check: &CheckControl,
    snapshot: &Snapshot,
    now: Timestamp,
) -> Result<Vec<ControlFinding>, ControlError> {
    validate(check)?;
    let inventory = Inventory::build(snapshot, &InventoryOptions::default(), now);
    run_control_with(check, snapshot, &inventory, now)
}

/// The same, over an inventory already built from `snapshot` (so several controls share
/// one analysis).
pub fn run_control_with(
    check: &CheckControl,
    snapshot: &Snapshot,
    inventory: &Inventory,
    now: Timestamp,
) -> Result<Vec<ControlFinding>, ControlError> {
    validate(check)?;
    let mut findings = match check.name {
        CheckName::ServiceAccountTokenAutomount => automount::run(inventory),
        CheckName::LegacyServiceAccountTokens => legacy_tokens::run(inventory, now),
        CheckName::SecretRotation => rotation::run(snapshot, rotation::max_age(check)?, now),
        CheckName::ClusterAdminBindings => cluster_admin::run(snapshot, inventory),
        CheckName::WildcardRbac => wildcard::run(snapshot, inventory),
        CheckName::UnusedServiceAccounts => unused::run(inventory, now),
    };
    findings.sort_by(|a, b| a.asset.cmp(&b.asset));
    Ok(findings)
}

/// A finding's severity from a risk severity: never below `Low` (a finding is never only
/// informational).
fn at_least_low(severity: Severity) -> Severity {
    severity.min(Severity::Low)
}

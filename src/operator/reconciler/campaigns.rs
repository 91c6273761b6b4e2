//! Campaigns in the operator's loop. A campaign follows one policy: each drift of that
//! policy within the campaign's scope becomes a Finding in the asset's namespace, moved by
//! what the live object shows (the core's [`step`]). In `Auto` mode the loop fixes findings
//! in waves, with the campaign's remediation classes but the policy's guards; in `Manual`
//! mode it escalates them to their owners and only verifies. A finding closes only on a
//! fresh read of the asset.
//!
//! One module per step: [`intake`] of campaigns and Findings, [`observe`] each asset,
//! [`waves`] of fixes, [`approvals`] by owners, [`writes`] of Findings and status,
//! [`notices`] to the sink, and the [`prune`] of findings that left the scope.

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};
use tracing::{debug, warn};

use super::effect::{CampaignFix, Effect, FindingWrite};
use super::error::RequestError;
use super::evaluate::{DecisionContext, covers_for, decide_for};
use super::{FixPart, Reconciler, name_of};
use crate::api::RemediationClass;
use crate::api::campaign::{CampaignMode, CampaignStatus};
use crate::api::conditions::{ConditionSpec, ConditionStatus, set_condition};
use crate::api::finding::{EvidenceAction, FindingState, FindingStatus};
use crate::api::policy::Mode;
use crate::api::reasons::{self, types};
use crate::engine::campaign::lifecycle::{EXTERNAL_ACTOR, OPERATOR_ACTOR};
use crate::engine::campaign::{
    Observation, PauseReason, WaveOutcome, WavePlan, account, campaign_classes, campaign_notices, drift_severity,
    evidence_hashes, finding_notice, in_scope, plan_wave, raised, resolve_owner, status_changed, step,
};
use crate::engine::classify::riskiest;
use crate::engine::decide::Action;
use crate::keys::ObjectKey;
use crate::operator::notify::{Notification, NotificationType, Sink};
use crate::operator::remediate::FixResult;
use crate::operator::watch::{self, Change};
use crate::reconcile::campaigns::{BACKOFF, CampaignEntry, DEFAULT_OWNER_LABELS, Wave, read_spec};
use crate::reconcile::findings::{
    WatchedFinding, Written, finding_body, finding_name, finding_namespace, new_finding, read_finding,
};
use crate::reconcile::policies::Readiness;

pub(super) mod approvals;
mod intake;
mod notices;
mod observe;
mod prune;
mod waves;
mod writes;

/// How a fresh read of a finding's asset went: `Ok(None)` when it no longer exists.
pub(super) type FreshRead = Result<Option<Value>, RequestError>;

/// The field manager that wrote `object` last, from its managedFields: who made an
/// asset compliant when driftwarden did not.
pub(super) fn latest_writer(object: &Value) -> Option<String> {
    object
        .pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .filter(|entry| entry.get("subresource").is_none())
        .filter_map(|entry| {
            let manager = entry.get("manager")?.as_str().filter(|m| !m.is_empty())?;
            let time = entry.get("time").and_then(Value::as_str).and_then(|t| t.parse::<Timestamp>().ok());
            Some((time, manager.to_string()))
        })
        .max_by_key(|(time, _)| *time)
        .map(|(_, manager)| manager)
}

/// How findings name the control: the policy's `namespace/name`, or the check's name.
pub(super) fn control_name(campaign: &CampaignEntry) -> String {
    match (campaign.policy(), campaign.spec.as_ref().ok().and_then(|s| s.control.check.as_ref())) {
        (Some(policy), _) => policy.to_string(),
        (None, Some(check)) => format!("{:?}", check.name),
        (None, None) => "unknown".to_string(),
    }
}

/// The label keys that name an asset's owner: the campaign's, else its policy's, else the
/// defaults.
fn owner_label_keys(spec: &crate::api::campaign::RemediationCampaignSpec, policy: Option<&Vec<String>>) -> Vec<String> {
    if !spec.owner_labels.is_empty() {
        return spec.owner_labels.clone();
    }
    match policy {
        Some(keys) if !keys.is_empty() => keys.clone(),
        _ => DEFAULT_OWNER_LABELS.iter().map(|k| k.to_string()).collect(),
    }
}

/// A finding's `Ready` and `Reconciling` conditions, from its state: ready once closed or
/// excepted; otherwise waiting for a fix, a fresh read or its owner.
pub(super) fn set_finding_conditions(status: &mut FindingStatus, now: Timestamp) {
    let (ready, reason, message) = match status.state {
        FindingState::Closed => (true, reasons::VERIFIED, "the fix was verified against a fresh read"),
        FindingState::Excepted => (true, reasons::RECONCILED, "a DriftException covers the asset"),
        FindingState::Escalated => (false, reasons::AWAITING_OWNER, "waiting for the owner to fix or approve"),
        FindingState::Verifying => (false, reasons::AWAITING_VERIFICATION, "waiting for a fresh read of the asset"),
        FindingState::Remediating => (false, reasons::PROGRESSING, "the fix is being applied"),
        FindingState::Open | FindingState::Reopened => (false, reasons::PROGRESSING, "waiting for a fix"),
    };
    let time = Time(now);
    let generation = status.observed_generation;
    let ready = ConditionSpec::new(types::READY, ready.into(), reason, message);
    set_condition(&mut status.conditions, ready, generation, time.clone());
    let reconciling = matches!(status.state, FindingState::Remediating | FindingState::Verifying);
    let reconciling = ConditionSpec::new(
        types::RECONCILING,
        reconciling.into(),
        if reconciling { reasons::PROGRESSING } else { reasons::RECONCILED },
        if reconciling { message } else { "" },
    );
    set_condition(&mut status.conditions, reconciling, generation, time.clone());
    // A spec that did not read marked the finding stalled; one written by the loop reads.
    let stalled = ConditionSpec::new(types::STALLED, ConditionStatus::False, reasons::RECONCILED, "");
    set_condition(&mut status.conditions, stalled, generation, time);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::check_contract;

    #[test]
    fn the_latest_writer_is_the_newest_managed_fields_entry_of_the_object_itself() {
        let object = serde_json::json!({"metadata": {"managedFields": [
            {"manager": "kubectl-create", "time": "2026-01-01T00:00:00Z"},
            {"manager": "kubectl-edit", "time": "2026-01-02T00:00:00Z"},
            {"manager": "controller", "time": "2026-01-03T00:00:00Z", "subresource": "status"}
        ]}});
        assert_eq!(latest_writer(&object).as_deref(), Some("kubectl-edit"));
        assert_eq!(latest_writer(&serde_json::json!({"metadata": {}})), None);
    }

    #[test]
    fn finding_conditions_follow_the_state_and_keep_the_contract() {
        let now = Timestamp::UNIX_EPOCH;
        for state in [
            FindingState::Open,
            FindingState::Remediating,
            FindingState::Verifying,
            FindingState::Closed,
            FindingState::Escalated,
            FindingState::Excepted,
            FindingState::Reopened,
        ] {
            let mut status = FindingStatus { state, ..Default::default() };
            set_finding_conditions(&mut status, now);
            check_contract(&status.conditions, None).unwrap_or_else(|p| panic!("{state:?}: {p:?}"));
            let ready = status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
            assert_eq!(ready.status == "True", state.is_resolved(), "{state:?}");
        }
        assert_eq!(
            owner_label_keys(
                &serde_json::from_value(serde_json::json!({"objective": "o", "owner": {"team": "t"},
                "control": {"check": {"name": "WildcardRbac"}}, "deadline": "2027-01-01T00:00:00Z"}))
                .unwrap(),
                None
            ),
            vec!["driftwarden.dev/owner".to_string(), "team".to_string()]
        );
    }
}

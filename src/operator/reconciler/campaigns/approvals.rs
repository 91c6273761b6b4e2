//! Owners' approvals of escalated findings. An approval is recorded in the evidence (and
//! announced) once the finding is escalated, however early it was given; its fix is tried
//! on every wave tick until it runs, so an approval survives a fix already under way for
//! the asset, exceptions not yet listed, the policy's rate limit and a restart. A paused
//! campaign records approvals but applies nothing.

use jiff::Timestamp;
use serde_json::json;

use super::super::Reconciler;
use crate::api::finding::{Approval, EvidenceAction, FindingState};
use crate::engine::campaign::Observation;
use crate::engine::campaign::approved_paths;
use crate::keys::ObjectKey;
use crate::operator::notify::NotificationType;
use crate::reconcile::campaigns::BACKOFF;

impl Reconciler {
    /// Records the approvals not yet on record, and tries the approved fixes that are due.
    pub(in crate::operator::reconciler) fn run_approvals(&mut self, name: &str, now: Timestamp) {
        let Some(campaign) = self.campaigns.get(name) else { return };
        let approved: Vec<(ObjectKey, Approval)> = campaign
            .findings
            .iter()
            .filter(|(_, f)| f.status.state == FindingState::Escalated)
            .filter_map(|(key, f)| f.approval.clone().map(|a| (key.clone(), a)))
            .collect();
        for (key, approval) in approved {
            self.record_approval(name, &key, &approval, now);
            self.try_approved_fix(name, &key);
        }
    }

    /// Puts an owner's approval on record when the finding is escalated and the approval is
    /// new; tells the campaign's owner once. Returns whether it was recorded.
    pub(in crate::operator::reconciler) fn record_approval(
        &mut self,
        name: &str,
        key: &ObjectKey,
        approval: &Approval,
        now: Timestamp,
    ) -> bool {
        let observation = Observation::Approved { by: approval.by.clone(), reason: approval.reason.clone() };
        if !self.step_finding(name, key, observation, now) {
            return false;
        }
        self.notify_approval(name, key);
        true
    }

    /// Applies an owner's approval: the fix of exactly the finding's paths, unless the
    /// campaign is paused, a fix of the asset is under way, or the last approved fix failed
    /// and its backoff is not over.
    pub(in crate::operator::reconciler) fn try_approved_fix(&mut self, name: &str, key: &ObjectKey) {
        if self.campaign_paused(name) || self.in_flight.contains(key) {
            return;
        }
        let now = self.now;
        let Some(campaign) = self.campaigns.get(name) else { return };
        let check = campaign.policy().is_none();
        let Some(finding) = campaign.findings.get(key) else { return };
        if finding.fix_retry_at.is_some_and(|at| at > now) {
            return;
        }
        // A withdrawn approval (removed from the spec) no longer counts.
        let Some(by) = finding.approval.as_ref().map(|a| a.by.clone()) else { return };
        let Some(paths) = approved_paths(&finding.status).map(<[String]>::to_vec) else { return };
        match check {
            true => {
                self.start_check_fix(name, key, Some(by), None);
            }
            false => {
                self.start_campaign_fix(name, key, Some((paths, Some(by))), None);
            }
        }
    }

    /// After an approved fix: a failure waits longer before the next try.
    pub(in crate::operator::reconciler) fn approved_fix_ended(
        &mut self,
        name: &str,
        key: &ObjectKey,
        verified: bool,
        now: Timestamp,
    ) {
        let Some(finding) = self.campaigns.get_mut(name).and_then(|c| c.findings.get_mut(key)) else { return };
        match verified {
            true => {
                finding.fix_failures = 0;
                finding.fix_retry_at = None;
            }
            false => {
                finding.fix_failures += 1;
                finding.fix_retry_at = Some(BACKOFF.retry_at(finding.fix_failures, now));
            }
        }
    }

    /// Whether the campaign acts on nothing: `spec.paused`, or a spec that cannot be read.
    pub(in crate::operator::reconciler) fn campaign_paused(&self, name: &str) -> bool {
        self.campaigns.get(name).and_then(|c| c.spec.as_ref().ok()).is_none_or(|spec| spec.paused)
    }

    /// Tells the campaign's owner that a finding's fix was approved.
    fn notify_approval(&mut self, name: &str, key: &ObjectKey) {
        let Some(finding) = self.campaigns.get(name).and_then(|c| c.findings.get(key)) else { return };
        let Some(record) = finding.status.evidence.iter().rev().find(|e| e.action == EvidenceAction::Approved) else {
            return;
        };
        let extra = json!({"approval": {"by": record.actor, "reason": record.message}});
        self.send_finding_notice(name, key, NotificationType::FindingApproved, record.time.0, extra);
    }
}

//! Owners' approvals of escalated findings. An approval is recorded in the evidence (and
//! announced) once the finding is escalated, however early it was given; its fix is tried
//! on every wave tick until it runs, so an approval survives a fix already under way for
//! the asset, exceptions not yet listed, the policy's rate limit and a restart. A paused
//! campaign records approvals but applies nothing. Before an approval counts, the API server
//! is asked whether its approver holds the verb the fix needs (`approve`, or
//! `approve-privileged` for Access and SecretData): the admission policy makes sure the
//! approver named is who wrote the approval, this makes sure they may.

use jiff::Timestamp;
use serde_json::json;

use tracing::warn;

use super::super::error::RequestError;
use super::super::{ApprovalReview, Effect, EventType, OwnResource, Reconciler};
use crate::api::RemediationClass;
use crate::api::conditions::{ConditionSpec, ConditionStatus};
use crate::api::finding::{Approval, EvidenceAction, FindingState};
use crate::api::reasons::{self, types};
use crate::engine::campaign::Observation;
use crate::engine::campaign::{approved_paths, lapsed_approval};
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
        if !self.approver_allowed(name, key) {
            return false;
        }
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
        if let Some((approver, given_for)) = lapsed_approval(&finding.status) {
            self.announce_lapse(name, key, approver.to_string(), given_for);
            return;
        }
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

/// The verb an approval of a fix of `class` needs: `approve-privileged` for a fix that
/// touches access (Access) or Secret data (SecretData), `approve` for any other.
pub(in crate::operator::reconciler) fn approval_verb(class: Option<RemediationClass>) -> &'static str {
    match class {
        Some(RemediationClass::Access | RemediationClass::SecretData) => "approve-privileged",
        _ => "approve",
    }
}

impl Reconciler {
    /// Whether the approval of `key`'s finding may be acted on: the API server said that its
    /// approver holds the verb the fix needs on that Finding. Asks it (once per approver and
    /// verb) when it has not; until it answers, the approval waits.
    fn approver_allowed(&mut self, name: &str, key: &ObjectKey) -> bool {
        let Some(finding) = self.campaigns.get_mut(name).and_then(|c| c.findings.get_mut(key)) else { return false };
        let Some(approval) = &finding.approval else { return false };
        let verb = approval_verb(finding.status.class);
        match &finding.approver_review {
            Some((reviewed, asked, answer)) if reviewed == approval && *asked == verb => answer.unwrap_or(false),
            _ => {
                finding.approver_review = Some((approval.clone(), verb, None));
                let review = ApprovalReview {
                    user: approval.by.clone(),
                    verb,
                    namespace: finding.namespace.clone(),
                    name: finding.name.clone(),
                };
                self.effects.push(Effect::ReviewApproval { campaign: name.to_string(), key: key.clone(), review });
                false
            }
        }
    }

    /// Says once, with a Warning Event on the Finding, that its approval lapsed: it was
    /// given for a fix of another class than the finding's fix now is.
    fn announce_lapse(&mut self, name: &str, key: &ObjectKey, approver: String, given_for: RemediationClass) {
        let Some(finding) = self.campaigns.get_mut(name).and_then(|c| c.findings.get_mut(key)) else { return };
        if std::mem::replace(&mut finding.lapse_announced, true) {
            return;
        }
        let now = finding.status.class.map_or_else(|| "unknown".to_string(), |c| format!("{c:?}"));
        let message = format!(
            "the approval by {approver} was given for a {given_for:?} fix; the fix is now {now}: approve it again"
        );
        warn!(finding = %format!("{}/{}", finding.namespace, finding.name), "{message}");
        self.effects.push(Effect::PublishOn {
            resource: OwnResource::Finding(finding.namespace.clone(), finding.name.clone()),
            uid: None,
            type_: EventType::Warning,
            reason: reasons::APPROVAL_LAPSED,
            message,
        });
    }

    /// The API server's answer on an approver: an approval it allows is recorded and its fix
    /// tried; one it refuses is not acted on, and a Warning Event on the Finding says why. A
    /// review that failed is asked again on the next wave tick.
    pub(in crate::operator::reconciler) fn on_approval_reviewed(
        &mut self,
        name: &str,
        key: &ObjectKey,
        review: ApprovalReview,
        allowed: Result<bool, RequestError>,
    ) {
        let Some(finding) = self.campaigns.get_mut(name).and_then(|c| c.findings.get_mut(key)) else { return };
        let Some((approval, verb, None)) = finding.approver_review.clone() else { return };
        if approval.by != review.user || verb != review.verb {
            return; // The approval changed since: its own review is under way.
        }
        match allowed {
            Ok(true) => {
                finding.approver_review = Some((approval, verb, Some(true)));
                let now = self.now;
                if let Some(approval) = finding.approval.clone()
                    && self.record_approval(name, key, &approval, now)
                {
                    self.try_approved_fix(name, key);
                }
            }
            Ok(false) => {
                finding.approver_review = Some((approval, verb, Some(false)));
                let message = format!(
                    "{} may not {} findings in namespace {} (the API server says so): the approval is not acted \
                     on; grant the verb, then approve again",
                    review.user, review.verb, review.namespace
                );
                warn!(finding = %format!("{}/{}", review.namespace, review.name), "{message}");
                self.effects.push(Effect::PublishOn {
                    resource: OwnResource::Finding(review.namespace, review.name),
                    uid: None,
                    type_: EventType::Warning,
                    reason: reasons::APPROVAL_NOT_AUTHORIZED,
                    message,
                });
            }
            Err(error) => {
                finding.approver_review = None;
                warn!(
                    finding = %format!("{}/{}", review.namespace, review.name),
                    category = error.category(),
                    "could not ask whether {} may {} it, asking again: {error}",
                    review.user,
                    review.verb
                );
            }
        }
    }
}

/// How often the operator reads whether the approvals admission policy is installed.
const POLICY_CHECK_PERIOD: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// Whether the approvals admission policy is installed, as last read.
#[derive(Debug, Default)]
pub(in crate::operator::reconciler) struct PolicyCheck {
    /// `Ok(installed)`, or why it could not be read; `None` before the first answer.
    answer: Option<Result<bool, String>>,
    checking: bool,
    next: Option<Timestamp>,
}

impl Reconciler {
    /// Reads, while campaigns exist, whether the approvals admission policy is installed:
    /// at once, then every five minutes.
    pub(in crate::operator::reconciler) fn check_approval_policy(&mut self, now: Timestamp) {
        let check = &mut self.approval_policy;
        if self.campaigns.is_empty() || check.checking || check.next.is_some_and(|at| at > now) {
            return;
        }
        check.checking = true;
        self.effects.push(Effect::CheckApprovalPolicy(self.settings.approvals_policy.clone()));
    }

    pub(in crate::operator::reconciler) fn on_approval_policy_checked(&mut self, result: Result<bool, RequestError>) {
        let check = &mut self.approval_policy;
        check.checking = false;
        check.next = Some(self.now + POLICY_CHECK_PERIOD);
        let answer = result.map_err(|error| error.to_string());
        if let Err(problem) = &answer {
            warn!("cannot read whether the approvals admission policy is installed: {problem}");
        }
        check.answer = Some(answer);
    }

    /// The `ApprovalsRecorded` condition every campaign carries: whether the admission
    /// policy that records approvals by the requesting user is installed. `None` before
    /// the first answer.
    pub(in crate::operator::reconciler) fn approvals_condition(&self) -> Option<ConditionSpec> {
        let policy = &self.settings.approvals_policy;
        Some(match self.approval_policy.answer.as_ref()? {
            Ok(true) => ConditionSpec::new(
                types::APPROVALS_RECORDED,
                ConditionStatus::True,
                reasons::ADMISSION_POLICY_INSTALLED,
                format!("the ValidatingAdmissionPolicy {policy} admits approvals only in the requesting user's name"),
            ),
            Ok(false) => ConditionSpec::new(
                types::APPROVALS_RECORDED,
                ConditionStatus::False,
                reasons::ADMISSION_POLICY_MISSING,
                format!(
                    "the ValidatingAdmissionPolicy {policy} or its binding is not installed: an approval is acted on \
                     once the API server says its approver holds the verb, but who wrote it cannot be proven; \
                     install the chart with approvals.admissionPolicy (Kubernetes 1.30+)"
                ),
            ),
            Err(problem) => ConditionSpec::new(
                types::APPROVALS_RECORDED,
                ConditionStatus::Unknown,
                reasons::ADMISSION_POLICY_UNREADABLE,
                format!("whether the ValidatingAdmissionPolicy {policy} is installed cannot be read: {problem}"),
            ),
        })
    }
}

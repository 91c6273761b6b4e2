//! What to tell people when a campaign's or a finding's status moves.
//!
//! Notices are derived from two statuses, the one last written and the next one, so an
//! evaluation that changes nothing notifies nothing, and each occurrence has a stable id: the
//! shell uses it as the CloudEvents `id`, which keeps a sink from receiving one occurrence
//! twice when a status write is retried.

use jiff::Timestamp;

use crate::api::campaign::{CampaignStatus, CheckpointResult};
use crate::api::conditions::{find, is_true};
use crate::api::finding::{FindingState, Severity};
use crate::api::reasons::types;
use crate::notification::NotificationType;

/// One notification about a campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignNotice {
    /// Stable for one occurrence: the campaign, what happened, and the checkpoint date or the
    /// time the condition became true.
    pub id: String,
    /// What happened.
    pub kind: NotificationType,
    /// The checkpoint, for `CheckpointMet` and `CheckpointMissed`.
    pub checkpoint: Option<Timestamp>,
    /// What happened, for a person.
    pub message: String,
}

/// What to notify about campaign `campaign` when its status goes from `previous` to `next`:
/// each checkpoint once, when it is met or missed; `AtRisk`, `Completed` and
/// `DeadlineMissed` when they become true.
pub fn campaign_notices(campaign: &str, previous: &CampaignStatus, next: &CampaignStatus) -> Vec<CampaignNotice> {
    let mut notices = Vec::new();
    for checkpoint in &next.checkpoints {
        let (kind, what) = match checkpoint.result {
            CheckpointResult::Pending => continue,
            CheckpointResult::Met => (NotificationType::CheckpointMet, "met"),
            CheckpointResult::Missed => (NotificationType::CheckpointMissed, "missed"),
        };
        let date = checkpoint.date.0;
        let known = previous.checkpoints.iter().any(|p| p.date.0 == date && p.result == checkpoint.result);
        if !known {
            notices.push(CampaignNotice {
                id: notice_id(campaign, kind, date),
                kind,
                checkpoint: Some(date),
                message: format!(
                    "checkpoint {date} {what}: {}% compliant, {}% required",
                    checkpoint.actual.unwrap_or(0),
                    checkpoint.target
                ),
            });
        }
    }
    let entered = [
        (types::AT_RISK, NotificationType::CampaignAtRisk),
        (types::COMPLETED, NotificationType::CampaignCompleted),
        (types::DEADLINE_MISSED, NotificationType::CampaignDeadlineMissed),
    ];
    for (type_, kind) in entered {
        if is_true(&next.conditions, type_)
            && !is_true(&previous.conditions, type_)
            && let Some(condition) = find(&next.conditions, type_)
        {
            notices.push(CampaignNotice {
                id: notice_id(campaign, kind, condition.last_transition_time.0),
                kind,
                checkpoint: None,
                message: condition.message.clone(),
            });
        }
    }
    notices
}

/// What to notify when a finding moves from `previous` (`None` for a new finding) to `next`:
/// a `Critical` finding when it opens (at once, like an urgent ticket), any finding when it
/// is reopened or closed. Everything else reaches owners through escalation.
pub fn finding_notice(
    previous: Option<FindingState>,
    next: FindingState,
    severity: Severity,
) -> Option<NotificationType> {
    if previous == Some(next) {
        return None;
    }
    match next {
        FindingState::Reopened => Some(NotificationType::FindingReopened),
        FindingState::Closed => Some(NotificationType::FindingClosed),
        FindingState::Open | FindingState::Escalated if previous.is_none() && severity == Severity::Critical => {
            Some(NotificationType::FindingOpened)
        }
        _ => None,
    }
}

/// The id of one occurrence: `subject` (a campaign or a finding name), what happened, and
/// when (a checkpoint date, or the time of the transition).
pub fn notice_id(subject: &str, kind: NotificationType, at: Timestamp) -> String {
    format!("{subject}/{}/{}", kind.event_type(), at.as_second())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;
    use crate::api::campaign::CheckpointStatus;
    use crate::api::conditions::{ConditionSpec, ConditionStatus, set_condition};
    use crate::api::reasons;

    fn at(day: i64) -> Timestamp {
        Timestamp::from_second(1_775_000_000 + day * 86_400).unwrap()
    }

    fn checkpoint(day: i64, result: CheckpointResult) -> CheckpointStatus {
        CheckpointStatus { date: Time(at(day)), target: 50, actual: Some(60), result }
    }

    fn with_condition(status: &CampaignStatus, type_: &'static str, holds: bool, day: i64) -> CampaignStatus {
        let mut next = status.clone();
        let spec = ConditionSpec::new(type_, ConditionStatus::from(holds), reasons::PROGRESSING, "because");
        set_condition(&mut next.conditions, spec, Some(1), Time(at(day)));
        next
    }

    #[test]
    fn each_checkpoint_is_notified_once() {
        let previous = CampaignStatus {
            checkpoints: vec![checkpoint(1, CheckpointResult::Pending), checkpoint(2, CheckpointResult::Pending)],
            ..CampaignStatus::default()
        };
        let next = CampaignStatus {
            checkpoints: vec![checkpoint(1, CheckpointResult::Met), checkpoint(2, CheckpointResult::Pending)],
            ..CampaignStatus::default()
        };
        let notices = campaign_notices("c", &previous, &next);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, NotificationType::CheckpointMet);
        assert_eq!(notices[0].checkpoint, Some(at(1)));
        assert_eq!(notices[0].id, notice_id("c", NotificationType::CheckpointMet, at(1)));
        assert!(notices[0].message.contains("60% compliant, 50% required"), "{}", notices[0].message);
        assert!(campaign_notices("c", &next, &next).is_empty());

        let missed = CampaignStatus {
            checkpoints: vec![checkpoint(1, CheckpointResult::Met), checkpoint(2, CheckpointResult::Missed)],
            ..CampaignStatus::default()
        };
        let notices = campaign_notices("c", &next, &missed);
        assert_eq!(notices.iter().map(|n| n.kind).collect::<Vec<_>>(), [NotificationType::CheckpointMissed]);
        assert_ne!(notices[0].id, notice_id("c", NotificationType::CheckpointMet, at(2)));
    }

    #[test]
    fn conditions_notify_when_they_become_true() {
        let quiet = with_condition(&CampaignStatus::default(), types::AT_RISK, false, 0);
        let risky = with_condition(&quiet, types::AT_RISK, true, 3);
        let notices = campaign_notices("c", &quiet, &risky);
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, NotificationType::CampaignAtRisk);
        assert_eq!(notices[0].id, notice_id("c", NotificationType::CampaignAtRisk, at(3)));
        assert_eq!(notices[0].message, "because");
        assert!(campaign_notices("c", &risky, &risky).is_empty(), "still at risk: nothing new");

        let done = with_condition(&with_condition(&risky, types::AT_RISK, false, 4), types::COMPLETED, true, 4);
        let kinds: Vec<_> = campaign_notices("c", &risky, &done).into_iter().map(|n| n.kind).collect();
        assert_eq!(kinds, [NotificationType::CampaignCompleted]);

        let late = with_condition(&quiet, types::DEADLINE_MISSED, true, 9);
        let kinds: Vec<_> = campaign_notices("c", &quiet, &late).into_iter().map(|n| n.kind).collect();
        assert_eq!(kinds, [NotificationType::CampaignDeadlineMissed]);
        // A second occurrence has another id.
        let again = with_condition(&with_condition(&risky, types::AT_RISK, false, 5), types::AT_RISK, true, 6);
        assert_ne!(campaign_notices("c", &quiet, &again)[0].id, notices[0].id);
    }

    #[test]
    fn findings_notify_on_critical_open_reopen_and_close() {
        use FindingState::*;
        assert_eq!(finding_notice(None, Open, Severity::Critical), Some(NotificationType::FindingOpened));
        assert_eq!(finding_notice(None, Escalated, Severity::Critical), Some(NotificationType::FindingOpened));
        assert_eq!(finding_notice(None, Open, Severity::High), None);
        assert_eq!(finding_notice(Some(Open), Escalated, Severity::Critical), None);
        assert_eq!(finding_notice(Some(Closed), Reopened, Severity::Low), Some(NotificationType::FindingReopened));
        assert_eq!(finding_notice(Some(Verifying), Closed, Severity::Info), Some(NotificationType::FindingClosed));
        assert_eq!(finding_notice(Some(Closed), Closed, Severity::Critical), None);
        assert_eq!(finding_notice(Some(Open), Remediating, Severity::Critical), None);
    }

    #[test]
    fn ids_name_the_subject_the_event_and_the_time() {
        let id = notice_id("no-token-automount", NotificationType::CheckpointMet, at(0));
        assert_eq!(id, "no-token-automount/dev.driftwarden.campaign.checkpoint.met/1775000000");
    }
}

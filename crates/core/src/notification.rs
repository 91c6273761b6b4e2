//! What a notification says happened: the CloudEvents `type` of each step of the lifecycle
//! (drifts, findings, campaigns, exceptions). The operator encodes and delivers
//! notifications; the campaign state machine decides which of them to send.

/// What happened: one value per step of the lifecycle in DESIGN.md's Notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotificationType {
    /// A live object drifted from its template.
    DriftDetected,
    /// A drift was fixed and the fix verified against a fresh read.
    DriftRemediated,
    /// A drift went to an accountable owner instead of being fixed.
    DriftEscalated,
    /// A drift that was fixed came back.
    DriftRecurred,
    /// A finding that needs attention at once (a `Critical` one) was opened.
    FindingOpened,
    /// A person approved the fix of an escalated finding.
    FindingApproved,
    /// A finding was verified compliant and closed.
    FindingClosed,
    /// A closed finding drifted again.
    FindingReopened,
    /// A campaign checkpoint was met.
    CheckpointMet,
    /// A campaign checkpoint was missed.
    CheckpointMissed,
    /// A campaign's projection misses its deadline.
    CampaignAtRisk,
    /// A campaign met its success criteria.
    CampaignCompleted,
    /// A campaign's deadline passed before its success criteria were met.
    CampaignDeadlineMissed,
    /// An exception expires within the reminder lead time.
    ExceptionExpiring,
    /// An exception expired; enforcement resumed.
    ExceptionExpired,
    /// An exception covers no drift at all.
    ExceptionCoversNothing,
}

impl NotificationType {
    /// Every type.
    pub const ALL: [NotificationType; 16] = [
        Self::DriftDetected,
        Self::DriftRemediated,
        Self::DriftEscalated,
        Self::DriftRecurred,
        Self::FindingOpened,
        Self::FindingApproved,
        Self::FindingClosed,
        Self::FindingReopened,
        Self::CheckpointMet,
        Self::CheckpointMissed,
        Self::CampaignAtRisk,
        Self::CampaignCompleted,
        Self::CampaignDeadlineMissed,
        Self::ExceptionExpiring,
        Self::ExceptionExpired,
        Self::ExceptionCoversNothing,
    ];

    /// The CloudEvents `type` attribute, such as `dev.driftwarden.drift.remediated`.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::DriftDetected => "dev.driftwarden.drift.detected",
            Self::DriftRemediated => "dev.driftwarden.drift.remediated",
            Self::DriftEscalated => "dev.driftwarden.drift.escalated",
            Self::DriftRecurred => "dev.driftwarden.drift.recurred",
            Self::FindingOpened => "dev.driftwarden.finding.opened",
            Self::FindingApproved => "dev.driftwarden.finding.approved",
            Self::FindingClosed => "dev.driftwarden.finding.closed",
            Self::FindingReopened => "dev.driftwarden.finding.reopened",
            Self::CheckpointMet => "dev.driftwarden.campaign.checkpoint.met",
            Self::CheckpointMissed => "dev.driftwarden.campaign.checkpoint.missed",
            Self::CampaignAtRisk => "dev.driftwarden.campaign.at_risk",
            Self::CampaignCompleted => "dev.driftwarden.campaign.completed",
            Self::CampaignDeadlineMissed => "dev.driftwarden.campaign.deadline_missed",
            Self::ExceptionExpiring => "dev.driftwarden.exception.expiring",
            Self::ExceptionExpired => "dev.driftwarden.exception.expired",
            Self::ExceptionCoversNothing => "dev.driftwarden.exception.covers_nothing",
        }
    }

    /// The type whose [`event_type`](Self::event_type) is `value`.
    pub fn from_event_type(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.event_type() == value)
    }
}

impl std::fmt::Display for NotificationType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.event_type())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn event_types_are_distinct_and_round_trip() {
        let types: HashSet<_> = NotificationType::ALL.iter().map(|kind| kind.event_type()).collect();
        assert_eq!(types.len(), NotificationType::ALL.len());
        for kind in NotificationType::ALL {
            assert!(kind.event_type().starts_with("dev.driftwarden."), "{kind}");
            assert_eq!(NotificationType::from_event_type(kind.event_type()), Some(kind));
        }
        assert_eq!(NotificationType::from_event_type("dev.driftwarden.nothing"), None);
    }
}

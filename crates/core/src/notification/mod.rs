//! What a notification says happened ([`NotificationType`]: the CloudEvents `type` of each
//! step of the lifecycle of drifts, findings, campaigns and exceptions) and where it goes
//! ([`Sink`]: a policy's or campaign's `notify` settings in its namespace). The operator
//! reads the sink's Secrets, encodes and delivers notifications; the campaign state machine
//! decides which of them to send. [`address`] says which addresses a sink may be delivered
//! to.

pub mod address;

pub use address::{AddressRefused, Cidr, CidrError, RestrictedRange, SinkAddressPolicy};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::api::common::SecretKeyRef;
use crate::api::policy::{CloudEventsMode, NotifySpec};

/// What happened: one value per step of the lifecycle in DESIGN.md's Notifications. In a
/// sink's `types` each is named by its CloudEvents type without the `dev.driftwarden.`
/// prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum NotificationType {
    /// A live object drifted from its template.
    #[serde(rename = "drift.detected")]
    DriftDetected,
    /// A drift was fixed and the fix verified against a fresh read.
    #[serde(rename = "drift.remediated")]
    DriftRemediated,
    /// A drift went to an accountable owner instead of being fixed.
    #[serde(rename = "drift.escalated")]
    DriftEscalated,
    /// A drift that was fixed came back.
    #[serde(rename = "drift.recurred")]
    DriftRecurred,
    /// A finding that needs attention at once (a `Critical` one) was opened.
    #[serde(rename = "finding.opened")]
    FindingOpened,
    /// A person approved the fix of an escalated finding.
    #[serde(rename = "finding.approved")]
    FindingApproved,
    /// A finding was verified compliant and closed.
    #[serde(rename = "finding.closed")]
    FindingClosed,
    /// A closed finding drifted again.
    #[serde(rename = "finding.reopened")]
    FindingReopened,
    /// A campaign checkpoint was met.
    #[serde(rename = "campaign.checkpoint.met")]
    CheckpointMet,
    /// A campaign checkpoint was missed.
    #[serde(rename = "campaign.checkpoint.missed")]
    CheckpointMissed,
    /// A campaign's projection misses its deadline.
    #[serde(rename = "campaign.at_risk")]
    CampaignAtRisk,
    /// A campaign met its success criteria.
    #[serde(rename = "campaign.completed")]
    CampaignCompleted,
    /// A campaign's deadline passed before its success criteria were met.
    #[serde(rename = "campaign.deadline_missed")]
    CampaignDeadlineMissed,
    /// An exception expires within the reminder lead time.
    #[serde(rename = "exception.expiring")]
    ExceptionExpiring,
    /// An exception expired; enforcement resumed.
    #[serde(rename = "exception.expired")]
    ExceptionExpired,
    /// An exception covers no drift at all.
    #[serde(rename = "exception.covers_nothing")]
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

    /// Whether a sink without `types` is sent this type: every type but `drift.detected`
    /// and `drift.recurred`, which come with every drift and which a sink asks for by name.
    pub fn sent_by_default(self) -> bool {
        !matches!(self, Self::DriftDetected | Self::DriftRecurred)
    }

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

/// The label a Secret must carry, with the value [`NOTIFICATION_CREDENTIALS_VALUE`], for a
/// sink to read its URL or credentials from it: the Secret's owner marks it as meant for
/// notifications, so a sink cannot name any other Secret of its namespace and have its
/// value sent out.
pub const NOTIFICATION_CREDENTIALS_LABEL: &str = "driftwarden.dev/notification-credentials";

/// The value of [`NOTIFICATION_CREDENTIALS_LABEL`] that marks a Secret.
pub const NOTIFICATION_CREDENTIALS_VALUE: &str = "true";

/// A CloudEvents sink configured in a namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sink {
    /// The namespace of the resource that configures it, where its Secrets live.
    pub namespace: String,
    /// The sink's configuration.
    pub spec: NotifySpec,
}

/// What identifies a sink for ordering and de-duplication: the same Secret references and
/// mode in the same namespace are the same sink.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SinkKey {
    namespace: String,
    url: (String, String),
    auth: Option<(String, String)>,
    structured: bool,
}

impl Sink {
    /// The name used in logs and errors: `namespace/secretName` of the URL Secret. Never
    /// the URL itself.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.namespace, self.spec.url_secret_ref.name)
    }

    /// What tells this sink from others.
    pub fn key(&self) -> SinkKey {
        let pair = |reference: &SecretKeyRef| (reference.name.clone(), reference.key.clone());
        SinkKey {
            namespace: self.namespace.clone(),
            url: pair(&self.spec.url_secret_ref),
            auth: self.spec.auth_secret_ref.as_ref().map(pair),
            structured: self.spec.mode == CloudEventsMode::Structured,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_type_is_named_in_a_spec_by_its_cloudevents_type_without_the_prefix() {
        for kind in NotificationType::ALL {
            let name = serde_json::to_value(kind).unwrap();
            assert_eq!(Some(kind.event_type()), name.as_str().map(|n| format!("dev.driftwarden.{n}")).as_deref());
            assert_eq!(serde_json::from_value::<NotificationType>(name).unwrap(), kind);
        }
        assert!(serde_json::from_value::<NotificationType>(serde_json::json!("drift.deleted")).is_err());
    }

    #[test]
    fn a_sink_without_types_is_sent_all_but_detected_and_recurred_and_one_with_types_only_those() {
        let mut spec = sink(CloudEventsMode::Binary, None).spec;
        assert!(spec.sends(NotificationType::DriftEscalated));
        assert!(spec.sends(NotificationType::CampaignAtRisk));
        assert!(!spec.sends(NotificationType::DriftDetected));
        assert!(!spec.sends(NotificationType::DriftRecurred));
        spec.types = vec![NotificationType::DriftDetected, NotificationType::DriftRecurred];
        assert!(spec.sends(NotificationType::DriftDetected));
        assert!(spec.sends(NotificationType::DriftRecurred));
        assert!(!spec.sends(NotificationType::DriftEscalated));
    }

    fn sink(mode: CloudEventsMode, auth: Option<&str>) -> Sink {
        Sink {
            namespace: "shop".to_string(),
            spec: NotifySpec {
                url_secret_ref: SecretKeyRef { name: "hook".to_string(), key: "url".to_string() },
                auth_secret_ref: auth.map(|name| SecretKeyRef { name: name.to_string(), key: "auth".to_string() }),
                mode,
                types: Vec::new(),
            },
        }
    }

    #[test]
    fn sinks_differ_by_secret_references_and_mode() {
        let binary = sink(CloudEventsMode::Binary, None);
        assert_eq!(binary.key(), sink(CloudEventsMode::Binary, None).key());
        assert_ne!(binary.key(), sink(CloudEventsMode::Structured, None).key());
        assert_ne!(binary.key(), sink(CloudEventsMode::Binary, Some("auth")).key());
        assert_eq!(binary.display_name(), "shop/hook");
    }

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

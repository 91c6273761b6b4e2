//! Condition types and reasons, in one place.
//!
//! Reasons are PascalCase constants: they are read by programs (Argo CD and Flux health
//! checks, `kubectl wait`, alerting rules) and double as Event reasons, so they never carry
//! object names or free text. The free text goes in the condition's message.

/// Condition types.
pub mod types {
    /// kstatus: the object is reconciled and its status is current. Present on every kind.
    pub const READY: &str = "Ready";
    /// kstatus: the controller is working towards the desired state.
    pub const RECONCILING: &str = "Reconciling";
    /// kstatus: the controller cannot make progress until something changes, for example an
    /// invalid spec.
    pub const STALLED: &str = "Stalled";

    /// DriftPolicy, ClusterDriftPolicy: every target matches its template.
    pub const COMPLIANT: &str = "Compliant";
    /// DriftPolicy, ClusterDriftPolicy: some drift is escalated to an owner.
    pub const ESCALATED: &str = "Escalated";

    /// RemediationCampaign: every checkpoint so far was met and the projection meets the
    /// deadline.
    pub const ON_TRACK: &str = "OnTrack";
    /// RemediationCampaign: the projected completion is after the deadline.
    pub const AT_RISK: &str = "AtRisk";
    /// RemediationCampaign: the success criteria are met.
    pub const COMPLETED: &str = "Completed";
    /// RemediationCampaign: the deadline passed before the success criteria were met.
    pub const DEADLINE_MISSED: &str = "DeadlineMissed";
    /// RemediationCampaign: the admission policy that records approvals by the requesting
    /// user is installed (False: it is not, and who wrote an approval cannot be proven).
    pub const APPROVALS_RECORDED: &str = "ApprovalsRecorded";

    /// DriftException: approved and not expired; drift it covers is not enforced.
    pub const ACTIVE: &str = "Active";
    /// DriftException: past `expiresAt`, or longer than allowed; drift it covered is enforced
    /// again.
    pub const EXPIRED: &str = "Expired";
    /// DriftException: active, but covers no current drift.
    pub const COVERS_NOTHING: &str = "CoversNothing";
    /// DriftException: expires within the configured reminder lead time.
    pub const EXPIRING_SOON: &str = "ExpiringSoon";

    /// DriftPolicy, ClusterDriftPolicy, RemediationCampaign: the notification sink delivered
    /// the last notification (`True`), or its configuration refused it (`False`, the reason
    /// says why). Absent until a notification was sent, and without a sink.
    pub const NOTIFICATION_SINK_READY: &str = "NotificationSinkReady";
    /// DriftPolicy, ClusterDriftPolicy with `spec.admission`: the generated
    /// ValidatingAdmissionPolicy and binding are in place (or, managed externally, exist and
    /// match).
    pub const ADMISSION_READY: &str = "AdmissionReady";

    /// Every condition type.
    pub const ALL: &[&str] = &[
        READY,
        RECONCILING,
        STALLED,
        COMPLIANT,
        ESCALATED,
        ON_TRACK,
        AT_RISK,
        COMPLETED,
        DEADLINE_MISSED,
        APPROVALS_RECORDED,
        ACTIVE,
        EXPIRED,
        COVERS_NOTHING,
        EXPIRING_SOON,
        NOTIFICATION_SINK_READY,
        ADMISSION_READY,
    ];
}

// Any kind.

/// The object is reconciled: everything it asks for was evaluated and recorded.
pub const RECONCILED: &str = "Reconciled";
/// Work towards the desired state is under way.
pub const PROGRESSING: &str = "Progressing";
/// The spec cannot be acted on (the message says why); nothing happens until it changes.
pub const INVALID_SPEC: &str = "InvalidSpec";
/// Something the object refers to (a policy, a Secret, a campaign) does not exist.
pub const DEPENDENCY_NOT_FOUND: &str = "DependencyNotFound";
/// The API server refused or failed a request; it is retried with backoff.
pub const API_ERROR: &str = "ApiError";
/// The object is paused by its spec.
pub const PAUSED: &str = "Paused";
/// The operator lacks an RBAC permission it needs (the message names the verb and resource).
pub const FORBIDDEN: &str = "Forbidden";
/// A DriftPolicy names no ServiceAccount to make its fixes as, and the operator has no
/// default and requires one: nothing is evaluated until it names one.
pub const SERVICE_ACCOUNT_REQUIRED: &str = "ServiceAccountRequired";
/// An approval's approver does not hold the verb its fix needs: it is not acted on.
pub const APPROVAL_NOT_AUTHORIZED: &str = "ApprovalNotAuthorized";
/// The approvals admission policy and its binding are installed.
pub const ADMISSION_POLICY_INSTALLED: &str = "AdmissionPolicyInstalled";
/// The approvals admission policy or its binding is missing.
pub const ADMISSION_POLICY_MISSING: &str = "AdmissionPolicyMissing";
/// Whether the approvals admission policy is installed could not be read.
pub const ADMISSION_POLICY_UNREADABLE: &str = "AdmissionPolicyUnreadable";
/// The policy's admission objects are in place and check every governed field.
pub const ADMISSION_ENFORCED: &str = "AdmissionEnforced";
/// The policy's admission objects are in place, but some governed fields cannot be checked
/// at admission: the message lists them, and the operator keeps healing them.
pub const PARTIAL_COVERAGE: &str = "PartialCoverage";
/// Nothing the policy governs can be checked at admission: no objects are generated.
pub const NOTHING_TO_CHECK: &str = "NothingToCheck";
/// The API server refused the generated admission objects (the message says why); the
/// runtime part of the policy keeps working.
pub const ADMISSION_REFUSED: &str = "AdmissionRefused";
/// Admission objects are managed externally, and the API server holds none for the policy.
pub const ADMISSION_OBJECTS_MISSING: &str = "AdmissionObjectsMissing";
/// Admission objects are managed externally, and those the API server holds differ from
/// what `driftwarden admission render` prints for the policy.
pub const ADMISSION_OBJECTS_DIFFER: &str = "AdmissionObjectsDiffer";
/// This installation does not generate admission objects: it runs without admission
/// (chart value `admission.enabled`), or namespaced, without cluster-wide grants.
pub const ADMISSION_UNAVAILABLE: &str = "AdmissionUnavailable";
/// An approval was given for a fix of another class than the finding's fix now is.
pub const APPROVAL_LAPSED: &str = "ApprovalLapsed";
/// A Finding names a campaign but is not one the operator wrote: it is ignored.
pub const FORGED_FINDING: &str = "ForgedFinding";
/// A kind the object names is not served by the API server (yet): it is looked up again.
pub const KIND_NOT_SERVED: &str = "KindNotServed";

// DriftPolicy and ClusterDriftPolicy.

/// Every target matches its template.
pub const ALL_TARGETS_COMPLIANT: &str = "AllTargetsCompliant";
/// Handling the resource failed inside driftwarden (a bug, caught): it is left alone until
/// its spec changes or a later retry succeeds; everything else is still served.
pub const INTERNAL_ERROR: &str = "InternalError";
/// The policy selects no live object and declares no resource.
pub const NO_TARGETS: &str = "NoTargets";
/// Some targets drift from their templates.
pub const DRIFT_DETECTED: &str = "DriftDetected";
/// Some drift is escalated to an owner instead of fixed.
pub const DRIFT_ESCALATED: &str = "DriftEscalated";
/// No drift is escalated.
pub const NOTHING_ESCALATED: &str = "NothingEscalated";
/// Too many targets drift at once: auto-remediation stopped for this policy.
pub const CIRCUIT_BREAKER_OPEN: &str = "CircuitBreakerOpen";
/// Another actor keeps undoing fixes: the conflict is escalated instead of fought.
pub const FLAPPING_DETECTED: &str = "FlappingDetected";
/// The per-minute remediation limit is reached; the rest waits.
pub const RATE_LIMITED: &str = "RateLimited";
/// Auto-remediation waits for the next remediation window.
pub const OUTSIDE_REMEDIATION_WINDOW: &str = "OutsideRemediationWindow";
/// The policy is in `Audit` mode: drift is reported and escalated, never fixed.
pub const AUDIT_MODE: &str = "AuditMode";
/// Two parts of the policy set one field of one object to different values (the message
/// names both and the field): the policy could never be satisfied, so nothing of it is
/// enforced until it changes.
pub const CONFLICTING_FIELDS: &str = "ConflictingFields";

// RemediationCampaign.

/// Every checkpoint so far was met and the projection meets the deadline.
pub const ON_SCHEDULE: &str = "OnSchedule";
/// Too little burn-down history to project a completion date.
pub const NOT_ENOUGH_HISTORY: &str = "NotEnoughHistory";
/// At the current pace, the success criteria are met after the deadline.
pub const PROJECTION_MISSES_DEADLINE: &str = "ProjectionMissesDeadline";
/// A checkpoint date passed with less compliance than it required.
pub const CHECKPOINT_MISSED: &str = "CheckpointMissed";
/// The success criteria are met.
pub const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
/// The success criteria are not met yet.
pub const SUCCESS_CRITERIA_NOT_MET: &str = "SuccessCriteriaNotMet";
/// The deadline passed before the success criteria were met.
pub const DEADLINE_PASSED: &str = "DeadlinePassed";
/// The burn-down shows no progress: no completion date can be projected.
pub const NO_PROGRESS: &str = "NoProgress";
/// The deadline has not passed yet.
pub const DEADLINE_AHEAD: &str = "DeadlineAhead";
/// Too many fixes of the last wave failed: waves stopped until a person resumes them.
pub const WAVE_FAILURE_THRESHOLD_EXCEEDED: &str = "WaveFailureThresholdExceeded";

// Finding.

/// The fix was verified against a fresh read of the live object.
pub const VERIFIED: &str = "Verified";
/// The fix is applied and waits for verification.
pub const AWAITING_VERIFICATION: &str = "AwaitingVerification";
/// The finding waits for its owner: to fix it, approve the fix, or request an exception.
pub const AWAITING_OWNER: &str = "AwaitingOwner";
/// The fix was refused by the server dry-run or failed to apply.
pub const REMEDIATION_FAILED: &str = "RemediationFailed";
/// The owner's approval was recorded and the approved fix is being applied.
pub const APPROVAL_ACCEPTED: &str = "ApprovalAccepted";
/// The asset no longer exists.
pub const ASSET_DELETED: &str = "AssetDeleted";

// DriftException.

/// Approved and within its validity period.
pub const WITHIN_VALIDITY: &str = "WithinValidity";
/// `expiresAt` has passed.
pub const EXPIRES_AT_PASSED: &str = "ExpiresAtPassed";
/// `expiresAt` is later than creation plus `maxDuration`: the exception is not honoured.
pub const EXCEEDS_MAX_DURATION: &str = "ExceedsMaxDuration";
/// The exception matches no current drift.
pub const NO_MATCHING_DRIFT: &str = "NoMatchingDrift";
/// The exception covers current drift.
pub const COVERS_DRIFT: &str = "CoversDrift";
/// The exception expires within the reminder lead time.
pub const EXPIRES_WITHIN_LEAD_TIME: &str = "ExpiresWithinLeadTime";
/// The exception does not expire within the reminder lead time.
pub const EXPIRY_NOT_NEAR: &str = "ExpiryNotNear";

// Notification sinks (condition NotificationSinkReady).

/// The last notification reached the sink.
pub const NOTIFICATION_DELIVERED: &str = "NotificationDelivered";
/// The sink's Secret does not exist.
pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
/// The sink's Secret lacks the key named.
pub const SECRET_KEY_MISSING: &str = "SecretKeyMissing";
/// The sink's Secret is not labelled `driftwarden.dev/notification-credentials: "true"`, so
/// it is not read.
pub const SECRET_NOT_LABELLED: &str = "SecretNotLabelled";
/// The sink's URL is not an absolute `http` or `https` URL.
pub const INVALID_URL: &str = "InvalidUrl";
/// The sink's `Authorization` value cannot be an HTTP header value.
pub const INVALID_AUTH_HEADER: &str = "InvalidAuthHeader";
/// The sink's host resolves only to addresses sinks may not use (loopback, link-local,
/// private, unique-local) outside the operator's `--notification-allowed-cidrs`.
pub const ADDRESS_REFUSED: &str = "AddressRefused";

// Events.

/// A fix was applied and verified against a fresh read of the object.
pub const REMEDIATED: &str = "Remediated";

/// Every reason.
pub const ALL: &[&str] = &[
    RECONCILED,
    PROGRESSING,
    INVALID_SPEC,
    INTERNAL_ERROR,
    DEPENDENCY_NOT_FOUND,
    API_ERROR,
    PAUSED,
    FORBIDDEN,
    KIND_NOT_SERVED,
    ALL_TARGETS_COMPLIANT,
    NO_TARGETS,
    DRIFT_DETECTED,
    DRIFT_ESCALATED,
    NOTHING_ESCALATED,
    CIRCUIT_BREAKER_OPEN,
    FLAPPING_DETECTED,
    RATE_LIMITED,
    OUTSIDE_REMEDIATION_WINDOW,
    AUDIT_MODE,
    CONFLICTING_FIELDS,
    ON_SCHEDULE,
    NOT_ENOUGH_HISTORY,
    PROJECTION_MISSES_DEADLINE,
    CHECKPOINT_MISSED,
    SUCCESS_CRITERIA_MET,
    SUCCESS_CRITERIA_NOT_MET,
    DEADLINE_PASSED,
    NO_PROGRESS,
    DEADLINE_AHEAD,
    WAVE_FAILURE_THRESHOLD_EXCEEDED,
    VERIFIED,
    AWAITING_VERIFICATION,
    AWAITING_OWNER,
    REMEDIATION_FAILED,
    APPROVAL_ACCEPTED,
    ASSET_DELETED,
    WITHIN_VALIDITY,
    EXPIRES_AT_PASSED,
    EXCEEDS_MAX_DURATION,
    NO_MATCHING_DRIFT,
    COVERS_DRIFT,
    EXPIRES_WITHIN_LEAD_TIME,
    EXPIRY_NOT_NEAR,
    NOTIFICATION_DELIVERED,
    SECRET_NOT_FOUND,
    SECRET_KEY_MISSING,
    SECRET_NOT_LABELLED,
    INVALID_URL,
    INVALID_AUTH_HEADER,
    ADDRESS_REFUSED,
    REMEDIATED,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::conditions::is_pascal_case;

    #[test]
    fn reasons_and_types_are_unique_pascal_case() {
        for list in [ALL, types::ALL] {
            let unique: BTreeSet<&str> = list.iter().copied().collect();
            assert_eq!(unique.len(), list.len(), "duplicate in {list:?}");
            for value in list {
                assert!(is_pascal_case(value), "{value} is not PascalCase");
            }
        }
    }
}

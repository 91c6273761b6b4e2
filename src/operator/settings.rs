//! The operator's settings, read once at start.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// The operator's one clock, read by every decision and timer (remediation windows, rate
/// limits, exception expiry and reminders, campaign waves, checkpoints and deadlines): the
/// system time, moved by an offset that tests advance, so that dates are tested without
/// waiting for them. Clones share the offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The time now, as this clock tells it.
    pub fn now(&self) -> Timestamp {
        let offset = SignedDuration::from_millis(self.offset_ms.load(Ordering::Relaxed));
        Timestamp::now().checked_add(offset).unwrap_or(Timestamp::MAX)
    }

    /// Moves this clock (and its clones) forward by `by`.
    pub fn advance(&self, by: SignedDuration) {
        let millis = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(millis, Ordering::Relaxed);
    }
}

/// How the operator runs. Read once at start (flags and environment), never inside a
/// reconcile.
#[derive(Clone, Debug)]
pub struct OperatorSettings {
    /// The namespace the operator runs in: DriftExceptions there may cover any namespace.
    pub namespace: String,
    /// The namespaces every watch is confined to; empty: the whole cluster. When set,
    /// cluster-scoped kinds (ClusterDriftPolicies, RemediationCampaigns, cluster-scoped
    /// targets) are not watched, so the operator needs no cluster-wide read.
    pub watch_namespaces: Vec<String>,
    /// The field manager of fixes.
    pub field_manager: String,
    /// The field manager of status writes.
    pub status_manager: String,
    /// The name reported on Kubernetes Events.
    pub reporter: String,
    /// How long status changes are gathered before one write per policy.
    pub status_interval: Duration,
    /// How often every cached object is re-evaluated as a safety net (jittered by up to a
    /// tenth). Changes are handled as they are watched; this is not the mechanism.
    pub resync_interval: Duration,
    /// How often kinds that are not served yet are looked up again.
    pub discovery_retry: Duration,
    /// How long before `expiresAt` a DriftException is flagged `ExpiringSoon` and its
    /// reminder sent.
    pub exception_reminder: Duration,
    /// The longest any DriftException may last, whatever its own `maxDuration` says: one
    /// that lasts longer is not ready and covers nothing.
    pub max_exception_duration: Duration,
    /// The ValidatingAdmissionPolicy (and binding, of the same name) that records approvals
    /// by the requesting user: campaigns say whether it is installed.
    pub approvals_policy: String,
    /// How long changes to what identity checks read are gathered before the checks run
    /// again.
    pub identity_interval: Duration,
    /// How many Finding writes may be under way at once.
    pub finding_writes: usize,
    /// How many requests (watches apart) the loop and its tasks may have under way at
    /// once: each holds a connection to the API server, so this also bounds how many the
    /// operator opens and keeps.
    pub api_requests: usize,
    /// The ServiceAccount (a name, in the policy's own namespace) that a DriftPolicy naming
    /// none makes its fixes as.
    pub default_service_account: Option<String>,
    /// Whether a DriftPolicy that names no ServiceAccount, with no default either, is
    /// refused (`Ready=False`) rather than fixing as the operator.
    pub require_service_account: bool,
    /// Whether policies' `spec.admission` is acted on: ValidatingAdmissionPolicies
    /// generated, kept and removed (chart value `admission.enabled`).
    pub admission: bool,
    /// Users exempt from every generated admission policy: the operator itself and the
    /// GitOps appliers (chart value `admission.exemptUsers`).
    pub admission_exempt_users: Vec<String>,
    /// Groups exempt from every generated admission policy: the cluster's administrators
    /// (chart value `admission.exemptGroups`).
    pub admission_exempt_groups: Vec<String>,
    /// The field managers of the appliers whose fields are never fixed, for policies that
    /// name none (`--appliers`, chart value `appliers`).
    pub appliers: Vec<String>,
    /// The clock every decision and timer reads.
    pub clock: Clock,
}

impl Default for OperatorSettings {
    fn default() -> Self {
        Self {
            namespace: "driftwarden-system".to_string(),
            watch_namespaces: Vec::new(),
            field_manager: "driftwarden".to_string(),
            status_manager: "driftwarden-status".to_string(),
            reporter: "driftwarden".to_string(),
            status_interval: Duration::from_millis(200),
            resync_interval: Duration::from_secs(600),
            discovery_retry: Duration::from_secs(10),
            exception_reminder: Duration::from_secs(7 * 24 * 3600),
            max_exception_duration: crate::api::exception::DEFAULT_INSTALLATION_CAP,
            approvals_policy: "driftwarden-approvals".to_string(),
            identity_interval: Duration::from_secs(2),
            finding_writes: 32,
            api_requests: 64,
            default_service_account: None,
            require_service_account: false,
            admission: false,
            admission_exempt_users: crate::admission::listed_or(&[], crate::admission::DEFAULT_APPLIERS),
            admission_exempt_groups: crate::admission::listed_or(&[], crate::admission::DEFAULT_EXEMPT_GROUPS),
            appliers: crate::admission::listed_or(&[], crate::engine::decide::DEFAULT_APPLIERS),
            clock: Clock::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_advanced_clock_moves_all_its_clones() {
        let clock = Clock::default();
        let shared = clock.clone();
        let before = clock.now();
        shared.advance(SignedDuration::from_hours(48));
        assert!(clock.now() >= before + SignedDuration::from_hours(48));
    }
}

//! The operator's settings, read once at start.

use std::time::Duration;

/// How the operator runs. Read once at start (flags and environment), never inside a
/// reconcile.
#[derive(Clone, Debug)]
pub struct OperatorSettings {
    /// The namespace the operator runs in: DriftExceptions there may cover any namespace.
    pub namespace: String,
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
}

impl Default for OperatorSettings {
    fn default() -> Self {
        Self {
            namespace: "driftwarden-system".to_string(),
            field_manager: "driftwarden".to_string(),
            status_manager: "driftwarden-status".to_string(),
            reporter: "driftwarden".to_string(),
            status_interval: Duration::from_millis(200),
            resync_interval: Duration::from_secs(600),
            discovery_retry: Duration::from_secs(10),
        }
    }
}

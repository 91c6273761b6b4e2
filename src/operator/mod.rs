//! The operator (`driftwarden run`): watches policies and the objects they govern, fixes
//! what may be fixed, verifies each fix against a fresh read, and escalates the rest.
//! Around the loop: notifications, metrics, health endpoints and leader election.

pub mod bounded;
pub mod controller;
pub mod health;
pub mod leader;
pub mod metrics;
pub mod notify;
pub mod recreation_runner;
pub mod remediate;
pub mod settings;
pub mod supervisor;
pub mod watch;
pub mod wrapped;

// The old paths of what moved to the core (`crate::keys`, `crate::reconcile`,
// `crate::engine::campaign`).
pub use crate::reconcile::exceptions;
pub use crate::reconcile::policies as state;
pub use crate::reconcile::policy_report;
pub use recreation_runner as recreate;

/// The old path of [`crate::keys`], where [`crate::keys::ObjectKey`] was `ObjKey`.
pub mod keys {
    pub use crate::keys::{KindKey, ObjectKey as ObjKey, PolicyKey};
}

/// The old path of [`crate::reconcile::campaigns`], [`crate::reconcile::findings`] and of
/// a campaign's scope and severities ([`crate::engine::campaign`]).
pub mod campaigns {
    pub use crate::engine::campaign::{drift_severity, in_scope, raised};
    pub use crate::reconcile::campaigns::{BACKOFF, CampaignEntry, DEFAULT_OWNER_LABELS, SpecError, Wave, read_spec};
    pub use crate::reconcile::findings::{
        CAMPAIGN_LABEL, FindingEntry, WatchedFinding, Written, finding_body, finding_name, finding_namespace,
        new_finding, read_finding,
    };
}

pub use controller::{Services, run, run_with};
pub use settings::OperatorSettings;
pub use supervisor::{RunOptions, supervise};

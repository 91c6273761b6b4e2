//! The sans-IO core of campaigns: `RemediationCampaign` and its `Finding`s, as pure functions
//! over plain data. Every function that depends on the time takes it as `now`.
//!
//! A campaign tracks one control across the assets its scope selects ([`in_scope`]); each
//! asset that does not meet the control has a Finding, owned by the team
//! [`owner::resolve_owner`] names, as severe as what fixing it touches ([`drift_severity`]). The shell turns
//! what it sees (a cached object, a fresh read, the outcome of a dry run, an apply, an
//! exception) into an [`Observation`], and [`step`] moves the finding through
//! `Open → Remediating → Verifying → Closed` (or `Escalated`, `Excepted`, `Reopened`),
//! recording evidence; only a fresh read closes a finding. In `Auto` mode, [`plan_wave`]
//! picks which findings the operator fixes next, and when. From summaries of all findings,
//! [`account`] computes the campaign's status (counts, compliant share, checkpoints,
//! burn-down, projection, residual exposure, conditions); [`status_changed`] tells the shell
//! whether that status is worth writing, and [`campaign_notices`] and [`finding_notice`] what
//! to tell people about the move.

pub mod accounting;
pub mod evidence;
pub mod lifecycle;
pub mod notices;
pub mod owner;
pub mod scope;
pub mod severity;
pub mod waves;

pub use accounting::{FindingSummary, account, status_changed};
pub use evidence::{evidence_hashes, fields_at};
pub use lifecycle::{Observation, approved_paths, hash_fields, lapsed_approval, step};
pub use notices::{CampaignNotice, campaign_notices, finding_notice};
pub use owner::{owner_of_object, resolve_owner};
pub use scope::in_scope;
pub use severity::{drift_severity, raised};
pub use waves::{PauseReason, WaveOutcome, WavePlan, campaign_classes, plan_wave};

//! Campaign accounting: the sans-IO core of `RemediationCampaign` and `Finding`.

pub mod accounting;
pub mod lifecycle;
pub mod waves;

pub use lifecycle::{Observation, approved_paths, hash_fields, step};

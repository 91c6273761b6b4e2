//! The sans-IO core: pure functions over plain data, shared by the operator, `check`,
//! `diff` and `inventory`. Nothing here talks to a Kubernetes API server.
//!
//! The pipeline for one object reads top to bottom:
//! - [`selector`]: which rules select the object ([`evaluate`] runs a whole policy);
//! - [`compare`](mod@compare): which governed fields do not hold (normalized, keyed lists, ignore rules,
//!   field-manager ownership), each with its remediation class ([`classify`]);
//! - [`decide`]: what to do about each drift (remediate, escalate, excepted, audit, defer);
//! - [`patch`]: the server-side-apply body that restores exactly the governed fields;
//!   [`recreation`] the object created in place of one whose immutable fields drift.
//!
//! What the comparison knows about Kubernetes lives beside it: the kinds it knows
//! ([`kind`]), how their lists merge ([`merge_keys`]), what counts as the same value
//! ([`normalize`]), and how Secret values are kept out of sight ([`secret`]) behind keyed
//! fingerprints ([`fingerprint`]).

pub mod backoff;
pub mod campaign;
pub mod classify;
pub mod compare;
pub mod decide;
pub mod drift;
pub mod evaluate;
pub mod fingerprint;
pub mod history;
pub mod kind;
pub mod merge_keys;
pub mod normalize;
pub mod patch;
pub mod pointer;
pub mod prune;
pub mod recreation;
pub mod schema;
pub mod scope;
pub mod secret;
pub mod selector;

pub use compare::{compare, missing};
pub use drift::{Attribution, CompareRules, Drift};
pub use fingerprint::{FingerprintKey, FingerprintKeyError};
pub use patch::{ApplyBody, apply_body};

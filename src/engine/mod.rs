//! The sans-IO core: pure functions over plain data, shared by the operator, `check`,
//! `diff` and `inventory`. Nothing here talks to a Kubernetes API server.
//!
//! The pipeline for one object reads top to bottom:
//! - [`selector`]: which rules select the object;
//! - `compare`: which governed fields do not hold (normalized, keyed lists, ignore rules,
//!   field-manager ownership), each with its remediation class;
//! - [`decide`]: what to do about each drift (remediate, escalate, excepted, audit, defer);
//! - `patch`: the server-side-apply body that restores exactly the governed fields.

pub mod decide;
pub mod drift;
pub mod evaluate;
pub mod pointer;
pub mod scope;
pub mod selector;

pub use drift::{Attribution, CompareRules, Drift};

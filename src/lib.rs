//! driftwarden keeps a Kubernetes cluster at the desired state its platform team declared,
//! fixes low-risk drift by itself and escalates the rest to accountable owners.
//!
//! The workspace is split the way the operator works; this crate is its top layer:
//! - [`driftwarden_core`] (re-exported as [`api`], [`keys`], [`engine`], [`reconcile`],
//!   [`identity`], [`check`]): the sans-IO core: the custom resources, how objects are
//!   named, comparison, classification, decisions, what the reconciler remembers, campaign
//!   accounting, identity analysis and `driftwarden check`. No Kubernetes client there.
//! - [`driftwarden_sandbox`] (re-exported as [`sandbox`]): an in-memory Kubernetes API
//!   server for `driftwarden sandbox` and the integration tests.
//! - [`argocd`]: the Argo CD health checks of driftwarden's kinds (Lua) and the `argocd-cm`
//!   patch that `driftwarden argocd-health` writes.
//! - [`operator`]: `driftwarden run`, the operator: its reconciler and the runtime that
//!   executes the reconciler's effects.
//! - [`diff`]: `driftwarden diff`, what each policy would change in the live cluster now.
//! - [`fingerprints`]: where the key of Secret fingerprints comes from (the operator's
//!   Secret, a key file, or a key drawn for one run).
//! - [`inventory`]: `driftwarden inventory`, the identity inventory of the live cluster.
//! - [`report`]: `driftwarden report`, a campaign's or a policy's progress as HTML,
//!   markdown or JSON.
//! - [`quickstart`]: the objects `driftwarden sandbox --quickstart` loads.
//! - [`cli`]: the command line; `main.rs` only parses and calls into it.

pub use driftwarden_core::{admission, api, check, engine, identity, keys, notification, openapi, reconcile};
pub use driftwarden_sandbox as sandbox;

pub mod argocd;
pub mod cli;
pub mod diff;
pub mod fingerprints;
pub mod inventory;
pub mod operator;
pub mod quickstart;
pub mod report;

//! driftwarden keeps a Kubernetes cluster at the desired state its platform team declared,
//! fixes low-risk drift by itself and escalates the rest to accountable owners.
//!
//! The crate is split the way the operator works:
//! - [`api`]: the custom resources (`driftwarden.dev/v1alpha1`) and their conditions.
//! - [`argocd`]: the Argo CD health checks of those kinds (Lua) and the `argocd-cm` patch.
//! - [`engine`]: the sans-IO core: compare live objects with templates, classify each fix,
//!   decide what to do, and build the server-side-apply body. No Kubernetes client here.
//! - [`check`]: `driftwarden check`, the offline pre-merge evaluation of manifest files.
//! - [`diff`]: `driftwarden diff`, what each policy would change in the live cluster now.
//! - [`operator`]: `driftwarden run`, the operator.
//! - [`inventory`]: `driftwarden inventory`, the identity inventory of the live cluster.
//! - [`identity`]: the sans-IO identity analysis: inventory of ServiceAccounts and human
//!   subjects, privileges, risk, and the built-in campaign controls.
//! - [`sandbox`]: an in-memory Kubernetes API server for `driftwarden sandbox` and tests.
//! - [`cli`]: the command line; `main.rs` only parses and calls into it.
//! - [`operator`]: the IO shell of `driftwarden run`.

pub mod api;
pub mod argocd;
pub mod check;
pub mod cli;
pub mod diff;
pub mod engine;
pub mod identity;
pub mod inventory;
pub mod operator;
pub mod quickstart;
pub mod sandbox;

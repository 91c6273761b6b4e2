//! The core of driftwarden: plain data and pure functions, with no Kubernetes client, no
//! async runtime and no network. The operator, the command line and the sandbox API server
//! build on it; it depends on none of them.
//!
//! - [`api`]: the custom resources (`driftwarden.dev/v1alpha1`) and their conditions.
//! - [`keys`]: how kinds, objects and policies are named: the keys of every map of them.
//! - [`engine`]: compare live objects with templates, classify each fix, decide what to do,
//!   build the server-side-apply body, and account campaigns.
//! - [`identity`]: the identity analysis: inventory of ServiceAccounts and human subjects,
//!   privileges, risk, and the built-in campaign controls.
//! - [`reconcile`]: what the operator remembers of each policy, exception, campaign and
//!   finding between events, and the status and reports it derives from that memory.
//! - [`check`]: `driftwarden check`, the offline pre-merge evaluation of manifest files.
//! - [`openapi`]: a CRD's structural schema at work: pruning, defaults, validation, CEL.
//! - [`notification`]: what a notification says happened, and where it goes.
//! - [`fuzzing`]: the fuzz entry points (the `fuzz/` crate's targets call them).

pub mod admission;
pub mod api;
pub mod check;
pub mod engine;
pub mod fuzzing;
pub mod identity;
pub mod keys;
pub mod notification;
pub mod openapi;
pub mod reconcile;

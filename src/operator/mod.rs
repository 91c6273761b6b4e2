//! The operator (`driftwarden run`): watches policies and the objects they govern, fixes
//! what may be fixed, verifies each fix against a fresh read, and escalates the rest.
//!
//! - [`reconciler`]: every decision, as a state machine that takes inputs (watch events,
//!   outcomes of its own requests, clock ticks) and answers effects; no IO.
//! - [`runtime`]: executes those effects (requests, watches, Events, notifications) and
//!   feeds their outcomes back.
//! - [`watch`], [`remediate`], [`recreation_runner`]: the requests behind watches and fixes,
//!   each fix made as the ServiceAccount its policy names ([`impersonate`]).
//! - [`ledger`]: what was announced and fixed, kept in the cluster across restarts.
//! - Around the loop: [`notify`] (delivery), [`metrics`], [`health`], [`leader`] election,
//!   the [`supervisor`] that ties them together, and the request [`bounded`] and counting
//!   ([`wrapped`]) clients.
//! - [`shards`]: which shards of the governed objects this replica may act on, when
//!   several replicas share them (not yet used by the loop).

pub mod bounded;
pub mod health;
pub mod impersonate;
pub mod leader;
pub mod ledger;
pub mod metrics;
pub mod notify;
pub mod reconciler;
pub mod recreation_runner;
pub mod remediate;
pub mod runtime;
pub mod scoped;
pub mod settings;
pub mod shards;
pub mod supervisor;
pub mod watch;
pub mod wrapped;

pub use runtime::{Services, run, run_with};
pub use settings::OperatorSettings;
pub use supervisor::{RunOptions, supervise};

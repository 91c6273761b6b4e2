//! The operator (`driftwarden run`): watches policies and the objects they govern, fixes
//! what may be fixed, verifies each fix against a fresh read, and escalates the rest.
//! Around the loop: notifications, metrics, health endpoints and leader election.

pub mod bounded;
pub mod campaigns;
pub mod exceptions;
pub mod health;
pub mod keys;
pub mod leader;
pub mod metrics;
pub mod notify;
pub mod policy_report;
pub mod reconciler;
pub mod recreate;
pub mod remediate;
pub mod runtime;
pub mod settings;
pub mod state;
pub mod supervisor;
pub mod watch;
pub mod wrapped;

pub use runtime::{Services, run, run_with};
pub use settings::OperatorSettings;
pub use supervisor::{RunOptions, supervise};

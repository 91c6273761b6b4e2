//! The operator (`driftwarden run`): watches policies and the objects they govern, fixes
//! what may be fixed, verifies each fix against a fresh read, and escalates the rest.

pub mod controller;
pub mod exceptions;
pub mod keys;
pub mod remediate;
pub mod settings;
pub mod state;
pub mod watch;

pub use controller::run;
pub use settings::OperatorSettings;

//! Fault injection for tests: fail or delay the requests a matcher selects, end every
//! open watch, and (through the store) compact history. Controlled from the test harness
//! with [`crate::Sandbox::faults`].
//!
//! - [`matcher`]: which requests a fault applies to (verb, resource, namespace, name).
//! - [`fault`]: what happens to them (an error `Status`, or a delay) and how often.
//! - [`injector`]: the faults in force, consulted for every request.

pub mod fault;
pub mod injector;
pub mod matcher;

pub use fault::{Effect, Fault, FaultError};
pub use injector::{Faults, Verdict};
pub use matcher::RequestMatch;

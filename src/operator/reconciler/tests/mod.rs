//! The reconciler's decisions over time, driven input by input with a frozen clock and no
//! server: each test plays the watch events and the outcomes of the reconciler's own
//! requests, moves the clock by hand, and reads the effects it answers with.

mod accounts;
mod admission;
mod bounded;
mod campaigns;
mod containment;
mod exceptions;
mod fixes;
mod gauges;
mod harness;
mod restart;
mod status;

//! Leaders killed at random: its own test binary, so that it runs alone and the other
//! operator tests' load does not stretch its replicas' lease renewals.

#[path = "operator/chaos.rs"]
mod chaos;
// Shared with tests/operator, which uses all of them.
#[allow(dead_code)]
#[path = "operator/receiver.rs"]
mod receiver;
#[allow(dead_code)]
#[path = "operator/support.rs"]
mod support;

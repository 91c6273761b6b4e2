//! The fuzz entry points of the core: each takes arbitrary bytes, runs them through the
//! same functions the operator and `driftwarden check` run, and panics only when an
//! invariant breaks. The `fuzz/` crate at the repository root wraps each in a
//! `fuzz_target!`, and an ordinary test replays every input kept in `fuzz/corpus/<target>/`
//! through them, so a crash found once stays fixed.
//!
//! - [`custom_resource`] (target `custom_resource`): a driftwarden custom resource as JSON,
//!   read and checked as the operator reads each kind.
//! - [`compare_objects`] (target `compare_objects`): a live object and a template compared,
//!   and normalized.
//! - [`check_manifests`] (target `check_manifests`): a YAML stream loaded and evaluated as
//!   `driftwarden check` does.
//!
//! None of them reads files, the clock or the network: an input always behaves the same.

mod check;
mod compare;
mod resources;

pub use check::check_manifests;
pub use compare::compare_objects;
pub use resources::custom_resource;

/// The key fuzzed comparisons fingerprint Secret values with: fixed, so that an input
/// always behaves the same.
fn fingerprint_key() -> crate::engine::FingerprintKey {
    crate::engine::FingerprintKey::new(b"driftwarden fuzzing fingerprints").expect("32 bytes make a key")
}

/// Decodes a JSON value, or `None` when the bytes are not JSON: such inputs end the run
/// early (the parser itself is serde_json's, fuzzed elsewhere).
fn json(data: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice(data).ok()
}

/// Asserts that `value` survives a trip through JSON unchanged: what the operator writes it
/// reads back the same.
fn assert_round_trip<T>(what: &str, value: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let encoded = serde_json::to_value(value).unwrap_or_else(|e| panic!("{what} does not serialize: {e}"));
    let decoded: T = serde_json::from_value(encoded.clone())
        .unwrap_or_else(|e| panic!("{what} does not read back what it wrote ({encoded}): {e}"));
    assert_eq!(&decoded, value, "{what} changed in a round trip through {encoded}");
}

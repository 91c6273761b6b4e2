//! Fully populated messages for tests: every field set to a non-zero value, so that a
//! test can check the JSON names of a whole object graph against k8s-openapi's types.

use std::collections::BTreeMap;

/// A value with every field set.
pub trait Sample {
    /// The sample value.
    fn sample() -> Self;
}

impl Sample for String {
    fn sample() -> Self {
        "sample".to_string()
    }
}

impl Sample for bool {
    fn sample() -> Self {
        true
    }
}

impl Sample for i32 {
    fn sample() -> Self {
        7
    }
}

impl Sample for i64 {
    fn sample() -> Self {
        7
    }
}

impl Sample for u8 {
    fn sample() -> Self {
        7
    }
}

impl<T: Sample> Sample for Option<T> {
    fn sample() -> Self {
        Some(T::sample())
    }
}

impl<T: Sample> Sample for Vec<T> {
    fn sample() -> Self {
        vec![T::sample()]
    }
}

impl<T: Sample> Sample for BTreeMap<String, T> {
    fn sample() -> Self {
        BTreeMap::from([("key".to_string(), T::sample())])
    }
}

//! Helpers shared by the sandbox tests.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::core::Status;

pub type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// A ConfigMap with one data key and the given labels.
pub fn configmap(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some(name.to_string());
    if !labels.is_empty() {
        cm.metadata.labels = Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    }
    cm.data = Some(BTreeMap::from([("key".to_string(), "value".to_string())]));
    cm
}

/// The resourceVersion of an object as a number.
pub fn rv<K: ResourceExt>(object: &K) -> u64 {
    object.resource_version().and_then(|v| v.parse().ok()).expect("a numeric resourceVersion")
}

/// The `Status` of a failed request; panics when the request did not fail with one.
pub fn status_of<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

//! Reading and writing `metadata` of dynamic objects: typed `ObjectMeta` on the write
//! path, cheap accessors on the read path.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// The object's `metadata`, decoded; a body whose metadata does not decode is a bad request.
pub fn read_meta(object: &Value) -> Result<ObjectMeta, ApiError> {
    match object.get("metadata") {
        None | Some(Value::Null) => Ok(ObjectMeta::default()),
        Some(meta) => serde_json::from_value(meta.clone())
            .map_err(|e| ApiError::bad_request(format!("unable to decode metadata: {e}")).with_source(e)),
    }
}

/// Replaces the object's `metadata` with `meta`.
pub fn write_meta(object: &mut Value, meta: &ObjectMeta) -> Result<(), ApiError> {
    let encoded = serde_json::to_value(meta)
        .map_err(|e| ApiError::internal(format!("unable to encode metadata: {e}")).with_source(e))?;
    if let Some(map) = object.as_object_mut() {
        map.insert("metadata".to_string(), encoded);
    }
    Ok(())
}

fn meta_str<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get("metadata")?.get(field)?.as_str()
}

/// `metadata.name`, or empty.
pub fn name(object: &Value) -> &str {
    meta_str(object, "name").unwrap_or_default()
}

/// `metadata.namespace`, or empty.
pub fn namespace(object: &Value) -> &str {
    meta_str(object, "namespace").unwrap_or_default()
}

/// `metadata.uid`, or empty.
pub fn uid(object: &Value) -> &str {
    meta_str(object, "uid").unwrap_or_default()
}

/// `metadata.resourceVersion`, or empty.
pub fn resource_version(object: &Value) -> &str {
    meta_str(object, "resourceVersion").unwrap_or_default()
}

/// `metadata.labels`, when present.
pub fn labels(object: &Value) -> Option<&Map<String, Value>> {
    object.get("metadata")?.get("labels")?.as_object()
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(object: &Value) -> bool {
    object.get("metadata").and_then(|m| m.get("deletionTimestamp")).is_some_and(|t| !t.is_null())
}

/// `metadata.finalizers`.
pub fn finalizers(object: &Value) -> Vec<&str> {
    object
        .get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The uids named by `metadata.ownerReferences`.
pub fn owner_uids(object: &Value) -> Vec<String> {
    object
        .get("metadata")
        .and_then(|m| m.get("ownerReferences"))
        .and_then(Value::as_array)
        .map(|refs| refs.iter().filter_map(|r| r.get("uid")?.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Sets `metadata.resourceVersion`.
pub fn set_resource_version(object: &mut Value, rv: u64) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".to_string(), Value::String(rv.to_string()));
    }
}

/// Sets `apiVersion`, so an object reads as the version it was requested at.
pub fn set_api_version(object: &mut Value, api_version: &str) {
    if let Some(map) = object.as_object_mut()
        && map.get("apiVersion").and_then(Value::as_str) != Some(api_version)
    {
        map.insert("apiVersion".to_string(), Value::String(api_version.to_string()));
    }
}

/// The current time at the precision Kubernetes stores (whole seconds).
pub fn now() -> Time {
    let now = jiff::Timestamp::now();
    Time(jiff::Timestamp::from_second(now.as_second()).unwrap_or(now))
}

//! The structural walk: every value of an object is checked against the schema node that
//! describes it, from the root down through `properties`, `additionalProperties` and
//! `items`. At the root, and in embedded resources, `apiVersion`, `kind` and `metadata`
//! are left to the rules every kind shares.

use serde_json::{Map, Value};

use super::keywords::{self, flag};
use super::lists;
use super::path::Path;
use super::violation::Violation;

/// The fields every object (and every embedded resource) has whatever its schema says.
pub const OBJECT_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// Every violation of `schema` by `object`.
pub fn validate(schema: &Value, object: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    node(schema, object, &Path::root(), true, &mut out);
    out
}

fn node(schema: &Value, value: &Value, path: &Path, resource: bool, out: &mut Vec<Violation>) {
    if !keywords::check(schema, value, path, out) {
        return;
    }
    // A structural schema may restate value validations under `allOf`; each must hold.
    for branch in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        node(branch, value, path, resource, out);
    }
    match value {
        Value::Object(map) => object(schema, map, path, resource, out),
        Value::Array(items) => {
            lists::check(schema, items, value, path, out);
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                for (i, item) in items.iter().enumerate() {
                    node(item_schema, item, &path.index(i), false, out);
                }
            }
        }
        _ => {}
    }
}

fn object(schema: &Value, map: &Map<String, Value>, path: &Path, resource: bool, out: &mut Vec<Violation>) {
    let embedded = flag(schema, "x-kubernetes-embedded-resource");
    for key in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if !map.contains_key(key) {
            out.push(Violation::required(&path.field(key), ""));
        }
    }
    if embedded {
        for key in ["apiVersion", "kind"] {
            if map.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                out.push(Violation::required(&path.field(key), "must not be empty"));
            }
        }
    }
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|a| a.is_object());
    for (key, value) in map {
        if (resource || embedded) && OBJECT_FIELDS.contains(&key.as_str()) {
            continue;
        }
        if let Some(property) = properties.and_then(|p| p.get(key)) {
            node(property, value, &path.field(key), false, out);
        } else if let Some(additional) = additional {
            node(additional, value, &path.key(key), false, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(schema: Value, object: Value) -> Vec<String> {
        validate(&schema, &object).into_iter().map(|v| v.path.to_string()).collect()
    }

    #[test]
    fn walks_properties_maps_and_items_and_skips_object_metadata() {
        let schema = json!({"type": "object", "properties": {
            "metadata": {"type": "string"},
            "spec": {"type": "object", "required": ["name"], "properties": {
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "ports": {"type": "array", "items": {"type": "integer", "maximum": 10}},
            }},
        }});
        let object = json!({"metadata": {"name": "x"}, "spec": {"labels": {"a": 1}, "ports": [1, 11]}});
        assert_eq!(fields(schema, object), ["spec.name", "spec.labels[a]", "spec.ports[1]"]);
    }

    #[test]
    fn embedded_resources_need_api_version_and_kind() {
        let schema = json!({"type": "object", "properties": {"template": {
            "type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true,
        }}});
        let object = json!({"template": {"kind": "ConfigMap", "metadata": {"name": "a"}}});
        assert_eq!(fields(schema, object), ["template.apiVersion"]);
    }

    #[test]
    fn value_validations_under_all_of_hold_too() {
        let schema = json!({"type": "object", "properties": {"key": {
            "type": "string", "pattern": "^[a-z/]+$", "allOf": [{"pattern": "^[^/]{1,3}(/|$)"}],
        }}});
        assert!(fields(schema.clone(), json!({"key": "abc/de"})).is_empty());
        assert_eq!(fields(schema.clone(), json!({"key": "abcd/e"})), ["key"]);
        assert_eq!(fields(schema, json!({"key": "ABC"})), ["key"]);
    }
}

//! Test support: admits a manifest the way the API server admits a custom resource, without
//! a server, so schema bounds, patterns, enums and CEL rules are tested on real examples.
//!
//! The OpenAPI part covers what driftwarden's schemas use: types and `nullable`, `required`,
//! unknown fields, `enum`, numeric and length bounds, `pattern`, `format: date-time`, list
//! maps and embedded resources. The CEL part is kube's client-side evaluator, which applies
//! schema defaults first, as the API server does.

use kube::CustomResourceExt;
use serde_json::Value;

/// The openAPIV3Schema of `K`'s CRD, as JSON.
pub(crate) fn schema_of<K: CustomResourceExt>() -> Value {
    let crd = K::crd();
    let validation = crd.spec.versions[0].schema.as_ref().expect("derived CRDs have a schema");
    serde_json::to_value(validation.open_api_v3_schema.as_ref().expect("derived CRDs have an openAPIV3Schema"))
        .expect("schemas serialize")
}

/// Admits a new object given as YAML; the error lists every violation.
pub(crate) fn admit<K: CustomResourceExt>(yaml: &str) -> Result<(), Vec<String>> {
    let object: Value = serde_yaml::from_str(yaml).expect("test manifests are YAML");
    admit_value::<K>(&object, None)
}

/// Admits an update from `old` to `new`, both given as YAML, evaluating transition rules too.
pub(crate) fn admit_update<K: CustomResourceExt>(old: &str, new: &str) -> Result<(), Vec<String>> {
    let old: Value = serde_yaml::from_str(old).expect("test manifests are YAML");
    let new: Value = serde_yaml::from_str(new).expect("test manifests are YAML");
    admit_value::<K>(&new, Some(&old))
}

/// Admits an object given as JSON.
pub(crate) fn admit_value<K: CustomResourceExt>(object: &Value, old: Option<&Value>) -> Result<(), Vec<String>> {
    let schema = schema_of::<K>();
    let mut errors = Vec::new();
    check(&schema, object, "", true, &mut errors);
    if let Err(failures) = kube::core::cel::Validator::new().validate(&schema, object, old) {
        errors.extend(failures.iter().map(|failure| failure.to_string()));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Asserts that `result` failed, with a violation that contains `expected`.
#[track_caller]
pub(crate) fn assert_rejected(result: Result<(), Vec<String>>, expected: &str) {
    match result {
        Ok(()) => panic!("accepted, expected a violation containing {expected:?}"),
        Err(errors) => assert!(
            errors.iter().any(|e| e.contains(expected)),
            "expected a violation containing {expected:?}, got {errors:#?}"
        ),
    }
}

fn check(schema: &Value, value: &Value, path: &str, root: bool, errors: &mut Vec<String>) {
    let mut fail =
        |message: String| errors.push(format!("{}: {message}", if path.is_empty() { "<root>" } else { path }));
    if value.is_null() {
        if schema.get("nullable") != Some(&Value::Bool(true)) {
            fail("must not be null".to_string());
        }
        return;
    }
    if schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            fail("must be an integer or a string".to_string());
        }
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        fail(format!("{value} is not one of {allowed:?}"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let Some(map) = value.as_object() else { return fail("must be an object".to_string()) };
            check_object(schema, map, path, root, errors);
        }
        Some("array") => {
            let Some(items) = value.as_array() else { return fail("must be a list".to_string()) };
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                fail(format!("has {} items, more than {max}", items.len()));
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                fail(format!("has {} items, fewer than {min}", items.len()));
            }
            if schema.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map") {
                let keys: Vec<&str> = schema["x-kubernetes-list-map-keys"]
                    .as_array()
                    .map(|keys| keys.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let identities: Vec<Vec<&Value>> =
                    items.iter().map(|item| keys.iter().map(|k| &item[*k]).collect()).collect();
                for (i, identity) in identities.iter().enumerate() {
                    if identities[..i].contains(identity) {
                        fail(format!("duplicate entry for {keys:?} = {identity:?}"));
                    }
                }
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), false, errors);
                }
            }
        }
        Some("string") => {
            let Some(text) = value.as_str() else { return fail("must be a string".to_string()) };
            let length = text.chars().count() as u64;
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && length > max
            {
                fail(format!("is {length} characters long, more than {max}"));
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && length < min
            {
                fail(format!("is {length} characters long, fewer than {min}"));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                let regex = regex::Regex::new(pattern).expect("schema patterns compile");
                if !regex.is_match(text) {
                    fail(format!("{text:?} does not match {pattern}"));
                }
            }
            if schema.get("format").and_then(Value::as_str) == Some("date-time")
                && text.parse::<k8s_openapi::jiff::Timestamp>().is_err()
            {
                fail(format!("{text:?} is not an RFC 3339 date-time"));
            }
        }
        Some("integer") => {
            let Some(number) = value.as_i64().or_else(|| value.as_u64().map(|n| n as i64)) else {
                return fail("must be an integer".to_string());
            };
            check_range(schema, number as f64, &mut fail);
        }
        Some("number") => {
            let Some(number) = value.as_f64() else { return fail("must be a number".to_string()) };
            check_range(schema, number, &mut fail);
        }
        Some("boolean") if !value.is_boolean() => fail("must be a boolean".to_string()),
        _ => {}
    }
}

fn check_range(schema: &Value, number: f64, fail: &mut impl FnMut(String)) {
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && number > max
    {
        fail(format!("{number} is more than {max}"));
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && number < min
    {
        fail(format!("{number} is less than {min}"));
    }
}

fn check_object(
    schema: &Value,
    map: &serde_json::Map<String, Value>,
    path: &str,
    root: bool,
    errors: &mut Vec<String>,
) {
    let join = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for key in required.iter().filter_map(Value::as_str) {
            if !map.contains_key(key) {
                errors.push(format!("{}: required", join(key)));
            }
        }
    }
    if schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true)) {
        for key in ["apiVersion", "kind"] {
            if map.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                errors.push(format!("{}: required in an embedded object", join(key)));
            }
        }
    }
    let preserves_unknown = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    for (key, value) in map {
        if root && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(property) = properties.and_then(|p| p.get(key)) {
            check(property, value, &join(key), false, errors);
        } else if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            check(additional, value, &join(key), false, errors);
        } else if !preserves_unknown {
            errors.push(format!("{}: unknown field", join(key)));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_violations_of_every_supported_keyword() {
        let schema = json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 3, "pattern": "^[a-z]+$"},
                "count": {"type": "integer", "minimum": 1, "maximum": 5},
                "mode": {"type": "string", "enum": ["A", "B"]},
                "when": {"type": "string", "format": "date-time"},
                "list": {"type": "array", "maxItems": 1, "items": {"type": "boolean"}},
                "maybe": {"type": "string", "nullable": true},
            },
        });
        let mut errors = Vec::new();
        check(&schema, &json!({"name": "ok", "count": 3, "mode": "A", "maybe": null}), "", false, &mut errors);
        assert_eq!(errors, Vec::<String>::new());
        let bad = json!({
            "count": 9, "mode": "C", "when": "yesterday", "list": [true, 1], "extra": 1,
        });
        check(&schema, &bad, "", false, &mut errors);
        assert_eq!(errors.len(), 7, "{errors:#?}");
        errors.clear();
        check(&schema, &json!({"name": "ABCD"}), "", false, &mut errors);
        assert_eq!(errors.len(), 2, "{errors:#?}");
    }
}

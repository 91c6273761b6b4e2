//! Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds.
//!
//! Like a JSON merge patch, maps merge and `null` deletes; but lists with a patch merge
//! key (containers by `name`, ports by `containerPort`) merge item by item, lists of
//! scalars with the merge strategy (finalizers) take the union, and every other list is
//! replaced. Directives: `$patch: replace` (replace a map or a whole list), `$patch:
//! delete` (delete a map or a keyed list item), `$retainKeys` (keep only these fields of
//! a map), `$deleteFromPrimitiveList/<field>` (remove values from a list of scalars);
//! `$setElementOrder/<field>` is accepted and ignored, the existing order is kept.
//!
//! Custom resources do not support it: the apiserver answers 415.

use serde_json::{Map, Value};

use super::apply::{ListShape, Schema};
use crate::error::{ApiError, Reason};

const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";

/// The 415 the apiserver answers for a strategic merge patch of a custom resource.
pub fn unsupported_for_custom_resources() -> ApiError {
    ApiError::new(
        Reason::UnsupportedMediaType,
        "the body of the request was in an unknown format - accepted media types include: \
         application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    )
}

/// Applies `patch` to `document`.
pub fn patch(document: &mut Value, patch: &Value, schema: &Schema) -> Result<(), ApiError> {
    let Value::Object(patch) = patch else {
        return Err(ApiError::bad_request("a strategic merge patch must be a JSON object"));
    };
    if !document.is_object() {
        *document = Value::Object(Map::new());
    }
    if let Value::Object(map) = document {
        merge_map(map, patch, schema, &mut Vec::new())?;
    }
    Ok(())
}

fn invalid(message: String) -> ApiError {
    ApiError::new(Reason::Invalid, message)
}

fn directive(patch: &Map<String, Value>) -> Option<&str> {
    patch.get("$patch").and_then(Value::as_str)
}

/// `patch` with every directive removed, at every depth: the value a replaced or added
/// field takes.
fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k.clone(), strip_directives(v))).collect(),
        ),
        Value::Array(list) => Value::Array(
            list.iter()
                .filter(|item| item.as_object().is_none_or(|m| directive(m).is_none()))
                .map(strip_directives)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn merge_map(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    schema: &Schema,
    tokens: &mut Vec<String>,
) -> Result<(), ApiError> {
    match directive(patch) {
        Some("replace") => {
            *original = match strip_directives(&Value::Object(patch.clone())) {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            return Ok(());
        }
        Some("delete") => {
            original.clear();
            return Ok(());
        }
        Some("merge") | None => {}
        Some(other) => return Err(invalid(format!("unknown patch type {other:?}: must be replace, delete or merge"))),
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
            let remove = value.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = original.get_mut(field) {
                list.retain(|item| !remove.contains(item));
            }
            continue;
        }
        if key.starts_with(SET_ELEMENT_ORDER) || key == "$patch" || key == "$retainKeys" {
            continue;
        }
        if value.is_null() {
            original.remove(key);
            continue;
        }
        tokens.push(key.clone());
        let path: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let merged = match (original.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(sub)) if !schema.is_atomic_map(&path) => {
                if directive(sub) == Some("delete") {
                    original.remove(key);
                } else {
                    merge_map(existing, sub, schema, tokens)?;
                }
                None
            }
            (Some(Value::Array(existing)), Value::Array(items)) => {
                merge_list(existing, items, schema, tokens)?;
                None
            }
            (_, Value::Object(sub)) if directive(sub) == Some("delete") => {
                original.remove(key);
                None
            }
            (_, Value::Object(sub)) if !schema.is_atomic_map(&path) => {
                let mut fresh = Map::new();
                merge_map(&mut fresh, sub, schema, tokens)?;
                Some(Value::Object(fresh))
            }
            _ => Some(strip_directives(value)),
        };
        tokens.pop();
        if let Some(merged) = merged {
            original.insert(key.clone(), merged);
        }
    }
    if let Some(Value::Array(retain)) = patch.get("$retainKeys") {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        original.retain(|k, _| keep.contains(&k.as_str()));
    }
    Ok(())
}

fn merge_list(
    original: &mut Vec<Value>,
    patch: &[Value],
    schema: &Schema,
    tokens: &mut Vec<String>,
) -> Result<(), ApiError> {
    let path: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let shape = schema.list(&path);
    let replace_all = patch.iter().any(|item| item.as_object().and_then(directive) == Some("replace"));
    if replace_all || shape == ListShape::Atomic {
        if let Value::Array(items) = strip_directives(&Value::Array(patch.to_vec())) {
            *original = items;
        }
        return Ok(());
    }
    let ListShape::Map(keys) = shape else {
        for item in patch {
            if !original.contains(item) {
                original.push(item.clone());
            }
        }
        return Ok(());
    };
    let Some(merge_key) = keys.first() else { return Ok(()) };
    tokens.push("*".to_string());
    for item in patch {
        let Value::Object(fields) = item else {
            return Err(invalid(format!("the items of {} must be objects", tokens.join("."))));
        };
        let Some(key_value) = fields.get(merge_key) else {
            return Err(invalid(format!("map: {fields:?} does not contain declared merge key: {merge_key}")));
        };
        let found = original.iter().position(|o| o.get(merge_key) == Some(key_value));
        match (found, directive(fields)) {
            (Some(at), Some("delete")) => {
                original.remove(at);
            }
            (None, Some("delete")) => {}
            (Some(at), _) => {
                if let Value::Object(existing) = &mut original[at] {
                    merge_map(existing, fields, schema, tokens)?;
                }
            }
            (None, _) => original.push(strip_directives(item)),
        }
    }
    tokens.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(containers: Value) -> Value {
        json!({"metadata": {"finalizers": ["a"]}, "spec": {"template": {"spec": {"containers": containers}}}})
    }

    #[test]
    fn merges_containers_by_name_and_finalizers_as_a_set() {
        let schema = Schema::builtin("apps", "Deployment");
        let mut doc = deployment(json!([{"name": "a", "image": "1", "args": ["x"]}, {"name": "b", "image": "2"}]));
        let change = json!({"metadata": {"finalizers": ["b"]}, "spec": {"template": {"spec": {"containers": [
            {"name": "b", "image": "3"}, {"name": "c", "image": "4"}, {"name": "a", "args": ["y"]}
        ]}}}});
        patch(&mut doc, &change, &schema).expect("applies");
        assert_eq!(
            doc,
            json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"template": {"spec": {"containers": [
                {"name": "a", "image": "1", "args": ["y"]}, {"name": "b", "image": "3"}, {"name": "c", "image": "4"}
            ]}}}})
        );
    }

    #[test]
    fn honours_directives() {
        let schema = Schema::builtin("apps", "Deployment");
        let mut doc = deployment(json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]));
        let change = json!({
            "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "b"}],
                "containers": [{"name": "a", "$patch": "delete"}, {"name": "b", "image": "9"}]
            }}}
        });
        patch(&mut doc, &change, &schema).expect("applies");
        let mut expected = deployment(json!([{"name": "b", "image": "9"}]));
        expected["metadata"]["finalizers"] = json!([]);
        assert_eq!(doc, expected);

        let mut doc = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let change = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
        patch(&mut doc, &change, &schema).expect("applies");
        assert_eq!(doc, json!({"spec": {"strategy": {"type": "Recreate"}}}));

        let mut doc = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        patch(&mut doc, &json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}), &schema).expect("applies");
        assert_eq!(doc, json!({"metadata": {"labels": {"c": "3"}}}));
        patch(&mut doc, &json!({"metadata": {"labels": {"c": null}}}), &schema).expect("applies");
        assert_eq!(doc, json!({"metadata": {"labels": {}}}));
    }

    #[test]
    fn rejects_items_without_the_merge_key() {
        let schema = Schema::builtin("apps", "Deployment");
        let mut doc = deployment(json!([{"name": "a"}]));
        let change = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
        assert_eq!(patch(&mut doc, &change, &schema).expect_err("no key").code(), 422);
    }
}

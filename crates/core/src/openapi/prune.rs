//! Pruning, as the apiserver does for structural schemas: fields the schema does not
//! declare are dropped silently unless `x-kubernetes-preserve-unknown-fields` keeps them,
//! and a `null` given for a field that is not `nullable` is dropped too (so a `default` can
//! take its place).

use serde_json::Value;

use super::keywords::flag;
use super::path::Path;
use super::walk::OBJECT_FIELDS;

/// Prunes `object` in place; answers the paths of the unknown fields it dropped.
pub fn prune(schema: &Value, object: &mut Value) -> Vec<Path> {
    let mut dropped = Vec::new();
    node(schema, object, &Path::root(), true, &mut dropped);
    dropped
}

fn node(schema: &Value, value: &mut Value, path: &Path, resource: bool, dropped: &mut Vec<Path>) {
    match value {
        Value::Object(map) => {
            let embedded = flag(schema, "x-kubernetes-embedded-resource");
            let preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            map.retain(|key, value| {
                if (resource || embedded) && OBJECT_FIELDS.contains(&key.as_str()) {
                    return true;
                }
                let child = match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(property), _) => Some((property, path.field(key))),
                    (None, Some(additional)) if additional.is_object() => Some((additional, path.key(key))),
                    (None, Some(Value::Bool(true))) => return true,
                    _ => None,
                };
                match child {
                    Some((child, _)) if value.is_null() => flag(child, "nullable"),
                    Some((child, child_path)) => {
                        node(child, value, &child_path, false, dropped);
                        true
                    }
                    None if preserve => true,
                    None => {
                        dropped.push(path.field(key));
                        false
                    }
                }
            });
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|s| s.is_object()) {
                for (i, item) in items.iter_mut().enumerate() {
                    node(item_schema, item, &path.index(i), false, dropped);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn drops_undeclared_fields_and_non_nullable_nulls() {
        let schema = json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "keep": {"type": "string"},
                "gone": {"type": "string"},
                "maybe": {"type": "string", "nullable": true},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "items": {"type": "array", "items": {"type": "object", "properties": {"a": {"type": "string"}}}},
            }},
        }});
        let mut object = json!({
            "apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
            "spec": {"keep": "k", "gone": null, "maybe": null, "extra": 1, "free": {"any": 1},
                     "items": [{"a": "1", "b": 2}]},
            "status": {},
        });
        let dropped: Vec<String> = prune(&schema, &mut object).iter().map(ToString::to_string).collect();
        assert_eq!(dropped, ["spec.extra", "spec.items[0].b", "status"]);
        assert_eq!(
            object,
            json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"},
                   "spec": {"keep": "k", "maybe": null, "free": {"any": 1}, "items": [{"a": "1"}]}})
        );
    }
}

//! The list keywords: `minItems`, `maxItems`, and the uniqueness `x-kubernetes-list-type`
//! asks for: `set` items are distinct, `map` items have distinct keys.

use serde_json::{Map, Value};

use super::path::Path;
use super::violation::Violation;

/// Checks the items of the list at `path` against the list keywords of `schema`.
pub fn check(schema: &Value, items: &[Value], value: &Value, path: &Path, out: &mut Vec<Violation>) {
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && items.len() as u64 > max
    {
        out.push(Violation::too_many(path, items.len(), max));
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        out.push(Violation::invalid(path, value, &format!("should have at least {min} items")));
    }
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("set") => duplicates(items.iter().cloned(), path, out),
        Some("map") => {
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|keys| keys.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let identities = items.iter().map(|item| {
                let identity: Map<String, Value> =
                    keys.iter().filter_map(|key| item.get(*key).map(|v| (key.to_string(), v.clone()))).collect();
                Value::Object(identity)
            });
            duplicates(identities, path, out);
        }
        _ => {}
    }
}

/// One violation for each item that repeats an earlier one.
fn duplicates(identities: impl Iterator<Item = Value>, path: &Path, out: &mut Vec<Violation>) {
    let mut seen: Vec<Value> = Vec::new();
    for (i, identity) in identities.enumerate() {
        if seen.contains(&identity) {
            out.push(Violation::duplicate(&path.index(i), &identity));
        } else {
            seen.push(identity);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn violations(schema: Value, value: Value) -> Vec<String> {
        let mut out = Vec::new();
        let items = value.as_array().cloned().unwrap_or_default();
        check(&schema, &items, &value, &Path::root().field("l"), &mut out);
        out.into_iter().map(Violation::into_cause).map(|c| format!("{}: {}", c.field, c.full_message())).collect()
    }

    #[test]
    fn map_lists_need_distinct_keys() {
        let schema = json!({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name", "port"]});
        let ok = json!([{"name": "a", "port": 1}, {"name": "a", "port": 2}]);
        assert!(violations(schema.clone(), ok).is_empty());
        let twice = json!([{"name": "a", "port": 1, "x": 1}, {"name": "a", "port": 1, "x": 2}]);
        assert_eq!(violations(schema, twice), [r#"l[1]: Duplicate value: {"name":"a","port":1}"#]);
    }

    #[test]
    fn sets_need_distinct_items_and_bounds_hold() {
        let schema = json!({"x-kubernetes-list-type": "set", "maxItems": 2, "minItems": 1});
        assert_eq!(violations(schema.clone(), json!(["a", "a"])), [r#"l[1]: Duplicate value: "a""#]);
        assert_eq!(violations(schema.clone(), json!(["a", "b", "c"])), ["l: Too many: 3: must have at most 2 items"]);
        assert_eq!(violations(schema, json!([])).len(), 1);
    }
}

//! Merging an applied configuration into the live object, and removing the fields an
//! applier gave up.
//!
//! Maps merge field by field; associative lists merge item by item, matched by their key
//! fields (unmatched applied items are appended); sets take the union; atomic lists and
//! maps and scalars are replaced. A null in the configuration removes the field.

use serde_json::{Map, Value};

use super::fieldset::FieldSet;
use super::items;
use super::path::PathElement;
use super::schema::{ListShape, Schema};

/// `live` with `config` merged in.
pub fn merge(live: &Value, config: &Value, schema: &Schema) -> Value {
    merge_at(live, config, schema, &mut Vec::new())
}

fn merge_at(live: &Value, config: &Value, schema: &Schema, tokens: &mut Vec<String>) -> Value {
    let at: Vec<&str> = tokens.iter().map(String::as_str).collect();
    match (live, config) {
        (Value::Object(live_map), Value::Object(config_map)) if tokens.is_empty() || !schema.is_atomic_map(&at) => {
            let mut out = live_map.clone();
            for (name, value) in config_map {
                if value.is_null() {
                    out.remove(name);
                    continue;
                }
                tokens.push(name.clone());
                let merged = match live_map.get(name) {
                    Some(existing) => merge_at(existing, value, schema, tokens),
                    None => value.clone(),
                };
                tokens.pop();
                out.insert(name.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(live_list), Value::Array(config_list)) => match schema.list(&at) {
            ListShape::Atomic => config.clone(),
            shape => {
                let mut out = live_list.clone();
                tokens.push("*".to_string());
                for item in config_list {
                    let found = items::element(&shape, item).and_then(|e| items::position(&shape, &out, &e));
                    match (found, &shape) {
                        (Some(at), ListShape::Map(_)) => out[at] = merge_at(&out[at], item, schema, tokens),
                        (Some(_), _) => {}
                        (None, _) => out.push(item.clone()),
                    }
                }
                tokens.pop();
                Value::Array(out)
            }
        },
        _ => config.clone(),
    }
}

/// Removes from `object` every path of `remove`, except that a map or list item something
/// in `keep` is under stays, with only the removal of its own removed fields.
pub fn remove_fields(object: &mut Value, remove: &FieldSet, keep: &FieldSet, schema: &Schema) {
    for path in remove.paths() {
        remove_path(object, &path, keep, schema);
    }
}

fn remove_path(object: &mut Value, path: &[PathElement], keep: &FieldSet, schema: &Schema) {
    if keep.touches(path) {
        return;
    }
    let Some((last, parent_path)) = path.split_last() else { return };
    let mut tokens: Vec<&str> = Vec::new();
    let mut node = &mut *object;
    for element in parent_path {
        node = match (element, node) {
            (PathElement::Field(name), Value::Object(map)) => {
                tokens.push(name);
                match map.get_mut(name) {
                    Some(child) => child,
                    None => return,
                }
            }
            (element, Value::Array(list)) => {
                let shape = schema.list(&tokens);
                tokens.push("*");
                match items::position(&shape, list, element) {
                    Some(at) => &mut list[at],
                    None => return,
                }
            }
            _ => return,
        };
    }
    match (last, node) {
        (PathElement::Field(name), Value::Object(map)) => {
            map.remove(name);
        }
        (element, Value::Array(list)) => {
            let shape = schema.list(&tokens);
            if let Some(at) = items::position(&shape, list, element) {
                list.remove(at);
            }
        }
        _ => {}
    }
    drop_emptied(object, parent_path);
}

/// Removes the map at `path` (and its parents) when the removal left it empty.
fn drop_emptied(object: &mut Value, path: &[PathElement]) {
    let mut path = path;
    while !path.is_empty() {
        let Some((PathElement::Field(name), parent)) = path.split_last() else { return };
        let Some(Value::Object(parent_map)) = lookup(object, parent) else { return };
        if !parent_map.get(name).is_some_and(|v| v.as_object().is_some_and(Map::is_empty)) {
            return;
        }
        parent_map.remove(name);
        path = parent;
    }
}

fn lookup<'a>(object: &'a mut Value, path: &[PathElement]) -> Option<&'a mut Value> {
    let mut node = object;
    for element in path {
        node = match (element, node) {
            (PathElement::Field(name), Value::Object(map)) => map.get_mut(name)?,
            _ => return None,
        };
    }
    Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.to_string())
    }

    #[test]
    fn merges_keyed_items_sets_and_maps() {
        let schema = Schema::builtin("apps", "Deployment");
        let live = json!({"metadata": {"finalizers": ["a"], "labels": {"x": "1"}}, "spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "old", "args": ["1"]}, {"name": "b", "image": "b"}]
        }}}});
        let config = json!({"metadata": {"finalizers": ["b"], "labels": {"y": "2", "x": null}}, "spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "new"}, {"name": "c", "image": "c"}]
        }}}});
        assert_eq!(
            merge(&live, &config, &schema),
            json!({"metadata": {"finalizers": ["a", "b"], "labels": {"y": "2"}}, "spec": {"template": {"spec": {
                "containers": [{"name": "a", "image": "new", "args": ["1"]}, {"name": "b", "image": "b"}, {"name": "c", "image": "c"}]
            }}}})
        );
    }

    #[test]
    fn removes_items_and_emptied_maps_unless_kept() {
        let schema = Schema::builtin("apps", "Deployment");
        let mut object = json!({"data": {"a": "1"}, "spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "x"}, {"name": "b", "image": "y"}
        ]}}}});
        let containers = [f("spec"), f("template"), f("spec"), f("containers")];
        let item = |name: &str| [&containers[..], &[PathElement::key([("name", &json!(name))])]].concat();
        let mut remove = FieldSet::new();
        remove.insert(&[f("data"), f("a")]);
        remove.insert(&item("a"));
        remove.insert(&item("b"));
        let mut keep = FieldSet::new();
        keep.insert(&[&item("b")[..], &[f("image")]].concat());
        remove_fields(&mut object, &remove, &keep, &schema);
        assert_eq!(object, json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "y"}]}}}}));
    }
}

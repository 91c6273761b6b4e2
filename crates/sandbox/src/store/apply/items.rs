//! Identifying the items of sets and associative lists.

use serde_json::Value;

use super::path::PathElement;
use super::schema::ListShape;

/// The value a key field takes when an item leaves it out: the defaults of the key fields
/// of built-in lists (`protocol` of container and service ports).
fn defaulted_key(name: &str) -> Option<Value> {
    (name == "protocol").then(|| Value::from("TCP"))
}

/// The path element of one item of a list of the given shape; `None` for atomic lists.
pub fn element(shape: &ListShape, item: &Value) -> Option<PathElement> {
    match shape {
        ListShape::Atomic => None,
        ListShape::Set => Some(PathElement::value(item)),
        ListShape::Map(keys) => {
            let values: Vec<(&str, Value)> = keys
                .iter()
                .filter_map(|k| {
                    item.get(k).filter(|v| !v.is_null()).cloned().or_else(|| defaulted_key(k)).map(|v| (k.as_str(), v))
                })
                .collect();
            Some(PathElement::key(values.iter().map(|(k, v)| (*k, v))))
        }
    }
}

/// The position of the item of `list` that `element` names.
pub fn position(shape: &ListShape, list: &[Value], wanted: &PathElement) -> Option<usize> {
    list.iter().position(|item| element(shape, item).as_ref() == Some(wanted))
}

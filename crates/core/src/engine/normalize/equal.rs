//! Equality of whole values (atomic lists, atomic maps and structures), after
//! normalization and without building normalized copies: both sides are defaulted, null
//! and empty collections equal absent, scalars compare by their kind.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::defaults::default_for;
use super::scalar::scalar_eq;
use crate::engine::schema::{Field, Node, Scalar};

/// What is known about the shape of a value being compared.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Shape {
    /// A structure described by the schema.
    Node(&'static Node),
    /// A list whose items have this shape.
    Items(Option<&'static Node>),
    /// A map of scalars, or a scalar, of this kind.
    Scalars(Scalar),
    #[default]
    Unknown,
}

impl Shape {
    /// The shape of a field's value.
    pub(crate) fn of(field: Option<&'static Field>) -> Shape {
        match field {
            Some(Field::Struct(node)) => Shape::Node(node),
            Some(Field::List { items, .. }) => Shape::Items(*items),
            Some(Field::Map { values, .. }) => Shape::Scalars(*values),
            Some(Field::Scalar(scalar)) => Shape::Scalars(*scalar),
            None => Shape::Unknown,
        }
    }

    fn child(self, key: &str) -> Shape {
        match self {
            Shape::Node(node) => Shape::of(node.child(key)),
            Shape::Scalars(scalar) => Shape::Scalars(scalar),
            _ => Shape::Unknown,
        }
    }

    fn item(self) -> Shape {
        match self {
            Shape::Items(Some(node)) => Shape::Node(node),
            _ => Shape::Unknown,
        }
    }

    fn scalar(self) -> Scalar {
        match self {
            Shape::Scalars(scalar) => scalar,
            _ => Scalar::Plain,
        }
    }
}

/// Whether a value counts as absent: null, an empty list, or a map of such values.
pub(crate) fn is_void(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.values().all(is_void),
        _ => false,
    }
}

/// A value that counts as present (see [`is_void`]).
pub(crate) fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|value| !is_void(value))
}

/// Whether two whole values are equal after normalization. `None` is absent.
pub(crate) fn deep_eq(shape: Shape, a: Option<&Value>, b: Option<&Value>) -> bool {
    let a = a.filter(|value| !value.is_null());
    let b = b.filter(|value| !value.is_null());
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => values_eq(shape, a, b),
        (Some(only), None) | (None, Some(only)) => is_void(only),
    }
}

fn values_eq(shape: Shape, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => maps_eq(shape, a, b),
        (Value::Array(a), Value::Array(b)) => {
            let item = shape.item();
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| deep_eq(item, Some(x), Some(y)))
        }
        _ => scalar_eq(shape.scalar(), a, b),
    }
}

fn maps_eq(shape: Shape, a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    let node = match shape {
        Shape::Node(node) => Some(node),
        _ => None,
    };
    fn side<'m>(node: Option<&Node>, map: &'m Map<String, Value>, key: &str) -> Option<Cow<'m, Value>> {
        match map.get(key).filter(|value| !value.is_null()) {
            Some(value) => Some(Cow::Borrowed(value)),
            None => node.and_then(|node| default_for(node.id, key, Some(map))).map(Cow::Owned),
        }
    }
    let keys_of_a_hold =
        a.keys().all(|key| deep_eq(shape.child(key), side(node, a, key).as_deref(), side(node, b, key).as_deref()));
    keys_of_a_hold
        && b.keys()
            .filter(|key| !a.contains_key(*key))
            .all(|key| deep_eq(shape.child(key), side(node, a, key).as_deref(), side(node, b, key).as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kind::Kind;
    use crate::engine::schema::{Position, resolve};
    use serde_json::json;

    fn shape_at(kind: Kind, path: &[&str]) -> Shape {
        match resolve(kind, path) {
            Position::Field(field) => Shape::of(Some(field)),
            _ => Shape::Unknown,
        }
    }

    #[test]
    fn atomic_lists_compare_after_defaults_on_both_sides() {
        let ingress = shape_at(Kind::NetworkPolicy, &["spec", "ingress"]);
        let template = json!([{"ports": [{"port": "8080"}]}]);
        let live = json!([{"ports": [{"port": 8080, "protocol": "TCP"}]}]);
        assert!(deep_eq(ingress, Some(&template), Some(&live)));
        let other = json!([{"ports": [{"port": 8080, "protocol": "UDP"}]}]);
        assert!(!deep_eq(ingress, Some(&template), Some(&other)));
    }

    #[test]
    fn atomic_lists_are_ordered_and_whole() {
        let args = shape_at(Kind::Deployment, &["spec", "template", "spec", "containers", "*", "args"]);
        assert!(deep_eq(args, Some(&json!(["a", "b"])), Some(&json!(["a", "b"]))));
        assert!(!deep_eq(args, Some(&json!(["a", "b"])), Some(&json!(["b", "a"]))));
        assert!(!deep_eq(args, Some(&json!(["a"])), Some(&json!(["a", "b"]))));
    }

    #[test]
    fn empty_and_null_equal_absent() {
        assert!(deep_eq(Shape::Unknown, Some(&json!([])), None));
        assert!(deep_eq(Shape::Unknown, Some(&json!({})), Some(&Value::Null)));
        assert!(deep_eq(Shape::Unknown, Some(&json!({"a": null})), Some(&json!({}))));
        assert!(!deep_eq(Shape::Unknown, Some(&json!({"a": 1})), Some(&json!({}))));
    }

    #[test]
    fn atomic_maps_are_whole() {
        let selector = shape_at(Kind::Service, &["spec", "selector"]);
        assert!(!deep_eq(selector, Some(&json!({"app": "web"})), Some(&json!({"app": "web", "tier": "x"}))));
        assert!(deep_eq(selector, Some(&json!({"app": "web"})), Some(&json!({"app": "web"}))));
    }

    #[test]
    fn subjects_default_their_api_group() {
        let subjects = shape_at(Kind::RoleBinding, &["subjects"]);
        let template = json!([{"kind": "Group", "name": "devs"}]);
        let live = json!([{"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"}]);
        assert!(deep_eq(subjects, Some(&template), Some(&live)));
    }
}

//! The shape a rule sees a schema node as, with the sizes the cost estimate needs: the
//! most elements a string, list or map can hold and the fewest bytes a value can take in
//! JSON. Bounds left undeclared are estimated from the largest request the apiserver
//! accepts, as the apiserver estimates them.

use std::collections::BTreeMap;

use serde_json::Value;

/// The largest request body the apiserver accepts, in bytes (3 MiB).
pub const MAX_REQUEST_SIZE_BYTES: u64 = 3 * 1024 * 1024;

const MIN_STRING_SIZE: u64 = 2;
const MIN_NUMBER_SIZE: u64 = 1;
const MIN_BOOL_SIZE: u64 = 4;
const MIN_CONTAINER_SIZE: u64 = 2;

/// What a value is.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A value of fixed size: integer, number, boolean, duration or timestamp.
    Scalar,
    /// A string or bytes.
    String,
    /// A list of these items.
    List(Box<Decl>),
    /// A map from strings to these values.
    Map(Box<Decl>),
    /// An object with these fields.
    Object(BTreeMap<String, Decl>),
    /// Anything (`x-kubernetes-preserve-unknown-fields` without properties,
    /// `x-kubernetes-int-or-string`).
    Dyn,
}

/// A schema node as a rule's type.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    /// What it is.
    pub shape: Shape,
    /// The most characters, items or entries it holds (0 for what has no length).
    pub max_elements: u64,
    /// The fewest bytes it takes serialized as JSON.
    pub min_size: u64,
}

impl Decl {
    fn new(shape: Shape, max_elements: u64, min_size: u64) -> Decl {
        Decl { shape, max_elements, min_size }
    }

    /// The type of the values of `schema`.
    pub fn of(schema: &Value) -> Decl {
        let bound = |key: &str| schema.get(key).and_then(Value::as_i64).map(|n| n.max(0).unsigned_abs());
        if schema.get("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
            return Decl::new(Shape::Dyn, MAX_REQUEST_SIZE_BYTES - 2, 1);
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("array") => {
                let items = schema.get("items").map(Decl::of).unwrap_or_else(|| Decl::new(Shape::Dyn, 0, 1));
                let max = bound("maxItems").unwrap_or((MAX_REQUEST_SIZE_BYTES - 2) / (items.min_size + 1));
                Decl::new(Shape::List(Box::new(items)), max, MIN_CONTAINER_SIZE)
            }
            Some("object") if schema.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true) => {
                let mut plain = schema.clone();
                if let Some(node) = plain.as_object_mut() {
                    node.remove("x-kubernetes-embedded-resource");
                }
                Decl::root(&plain)
            }
            Some("object") => match schema.get("additionalProperties").filter(|a| a.is_object()) {
                Some(values) => {
                    let values = Decl::of(values);
                    let max = bound("maxProperties").unwrap_or((MAX_REQUEST_SIZE_BYTES - 2) / (values.min_size + 6));
                    Decl::new(Shape::Map(Box::new(values)), max, MIN_CONTAINER_SIZE)
                }
                None => object(schema),
            },
            Some("string") => string(schema, bound("maxLength")),
            Some("integer" | "number") => Decl::new(Shape::Scalar, 0, MIN_NUMBER_SIZE),
            Some("boolean") => Decl::new(Shape::Scalar, 0, MIN_BOOL_SIZE),
            _ => Decl::new(Shape::Dyn, 0, 1),
        }
    }

    /// The type of `self` at the root of a custom resource: its schema with `apiVersion`,
    /// `kind` and `metadata.name`/`generateName` declared, as rules there see them (and
    /// rules on an `x-kubernetes-embedded-resource`).
    pub fn root(schema: &Value) -> Decl {
        let mut decl = Decl::of(schema);
        if decl.shape == Shape::Dyn {
            decl.shape = Shape::Object(BTreeMap::new());
        }
        if let Shape::Object(fields) = &mut decl.shape {
            let unbounded = || string(&Value::Null, None);
            fields.entry("apiVersion".to_string()).or_insert_with(unbounded);
            fields.entry("kind".to_string()).or_insert_with(unbounded);
            let metadata: BTreeMap<String, Decl> =
                [("name".to_string(), unbounded()), ("generateName".to_string(), unbounded())].into();
            fields.insert("metadata".to_string(), Decl::new(Shape::Object(metadata), 0, MIN_CONTAINER_SIZE));
        }
        decl
    }

    /// The type of the items of a list or the values of a map.
    pub fn element(&self) -> Option<&Decl> {
        match &self.shape {
            Shape::List(items) => Some(items),
            Shape::Map(values) => Some(values),
            _ => None,
        }
    }
}

fn string(schema: &Value, max_length: Option<u64>) -> Decl {
    match schema.get("format").and_then(Value::as_str) {
        Some("duration" | "date" | "date-time") => return Decl::new(Shape::Scalar, 0, MIN_STRING_SIZE),
        Some("byte") => {
            return Decl::new(Shape::String, max_length.unwrap_or(MAX_REQUEST_SIZE_BYTES - 2), MIN_STRING_SIZE);
        }
        _ => {}
    }
    let max = match (max_length, schema.get("enum").and_then(Value::as_array)) {
        // maxLength counts characters, and a character takes up to 4 bytes
        (Some(length), _) => length.saturating_mul(4),
        (None, Some(values)) if !values.is_empty() => {
            values.iter().filter_map(Value::as_str).map(|v| v.len() as u64).max().unwrap_or(0)
        }
        _ => MAX_REQUEST_SIZE_BYTES - 2,
    };
    Decl::new(Shape::String, max, MIN_STRING_SIZE)
}

fn object(schema: &Value) -> Decl {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Decl::new(Shape::Dyn, 0, MIN_CONTAINER_SIZE);
    };
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let mut min_size = MIN_CONTAINER_SIZE;
    let mut fields = BTreeMap::new();
    for (name, property) in properties {
        let field = Decl::of(property);
        // a required field without a default is always sent: "name": value,
        if required.contains(&name.as_str()) && property.get("default").is_none() {
            min_size = min_size.saturating_add(name.len() as u64 + field.min_size + 4);
        }
        fields.insert(name.clone(), field);
    }
    Decl::new(Shape::Object(fields), 0, min_size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bounds_come_from_the_schema_or_the_request_size() {
        let bounded = Decl::of(&json!({"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 5}}));
        assert_eq!(bounded.max_elements, 10);
        assert_eq!(bounded.element().map(|i| i.max_elements), Some(20), "maxLength is in characters of 4 bytes");
        let unbounded = Decl::of(&json!({"type": "array", "items": {"type": "string"}}));
        assert_eq!(unbounded.max_elements, (MAX_REQUEST_SIZE_BYTES - 2) / 3);
        assert_eq!(unbounded.element().map(|i| i.max_elements), Some(MAX_REQUEST_SIZE_BYTES - 2));
        let map = Decl::of(&json!({"type": "object", "additionalProperties": {"type": "integer"}}));
        assert_eq!(map.max_elements, (MAX_REQUEST_SIZE_BYTES - 2) / 7);
        let enumerated = Decl::of(&json!({"type": "string", "enum": ["Allow", "Deny"]}));
        assert_eq!(enumerated.max_elements, 5);
    }

    #[test]
    fn required_fields_make_objects_bigger() {
        let object = Decl::of(&json!({"type": "object", "required": ["name", "size"], "properties": {
            "name": {"type": "string"}, "size": {"type": "integer", "default": 1}, "note": {"type": "string"}
        }}));
        assert_eq!(object.min_size, 2 + 4 + 2 + 4);
        let items = Decl::of(&json!({"type": "array", "items": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}}}}));
        assert_eq!(items.max_elements, (MAX_REQUEST_SIZE_BYTES - 2) / 13);
    }
}

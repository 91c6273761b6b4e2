//! The fields an applied configuration sets: what its manager owns after the apply.
//! Scalars, atomic lists and atomic maps are owned as a whole; the items of sets and
//! associative lists are owned themselves and field by field; maps are owned through
//! their fields, and also themselves when they are empty or are not a field their
//! structure declares (a map entry, or a field of a free-form object); nulls own nothing.
//! These are structured-merge-diff's rules, deduced types included.

use serde_json::Value;

use super::fieldset::FieldSet;
use super::items;
use super::path::PathElement;
use super::schema::{ListShape, Schema};

/// The fields `config` sets, read with `schema`.
pub fn applied_fields(config: &Value, schema: &Schema) -> FieldSet {
    let mut walker = Walker { schema, tokens: Vec::new(), path: Vec::new(), out: FieldSet::new() };
    if let Value::Object(map) = config {
        for (name, value) in map {
            walker.descend(name, PathElement::Field(name.clone()), value);
        }
    }
    walker.out
}

struct Walker<'a> {
    schema: &'a Schema,
    tokens: Vec<String>,
    path: Vec<PathElement>,
    out: FieldSet,
}

impl Walker<'_> {
    fn tokens(&self) -> Vec<&str> {
        self.tokens.iter().map(String::as_str).collect()
    }

    fn descend(&mut self, token: &str, element: PathElement, value: &Value) {
        self.tokens.push(token.to_string());
        self.path.push(element);
        self.visit(value);
        self.path.pop();
        self.tokens.pop();
    }

    fn visit(&mut self, value: &Value) {
        match value {
            Value::Null => {}
            Value::Object(map) if !self.schema.is_atomic_map(&self.tokens()) => {
                if map.is_empty() || !self.schema.declares(&self.tokens()) {
                    self.out.insert(&self.path);
                }
                for (name, child) in map {
                    self.descend(name, PathElement::Field(name.clone()), child);
                }
            }
            Value::Array(list) => match self.schema.list(&self.tokens()) {
                ListShape::Atomic => self.out.insert(&self.path),
                shape => {
                    for item in list {
                        let Some(element) = items::element(&shape, item) else { continue };
                        self.tokens.push("*".to_string());
                        self.path.push(element);
                        self.out.insert(&self.path);
                        if let (ListShape::Map(_), Value::Object(fields)) = (&shape, item) {
                            for (name, child) in fields {
                                self.descend(name, PathElement::Field(name.clone()), child);
                            }
                        }
                        self.path.pop();
                        self.tokens.pop();
                    }
                }
            },
            _ => self.out.insert(&self.path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owns_leaves_and_keyed_items() {
        let config = json!({
            "apiVersion": "apps/v1",
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {},
                "template": {"spec": {"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80}]}]}}
            }
        });
        let owned = applied_fields(&config, &Schema::builtin("apps", "Deployment"));
        assert_eq!(
            owned.to_fields_v1(),
            json!({
                "f:apiVersion": {},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:strategy": {},
                    "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {
                        ".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
                    }}}}
                }
            })
        );
    }

    #[test]
    fn free_form_objects_own_their_maps_and_lists_whole() {
        let crd = json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                "properties": {"known": {"type": "object", "properties": {"n": {"type": "integer"}}}}}}
        }}}]}});
        let schema = Schema::custom("example.com", "Widget", crd, "v1");
        let config = json!({"spec": {
            "known": {"n": 1},
            "a": {"b": 1, "c": {}},
            "l": [1, {"x": 2}],
            "e": {}
        }});
        assert_eq!(
            applied_fields(&config, &schema).to_fields_v1(),
            json!({"f:spec": {
                "f:known": {"f:n": {}},
                "f:a": {".": {}, "f:b": {}, "f:c": {}},
                "f:l": {},
                "f:e": {}
            }})
        );
    }
}

//! The desired value of a whole subtree (a missing keyed item, or a value of the wrong
//! type): the template's value there without its ignored parts, keyed items completed with
//! their defaulted keys.

use serde_json::{Map, Value};

use super::Walker;
use super::lists::with_keys;
use crate::engine::compare::path::Step;
use crate::engine::schema::{self, Field, ListType, Node, Scalar};

impl<'a> Walker<'a, '_> {
    /// The template value at the current path without its ignored parts, keyed items
    /// completed with their defaulted keys: the desired value of a missing item or of a
    /// value of the wrong type.
    pub(super) fn governed_copy(&mut self, field: Option<&'static Field>, value: &'a Value) -> Value {
        match (field, value) {
            (Some(Field::Struct(node)), Value::Object(map)) if !node.atomic => self.governed_map(Some(node), None, map),
            (Some(Field::Map { atomic: false, values }), Value::Object(map)) => {
                self.governed_map(None, Some(*values), map)
            }
            (None, Value::Object(map)) => self.governed_map(None, None, map),
            (Some(Field::List { list_type: ListType::Map(keys), items: node }), Value::Array(items)) => {
                let mut copy = Vec::with_capacity(items.len());
                for item in items.iter().filter_map(Value::as_object) {
                    if self.enter(Step::Item { keys, item, node: *node }) {
                        copy.push(self.governed_item(keys, *node, item));
                        self.leave();
                    }
                }
                Value::Array(copy)
            }
            (Some(Field::List { list_type: ListType::Set, .. }), Value::Array(members)) => {
                let mut copy = Vec::with_capacity(members.len());
                for member in members {
                    if self.enter(Step::Member(member)) {
                        copy.push(member.clone());
                        self.leave();
                    }
                }
                Value::Array(copy)
            }
            _ => value.clone(),
        }
    }

    pub(super) fn governed_map(
        &mut self,
        node: Option<&'static Node>,
        values: Option<Scalar>,
        map: &'a Map<String, Value>,
    ) -> Value {
        let mut copy = Map::new();
        for (key, value) in map {
            if !self.enter(Step::Field(key)) {
                continue;
            }
            let field = match values {
                Some(scalar) => Some(schema::scalar_field(scalar)),
                None => schema::child(node, key),
            };
            copy.insert(key.clone(), self.governed_copy(field, value));
            self.leave();
        }
        Value::Object(copy)
    }

    pub(super) fn governed_item(
        &mut self,
        keys: &'static [&'static str],
        node: Option<&'static Node>,
        item: &'a Map<String, Value>,
    ) -> Value {
        match self.governed_map(node, None, item) {
            Value::Object(fragment) => with_keys(Value::Object(fragment), keys, node, item),
            other => other,
        }
    }
}

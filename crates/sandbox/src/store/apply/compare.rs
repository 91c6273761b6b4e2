//! What a write changed, field by field: the fields it added, modified and removed, read
//! with the kind's merge schema. The manager of a write owns what it added and modified;
//! other managers lose what it modified or removed.

use serde_json::Value;

use super::fieldset::FieldSet;
use super::items;
use super::path::PathElement;
use super::schema::{ListShape, Schema};

/// The fields a write changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Fields absent before and present after.
    pub added: FieldSet,
    /// Fields present before and after, with another value.
    pub modified: FieldSet,
    /// Fields present before and absent after.
    pub removed: FieldSet,
}

impl Comparison {
    /// What the write set: added and modified fields.
    pub fn changed(&self) -> FieldSet {
        self.added.union(&self.modified)
    }

    /// Every set with `filter` applied.
    pub fn map(self, filter: impl Fn(&FieldSet) -> FieldSet) -> Comparison {
        Comparison { added: filter(&self.added), modified: filter(&self.modified), removed: filter(&self.removed) }
    }
}

/// Compares two versions of an object.
pub fn compare(old: &Value, new: &Value, schema: &Schema) -> Comparison {
    let mut walker = Walker { schema, tokens: Vec::new(), path: Vec::new(), out: Comparison::default() };
    walker.fields(old.as_object(), new.as_object());
    walker.out
}

#[derive(Clone, Copy)]
enum Side {
    Added,
    Removed,
}

struct Walker<'a> {
    schema: &'a Schema,
    tokens: Vec<String>,
    path: Vec<PathElement>,
    out: Comparison,
}

impl Walker<'_> {
    fn tokens(&self) -> Vec<&str> {
        self.tokens.iter().map(String::as_str).collect()
    }

    fn push(&mut self, token: &str, element: PathElement) {
        self.tokens.push(token.to_string());
        self.path.push(element);
    }

    fn pop(&mut self) {
        self.tokens.pop();
        self.path.pop();
    }

    fn fields(&mut self, old: Option<&serde_json::Map<String, Value>>, new: Option<&serde_json::Map<String, Value>>) {
        let empty = serde_json::Map::new();
        let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
        for (name, old_value) in old {
            self.push(name, PathElement::Field(name.clone()));
            match new.get(name) {
                Some(new_value) => self.both(old_value, new_value),
                None => self.one(old_value, Side::Removed),
            }
            self.pop();
        }
        for (name, new_value) in new.iter().filter(|(name, _)| !old.contains_key(*name)) {
            self.push(name, PathElement::Field(name.clone()));
            self.one(new_value, Side::Added);
            self.pop();
        }
    }

    fn record(&mut self, side: Side) {
        let set = match side {
            Side::Added => &mut self.out.added,
            Side::Removed => &mut self.out.removed,
        };
        set.insert(&self.path);
    }

    /// A value present on one side only: it and everything in it was added or removed.
    fn one(&mut self, value: &Value, side: Side) {
        if value.is_null() {
            return;
        }
        match value {
            Value::Object(map) if !self.schema.is_atomic_map(&self.tokens()) => {
                if self.schema.owns_added_map(&self.tokens()) {
                    self.record(side);
                }
                for (name, child) in map {
                    self.push(name, PathElement::Field(name.clone()));
                    self.one(child, side);
                    self.pop();
                }
            }
            Value::Array(list) => match self.schema.list(&self.tokens()) {
                ListShape::Atomic => self.record(side),
                shape => {
                    for item in list {
                        self.item(&shape, item, side);
                    }
                }
            },
            _ => self.record(side),
        }
    }

    fn item(&mut self, shape: &ListShape, item: &Value, side: Side) {
        let Some(element) = items::element(shape, item) else { return };
        self.push("*", element);
        self.record(side);
        if let (ListShape::Map(_), Value::Object(fields)) = (shape, item) {
            for (name, child) in fields {
                self.push(name, PathElement::Field(name.clone()));
                self.one(child, side);
                self.pop();
            }
        }
        self.pop();
    }

    /// A value present on both sides.
    fn both(&mut self, old: &Value, new: &Value) {
        match (old, new) {
            (_, Value::Null) => self.one(old, Side::Removed),
            (Value::Null, _) => self.one(new, Side::Added),
            (Value::Object(o), Value::Object(n)) if !self.schema.is_atomic_map(&self.tokens()) => {
                self.fields(Some(o), Some(n));
            }
            (Value::Array(o), Value::Array(n)) => match self.schema.list(&self.tokens()) {
                ListShape::Atomic => {
                    if o != n {
                        self.out.modified.insert(&self.path);
                    }
                }
                shape => self.lists(&shape, o, n),
            },
            _ if old != new => self.out.modified.insert(&self.path),
            _ => {}
        }
    }

    fn lists(&mut self, shape: &ListShape, old: &[Value], new: &[Value]) {
        for item in old {
            let Some(element) = items::element(shape, item) else { continue };
            match items::position(shape, new, &element) {
                Some(at) => {
                    if let ListShape::Map(_) = shape {
                        self.push("*", element);
                        self.fields(item.as_object(), new[at].as_object());
                        self.pop();
                    }
                }
                None => self.item(shape, item, Side::Removed),
            }
        }
        for item in new {
            let Some(element) = items::element(shape, item) else { continue };
            if items::position(shape, old, &element).is_none() {
                self.item(shape, item, Side::Added);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_added_modified_and_removed_fields() {
        let schema = Schema::builtin("apps", "Deployment");
        let old = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [
            {"name": "a", "image": "x"}, {"name": "b", "image": "y"}
        ]}}}});
        let new = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"replicas": 2, "template": {"spec": {"containers": [
            {"name": "a", "image": "x", "args": ["1"]}
        ]}}}});
        let cmp = compare(&old, &new, &schema);
        assert_eq!(
            cmp.added.to_fields_v1(),
            json!({
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {"f:args": {}}}}}}
            })
        );
        assert_eq!(cmp.modified.to_fields_v1(), json!({"f:spec": {"f:replicas": {}}}));
        assert_eq!(
            cmp.removed.to_fields_v1(),
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"b\"}": {
                ".": {}, "f:image": {}, "f:name": {}
            }}}}}})
        );
        assert_eq!(compare(&new, &new, &schema), Comparison::default());
    }
}

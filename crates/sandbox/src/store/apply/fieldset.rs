//! A set of field paths, stored as a tree, with the set operations server-side apply
//! needs and the `FieldsV1` encoding of `metadata.managedFields`.
//!
//! In `FieldsV1` every path element is a key (`f:spec`, `k:{"name":"app"}`); a path that
//! is itself in the set and has no children is `{}`, and one that is in the set and also
//! has children carries the member marker `".": {}`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::FieldsError;
use super::path::PathElement;

/// A set of field paths. The root node is never a member itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Whether the path leading to this node is in the set.
    member: bool,
    /// The paths that continue below this node.
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        FieldSet::default()
    }

    /// Whether no path is in the set.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    /// Adds `path`.
    pub fn insert(&mut self, path: &[PathElement]) {
        let mut node = self;
        for element in path {
            node = node.children.entry(element.clone()).or_default();
        }
        if !path.is_empty() {
            node.member = true;
        }
    }

    /// Whether `path` is in the set.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        self.node(path).is_some_and(|node| node.member)
    }

    /// Whether any path at or below `path` is in the set.
    pub fn touches(&self, path: &[PathElement]) -> bool {
        self.node(path).is_some_and(|node| !node.is_empty())
    }

    fn node(&self, path: &[PathElement]) -> Option<&FieldSet> {
        let mut node = self;
        for element in path {
            node = node.children.get(element)?;
        }
        Some(node)
    }

    /// The paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.member |= other.member;
        for (element, child) in &other.children {
            let merged = match out.children.get(element) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(element.clone(), merged);
        }
        out
    }

    /// The paths in this set and not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet { member: self.member && !other.member, children: BTreeMap::new() };
        for (element, child) in &self.children {
            let rest = match other.children.get(element) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(element.clone(), rest);
            }
        }
        out
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet { member: self.member && other.member, children: BTreeMap::new() };
        for (element, child) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(element.clone(), both);
                }
            }
        }
        out
    }

    /// The set without everything at or below `path`.
    pub fn without_subtree(&self, path: &[PathElement]) -> FieldSet {
        let mut subtree = FieldSet::new();
        if let Some(node) = self.node(path) {
            let mut cursor = &mut subtree;
            for element in path {
                cursor = cursor.children.entry(element.clone()).or_default();
            }
            *cursor = node.clone();
        }
        self.difference(&subtree)
    }

    /// Only what is at or below `path`.
    pub fn only_subtree(&self, path: &[PathElement]) -> FieldSet {
        self.difference(&self.without_subtree(path))
    }

    /// Every path in the set, in `FieldsV1` order.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        if self.member && !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (element, child) in &self.children {
            prefix.push(element.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// The set as a `FieldsV1` object.
    pub fn to_fields_v1(&self) -> Value {
        let mut map = Map::new();
        if self.member && !self.children.is_empty() {
            map.insert(".".to_string(), Value::Object(Map::new()));
        }
        for (element, child) in &self.children {
            map.insert(element.encode(), child.to_fields_v1());
        }
        Value::Object(map)
    }

    /// Reads a `FieldsV1` object.
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, FieldsError> {
        let mut set = FieldSet::new();
        read_children(value, &mut set)?;
        Ok(set)
    }
}

fn read_children(value: &Value, node: &mut FieldSet) -> Result<(), FieldsError> {
    let map = value.as_object().ok_or(FieldsError::NotAnObject)?;
    for (key, child_value) in map {
        if key == "." {
            node.member = true;
            continue;
        }
        let mut child = FieldSet::new();
        read_children(child_value, &mut child)?;
        if child.children.is_empty() {
            child.member = true;
        }
        node.children.insert(PathElement::decode(key)?, child);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.to_string())
    }

    fn container(name: &str) -> PathElement {
        PathElement::key([("name", &json!(name))])
    }

    #[test]
    fn encodes_members_leaves_and_keys_like_the_apiserver() {
        let mut set = FieldSet::new();
        set.insert(&[f("spec"), f("replicas")]);
        set.insert(&[f("spec"), f("containers"), container("app")]);
        set.insert(&[f("spec"), f("containers"), container("app"), f("image")]);
        set.insert(&[f("metadata"), f("finalizers"), PathElement::value(&json!("a/b"))]);
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:finalizers": {"v:\"a/b\"": {}}},
                "f:spec": {
                    "f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}}},
                    "f:replicas": {}
                }
            })
        );
    }

    #[test]
    fn decoding_inverts_encoding() {
        let encoded = json!({
            "f:data": {".": {}, "f:a": {}},
            "f:spec": {"f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}}}}
        });
        let set = FieldSet::from_fields_v1(&encoded).expect("decodes");
        assert!(set.contains(&[f("data")]));
        assert!(set.contains(&[f("data"), f("a")]));
        assert!(!set.contains(&[f("spec")]));
        assert!(set.touches(&[f("spec")]));
        assert_eq!(set.to_fields_v1(), encoded);
        assert_eq!(set.paths().len(), 4);
    }

    #[test]
    fn rejects_what_is_not_fields_v1() {
        assert!(FieldSet::from_fields_v1(&json!([])).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"x:y": {}})).is_err());
        assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
    }

    #[test]
    fn set_operations() {
        let mut a = FieldSet::new();
        a.insert(&[f("spec"), f("replicas")]);
        a.insert(&[f("spec"), f("paused")]);
        let mut b = FieldSet::new();
        b.insert(&[f("spec"), f("replicas")]);
        b.insert(&[f("data"), f("x")]);
        assert_eq!(a.intersection(&b).paths(), vec![vec![f("spec"), f("replicas")]]);
        assert_eq!(a.difference(&b).paths(), vec![vec![f("spec"), f("paused")]]);
        assert_eq!(a.union(&b).paths().len(), 3);
        assert!(a.difference(&a).is_empty());
        assert_eq!(a.union(&b).without_subtree(&[f("spec")]).paths(), vec![vec![f("data"), f("x")]]);
        assert_eq!(a.union(&b).only_subtree(&[f("data")]).paths(), vec![vec![f("data"), f("x")]]);
    }
}

//! How the lists and maps of a kind merge, for server-side apply, field tracking and
//! strategic merge patch: the engine's table for built-in kinds, and the CRD's structural
//! schema (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
//! `x-kubernetes-map-type`) for custom resources. A list nothing describes is atomic.

use std::sync::Arc;

use serde_json::Value;

use crate::resources::ResourceKind;
use crate::store::key::ObjectKey;
use crate::store::state::{State, crd_resource};
use driftwarden_core::engine::kind::Kind;
use driftwarden_core::engine::merge_keys::{self, ListType};
use driftwarden_core::engine::schema::{self, Field, Position};

/// How the items of a list are identified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListShape {
    /// Replaced and owned whole.
    Atomic,
    /// A set of scalars, each item owned on its own.
    Set,
    /// Items identified by these key fields.
    Map(Vec<String>),
}

impl From<ListType> for ListShape {
    fn from(list_type: ListType) -> Self {
        match list_type {
            ListType::Atomic => ListShape::Atomic,
            ListType::Set => ListShape::Set,
            ListType::Map(keys) => ListShape::Map(keys.iter().map(|k| k.to_string()).collect()),
        }
    }
}

/// The merge schema of one kind. Paths are field names from the root, with `*` for the
/// items of a list.
#[derive(Debug, Clone)]
pub struct Schema {
    group: String,
    kind: String,
    /// The CRD and the version, for custom resources.
    crd: Option<(Arc<Value>, String)>,
}

impl Schema {
    /// The schema of `kind`, reading its CRD from the store when it is a custom resource.
    pub fn for_kind(state: &State, kind: &ResourceKind) -> Schema {
        let crd = kind.crd.as_deref().and_then(|name| state.get(&ObjectKey::new(crd_resource(), None, name)));
        Schema {
            group: kind.group.clone(),
            kind: kind.kind.clone(),
            crd: crd.map(|object| (object.clone(), kind.version.clone())),
        }
    }

    /// The schema of a built-in kind.
    pub fn builtin(group: &str, kind: &str) -> Schema {
        Schema { group: group.to_string(), kind: kind.to_string(), crd: None }
    }

    /// The schema of a custom resource served at `version` by `crd`.
    #[cfg(test)]
    pub fn custom(group: &str, kind: &str, crd: Value, version: &str) -> Schema {
        Schema { group: group.to_string(), kind: kind.to_string(), crd: Some((Arc::new(crd), version.to_string())) }
    }

    /// Whether this is a custom resource.
    pub fn is_custom(&self) -> bool {
        self.crd.is_some()
    }

    /// The structural schema node at `path`, for custom resources outside `metadata`.
    fn crd_node(&self, path: &[&str]) -> Option<&Value> {
        let (crd, version) = self.crd.as_ref()?;
        let versions = crd.pointer("/spec/versions")?.as_array()?;
        let served = versions.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(version))?;
        let mut node = served.pointer("/schema/openAPIV3Schema")?;
        for token in path {
            node = if *token == "*" {
                node.get("items")?
            } else {
                match node.get("properties").and_then(|p| p.get(*token)) {
                    Some(child) => child,
                    None => node.get("additionalProperties").filter(|a| a.is_object())?,
                }
            };
        }
        Some(node)
    }

    fn uses_crd(&self, path: &[&str]) -> bool {
        self.crd.is_some() && path.first() != Some(&"metadata")
    }

    /// How the list at `path` merges.
    pub fn list(&self, path: &[&str]) -> ListShape {
        if !self.uses_crd(path) {
            return merge_keys::list_type(&self.group, &self.kind, path).into();
        }
        let Some(node) = self.crd_node(path) else { return ListShape::Atomic };
        match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListShape::Set,
            Some("map") => ListShape::Map(
                node.get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default(),
            ),
            _ => ListShape::Atomic,
        }
    }

    /// Whether the map or structure at `path` is replaced and owned whole.
    pub fn is_atomic_map(&self, path: &[&str]) -> bool {
        if !self.uses_crd(path) {
            return merge_keys::is_atomic_map(&self.group, &self.kind, path);
        }
        self.crd_node(path).is_some_and(|node| {
            node.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic")
                || node.get("x-kubernetes-struct-type").and_then(Value::as_str) == Some("atomic")
        })
    }

    /// Whether the field at `path` is one its structure declares. Entries of maps
    /// (`additionalProperties`, `labels`) and the fields of free-form objects
    /// (`x-kubernetes-preserve-unknown-fields`, typed by the apiserver as deduced) are not:
    /// an applied configuration owns such an entry itself, not only what is inside it.
    pub fn declares(&self, path: &[&str]) -> bool {
        if let ["metadata", "labels" | "annotations", _] = path {
            return false;
        }
        if !self.uses_crd(path) {
            return !matches!(schema::resolve(Kind::resolve(&self.group, &self.kind), path), Position::MapValue(_));
        }
        let Some((last, parent)) = path.split_last() else { return true };
        self.crd_node(parent).and_then(|node| node.get("properties")).and_then(|p| p.get(*last)).is_some()
    }

    /// Whether a map that a non-apply write adds at `path` is itself recorded as owned
    /// (the `.` marker): maps of strings and free-form objects are, the always-present
    /// structures of built-in kinds (`spec`, `template`) are not.
    pub fn owns_added_map(&self, path: &[&str]) -> bool {
        if self.uses_crd(path) {
            return true;
        }
        !matches!(schema::resolve(Kind::resolve(&self.group, &self.kind), path), Position::Field(Field::Struct(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn built_in_kinds_use_the_engine_table() {
        let deployment = Schema::builtin("apps", "Deployment");
        let containers = ["spec", "template", "spec", "containers"];
        assert_eq!(deployment.list(&containers), ListShape::Map(vec!["name".into()]));
        assert_eq!(deployment.list(&["metadata", "finalizers"]), ListShape::Set);
        assert!(deployment.is_atomic_map(&["spec", "selector"]));
        assert!(!deployment.owns_added_map(&["spec", "template"]));
        assert!(deployment.owns_added_map(&["metadata", "labels"]));
        assert!(deployment.declares(&["spec", "replicas"]));
        assert!(!deployment.declares(&["metadata", "labels", "app"]), "a label is a map entry");
    }

    #[test]
    fn custom_resources_read_the_crd_schema() {
        let crd = json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {
                "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"],
                          "items": {"type": "object", "properties": {"tags": {"type": "array", "x-kubernetes-list-type": "set"}}}},
                "plain": {"type": "array"},
                "selector": {"type": "object", "x-kubernetes-map-type": "atomic"}
            }}}
        }}}]}});
        let schema = Schema::custom("example.com", "Widget", crd, "v1");
        assert_eq!(schema.list(&["spec", "items"]), ListShape::Map(vec!["id".into()]));
        assert_eq!(schema.list(&["spec", "items", "*", "tags"]), ListShape::Set);
        assert_eq!(schema.list(&["spec", "plain"]), ListShape::Atomic);
        assert_eq!(schema.list(&["metadata", "finalizers"]), ListShape::Set);
        assert!(schema.is_atomic_map(&["spec", "selector"]));
        assert!(schema.owns_added_map(&["spec"]));
        assert!(schema.declares(&["spec", "plain"]));
        assert!(!schema.declares(&["spec", "free"]), "spec declares no field `free`");
    }
}

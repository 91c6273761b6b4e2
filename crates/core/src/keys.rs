//! How driftwarden names what it works on: a kind ([`KindKey`]), one object
//! ([`ObjectKey`]) and a policy ([`PolicyKey`]). These are the keys of every map and set
//! of objects, in the core and in the operator.
//!
//! [`ObjectRef`] is the API's way to point at an object from a custom resource (a
//! Finding's asset, a policy's drift): it carries the uid as well, and converts to and
//! from an [`ObjectKey`] ([`ObjectKey::from_ref`], [`ObjectKey::to_ref`]).
//!
//! The functions [`api_version_of`], [`kind_of`], [`namespace_of`] and [`name_of`] read
//! the same identity from a live object or manifest without copying it, for the places
//! that only look.

use std::fmt;

use serde_json::Value;

use crate::api::ObjectRef;

/// A kind of object: `apiVersion` and `kind`, as policies name them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindKey {
    pub api_version: String,
    pub kind: String,
}

impl KindKey {
    pub fn new(api_version: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { api_version: api_version.into(), kind: kind.into() }
    }

    /// The kind of a live object or manifest.
    pub fn of(object: &Value) -> Self {
        Self::new(api_version_of(object), kind_of(object))
    }

    /// The group and version, split (the core group is `""`).
    pub fn group_version(&self) -> (&str, &str) {
        self.api_version.rsplit_once('/').unwrap_or(("", &self.api_version))
    }
}

impl fmt::Display for KindKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.api_version)
    }
}

/// One object: its kind, its namespace (`None` when cluster-scoped) and its name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub kind: KindKey,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectKey {
    pub fn new(kind: KindKey, namespace: Option<String>, name: impl Into<String>) -> Self {
        Self { kind, namespace, name: name.into() }
    }

    /// The key of a live object or manifest. A missing field reads as empty; an empty
    /// namespace as none.
    pub fn of(object: &Value) -> Self {
        Self {
            kind: KindKey::of(object),
            namespace: namespace_of(object).map(str::to_string),
            name: name_of(object).to_string(),
        }
    }

    /// The key of an object reference (its uid left aside).
    pub fn from_ref(target: &ObjectRef) -> Self {
        Self {
            kind: KindKey::new(&target.api_version, &target.kind),
            namespace: target.namespace.clone(),
            name: target.name.clone(),
        }
    }

    /// The object reference, with the uid when known.
    pub fn to_ref(&self, uid: Option<String>) -> ObjectRef {
        ObjectRef {
            api_version: self.kind.api_version.clone(),
            kind: self.kind.kind.clone(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            uid,
        }
    }

    /// Whether `object` is this object (by `apiVersion`, `kind`, namespace and name).
    /// Copies nothing.
    pub fn is(&self, object: &Value) -> bool {
        name_of(object) == self.name
            && kind_of(object) == self.kind.kind
            && api_version_of(object) == self.kind.api_version
            && namespace_of(object) == self.namespace.as_deref()
    }
}

impl From<&ObjectRef> for ObjectKey {
    fn from(target: &ObjectRef) -> Self {
        Self::from_ref(target)
    }
}

impl From<ObjectRef> for ObjectKey {
    fn from(target: ObjectRef) -> Self {
        Self { kind: KindKey::new(target.api_version, target.kind), namespace: target.namespace, name: target.name }
    }
}

impl From<ObjectKey> for ObjectRef {
    /// The reference without a uid.
    fn from(key: ObjectKey) -> Self {
        ObjectRef {
            api_version: key.kind.api_version,
            kind: key.kind.kind,
            namespace: key.namespace,
            name: key.name,
            uid: None,
        }
    }
}

impl fmt::Display for ObjectKey {
    /// `Deployment shop/web`, `Namespace shop`: the way [`ObjectRef`] prints too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind.kind, self.name),
            None => write!(f, "{} {}", self.kind.kind, self.name),
        }
    }
}

/// A DriftPolicy (`namespace` set) or a ClusterDriftPolicy.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PolicyKey {
    pub namespace: Option<String>,
    pub name: String,
}

impl PolicyKey {
    /// The policy's kind.
    pub fn kind(&self) -> &'static str {
        if self.namespace.is_some() { "DriftPolicy" } else { "ClusterDriftPolicy" }
    }
}

impl fmt::Display for PolicyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

fn text<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object.pointer(pointer).and_then(Value::as_str)
}

/// The `apiVersion` of a live object or manifest; empty when absent.
pub fn api_version_of(object: &Value) -> &str {
    text(object, "/apiVersion").unwrap_or_default()
}

/// The `kind` of a live object or manifest; empty when absent.
pub fn kind_of(object: &Value) -> &str {
    text(object, "/kind").unwrap_or_default()
}

/// The `metadata.namespace` of a live object or manifest; `None` when absent or empty.
pub fn namespace_of(object: &Value) -> Option<&str> {
    text(object, "/metadata/namespace").filter(|ns| !ns.is_empty())
}

/// The `metadata.name` of a live object or manifest; empty when absent.
pub fn name_of(object: &Value) -> &str {
    text(object, "/metadata/name").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_read_objects_and_print_for_people() {
        let web =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}});
        let key = ObjectKey::of(&web);
        assert_eq!(key.to_string(), "Deployment shop/web");
        assert_eq!(key.kind.group_version(), ("apps", "v1"));
        assert_eq!(KindKey::new("v1", "ConfigMap").group_version(), ("", "v1"));
        assert_eq!(KindKey::new("v1", "ConfigMap").to_string(), "ConfigMap.v1");
        assert!(key.is(&web));
        assert!(!key.is(&json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}})));
        let cluster = PolicyKey { namespace: None, name: "baseline".into() };
        assert_eq!((cluster.kind(), cluster.to_string()), ("ClusterDriftPolicy", "baseline".to_string()));
        let namespaced = PolicyKey { namespace: Some("shop".into()), name: "web".into() };
        assert_eq!((namespaced.kind(), namespaced.to_string()), ("DriftPolicy", "shop/web".to_string()));
    }

    #[test]
    fn an_empty_namespace_is_none() {
        let key = ObjectKey::of(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "namespace": ""}}),
        );
        assert_eq!(key, ObjectKey::new(KindKey::new("v1", "Namespace"), None, "shop"));
        assert_eq!(key.to_string(), "Namespace shop");
        assert_eq!(ObjectKey::of(&json!({})), ObjectKey::default(), "missing fields read as empty");
    }

    #[test]
    fn object_refs_convert_both_ways_and_print_alike() {
        let key = ObjectKey::new(KindKey::new("apps/v1", "Deployment"), Some("shop".into()), "web");
        let with_uid = key.to_ref(Some("u1".into()));
        assert_eq!(with_uid.uid.as_deref(), Some("u1"));
        assert_eq!(ObjectKey::from_ref(&with_uid), key, "the uid is not part of the key");
        assert_eq!(ObjectKey::from(with_uid.clone()), key);
        assert_eq!(with_uid.to_string(), key.to_string());
        let without_uid = ObjectRef::from(key.clone());
        assert_eq!(without_uid, key.to_ref(None));
    }
}

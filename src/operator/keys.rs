//! How the operator names kinds, objects, policies and exceptions.

use std::fmt;

use serde_json::Value;

use crate::api::ObjectRef;
use crate::engine::selector::ObjectKey;

/// A kind of object: `apiVersion` and `kind`, as policies name them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KindKey {
    pub api_version: String,
    pub kind: String,
}

impl KindKey {
    pub fn new(api_version: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { api_version: api_version.into(), kind: kind.into() }
    }

    /// The group and version, split.
    pub fn group_version(&self) -> (&str, &str) {
        self.api_version.rsplit_once('/').unwrap_or(("", &self.api_version))
    }
}

impl fmt::Display for KindKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.api_version)
    }
}

/// One object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjKey {
    pub kind: KindKey,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjKey {
    /// The key of a live object or manifest.
    pub fn of(object: &Value) -> Self {
        let key = ObjectKey::of(object);
        Self {
            kind: KindKey::new(key.api_version, key.kind),
            namespace: key.namespace.map(str::to_string),
            name: key.name.to_string(),
        }
    }

    /// The key of an object reference.
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
}

impl fmt::Display for ObjKey {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_read_objects_and_print_for_people() {
        let key = ObjKey::of(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}),
        );
        assert_eq!(key.to_string(), "Deployment shop/web");
        assert_eq!(key.kind.group_version(), ("apps", "v1"));
        assert_eq!(KindKey::new("v1", "ConfigMap").group_version(), ("", "v1"));
        assert_eq!(ObjKey::from_ref(&key.to_ref(None)), key);
        let cluster = PolicyKey { namespace: None, name: "baseline".into() };
        assert_eq!((cluster.kind(), cluster.to_string()), ("ClusterDriftPolicy", "baseline".to_string()));
    }
}

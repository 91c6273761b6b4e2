//! The cache of one watched kind: each object as its pruned JSON text.
//!
//! A pruned object as a `serde_json::Value` is a tree of maps, and every map, however few
//! its entries, costs a B-tree node of about 600 bytes: a pruned ConfigMap (metadata,
//! labels and one managedFields entry owning a label) held 5 to 7 KiB that way. Kept as
//! the compact JSON text it is a few hundred bytes, and it is read back into a `Value`
//! only while one object is evaluated or fixed (a few microseconds). The identity fields
//! read on every watch event (uid, resourceVersion) are read from the text without
//! building the tree.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::keys::ObjectKey;

/// One cached object: its pruned JSON text.
#[derive(Clone, PartialEq, Eq)]
struct Cached(Box<[u8]>);

/// What [`Cached::meta`] reads without building the object's tree.
#[derive(Deserialize, Default)]
struct Identity {
    #[serde(default)]
    metadata: IdentityMeta,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IdentityMeta {
    uid: Option<String>,
    resource_version: Option<String>,
}

impl Cached {
    fn new(object: &Value) -> Self {
        // A Value always serializes: its map keys are strings.
        Cached(serde_json::to_vec(object).unwrap_or_default().into_boxed_slice())
    }

    fn value(&self) -> Value {
        // The text was written from a Value above, so it always reads back.
        serde_json::from_slice(&self.0).unwrap_or(Value::Null)
    }

    fn meta(&self) -> IdentityMeta {
        serde_json::from_slice::<Identity>(&self.0).unwrap_or_default().metadata
    }
}

/// The cached objects of one kind, by key.
#[derive(Clone, Default)]
pub struct ObjectCache {
    objects: BTreeMap<ObjectKey, Cached>,
}

impl ObjectCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The object at `key`, read back from its text.
    pub fn get(&self, key: &ObjectKey) -> Option<Value> {
        self.objects.get(key).map(Cached::value)
    }

    /// The uid of the object at `key`.
    pub fn uid(&self, key: &ObjectKey) -> Option<String> {
        self.objects.get(key)?.meta().uid
    }

    /// The resourceVersion of the object at `key`.
    pub fn resource_version(&self, key: &ObjectKey) -> Option<String> {
        self.objects.get(key)?.meta().resource_version
    }

    /// Caches `object` (already pruned) at `key`, replacing what was there.
    pub fn insert(&mut self, key: ObjectKey, object: &Value) {
        self.objects.insert(key, Cached::new(object));
    }

    /// Removes the object at `key`; whether one was cached.
    pub fn remove(&mut self, key: &ObjectKey) -> bool {
        self.objects.remove(key).is_some()
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &ObjectKey> {
        self.objects.keys()
    }

    /// Every object, read back one at a time, in key order.
    pub fn values(&self) -> impl Iterator<Item = Value> + '_ {
        self.objects.values().map(Cached::value)
    }

    /// How many objects are cached.
    pub fn len(&self) -> usize {
        self.objects.len()
    }
}

impl std::fmt::Debug for ObjectCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectCache").field("objects", &self.objects.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(name: &str, uid: &str, version: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "shop", "uid": uid, "resourceVersion": version,
                "labels": {"team": "shop"}},
            "data": {"mode": "strict", "limit": 3, "ratio": 0.5, "on": true, "none": null, "list": [1, "two"]}})
    }

    #[test]
    fn an_object_reads_back_as_it_was_cached() {
        let mut cache = ObjectCache::new();
        let cm = object("a", "u-1", "7");
        let key = ObjectKey::of(&cm);
        cache.insert(key.clone(), &cm);
        assert_eq!(cache.get(&key), Some(cm));
        assert_eq!(cache.uid(&key).as_deref(), Some("u-1"));
        assert_eq!(cache.resource_version(&key).as_deref(), Some("7"));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn insert_replaces_and_remove_forgets() {
        let mut cache = ObjectCache::new();
        let key = ObjectKey::of(&object("a", "u-1", "7"));
        cache.insert(key.clone(), &object("a", "u-1", "7"));
        cache.insert(key.clone(), &object("a", "u-2", "9"));
        assert_eq!(cache.uid(&key).as_deref(), Some("u-2"));
        assert_eq!(cache.len(), 1);
        assert!(cache.remove(&key));
        assert!(!cache.remove(&key));
        assert_eq!(cache.len(), 0);
        assert_eq!(cache.get(&key), None);
        assert_eq!(cache.uid(&key), None);
    }

    #[test]
    fn an_object_without_identity_fields_has_none() {
        let mut cache = ObjectCache::new();
        let bare = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bare"}});
        let key = ObjectKey::of(&bare);
        cache.insert(key.clone(), &bare);
        assert_eq!(cache.uid(&key), None);
        assert_eq!(cache.resource_version(&key), None);
        assert_eq!(cache.values().collect::<Vec<_>>(), vec![bare]);
    }
}

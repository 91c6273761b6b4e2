//! The data behind the store lock and the only two ways it changes: `put` and `remove`.
//! Both take the next resourceVersion, keep the uid index and the served CRD kinds in
//! step, and record the change for watchers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;
use tokio::sync::broadcast;

use super::admit::Hook;
use super::history::{Change, ChangeKind, History};
use super::key::{ObjectKey, ObjectName};
use super::meta;
use crate::resources::{GroupResource, Registry, kinds_from_crd};

/// The resource of CustomResourceDefinitions.
pub fn crd_resource() -> GroupResource {
    GroupResource::new("apiextensions.k8s.io", "customresourcedefinitions")
}

/// The resource of Namespaces.
pub fn namespace_resource() -> GroupResource {
    GroupResource::new("", "namespaces")
}

/// Everything the store holds.
pub struct State {
    /// The newest resourceVersion handed out.
    pub rv: u64,
    /// The served kinds.
    pub registry: Registry,
    /// Objects per group and resource, ordered by namespace and name.
    pub objects: BTreeMap<GroupResource, BTreeMap<ObjectName, Arc<Value>>>,
    /// Where each uid lives.
    pub uids: HashMap<String, ObjectKey>,
    /// The changes watches can replay.
    pub history: History,
    /// Live changes for open watches.
    pub changes: broadcast::Sender<Arc<Change>>,
    /// Admits clients' writes.
    pub admission: Hook,
    /// Counts the writes to RBAC objects (Roles, ClusterRoles and their bindings).
    pub rbac_generation: u64,
}

/// The API group of the RBAC objects.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

impl State {
    /// An empty state.
    pub fn new(history_capacity: usize, channel_capacity: usize) -> Self {
        let (changes, _) = broadcast::channel(channel_capacity.max(16));
        State {
            rv: 0,
            registry: Registry::default(),
            objects: BTreeMap::new(),
            uids: HashMap::new(),
            history: History::new(history_capacity),
            changes,
            admission: Hook::default(),
            rbac_generation: 0,
        }
    }

    /// The stored object at `key`.
    pub fn get(&self, key: &ObjectKey) -> Option<&Arc<Value>> {
        self.objects.get(&key.resource)?.get(&key.name)
    }

    /// The stored object with this uid.
    pub fn get_by_uid(&self, uid: &str) -> Option<(ObjectKey, Arc<Value>)> {
        let key = self.uids.get(uid)?;
        Some((key.clone(), self.get(key)?.clone()))
    }

    /// Stores `object` at `key` under a new resourceVersion and tells watchers.
    pub fn put(&mut self, key: &ObjectKey, mut object: Value) -> Arc<Value> {
        self.rv += 1;
        if key.resource.group == RBAC_GROUP {
            self.rbac_generation += 1;
        }
        meta::set_resource_version(&mut object, self.rv);
        let object = Arc::new(object);
        let previous = self.objects.entry(key.resource.clone()).or_default().insert(key.name.clone(), object.clone());
        let uid = meta::uid(&object);
        if !uid.is_empty() {
            self.uids.insert(uid.to_string(), key.clone());
        }
        if key.resource == crd_resource()
            && let Ok(crd) = serde_json::from_value::<CustomResourceDefinition>((*object).clone())
            && let Ok(kinds) = kinds_from_crd(&crd)
        {
            self.registry.set_crd(&key.name.name, kinds);
        }
        let kind = if previous.is_some() { ChangeKind::Modified } else { ChangeKind::Added };
        self.record(kind, key, object.clone(), previous);
        object
    }

    /// Removes the object at `key` under a new resourceVersion and tells watchers; returns
    /// its last state, stamped with the deletion's resourceVersion.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Arc<Value>> {
        let previous = self.objects.get_mut(&key.resource)?.remove(&key.name)?;
        self.rv += 1;
        if key.resource.group == RBAC_GROUP {
            self.rbac_generation += 1;
        }
        let mut last = (*previous).clone();
        meta::set_resource_version(&mut last, self.rv);
        let last = Arc::new(last);
        self.uids.remove(meta::uid(&previous));
        if key.resource == crd_resource() {
            self.registry.remove_crd(&key.name.name);
        }
        self.record(ChangeKind::Deleted, key, last.clone(), Some(previous));
        Some(last)
    }

    fn record(&mut self, kind: ChangeKind, key: &ObjectKey, object: Arc<Value>, previous: Option<Arc<Value>>) {
        let change = Arc::new(Change { rv: self.rv, kind, key: key.clone(), object, previous });
        self.history.push(change.clone());
        // No receiver means no open watch; that is not an error.
        let _ = self.changes.send(change);
    }

    /// The keys of every object that names `owner_uid` in its ownerReferences.
    pub fn dependents_of(&self, owner_uid: &str) -> Vec<ObjectKey> {
        let mut found = Vec::new();
        for (resource, objects) in &self.objects {
            for (name, object) in objects {
                if meta::owner_uids(object).iter().any(|u| u == owner_uid) {
                    found.push(ObjectKey { resource: resource.clone(), name: name.clone() });
                }
            }
        }
        found
    }

    /// The keys of every object in namespace `namespace`.
    pub fn contents_of_namespace(&self, namespace: &str) -> Vec<ObjectKey> {
        let mut found = Vec::new();
        for (resource, objects) in &self.objects {
            for name in objects.keys().filter(|n| n.namespace == namespace) {
                found.push(ObjectKey { resource: resource.clone(), name: name.clone() });
            }
        }
        found
    }

    /// The keys of every object of a resource.
    pub fn keys_of(&self, resource: &GroupResource) -> Vec<ObjectKey> {
        self.objects
            .get(resource)
            .map(|objects| {
                objects.keys().map(|name| ObjectKey { resource: resource.clone(), name: name.clone() }).collect()
            })
            .unwrap_or_default()
    }
}

//! The data behind the store lock and the only two ways it changes: `put` and `remove`.
//! Both take the next resourceVersion, keep the uid index, the other indexes and the
//! served CRD kinds in step, and record the change for watchers. (A snapshot's restore
//! loads objects through `restore`, which keeps the same indexes.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;
use tokio::sync::broadcast;

use super::admit::Hook;
use super::history::{Change, ChangeKind, History};
use super::index::{Indexes, Scope};
use super::key::{ObjectKey, ObjectName};
use super::meta;
use super::selector::LabelSelector;
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
    objects: BTreeMap<GroupResource, BTreeMap<ObjectName, Arc<Value>>>,
    /// Where each uid lives.
    uids: HashMap<String, ObjectKey>,
    /// Owners' dependents, namespaces' contents and label values' objects.
    indexes: Indexes,
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
            indexes: Indexes::default(),
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
        self.indexes.replace(key, previous.as_deref(), Some(&object));
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
        self.indexes.replace(key, Some(&previous), None);
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

    /// Stores `object` at `key` as it is, keeping its resourceVersion and recording no
    /// change: how a snapshot's objects are loaded into a new store.
    pub fn restore(&mut self, key: ObjectKey, object: Value) {
        let uid = meta::uid(&object);
        if !uid.is_empty() {
            self.uids.insert(uid.to_string(), key.clone());
        }
        let object = Arc::new(object);
        let previous = self.objects.entry(key.resource.clone()).or_default().insert(key.name.clone(), object.clone());
        self.indexes.replace(&key, previous.as_deref(), Some(&object));
    }

    /// The objects of `resource`, in namespace and name order.
    pub fn objects_of(&self, resource: &GroupResource) -> Option<&BTreeMap<ObjectName, Arc<Value>>> {
        self.objects.get(resource)
    }

    /// Every resource that holds objects, with its objects in namespace and name order.
    pub fn resources(&self) -> impl Iterator<Item = (&GroupResource, &BTreeMap<ObjectName, Arc<Value>>)> {
        self.objects.iter()
    }

    /// Whether an object with this uid is stored.
    pub fn has_uid(&self, uid: &str) -> bool {
        self.uids.contains_key(uid)
    }

    /// The keys of every object that names `owner_uid` in its ownerReferences.
    pub fn dependents_of(&self, owner_uid: &str) -> Vec<ObjectKey> {
        self.indexes.owners.dependents_of(owner_uid)
    }

    /// Whether any object names `owner_uid` in its ownerReferences.
    pub fn has_dependents(&self, owner_uid: &str) -> bool {
        self.indexes.owners.has_dependents(owner_uid)
    }

    /// The keys of every object in namespace `namespace`, by resource, then name.
    pub fn contents_of_namespace(&self, namespace: &str) -> Vec<ObjectKey> {
        let scope = Scope { namespace: Some(namespace), after: None };
        let mut found = Vec::new();
        for resource in self.indexes.namespaces.resources_in(namespace) {
            let objects = self.objects.get(resource).into_iter().flat_map(|objects| scope.entries(objects));
            found.extend(objects.map(|(name, _)| ObjectKey { resource: resource.clone(), name: name.clone() }));
        }
        found
    }

    /// Whether namespace `namespace` holds any object.
    pub fn namespace_holds_any(&self, namespace: &str) -> bool {
        self.indexes.namespaces.holds_any(namespace)
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

    /// Whether any object of `resource` is stored.
    pub fn has_objects(&self, resource: &GroupResource) -> bool {
        self.objects.get(resource).is_some_and(|objects| !objects.is_empty())
    }

    /// How many objects of `resource` are in `namespace` (`None`: in every namespace).
    pub fn count(&self, resource: &GroupResource, namespace: Option<&str>) -> usize {
        match namespace {
            Some(namespace) => self.indexes.namespaces.count(namespace, resource),
            None => self.objects.get(resource).map_or(0, BTreeMap::len),
        }
    }

    /// The objects of `resource` in `scope` that may match `labels`, in namespace and
    /// name order; the caller still tests the selectors. Read from the label index when
    /// one of the selector's equalities (`a=b`) narrows the objects more than the scope
    /// does, else every object in the scope.
    pub fn candidates<'s>(
        &'s self,
        resource: &GroupResource,
        scope: Scope<'_>,
        labels: &LabelSelector,
    ) -> Box<dyn Iterator<Item = (&'s ObjectName, &'s Arc<Value>)> + 's> {
        let Some(objects) = self.objects.get(resource) else { return Box::new(std::iter::empty()) };
        let carrying: Option<Vec<&BTreeSet<ObjectName>>> =
            labels.equalities().map(|(label, value)| self.indexes.labels.carrying(resource, label, value)).collect();
        // Some required label value is carried by no object at all.
        let Some(carrying) = carrying else { return Box::new(std::iter::empty()) };
        match carrying.into_iter().min_by_key(|names| names.len()) {
            Some(names) if names.len() < self.count(resource, scope.namespace) => {
                Box::new(scope.names(names).filter_map(|name| objects.get_key_value(name)))
            }
            _ => Box::new(scope.entries(objects)),
        }
    }

    /// The indexes, for tests that check they match the objects.
    #[cfg(test)]
    pub fn indexes(&self) -> &Indexes {
        &self.indexes
    }
}

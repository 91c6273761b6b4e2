//! How many objects of each resource each namespace holds.

use std::collections::{BTreeMap, HashMap};

use crate::resources::GroupResource;
use crate::store::key::ObjectKey;

/// Namespace (empty for cluster-scoped objects) to its resources that hold objects there,
/// with how many. A namespace or resource that holds nothing has no entry.
#[derive(Debug, Default, PartialEq)]
pub struct NamespaceCounts {
    by_namespace: HashMap<String, BTreeMap<GroupResource, usize>>,
}

impl NamespaceCounts {
    /// Records that an object at `key` exists now (`is`) where it did (`was`) or not.
    pub fn replace(&mut self, key: &ObjectKey, was: bool, is: bool) {
        match (was, is) {
            (false, true) => self.add(key),
            (true, false) => self.subtract(key),
            _ => {}
        }
    }

    fn add(&mut self, key: &ObjectKey) {
        let resources = self.by_namespace.entry(key.name.namespace.clone()).or_default();
        *resources.entry(key.resource.clone()).or_default() += 1;
    }

    fn subtract(&mut self, key: &ObjectKey) {
        let Some(resources) = self.by_namespace.get_mut(&key.name.namespace) else { return };
        if let Some(count) = resources.get_mut(&key.resource) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                resources.remove(&key.resource);
            }
        }
        if resources.is_empty() {
            self.by_namespace.remove(&key.name.namespace);
        }
    }

    /// How many objects of `resource` are in `namespace`.
    pub fn count(&self, namespace: &str, resource: &GroupResource) -> usize {
        self.by_namespace.get(namespace).and_then(|r| r.get(resource)).copied().unwrap_or(0)
    }

    /// The resources that hold objects in `namespace`, in order.
    pub fn resources_in(&self, namespace: &str) -> impl Iterator<Item = &GroupResource> {
        self.by_namespace.get(namespace).into_iter().flat_map(BTreeMap::keys)
    }

    /// Whether `namespace` holds any object.
    pub fn holds_any(&self, namespace: &str) -> bool {
        self.by_namespace.contains_key(namespace)
    }
}

//! The objects carrying each label value, per resource, for equality selectors.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::resources::GroupResource;
use crate::store::key::{ObjectKey, ObjectName};
use crate::store::meta;

/// Label value to the objects carrying it.
type ByValue = HashMap<String, BTreeSet<ObjectName>>;

/// Per resource and label key, each value's objects in namespace and name order. A value
/// no object carries has no entry. Labels whose value is not a string are not indexed
/// (no selector can match them).
#[derive(Debug, Default, PartialEq)]
pub struct LabelIndex {
    by_resource: HashMap<GroupResource, HashMap<String, ByValue>>,
}

/// The string-valued labels of `object`.
fn labels_of(object: &Value) -> Vec<(&str, &str)> {
    meta::labels(object)
        .map(|labels| labels.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect())
        .unwrap_or_default()
}

impl LabelIndex {
    /// Records that the object at `key` is now `new` where it was `old`.
    pub fn replace(&mut self, key: &ObjectKey, old: Option<&Value>, new: Option<&Value>) {
        let before = old.map(labels_of).unwrap_or_default();
        let after = new.map(labels_of).unwrap_or_default();
        if before == after {
            return;
        }
        for (label, value) in before.iter().filter(|pair| !after.contains(pair)) {
            self.unlink(key, label, value);
        }
        for (label, value) in after.iter().filter(|pair| !before.contains(pair)) {
            self.link(key, label, value);
        }
    }

    fn link(&mut self, key: &ObjectKey, label: &str, value: &str) {
        let labels = self.by_resource.entry(key.resource.clone()).or_default();
        let values = labels.entry(label.to_string()).or_default();
        values.entry(value.to_string()).or_default().insert(key.name.clone());
    }

    fn unlink(&mut self, key: &ObjectKey, label: &str, value: &str) {
        let Some(labels) = self.by_resource.get_mut(&key.resource) else { return };
        if let Some(values) = labels.get_mut(label) {
            if let Some(names) = values.get_mut(value) {
                names.remove(&key.name);
                if names.is_empty() {
                    values.remove(value);
                }
            }
            if values.is_empty() {
                labels.remove(label);
            }
        }
        if labels.is_empty() {
            self.by_resource.remove(&key.resource);
        }
    }

    /// The objects of `resource` whose label `label` is `value`, or `None` when none is.
    pub fn carrying(&self, resource: &GroupResource, label: &str, value: &str) -> Option<&BTreeSet<ObjectName>> {
        self.by_resource.get(resource)?.get(label)?.get(value)
    }
}

//! The dependents of each owner: who names a uid in its ownerReferences.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::store::key::ObjectKey;
use crate::store::meta;

/// Owner uid to the keys of the objects that name it in `metadata.ownerReferences`. An
/// owner need not exist: dependents of a deleted owner stay listed until they change.
#[derive(Debug, Default, PartialEq)]
pub struct OwnerIndex {
    dependents: HashMap<String, BTreeSet<ObjectKey>>,
}

impl OwnerIndex {
    /// Records that the object at `key` is now `new` where it was `old`.
    pub fn replace(&mut self, key: &ObjectKey, old: Option<&Value>, new: Option<&Value>) {
        let before = old.map(meta::owner_uids).unwrap_or_default();
        let after = new.map(meta::owner_uids).unwrap_or_default();
        if before == after {
            return;
        }
        for uid in before.iter().filter(|uid| !after.contains(uid)) {
            self.unlink(uid, key);
        }
        for uid in after.into_iter().filter(|uid| !before.contains(uid)) {
            self.dependents.entry(uid).or_default().insert(key.clone());
        }
    }

    fn unlink(&mut self, owner_uid: &str, key: &ObjectKey) {
        if let Some(keys) = self.dependents.get_mut(owner_uid) {
            keys.remove(key);
            if keys.is_empty() {
                self.dependents.remove(owner_uid);
            }
        }
    }

    /// The keys of the objects that name `owner_uid`, in resource, namespace and name order.
    pub fn dependents_of(&self, owner_uid: &str) -> Vec<ObjectKey> {
        self.dependents.get(owner_uid).map(|keys| keys.iter().cloned().collect()).unwrap_or_default()
    }

    /// Whether any object names `owner_uid`.
    pub fn has_dependents(&self, owner_uid: &str) -> bool {
        self.dependents.contains_key(owner_uid)
    }
}

//! Indexes over the stored objects, so that deletions, garbage collection and lists cost
//! what they touch rather than what the store holds: the dependents of each owner, the
//! objects of each namespace, and the objects carrying each label value. `State::put`,
//! `State::remove` and a snapshot's restore keep them in step with the objects; nothing
//! else writes them.

mod labels;
mod namespaces;
mod owners;
mod scope;

pub use labels::LabelIndex;
pub use namespaces::NamespaceCounts;
pub use owners::OwnerIndex;
pub use scope::Scope;

use serde_json::Value;

use super::key::ObjectKey;

/// Every index, updated together.
#[derive(Debug, Default, PartialEq)]
pub struct Indexes {
    /// Owner uid to the objects whose ownerReferences name it.
    pub owners: OwnerIndex,
    /// Label key and value to the objects carrying them, per resource.
    pub labels: LabelIndex,
    /// How many objects of each resource each namespace holds.
    pub namespaces: NamespaceCounts,
}

impl Indexes {
    /// Records that the object at `key` is now `new` where it was `old` (`None`: absent).
    pub fn replace(&mut self, key: &ObjectKey, old: Option<&Value>, new: Option<&Value>) {
        self.owners.replace(key, old, new);
        self.labels.replace(key, old, new);
        self.namespaces.replace(key, old.is_some(), new.is_some());
    }
}

#[cfg(test)]
mod tests;

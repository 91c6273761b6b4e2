//! The bounded history of changes that watches replay from a resourceVersion.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::Value;

use super::key::ObjectKey;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The object was created.
    Added,
    /// The object was changed.
    Modified,
    /// The object was removed.
    Deleted,
}

/// One committed change, as watchers see it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The resourceVersion of the change.
    pub rv: u64,
    /// What happened.
    pub kind: ChangeKind,
    /// Which object.
    pub key: ObjectKey,
    /// The object after the change (for deletions: its last state, at the deletion's
    /// resourceVersion).
    pub object: Arc<Value>,
    /// The object before the change, for modifications and deletions.
    pub previous: Option<Arc<Value>>,
}

/// The retained changes, oldest first, and how far history has been compacted.
#[derive(Debug)]
pub struct History {
    changes: VecDeque<Arc<Change>>,
    capacity: usize,
    compacted_through: u64,
}

impl History {
    /// An empty history that keeps at most `capacity` changes.
    pub fn new(capacity: usize) -> Self {
        History {
            changes: VecDeque::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            compacted_through: 0,
        }
    }

    /// Records a change, forgetting the oldest one when full.
    pub fn push(&mut self, change: Arc<Change>) {
        if self.changes.len() == self.capacity
            && let Some(evicted) = self.changes.pop_front()
        {
            self.compacted_through = evicted.rv;
        }
        self.changes.push_back(change);
    }

    /// The newest resourceVersion that can no longer be watched from (every change up to
    /// and including it is forgotten).
    pub fn compacted_through(&self) -> u64 {
        self.compacted_through
    }

    /// Whether a watch or continued list from `rv` can still be served.
    pub fn covers(&self, rv: u64) -> bool {
        rv >= self.compacted_through
    }

    /// The changes after `rv`, oldest first, or `None` when some were compacted away.
    pub fn since(&self, rv: u64) -> Option<Vec<Arc<Change>>> {
        if !self.covers(rv) {
            return None;
        }
        let start = self.changes.partition_point(|c| c.rv <= rv);
        Some(self.changes.range(start..).cloned().collect())
    }

    /// Forgets every change up to `through`.
    pub fn compact(&mut self, through: u64) {
        while self.changes.front().is_some_and(|c| c.rv <= through) {
            self.changes.pop_front();
        }
        self.compacted_through = self.compacted_through.max(through);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::GroupResource;

    fn change(rv: u64) -> Arc<Change> {
        Arc::new(Change {
            rv,
            kind: ChangeKind::Added,
            key: ObjectKey::new(GroupResource::new("", "configmaps"), Some("ns"), "x"),
            object: Arc::new(Value::Null),
            previous: None,
        })
    }

    #[test]
    fn eviction_compacts_and_expires_old_versions() {
        let mut h = History::new(2);
        for rv in 1..=3 {
            h.push(change(rv));
        }
        assert_eq!(h.compacted_through(), 1);
        assert!(h.since(0).is_none());
        assert_eq!(h.since(1).expect("covered").iter().map(|c| c.rv).collect::<Vec<_>>(), vec![2, 3]);
        h.compact(3);
        assert!(h.since(2).is_none());
        assert_eq!(h.since(3).expect("covered").len(), 0);
    }
}

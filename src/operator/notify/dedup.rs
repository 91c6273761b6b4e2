//! A bounded set of the event ids a sink has been sent (or has queued), so one occurrence
//! is never delivered twice.

use std::collections::{HashSet, VecDeque};

/// Remembers up to `capacity` ids; the oldest is forgotten first.
#[derive(Debug)]
pub struct DedupSet {
    capacity: usize,
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl DedupSet {
    /// An empty set holding at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        DedupSet { capacity, ids: HashSet::new(), order: VecDeque::new() }
    }

    /// Records `id`; false when it was already there.
    pub fn insert(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        while self.order.len() >= self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
        self.ids.insert(id.to_string());
        self.order.push_back(id.to_string());
        true
    }

    /// Forgets `id` (a delivery that failed may be sent again later).
    pub fn remove(&mut self, id: &str) {
        if self.ids.remove(id) {
            self.order.retain(|kept| kept != id);
        }
    }

    /// Whether `id` is remembered.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_accepted_once() {
        let mut set = DedupSet::new(4);
        assert!(set.insert("a"));
        assert!(!set.insert("a"));
        assert!(set.insert("b"));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn the_oldest_id_is_forgotten_at_capacity() {
        let mut set = DedupSet::new(2);
        assert!(set.insert("a"));
        assert!(set.insert("b"));
        assert!(set.insert("c"));
        assert!(!set.contains("a"));
        assert!(set.contains("b") && set.contains("c"));
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn a_removed_id_can_be_sent_again() {
        let mut set = DedupSet::new(2);
        set.insert("a");
        set.remove("a");
        assert!(set.is_empty());
        assert!(set.insert("a"));
        set.insert("b");
        set.insert("c");
        assert_eq!(set.len(), 2);
    }
}

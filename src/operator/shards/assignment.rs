//! What a replica may act on now: the shards it holds, and until when.

use std::collections::BTreeSet;
use std::time::Instant;

use super::hash::shard_of_key;
use crate::keys::ObjectKey;

/// The shards this replica may act on, published by the
/// [`ShardManager`](super::ShardManager) whenever the set changes or its Leases are renewed.
///
/// The set is valid only until [`until`](Self::until): a replica whose manager could not
/// renew in time (an unreachable API server, a starved task) must not act on a shard past
/// that instant, whether or not a newer `Assignment` arrived, because another replica may
/// take the shard soon after. [`acts_on`](Self::acts_on) checks both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    shards: BTreeSet<u32>,
    until: Option<Instant>,
    total: u32,
}

impl Assignment {
    /// No shard, out of `total`.
    pub fn none(total: u32) -> Self {
        Assignment { shards: BTreeSet::new(), until: None, total }
    }

    /// `shards` out of `total`, valid until `until`.
    pub fn new(shards: BTreeSet<u32>, until: Instant, total: u32) -> Self {
        match shards.is_empty() {
            true => Assignment::none(total),
            false => Assignment { shards, until: Some(until), total },
        }
    }

    /// The shards acted on (until [`until`](Self::until)).
    pub fn shards(&self) -> &BTreeSet<u32> {
        &self.shards
    }

    /// The instant from which none of [`shards`](Self::shards) may be acted on any more
    /// unless a newer `Assignment` says so; `None` when there is no shard.
    pub fn until(&self) -> Option<Instant> {
        self.until
    }

    /// How many shards the set has.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Whether no shard is acted on.
    pub fn is_empty(&self) -> bool {
        self.shards.is_empty()
    }

    /// Whether `shard` may be acted on at `now`.
    pub fn acts_on(&self, shard: u32, now: Instant) -> bool {
        self.until.is_some_and(|until| now < until) && self.shards.contains(&shard)
    }

    /// Whether the object `key` may be acted on at `now`: whether its shard may.
    pub fn acts_on_object(&self, key: &ObjectKey, now: Instant) -> bool {
        self.acts_on(shard_of_key(key, self.total), now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::keys::KindKey;

    #[test]
    fn an_assignment_holds_only_until_its_deadline() {
        let now = Instant::now();
        let assignment = Assignment::new(BTreeSet::from([0, 2]), now + Duration::from_secs(5), 4);
        assert!(assignment.acts_on(0, now) && assignment.acts_on(2, now + Duration::from_secs(4)));
        assert!(!assignment.acts_on(1, now), "not held");
        assert!(!assignment.acts_on(0, now + Duration::from_secs(5)), "past its deadline");
        let empty = Assignment::new(BTreeSet::new(), now + Duration::from_secs(5), 4);
        assert_eq!(empty, Assignment::none(4));
        assert!(empty.is_empty() && empty.until().is_none());
    }

    #[test]
    fn with_one_shard_everything_is_acted_on_by_its_holder() {
        let now = Instant::now();
        let all = Assignment::new(BTreeSet::from([0]), now + Duration::from_secs(5), 1);
        for i in 0..100 {
            let key = ObjectKey::new(KindKey::new("v1", "ConfigMap"), Some("shop".into()), format!("c{i}"));
            assert!(all.acts_on_object(&key, now));
            assert!(!Assignment::none(1).acts_on_object(&key, now));
        }
    }
}

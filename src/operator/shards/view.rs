//! What a replica has seen of the Leases of its shard set, and since when.
//!
//! Expiry is judged the way client-go's leader election judges it: not from the
//! `renewTime` a holder wrote with its own clock, but from when *this* replica first saw
//! the Lease's current version. A replica sees a version only after it was written, so a
//! Lease it considers expired was renewed by its holder at least a Lease duration ago, by
//! any clock; clock offsets between nodes do not matter.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::runtime::watcher;

use super::settings::ShardSettings;

/// The annotation of a membership Lease that gives the shard count its replica uses.
pub const SHARDS_ANNOTATION: &str = "driftwarden.dev/shards";

/// One Lease as this replica last saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Who holds it; `None` when free.
    pub holder: Option<String>,
    /// How long it holds without renewal, as its holder wrote.
    pub duration: Duration,
    /// Its `resourceVersion`.
    pub version: String,
    /// When this replica first saw this version.
    pub since: Instant,
    /// For a membership Lease, the shard count of its replica.
    pub shards: Option<u32>,
}

impl Seen {
    /// The holder while its term lasts, as seen from here at `now`.
    pub fn live_holder(&self, now: Instant) -> Option<&str> {
        self.holder.as_deref().filter(|_| now < self.expires())
    }

    /// When the term of the current version ends, as seen from here.
    pub fn expires(&self) -> Instant {
        self.since + self.duration
    }
}

/// Which Lease of the set a name is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Slot {
    Shard(u32),
    Member(String),
}

/// The Leases of one shard set, kept from a watch and from this replica's own writes.
#[derive(Clone, Debug)]
pub struct View {
    base: String,
    shards: u32,
    default_duration: Duration,
    synced_at: Option<Instant>,
    shard_leases: BTreeMap<u32, Seen>,
    members: BTreeMap<String, Seen>,
    /// The names listed so far while the watch lists again.
    relisting: Option<BTreeSet<String>>,
}

impl View {
    /// An empty view, not yet listed.
    pub fn new(settings: &ShardSettings) -> Self {
        View {
            base: settings.base_name.clone(),
            shards: settings.shards,
            default_duration: settings.lease_duration,
            synced_at: None,
            shard_leases: BTreeMap::new(),
            members: BTreeMap::new(),
            relisting: None,
        }
    }

    /// When the set was first listed whole; `None` before.
    pub fn synced_at(&self) -> Option<Instant> {
        self.synced_at
    }

    /// Shard `shard`'s Lease, if it exists.
    pub fn shard(&self, shard: u32) -> Option<&Seen> {
        self.shard_leases.get(&shard)
    }

    /// The shard Leases that exist, by shard.
    pub fn shards(&self) -> &BTreeMap<u32, Seen> {
        &self.shard_leases
    }

    /// The membership Leases, by name.
    pub fn members(&self) -> &BTreeMap<String, Seen> {
        &self.members
    }

    /// Takes in one event of the watch on the set's Leases.
    pub fn event(&mut self, event: watcher::Event<Lease>, now: Instant) {
        match event {
            watcher::Event::Init => self.relisting = Some(BTreeSet::new()),
            watcher::Event::InitApply(lease) => {
                if let (Some(listed), Some(name)) = (self.relisting.as_mut(), lease.metadata.name.as_ref()) {
                    listed.insert(name.clone());
                }
                self.saw(&lease, now);
            }
            watcher::Event::InitDone => {
                if let Some(listed) = self.relisting.take() {
                    let base = &self.base;
                    self.shard_leases.retain(|shard, _| listed.contains(&shard_name(base, *shard)));
                    self.members.retain(|name, _| listed.contains(name));
                }
                self.synced_at.get_or_insert(now);
            }
            watcher::Event::Apply(lease) => self.saw(&lease, now),
            watcher::Event::Delete(lease) => {
                if let Some(name) = lease.metadata.name.as_deref() {
                    self.forget(name);
                }
            }
        }
    }

    /// Takes in a Lease this replica wrote (the response to its own request), unless the
    /// watch already showed a newer version.
    pub fn wrote(&mut self, lease: &Lease, now: Instant) {
        let Some(name) = lease.metadata.name.as_deref() else { return };
        let known = match self.slot(name) {
            Some(Slot::Shard(shard)) => self.shard_leases.get(&shard),
            Some(Slot::Member(name)) => self.members.get(&name),
            None => return,
        };
        let version = lease.metadata.resource_version.as_deref().unwrap_or_default();
        if known.is_none_or(|known| !is_older(version, &known.version)) {
            self.saw(lease, now);
        }
    }

    /// Forgets a Lease that was deleted.
    pub fn forget(&mut self, name: &str) {
        match self.slot(name) {
            Some(Slot::Shard(shard)) => {
                self.shard_leases.remove(&shard);
            }
            Some(Slot::Member(name)) => {
                self.members.remove(&name);
            }
            None => {}
        }
    }

    fn saw(&mut self, lease: &Lease, now: Instant) {
        let Some(slot) = lease.metadata.name.as_deref().and_then(|name| self.slot(name)) else { return };
        let entry = match &slot {
            Slot::Shard(shard) => self.shard_leases.get(shard),
            Slot::Member(name) => self.members.get(name),
        };
        let version = lease.metadata.resource_version.clone().unwrap_or_default();
        let since = match entry {
            Some(previous) if previous.version == version => previous.since,
            _ => now,
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let duration = spec
            .lease_duration_seconds
            .and_then(|seconds| u64::try_from(seconds).ok())
            .filter(|seconds| *seconds > 0)
            .map_or(self.default_duration, Duration::from_secs);
        let seen = Seen {
            holder: spec.holder_identity.filter(|holder| !holder.is_empty()),
            duration,
            version,
            since,
            shards: lease
                .metadata
                .annotations
                .as_ref()
                .and_then(|annotations| annotations.get(SHARDS_ANNOTATION))
                .and_then(|count| count.parse().ok()),
        };
        match slot {
            Slot::Shard(shard) => self.shard_leases.insert(shard, seen),
            Slot::Member(name) => self.members.insert(name, seen),
        };
    }

    /// Which Lease of the set `name` is; `None` for other Leases and for shards beyond
    /// the count (left from a larger set).
    fn slot(&self, name: &str) -> Option<Slot> {
        let rest = name.strip_prefix(self.base.as_str())?;
        if let Some(index) = rest.strip_prefix("-shard-") {
            let shard: u32 = index.parse().ok()?;
            return (shard < self.shards && index == shard.to_string()).then_some(Slot::Shard(shard));
        }
        rest.strip_prefix("-member-").filter(|identity| !identity.is_empty()).map(|_| Slot::Member(name.to_string()))
    }
}

/// The name of shard `shard`'s Lease in the set `base`.
pub fn shard_name(base: &str, shard: u32) -> String {
    format!("{base}-shard-{shard}")
}

/// Whether `version` is older than `known`: both numbers (as the API server's are in
/// practice), the first smaller. Versions that are not numbers are never older.
fn is_older(version: &str, known: &str) -> bool {
    match (version.parse::<u64>(), known.parse::<u64>()) {
        (Ok(version), Ok(known)) => version < known,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn settings() -> ShardSettings {
        ShardSettings { identity: "me".to_string(), ..ShardSettings::new("ns", "dw", 4) }
    }

    fn lease(name: &str, holder: Option<&str>, version: u64) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                resource_version: Some(version.to_string()),
                annotations: Some(BTreeMap::from([(SHARDS_ANNOTATION.to_string(), "4".to_string())])),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                lease_duration_seconds: Some(3),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn expiry_counts_from_when_a_version_was_first_seen() {
        let mut view = View::new(&settings());
        let t0 = Instant::now();
        view.event(watcher::Event::Init, t0);
        view.event(watcher::Event::InitApply(lease("dw-shard-1", Some("a"), 5)), t0);
        view.event(watcher::Event::InitDone, t0);
        assert_eq!(view.synced_at(), Some(t0));
        let seen = view.shard(1).unwrap();
        assert_eq!((seen.holder.as_deref(), seen.duration), (Some("a"), Duration::from_secs(3)));
        // The same version again (a relist) does not restart the term; a new one does.
        let t1 = t0 + Duration::from_secs(2);
        view.event(watcher::Event::Apply(lease("dw-shard-1", Some("a"), 5)), t1);
        assert_eq!(view.shard(1).unwrap().since, t0);
        assert_eq!(view.shard(1).unwrap().live_holder(t0 + Duration::from_secs(3)), None, "expired");
        view.event(watcher::Event::Apply(lease("dw-shard-1", Some("a"), 6)), t1);
        assert_eq!(view.shard(1).unwrap().live_holder(t0 + Duration::from_secs(3)), Some("a"));
    }

    #[test]
    fn own_writes_never_replace_a_newer_version() {
        let mut view = View::new(&settings());
        let now = Instant::now();
        view.event(watcher::Event::Apply(lease("dw-shard-0", Some("other"), 9)), now);
        view.wrote(&lease("dw-shard-0", Some("me"), 8), now);
        assert_eq!(view.shard(0).unwrap().holder.as_deref(), Some("other"));
        view.wrote(&lease("dw-shard-0", Some("me"), 10), now);
        assert_eq!(view.shard(0).unwrap().holder.as_deref(), Some("me"));
    }

    #[test]
    fn only_the_sets_own_leases_are_kept_and_a_relist_drops_deleted_ones() {
        let mut view = View::new(&settings());
        let now = Instant::now();
        for name in
            ["dw-shard-0", "dw-shard-4", "dw-shard-01", "dw-member-pod-a", "dw-member-", "other-shard-1", "dw-x"]
        {
            view.event(watcher::Event::Apply(lease(name, Some("a"), 1)), now);
        }
        assert_eq!(view.shards().keys().copied().collect::<Vec<_>>(), [0], "shard 4 is beyond the count");
        assert_eq!(view.members().keys().cloned().collect::<Vec<_>>(), ["dw-member-pod-a"]);
        assert_eq!(view.members()["dw-member-pod-a"].shards, Some(4));
        view.event(watcher::Event::Init, now);
        view.event(watcher::Event::InitApply(lease("dw-member-pod-a", Some("a"), 1)), now);
        view.event(watcher::Event::InitDone, now);
        assert!(view.shards().is_empty(), "shard 0 was deleted while the watch was down");
        view.event(watcher::Event::Delete(lease("dw-member-pod-a", None, 2)), now);
        assert!(view.members().is_empty());
    }
}

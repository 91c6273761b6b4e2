//! The decisions of one replica, without IO: which shard Leases to take, renew and
//! release, when to renew its membership, and which shards it may act on — from the
//! [`View`] of the Leases, the outcomes of its own requests, and the time.
//!
//! [`Table::plan`] answers a [`Plan`] (the [`Assignment`] to publish, the requests to send,
//! when to plan again); the manager sends the requests and hands each outcome back to
//! [`Table::record`]. A request is planned again only after its outcome came back.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::assignment::Assignment;
use super::hash::text_hash;
use super::settings::ShardSettings;
use super::view::View;

/// The most requests under way at once: a renewal round of many shards is sent a few at a
/// time rather than as a burst of connections.
pub const MAX_REQUESTS: usize = 16;

/// The shortest wait before a failed request is tried again.
const MIN_RETRY: Duration = Duration::from_millis(100);

/// A request about one Lease of the set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Become the holder of `shard`'s Lease, if it is still at `version` (`None`: create
    /// it).
    Take {
        /// The shard.
        shard: u32,
        /// The version seen, which must still be the Lease's.
        version: Option<String>,
    },
    /// Renew `shard`'s Lease, if it is still at `version` (the last one written here).
    Renew {
        /// The shard.
        shard: u32,
        /// The version written last.
        version: String,
    },
    /// Free `shard`'s Lease, if it is still held here.
    Release {
        /// The shard.
        shard: u32,
        /// The version written last.
        version: String,
    },
    /// Renew this replica's membership Lease, at `version` (`None`: create it).
    KeepMember {
        /// The version seen.
        version: Option<String>,
    },
    /// Delete a membership Lease, if still at `version` (`None`: whatever it is).
    ForgetMember {
        /// The Lease's name.
        name: String,
        /// The version seen.
        version: Option<String>,
    },
}

/// What a [`Request`] is about, so that only one request per Lease is under way.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    Shard(u32),
    Member(String),
}

impl Request {
    fn target(&self, own_member: &str) -> Target {
        match self {
            Request::Take { shard, .. } | Request::Renew { shard, .. } | Request::Release { shard, .. } => {
                Target::Shard(*shard)
            }
            Request::KeepMember { .. } => Target::Member(own_member.to_string()),
            Request::ForgetMember { name, .. } => Target::Member(name.clone()),
        }
    }
}

/// How a [`Request`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Written. `started` is when the request was sent: a term counts from then, since
    /// the API server may have written it at any moment after.
    Done {
        /// When the request was sent.
        started: Instant,
        /// The Lease's new version (`None` after a deletion).
        version: Option<String>,
    },
    /// The Lease was not at the version named (another replica wrote it), already
    /// existed, or (for a release) is no longer held here.
    Conflict,
    /// Any other failure (the API server unreachable, a timeout, an error status): the
    /// Lease may or may not have been written.
    Failed,
}

/// A shard this replica holds.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Held {
    /// When the request of the last successful write was sent.
    renewed: Instant,
    /// Whether the last renewal succeeded; after a failure the shard is not acted on
    /// until a renewal succeeds again.
    confirmed: bool,
    /// The version written last.
    version: String,
    /// When to renew next.
    next_renew: Instant,
    /// When given up: the instant from which its Lease may be released.
    release_at: Option<Instant>,
}

/// A take that failed, not tried again for the same version within a renew period.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Tried {
    version: Option<String>,
    at: Instant,
}

/// What to do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The shards to act on now.
    pub assignment: Assignment,
    /// The requests to send (each answered by [`Table::record`]).
    pub requests: Vec<Request>,
    /// When to plan again at the latest (sooner on a watch event or an outcome).
    pub wake_at: Instant,
    /// Whether a live replica uses another shard count: nothing is acted on then.
    pub paused: bool,
}

/// One replica's shard decisions.
#[derive(Clone, Debug)]
pub struct Table {
    identity: String,
    own_member: String,
    shards: u32,
    lease_duration: Duration,
    renew_period: Duration,
    safety_margin: Duration,
    handoff_delay: Duration,
    /// Where this replica starts looking for free shards, so that replicas starting
    /// together try different shards first.
    first: u32,
    held: BTreeMap<u32, Held>,
    tried: BTreeMap<u32, Tried>,
    busy: BTreeSet<Target>,
    member_next: Instant,
    sweep_next: Instant,
    stopping: bool,
}

impl Table {
    /// A replica holding nothing, at `now`. `settings` are valid.
    pub fn new(settings: &ShardSettings, now: Instant) -> Self {
        let first = u32::try_from(text_hash(&settings.identity) % u64::from(settings.shards.max(1))).unwrap_or(0);
        Table {
            identity: settings.identity.clone(),
            own_member: settings.member_lease(&settings.identity),
            shards: settings.shards,
            lease_duration: settings.lease_duration,
            renew_period: settings.renew_period,
            safety_margin: settings.safety_margin,
            handoff_delay: settings.handoff_delay,
            first,
            held: BTreeMap::new(),
            tried: BTreeMap::new(),
            busy: BTreeSet::new(),
            member_next: now,
            sweep_next: now + settings.lease_duration,
            stopping: false,
        }
    }

    /// How long after a failure a request is tried again.
    fn retry(&self) -> Duration {
        (self.renew_period / 2).max(MIN_RETRY)
    }

    /// Until when a shard renewed at `renewed` may be acted on.
    fn acting_until(&self, renewed: Instant) -> Instant {
        renewed + self.lease_duration - self.safety_margin
    }

    /// The shards this replica holds (acted on or not, given up or not).
    pub fn held(&self) -> BTreeSet<u32> {
        self.held.keys().copied().collect()
    }

    /// The shards to act on at `now`: held, last renewal successful, not given up, and the
    /// term not yet within the safety margin of its end.
    fn assignment(&self, now: Instant, paused: bool) -> Assignment {
        if paused || self.stopping {
            return Assignment::none(self.shards);
        }
        let acting = self
            .held
            .iter()
            .filter(|(_, held)| held.confirmed && held.release_at.is_none() && now < self.acting_until(held.renewed));
        let until = acting.clone().map(|(_, held)| self.acting_until(held.renewed)).min();
        match until {
            Some(until) => Assignment::new(acting.map(|(shard, _)| *shard).collect(), until, self.shards),
            None => Assignment::none(self.shards),
        }
    }

    /// Decides what to do at `now`, from `view`.
    pub fn plan(&mut self, view: &View, now: Instant) -> Plan {
        let mut wake = now + self.renew_period;
        // A term that ran out is not ours any more (a successful write may still show it is).
        let duration = self.lease_duration;
        self.held.retain(|_, held| now < held.renewed + duration);
        self.tried.retain(|_, tried| now < tried.at + duration);

        let synced = view.synced_at().is_some();
        // The live replicas besides this one, with their shard counts.
        let others: BTreeMap<&str, Option<u32>> = view
            .members()
            .iter()
            .filter(|(name, _)| **name != self.own_member)
            .filter_map(|(_, seen)| seen.live_holder(now).map(|holder| (holder, seen.shards)))
            .filter(|(holder, _)| *holder != self.identity)
            .collect();
        let paused = others.values().any(|count| *count != Some(self.shards));
        if paused {
            let counts: Vec<String> =
                others.iter().map(|(holder, count)| format!("{holder}={}", count.unwrap_or_default())).collect();
            tracing::debug!(identity = %self.identity, shards = self.shards, others = %counts.join(","), "replicas disagree on the shard count: acting on nothing");
        }
        let live = u32::try_from(others.len()).unwrap_or(u32::MAX).saturating_add(1);
        let floor = self.shards / live;
        let ceil = self.shards.div_ceil(live);
        let mut holdings: BTreeMap<&str, u32> = others.keys().map(|holder| (*holder, 0)).collect();
        for seen in view.shards().values() {
            if let Some(count) = seen.live_holder(now).and_then(|holder| holdings.get_mut(holder)) {
                *count += 1;
            }
        }
        let starved = holdings.values().any(|count| *count < floor);

        if synced && !self.stopping {
            self.give_up(now, paused, ceil, floor, starved);
        }

        // In order of importance: keeping what is held, handing over, membership, taking.
        let mut requests = Vec::new();
        for (shard, held) in &self.held {
            if self.busy.contains(&Target::Shard(*shard)) {
                continue;
            }
            match held.release_at {
                Some(at) if now >= at => {
                    requests.push(Request::Release { shard: *shard, version: held.version.clone() });
                }
                Some(at) => wake = wake.min(at),
                None if now >= held.next_renew => {
                    requests.push(Request::Renew { shard: *shard, version: held.version.clone() });
                }
                None => wake = wake.min(held.next_renew),
            }
        }
        if !self.stopping && !self.busy.contains(&Target::Member(self.own_member.clone())) {
            match now >= self.member_next {
                true => requests.push(Request::KeepMember {
                    version: view.members().get(&self.own_member).map(|seen| seen.version.clone()),
                }),
                false => wake = wake.min(self.member_next),
            }
        }
        if synced && !paused && !self.stopping {
            let mine = self.kept();
            let limit = if starved && mine >= floor { mine } else { ceil };
            self.take(view, now, limit.saturating_sub(mine), &mut requests, &mut wake);
            if now >= self.sweep_next {
                self.sweep_next = now + self.lease_duration;
                self.sweep(view, now, &mut requests);
            }
        }

        let room = MAX_REQUESTS.saturating_sub(self.busy.len());
        requests.truncate(room);
        for request in &requests {
            self.busy.insert(request.target(&self.own_member));
        }
        let assignment = self.assignment(now, paused);
        if let Some(until) = assignment.until() {
            wake = wake.min(until);
        }
        Plan { assignment, requests, wake_at: wake.max(now), paused }
    }

    /// How many shards are held and not given up.
    fn kept(&self) -> u32 {
        let kept = self.held.values().filter(|held| held.release_at.is_none()).count();
        u32::try_from(kept).unwrap_or(u32::MAX)
    }

    /// Gives up shards beyond the fair share: all of them while paused; those beyond
    /// `ceil`; or one at `ceil` when another live replica holds fewer than `floor`. Shards
    /// whose renewal failed go first, then the highest.
    fn give_up(&mut self, now: Instant, paused: bool, ceil: u32, floor: u32, starved: bool) {
        let mine = self.kept();
        let surplus = match () {
            () if paused => mine,
            () if mine > ceil => mine - ceil,
            () if starved && mine == ceil && ceil > floor => 1,
            () => 0,
        };
        if surplus == 0 {
            return;
        }
        let mut kept: Vec<(bool, Reverse<u32>)> = self
            .held
            .iter()
            .filter(|(_, held)| held.release_at.is_none())
            .map(|(shard, held)| (held.confirmed, Reverse(*shard)))
            .collect();
        kept.sort();
        let release_at = now + self.handoff_delay;
        for (_, Reverse(shard)) in kept.into_iter().take(surplus as usize) {
            if let Some(held) = self.held.get_mut(&shard) {
                tracing::info!(identity = %self.identity, shard, fair_share = ceil, "giving up a shard to rebalance");
                held.release_at = Some(release_at);
            }
        }
    }

    /// Takes free shards: up to `room` of them, and any that has been free for a renew
    /// period whatever the room (so that no shard stays unheld while this replica lives,
    /// even when replicas count each other differently for a moment). A Lease this
    /// replica holds by the API server's account but lost track of counts as free, and
    /// comes first.
    fn take(&mut self, view: &View, now: Instant, mut room: u32, requests: &mut Vec<Request>, wake: &mut Instant) {
        let Some(synced_at) = view.synced_at() else { return };
        let mut candidates = Vec::new();
        for step in 0..self.shards {
            let shard = (self.first + step) % self.shards;
            if self.held.contains_key(&shard) || self.busy.contains(&Target::Shard(shard)) {
                continue;
            }
            let (version, free_since, own) = match view.shard(shard) {
                None => (None, synced_at, false),
                Some(seen) => match seen.holder.as_deref() {
                    None => (Some(seen.version.clone()), seen.since, false),
                    Some(holder) if holder == self.identity => (Some(seen.version.clone()), seen.since, true),
                    Some(_) if now < seen.expires() => {
                        *wake = (*wake).min(seen.expires());
                        continue;
                    }
                    Some(_) => (Some(seen.version.clone()), seen.expires(), false),
                },
            };
            if let Some(tried) = self.tried.get(&shard)
                && tried.version == version
            {
                let again = tried.at + self.renew_period;
                if now < again {
                    *wake = (*wake).min(again);
                    continue;
                }
            }
            candidates.push((!own, shard, version, free_since + self.renew_period));
        }
        // Its own Leases first: taking them back disturbs no other replica.
        candidates.sort_by_key(|(not_own, ..)| *not_own);
        for (_, shard, version, overdue) in candidates {
            if room > 0 || now >= overdue {
                room = room.saturating_sub(1);
                requests.push(Request::Take { shard, version });
            } else {
                *wake = (*wake).min(overdue);
            }
        }
    }

    /// Deletes the membership Leases of replicas gone for a Lease duration, so that
    /// restarts do not pile them up.
    fn sweep(&self, view: &View, now: Instant, requests: &mut Vec<Request>) {
        for (name, seen) in view.members() {
            let gone = seen.holder.is_none() || now >= seen.expires() + self.lease_duration;
            if *name != self.own_member && gone && !self.busy.contains(&Target::Member(name.clone())) {
                requests.push(Request::ForgetMember { name: name.clone(), version: Some(seen.version.clone()) });
            }
        }
    }

    /// Takes in the outcome of `request`, at `now`.
    pub fn record(&mut self, request: &Request, outcome: Outcome, now: Instant) {
        self.busy.remove(&request.target(&self.own_member));
        let retry = now + self.retry();
        match (request, outcome) {
            (Request::Take { shard, .. } | Request::Renew { shard, .. }, Outcome::Done { started, version }) => {
                let taken = !self.held.contains_key(shard);
                let held = self.held.entry(*shard).or_insert_with(|| Held {
                    renewed: started,
                    confirmed: true,
                    version: String::new(),
                    next_renew: started,
                    release_at: None,
                });
                held.renewed = held.renewed.max(started);
                held.confirmed = true;
                held.version = version.unwrap_or_default();
                held.next_renew = started + self.renew_period;
                self.tried.remove(shard);
                if taken {
                    tracing::info!(identity = %self.identity, shard = *shard, "took a shard");
                }
            }
            (Request::Take { shard, version }, Outcome::Conflict | Outcome::Failed) => {
                self.tried.insert(*shard, Tried { version: version.clone(), at: now });
            }
            (Request::Renew { shard, .. }, Outcome::Conflict) => {
                if self.held.remove(shard).is_some() {
                    tracing::warn!(identity = %self.identity, shard = *shard, "lost a shard: its Lease was written by another replica");
                }
            }
            (Request::Renew { shard, .. }, Outcome::Failed) => {
                if let Some(held) = self.held.get_mut(shard) {
                    if held.confirmed {
                        tracing::warn!(identity = %self.identity, shard = *shard, "a shard Lease could not be renewed: not acting on the shard until it is");
                    }
                    held.confirmed = false;
                    held.next_renew = retry;
                }
            }
            (Request::Release { shard, .. }, Outcome::Done { .. } | Outcome::Conflict) => {
                self.held.remove(shard);
            }
            (Request::Release { shard, .. }, Outcome::Failed) => {
                if let Some(held) = self.held.get_mut(shard) {
                    held.release_at = Some(retry);
                }
            }
            (Request::KeepMember { .. }, Outcome::Done { started, .. }) => {
                self.member_next = started + self.renew_period;
            }
            (Request::KeepMember { .. }, Outcome::Conflict | Outcome::Failed) => self.member_next = retry,
            (Request::ForgetMember { .. }, _) => {}
        }
    }

    /// Whether a request is under way.
    pub fn is_busy(&self) -> bool {
        !self.busy.is_empty()
    }

    /// Stops acting on every shard and answers the requests that hand everything over:
    /// releasing each held shard and deleting the membership Lease. Plans made afterwards
    /// act on nothing and take nothing.
    pub fn step_down(&mut self) -> Vec<Request> {
        self.stopping = true;
        let mut requests: Vec<Request> = self
            .held
            .iter()
            .map(|(shard, held)| Request::Release { shard: *shard, version: held.version.clone() })
            .collect();
        requests.push(Request::ForgetMember { name: self.own_member.clone(), version: None });
        requests
    }
}

#[cfg(test)]
mod tests;

//! Shard ownership against the sandbox API server: one replica takes every shard; a second
//! one joining gets its fair share; a killed replica's shards are taken over after their
//! Leases expire; a replica stepping down hands over at once; replicas joining and leaving
//! in a loop end with every shard held by exactly one. Throughout, every change of every
//! replica's Assignment is recorded, and no shard is ever acted on by two replicas at once.
//!
//! Short Leases (3 s) keep the tests quick; the bounds on takeover times are correctness
//! bounds with generous margins, not performance goals.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use driftwarden::operator::leader::identity_with_suffix;
use driftwarden::operator::shards::{Assignment, ShardManager, ShardSettings};
use driftwarden_sandbox::faults::{Fault, RequestMatch};
use driftwarden_sandbox::testing::{Sandbox, TempNamespace};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::ListParams;
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(30);
const BASE: &str = "dw";

/// A sandbox, a namespace, and a client that can manage Leases in it.
struct Setup {
    sandbox: Sandbox,
    _namespace: TempNamespace,
    namespace: String,
    client: kube::Client,
}

async fn setup() -> Setup {
    let sandbox = Sandbox::start().await.unwrap();
    let namespace = sandbox.temp_namespace().await.unwrap();
    let name = namespace.name().to_string();
    let client = sandbox.client();
    Setup { sandbox, _namespace: namespace, namespace: name, client }
}

impl Setup {
    /// Quick settings: a 3 s Lease renewed every 500 ms, acting until 2 s after a renewal.
    fn settings(&self, base: &str, shards: u32) -> ShardSettings {
        ShardSettings {
            namespace: self.namespace.clone(),
            base_name: BASE.to_string(),
            identity: identity_with_suffix(base),
            shards,
            lease_duration: Duration::from_secs(3),
            renew_period: Duration::from_millis(500),
            safety_margin: Duration::from_secs(1),
            handoff_delay: Duration::from_millis(300),
        }
    }

    async fn start(&self, settings: ShardSettings, history: &History) -> ShardManager {
        let manager = ShardManager::start(self.client.clone(), settings).await.unwrap();
        history.follow(&manager);
        manager
    }

    async fn leases(&self) -> BTreeMap<String, Option<String>> {
        let leases = Api::<Lease>::namespaced(self.client.clone(), &self.namespace);
        let list = leases.list(&ListParams::default()).await.unwrap();
        list.items
            .into_iter()
            .map(|lease| {
                let holder = lease.spec.and_then(|spec| spec.holder_identity);
                (lease.metadata.name.unwrap_or_default(), holder)
            })
            .collect()
    }
}

/// Every Assignment each replica published, with the instant its subscriber saw it: the
/// moment a consumer of the channel would start or stop acting.
#[derive(Clone, Default)]
struct History {
    replicas: Arc<Mutex<Vec<Recording>>>,
}

#[derive(Clone)]
struct Recording {
    identity: String,
    changes: Arc<Mutex<Vec<(Instant, Assignment)>>>,
    /// When the manager's channel closed (its task ended or was killed).
    closed: Arc<Mutex<Option<Instant>>>,
}

/// One replica acting on one shard, from `start` to `end`.
#[derive(Clone, Debug)]
struct Interval {
    identity: String,
    start: Instant,
    end: Instant,
}

impl History {
    fn follow(&self, manager: &ShardManager) {
        let recording =
            Recording { identity: manager.identity().to_string(), changes: Arc::default(), closed: Arc::default() };
        self.replicas.lock().unwrap().push(recording.clone());
        let mut receiver = manager.subscribe();
        tokio::spawn(async move {
            loop {
                let assignment = receiver.borrow_and_update().clone();
                recording.changes.lock().unwrap().push((Instant::now(), assignment));
                if receiver.changed().await.is_err() {
                    *recording.closed.lock().unwrap() = Some(Instant::now());
                    return;
                }
            }
        });
    }

    /// Each shard's acting intervals. An interval ends at the next change, or at the
    /// Assignment's deadline if that comes first: a consumer acts on a shard only while
    /// [`Assignment::acts_on`] says so, whether or not a newer Assignment arrives.
    fn intervals(&self) -> BTreeMap<u32, Vec<Interval>> {
        let now = Instant::now();
        let mut by_shard: BTreeMap<u32, Vec<Interval>> = BTreeMap::new();
        for recording in self.replicas.lock().unwrap().iter() {
            let changes = recording.changes.lock().unwrap().clone();
            let closed = *recording.closed.lock().unwrap();
            for (i, (start, assignment)) in changes.iter().enumerate() {
                let next = match changes.get(i + 1) {
                    Some((next, _)) => *next,
                    // A closed channel: the consumer is told nothing more and acts until the deadline.
                    None if closed.is_some() => assignment.until().unwrap_or(*start),
                    None => now,
                };
                let end = assignment.until().map_or(*start, |until| next.min(until));
                for shard in assignment.shards() {
                    if *start < end {
                        by_shard.entry(*shard).or_default().push(Interval {
                            identity: recording.identity.clone(),
                            start: *start,
                            end,
                        });
                    }
                }
            }
        }
        by_shard
    }

    /// Asserts that no two replicas ever acted on the same shard at once.
    fn assert_never_overlapped(&self) {
        for (shard, intervals) in self.intervals() {
            for (i, a) in intervals.iter().enumerate() {
                for b in &intervals[i + 1..] {
                    if a.identity != b.identity && a.start < b.end && b.start < a.end {
                        panic!("shard {shard} was acted on by {a:?} and {b:?} at once");
                    }
                }
            }
        }
    }
}

/// Waits until `check` holds for the managers' current Assignments.
async fn until_assignments(managers: &[&ShardManager], what: &str, check: impl Fn(&[Assignment]) -> bool) {
    let mut receivers: Vec<watch::Receiver<Assignment>> = managers.iter().map(|m| m.subscribe()).collect();
    tokio::time::timeout(WAIT, async {
        loop {
            let current: Vec<Assignment> = receivers.iter_mut().map(|r| r.borrow_and_update().clone()).collect();
            if check(&current) {
                return;
            }
            let changes = receivers.iter_mut().map(|r| Box::pin(r.changed()));
            let _ = futures::future::select_all(changes).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        let current: Vec<_> = managers.iter().map(|m| m.assignment().shards().clone()).collect();
        panic!("not {what} within {WAIT:?}: {current:?}")
    });
}

/// Whether the Assignments divide `0..shards` among the replicas, each acting on its
/// fair share (between `floor` and `ceil` of `shards / replicas`), now.
fn fair_partition(assignments: &[Assignment], shards: u32) -> bool {
    let now = Instant::now();
    let live = u32::try_from(assignments.len()).unwrap();
    let (floor, ceil) = (shards / live, shards.div_ceil(live));
    let mut seen = BTreeSet::new();
    for assignment in assignments {
        let count = u32::try_from(assignment.shards().len()).unwrap();
        if !(floor..=ceil).contains(&count) || assignment.shards().iter().any(|shard| !assignment.acts_on(*shard, now))
        {
            return false;
        }
        for shard in assignment.shards() {
            if !seen.insert(*shard) {
                return false;
            }
        }
    }
    seen.len() == shards as usize
}

async fn fairly_split(managers: &[&ShardManager], shards: u32) {
    until_assignments(managers, "fairly split", |current| fair_partition(current, shards)).await;
}

#[tokio::test]
async fn one_replica_takes_every_shard_and_hands_them_back_on_step_down() {
    let setup = setup().await;
    let history = History::default();
    let a = setup.start(setup.settings("replica-a", 4), &history).await;
    fairly_split(&[&a], 4).await;
    assert_eq!(a.assignment().shards(), &BTreeSet::from([0, 1, 2, 3]));
    let leases = setup.leases().await;
    for shard in 0..4 {
        assert_eq!(leases[&format!("{BASE}-shard-{shard}")].as_deref(), Some(a.identity()), "{leases:?}");
    }
    let member = format!("{BASE}-member-{}", a.identity());
    assert_eq!(leases[&member].as_deref(), Some(a.identity()));

    let mut published = a.subscribe();
    a.step_down().await.unwrap();
    assert!(published.borrow_and_update().is_empty(), "a stepped-down manager acts on nothing");
    let leases = setup.leases().await;
    for shard in 0..4 {
        assert_eq!(leases[&format!("{BASE}-shard-{shard}")], None, "released: {leases:?}");
    }
    assert!(!leases.contains_key(&member), "the membership Lease is deleted");
    history.assert_never_overlapped();
}

#[tokio::test]
async fn a_joining_replica_gets_its_share_without_overlap() {
    let setup = setup().await;
    let history = History::default();
    let a = setup.start(setup.settings("replica-a", 4), &history).await;
    fairly_split(&[&a], 4).await;
    let b = setup.start(setup.settings("replica-b", 4), &history).await;
    fairly_split(&[&a, &b], 4).await;
    assert_eq!(a.assignment().shards().len(), 2);
    // Stable: through several renewals of both (their deadlines move on), the split holds.
    let split = [a.assignment().shards().clone(), b.assignment().shards().clone()];
    let mark = Instant::now() + Duration::from_secs(3);
    until_assignments(&[&a, &b], "renewed past the mark", |current| {
        assert!(current.iter().zip(&split).all(|(now, then)| now.shards() == then), "the split changed: {current:?}");
        current.iter().all(|assignment| assignment.until().is_some_and(|until| until > mark))
    })
    .await;
    history.assert_never_overlapped();
    a.step_down().await.unwrap();
    b.step_down().await.unwrap();
}

#[tokio::test]
async fn a_killed_replicas_shards_are_taken_over_after_their_leases_expire() {
    let setup = setup().await;
    let history = History::default();
    let a = setup.start(setup.settings("replica-a", 4), &history).await;
    let b = setup.start(setup.settings("replica-b", 4), &history).await;
    fairly_split(&[&a, &b], 4).await;

    // A crash: the task stops without releasing anything.
    let killed = Instant::now();
    drop(b);
    fairly_split(&[&a], 4).await;
    let takeover = killed.elapsed();
    // The term (3 s) has to run out, then a renew period at most; the rest is margin for a
    // loaded machine.
    assert!(takeover >= Duration::from_secs(2), "taken over after {takeover:?}, before the Leases could expire");
    assert!(takeover < Duration::from_secs(12), "taken over after {takeover:?}");
    history.assert_never_overlapped();
    a.step_down().await.unwrap();
}

#[tokio::test]
async fn a_replica_stepping_down_hands_over_at_once() {
    let setup = setup().await;
    let history = History::default();
    // Long Leases: a takeover faster than them proves the releases were noticed.
    let long = |base| ShardSettings {
        lease_duration: Duration::from_secs(20),
        renew_period: Duration::from_secs(2),
        safety_margin: Duration::from_secs(5),
        handoff_delay: Duration::from_millis(300),
        ..setup.settings(base, 4)
    };
    let a = setup.start(long("replica-a"), &history).await;
    let b = setup.start(long("replica-b"), &history).await;
    fairly_split(&[&a, &b], 4).await;
    let stepped_down = Instant::now();
    a.step_down().await.unwrap();
    fairly_split(&[&b], 4).await;
    let takeover = stepped_down.elapsed();
    assert!(takeover < Duration::from_secs(10), "takeover took {takeover:?}, not well within the 20 s Lease");
    history.assert_never_overlapped();
    b.step_down().await.unwrap();
}

#[tokio::test]
async fn a_shard_whose_renewal_fails_is_dropped_at_once_and_comes_back() {
    let setup = setup().await;
    let history = History::default();
    let a = setup.start(setup.settings("replica-a", 2), &history).await;
    fairly_split(&[&a], 2).await;
    let name = format!("{BASE}-shard-1");
    setup.sandbox.inject(Fault::fail(RequestMatch::new("patch", "leases").name(&name), 500, 1000)).unwrap();
    until_assignments(&[&a], "down to shard 0", |current| current[0].shards() == &BTreeSet::from([0])).await;
    setup.sandbox.faults().clear();
    fairly_split(&[&a], 2).await;
    history.assert_never_overlapped();
    a.step_down().await.unwrap();
}

#[tokio::test]
async fn replicas_joining_and_leaving_in_a_loop_never_overlap() {
    let setup = setup().await;
    let history = History::default();
    let shards = 8;
    let mut live = Vec::new();
    for name in ["replica-a", "replica-b", "replica-c"] {
        live.push(setup.start(setup.settings(name, shards), &history).await);
    }
    for round in 0..3 {
        fairly_split(&live.iter().collect::<Vec<_>>(), shards).await;
        // One leaves, gracefully or not, and a new one joins at once.
        let leaving = live.remove(round % live.len());
        match round % 2 {
            0 => leaving.step_down().await.unwrap(),
            _ => drop(leaving),
        }
        live.push(setup.start(setup.settings(&format!("replica-{round}"), shards), &history).await);
    }
    let managers: Vec<&ShardManager> = live.iter().collect();
    fairly_split(&managers, shards).await;
    let now = Instant::now();
    for shard in 0..shards {
        let acting = live.iter().filter(|m| m.assignment().acts_on(shard, now)).count();
        assert_eq!(acting, 1, "shard {shard} acted on by {acting} replicas");
    }
    history.assert_never_overlapped();
    for manager in live {
        manager.step_down().await.unwrap();
    }
}

#[tokio::test]
async fn invalid_settings_are_refused_before_touching_the_api() {
    let setup = setup().await;
    let error = ShardManager::start(setup.client.clone(), setup.settings("replica-a", 0)).await.unwrap_err();
    assert_eq!(error.category(), "InvalidShardCount");
    let too_slow = ShardSettings { renew_period: Duration::from_secs(3), ..setup.settings("replica-a", 2) };
    let error = ShardManager::start(setup.client.clone(), too_slow).await.unwrap_err();
    assert_eq!(error.category(), "InvalidTiming");
    assert!(error.to_string().contains("renew period"), "{error}");
    assert!(setup.leases().await.is_empty());
}

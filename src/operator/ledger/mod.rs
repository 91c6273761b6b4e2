//! The ledger: what the operator has announced and fixed, kept in the cluster so that a
//! restart or a new leader neither repeats nor loses an escalation.
//!
//! It holds, per policy and object, which escalated drifts were announced (a fingerprint of
//! each drift's path and decision), the recent fixes of each field (flapping detection),
//! each policy's fixes of the last minute (its rate limit), and an **outbox**: every Event
//! about an escalation and every notification, from the moment it is decided until it is
//! delivered.
//!
//! It is stored in [`BUCKETS`] ConfigMaps in the operator's namespace, `driftwarden-ledger-00`
//! to `-15`, labelled [`LABEL`]; a record goes to the bucket its object (or policy) hashes
//! to, and an announcement about an object goes beside that object's records, so one
//! write records both. Writes are batched, one per bucket at a time: on the next tick when
//! something to announce changed, within [`SOON`] for deliveries and escalations that
//! ended, within [`SLOW_FLUSH`] when only fix history did — never once per fix. An
//! announcement leaves the outbox for the cluster only after the write that records it
//! succeeded; it leaves the ledger once delivered. A shutdown writes what is left. So after a
//! crash the next leader delivers what was recorded and not yet delivered (a notification
//! in flight at the crash may reach its sink twice, with the same CloudEvent `id`), and
//! never repeats what was delivered and recorded.
//!
//! Bounded: each bucket's encoding stays under [`MAX_BUCKET_BYTES`] (a ConfigMap holds
//! 1 MiB); past it the oldest fix history goes first, then the oldest undelivered
//! announcements (each logged and counted as dropped), then the oldest escalation records.
//!
//! Pure: no client and no clock; the reconciler drives it and the runtime writes what it
//! hands out.

mod codec;
mod outbox;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

pub use codec::{BucketDoc, DecodeError};
pub use outbox::{Delivery, GivenUp, MAX_ROUNDS, Pending};

use crate::engine::decide::{Action, FixHistory, RateWindow};
use crate::keys::{ObjectKey, PolicyKey};
use outbox::Entry;

/// How many ConfigMaps hold the ledger.
pub const BUCKETS: usize = 16;

/// The label (value `"true"`) that marks the ledger's ConfigMaps.
pub const LABEL: &str = "driftwarden.dev/ledger";

/// The field manager of the ledger's writes.
pub const FIELD_MANAGER: &str = "driftwarden-ledger";

/// The ConfigMap key holding a bucket's records.
pub const DATA_KEY: &str = "records.json";

/// The most a bucket's records may take once encoded.
pub const MAX_BUCKET_BYTES: usize = 768 * 1024;

/// How long a bucket whose only changes are fix history may wait before it is written.
pub const SLOW_FLUSH: SignedDuration = SignedDuration::from_secs(10);

/// How long a delivery, or an escalation that ended, may wait to be recorded: a crash in
/// between delivers it again (or keeps an ended escalation from being announced anew).
pub const SOON: SignedDuration = SignedDuration::from_secs(1);

/// Something to announce is recorded at the next flush.
const AT_ONCE: SignedDuration = SignedDuration::ZERO;

/// The ConfigMap name of bucket `index`.
pub fn bucket_name(index: usize) -> String {
    format!("driftwarden-ledger-{index:02}")
}

/// The bucket index of a ConfigMap name, when it is one of the ledger's.
pub fn bucket_index(name: &str) -> Option<usize> {
    let index: usize = name.strip_prefix("driftwarden-ledger-")?.parse().ok()?;
    (index < BUCKETS && bucket_name(index) == name).then_some(index)
}

/// A write of one bucket for the runtime to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketWrite {
    pub index: usize,
    /// Tells this write's outcome from an earlier one's.
    pub serial: u64,
    /// The ConfigMap's name.
    pub name: String,
    /// The encoded records (the value of [`DATA_KEY`]).
    pub data: String,
}

/// What trimming a bucket to its size bound dropped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Trimmed {
    pub fixes: usize,
    pub announcements: Vec<String>,
    pub escalations: usize,
}

/// When each field was fixed, by path.
type Fields = BTreeMap<String, Vec<Timestamp>>;

/// One bucket's records and write state.
#[derive(Debug, Default)]
struct Bucket {
    /// The fingerprints of the escalated drifts announced, per object and policy.
    escalations: BTreeMap<ObjectKey, BTreeMap<PolicyKey, BTreeSet<String>>>,
    /// When each field of each object was fixed, per object and policy.
    fixes: BTreeMap<ObjectKey, BTreeMap<PolicyKey, Fields>>,
    /// Each policy's fixes of the last minute, counted per second (Unix seconds).
    rates: BTreeMap<PolicyKey, BTreeMap<i64, u32>>,
    /// Announcements not yet delivered, by id.
    outbox: BTreeMap<String, Entry>,
    /// Something changed since the last write began.
    dirty: bool,
    /// When the changes must be written by: at once for something to announce, within
    /// [`SOON`] for deliveries and escalations that ended, within [`SLOW_FLUSH`] for fix
    /// history.
    due_at: Option<Timestamp>,
    /// The serial of the write under way.
    writing: Option<u64>,
    /// Failed writes in a row, and when the next may start.
    failures: u32,
    retry_at: Option<Timestamp>,
}

impl Bucket {
    fn touch(&mut self, within: SignedDuration, now: Timestamp) {
        self.dirty = true;
        let due = now.checked_add(within).unwrap_or(now);
        self.due_at = Some(self.due_at.map_or(due, |at| at.min(due)));
    }
}

/// The ledger's records, by bucket.
#[derive(Debug)]
pub struct Ledger {
    buckets: Vec<Bucket>,
    next_serial: u64,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger { buckets: (0..BUCKETS).map(|_| Bucket::default()).collect(), next_serial: 1 }
    }
}

/// A stable 64-bit FNV-1a hash: the same on every replica and in every version, so a
/// record is found in the bucket it was written to.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

fn bucket_of(text: &str) -> usize {
    // FNV's low bits depend only on the low bits of the input bytes: the high bits of a
    // multiplicative mix spread similar names over the buckets.
    let mixed = stable_hash(text).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32;
    usize::try_from(mixed % BUCKETS as u64).unwrap_or(0)
}

fn object_bucket(key: &ObjectKey) -> usize {
    bucket_of(&codec::object_text(key))
}

/// The bucket the records and announcements about `key` go in.
pub fn bucket_for(key: &ObjectKey) -> usize {
    object_bucket(key)
}

fn policy_bucket(key: &PolicyKey) -> usize {
    bucket_of(&codec::policy_text(key))
}

/// The fingerprint of an escalated drift: its path and the decision about it, which is
/// what tells a new escalation from one already announced.
pub fn fingerprint(path: &str, action: &Action) -> String {
    let action = serde_json::to_string(action).unwrap_or_default();
    format!("{:016x}", stable_hash(&format!("{path}\u{0}{action}")))
}

impl Ledger {
    /// The ledger as read from its ConfigMaps (`(name, records)` pairs; other names are
    /// ignored). Each announcement restored is due for delivery at `now`. Records that do
    /// not decode are skipped and returned, so one bad bucket never stops the others.
    pub fn restore(buckets: Vec<(String, String)>, now: Timestamp) -> (Ledger, Vec<DecodeError>) {
        let mut ledger = Ledger::default();
        let mut problems = Vec::new();
        for (name, data) in buckets {
            let Some(index) = bucket_index(&name) else { continue };
            match codec::decode(&data) {
                Ok(doc) => ledger.take_up(index, doc, now, &mut problems),
                Err(problem) => problems.push(problem.in_bucket(&name)),
            }
        }
        (ledger, problems)
    }

    fn take_up(&mut self, index: usize, doc: BucketDoc, now: Timestamp, problems: &mut Vec<DecodeError>) {
        let records = doc.records();
        // Records are filed by their object's (or policy's) hash.
        for (policy, object, drifts) in records.escalations {
            self.buckets[object_bucket(&object)].escalations.entry(object).or_default().insert(policy, drifts);
        }
        for (policy, object, fields) in records.fixes {
            self.buckets[object_bucket(&object)].fixes.entry(object).or_default().insert(policy, fields);
        }
        for (policy, seconds) in records.rates {
            self.buckets[policy_bucket(&policy)].rates.insert(policy, seconds);
        }
        // Announcements stay where they were written, beside the records they go with.
        for (id, pending) in records.outbox {
            self.buckets[index].outbox.insert(id, Entry::restored(pending, now));
        }
        problems.extend(records.problems.into_iter().map(|p| p.in_bucket(&bucket_name(index))));
    }

    /// The fingerprints of the escalations announced for `object` under `policy`.
    pub fn announced(&self, policy: &PolicyKey, object: &ObjectKey) -> Option<&BTreeSet<String>> {
        self.buckets[object_bucket(object)].escalations.get(object)?.get(policy)
    }

    /// Records which escalations of `object` under `policy` stand announced (none: the
    /// record goes).
    pub fn set_announced(&mut self, policy: &PolicyKey, object: &ObjectKey, drifts: BTreeSet<String>, now: Timestamp) {
        let bucket = &mut self.buckets[object_bucket(object)];
        let known = bucket.escalations.get(object).and_then(|by_policy| by_policy.get(policy));
        if known.map_or(drifts.is_empty(), |known| *known == drifts) {
            return;
        }
        if drifts.is_empty() {
            remove_nested(&mut bucket.escalations, object, policy);
            bucket.touch(SOON, now);
        } else {
            bucket.escalations.entry(object.clone()).or_default().insert(policy.clone(), drifts);
            bucket.touch(AT_ONCE, now);
        }
    }

    /// Forgets all about `object` under `policy`: it went away or is governed no more.
    pub fn forget_object(&mut self, policy: &PolicyKey, object: &ObjectKey, now: Timestamp) {
        let bucket = &mut self.buckets[object_bucket(object)];
        let announced = remove_nested(&mut bucket.escalations, object, policy);
        let fixed = remove_nested(&mut bucket.fixes, object, policy);
        if announced || fixed {
            bucket.touch(if announced { SOON } else { SLOW_FLUSH }, now);
        }
    }

    /// Forgets every record of a deleted policy.
    pub fn forget_policy(&mut self, policy: &PolicyKey, now: Timestamp) {
        for bucket in &mut self.buckets {
            let announced = remove_policy(&mut bucket.escalations, policy);
            let fixed = remove_policy(&mut bucket.fixes, policy);
            if announced || fixed || bucket.rates.remove(policy).is_some() {
                bucket.touch(if announced { SOON } else { SLOW_FLUSH }, now);
            }
        }
    }

    /// Records a fix of `path` of `object` under `policy` at `at`, keeping what the
    /// flapping guard `(max_fixes, window)` needs.
    pub fn fixed(&mut self, policy: &PolicyKey, object: &ObjectKey, path: &str, at: Timestamp, guard: (u32, Duration)) {
        let bucket = &mut self.buckets[object_bucket(object)];
        let fields = bucket.fixes.entry(object.clone()).or_default().entry(policy.clone()).or_default();
        let times = fields.entry(path.to_string()).or_default();
        times.push(at);
        let cutoff = cutoff(guard.1, at);
        let keep = usize::try_from(guard.0.max(1)).unwrap_or(usize::MAX);
        times.retain(|t| *t > cutoff);
        let excess = times.len().saturating_sub(keep);
        times.drain(..excess);
        bucket.touch(SLOW_FLUSH, at);
    }

    /// Records a fix by `policy` at `at`, for its rate limit.
    pub fn counted(&mut self, policy: &PolicyKey, at: Timestamp) {
        let bucket = &mut self.buckets[policy_bucket(policy)];
        let seconds = bucket.rates.entry(policy.clone()).or_default();
        let second = at.as_second();
        seconds.retain(|s, _| *s > second - 60);
        *seconds.entry(second).or_default() += 1;
        bucket.touch(SLOW_FLUSH, at);
    }

    /// What a policy first seen since the start takes up: its fix history and rate window.
    pub fn history_of(&self, policy: &PolicyKey, guard: (u32, Duration)) -> (FixHistory, RateWindow) {
        let mut history = FixHistory::default();
        for bucket in &self.buckets {
            for (object, by_policy) in &bucket.fixes {
                let Some(fields) = by_policy.get(policy) else { continue };
                let id = object.to_string();
                for (path, times) in fields {
                    for at in times {
                        history.record(&id, path, *at, guard);
                    }
                }
            }
        }
        let mut rate = RateWindow::default();
        for (second, count) in self.buckets[policy_bucket(policy)].rates.get(policy).into_iter().flatten() {
            let Ok(at) = Timestamp::from_second(*second) else { continue };
            for _ in 0..*count {
                rate.record(at);
            }
        }
        (history, rate)
    }

    /// Forgets fixes older than their policy's flapping window (`window_of`; a policy it
    /// does not know is gone) and rate records older than a minute.
    pub fn prune(&mut self, now: Timestamp, window_of: &dyn Fn(&PolicyKey) -> Option<Duration>) {
        let minute_ago = now.as_second() - 60;
        for bucket in &mut self.buckets {
            let mut changed = false;
            bucket.fixes.retain(|_, by_policy| {
                by_policy.retain(|policy, fields| {
                    let Some(window) = window_of(policy) else {
                        changed = true;
                        return false;
                    };
                    let cutoff = cutoff(window, now);
                    fields.retain(|_, times| {
                        let before = times.len();
                        times.retain(|t| *t > cutoff);
                        changed |= times.len() != before;
                        !times.is_empty()
                    });
                    !fields.is_empty()
                });
                !by_policy.is_empty()
            });
            bucket.rates.retain(|_, seconds| {
                let before = seconds.len();
                seconds.retain(|second, _| *second > minute_ago);
                changed |= seconds.len() != before;
                !seconds.is_empty()
            });
            if changed {
                bucket.touch(SLOW_FLUSH, now);
            }
        }
    }

    /// For each bucket, whether it holds announcements no write has recorded yet (and its
    /// writes still succeed: a bucket that cannot be written holds nothing back).
    pub fn unrecorded_buckets(&self) -> [bool; BUCKETS] {
        let mut held = [false; BUCKETS];
        for (index, bucket) in self.buckets.iter().enumerate() {
            held[index] = bucket.failures < DELIVER_UNRECORDED_AFTER && bucket.outbox.values().any(Entry::unrecorded);
        }
        held
    }

    /// How many records of each sort the ledger holds: `(escalations, fixed fields,
    /// policies with a rate window, undelivered announcements)`.
    pub fn sizes(&self) -> (usize, usize, usize, usize) {
        self.buckets.iter().fold((0, 0, 0, 0), |(e, f, r, o), b| {
            (
                e + b.escalations.values().map(BTreeMap::len).sum::<usize>(),
                f + b.fixes.values().flat_map(BTreeMap::values).map(BTreeMap::len).sum::<usize>(),
                r + b.rates.len(),
                o + b.outbox.len(),
            )
        })
    }

    /// The writes due at `now`: every bucket with changes and no write under way whose
    /// changes are due (at once for something to announce, within [`SOON`] for a delivery,
    /// within [`SLOW_FLUSH`] for fix history).
    /// Each bucket is trimmed to its bound first; what was dropped is returned per bucket.
    pub fn due_writes(&mut self, now: Timestamp) -> (Vec<BucketWrite>, Trimmed) {
        let mut writes = Vec::new();
        let mut trimmed = Trimmed::default();
        for (index, bucket) in self.buckets.iter_mut().enumerate() {
            let ready = bucket.dirty
                && bucket.writing.is_none()
                && bucket.retry_at.is_none_or(|at| at <= now)
                && bucket.due_at.is_some_and(|at| at <= now);
            if !ready {
                continue;
            }
            let serial = self.next_serial;
            self.next_serial += 1;
            let (data, dropped) = codec::encode_bounded(bucket, MAX_BUCKET_BYTES);
            trimmed.fixes += dropped.fixes;
            trimmed.escalations += dropped.escalations;
            trimmed.announcements.extend(dropped.announcements);
            for entry in bucket.outbox.values_mut() {
                entry.included_in(serial);
            }
            bucket.dirty = false;
            bucket.due_at = None;
            bucket.writing = Some(serial);
            writes.push(BucketWrite { index, serial, name: bucket_name(index), data });
        }
        (writes, trimmed)
    }

    /// Makes every change due now, and forgets writes under way (at shutdown: their
    /// outcomes will not be waited for).
    pub fn all_due(&mut self, now: Timestamp) {
        for bucket in &mut self.buckets {
            if bucket.dirty || bucket.writing.is_some() {
                bucket.dirty = true;
                bucket.due_at = Some(now);
                bucket.writing = None;
                bucket.retry_at = None;
            }
        }
    }

    /// Takes the outcome of a bucket write: on success, the announcements it recorded may
    /// be delivered; on failure the bucket is written again after a backoff.
    pub fn written(&mut self, index: usize, serial: u64, ok: bool, now: Timestamp) {
        let Some(bucket) = self.buckets.get_mut(index) else { return };
        if bucket.writing != Some(serial) {
            return;
        }
        bucket.writing = None;
        if ok {
            bucket.failures = 0;
            bucket.retry_at = None;
            for entry in bucket.outbox.values_mut() {
                entry.saved(serial, now);
            }
        } else {
            bucket.failures += 1;
            bucket.retry_at = Some(WRITE_BACKOFF.retry_at(bucket.failures, now));
            bucket.touch(AT_ONCE, now);
            let deliver_anyway = bucket.failures >= DELIVER_UNRECORDED_AFTER;
            for entry in bucket.outbox.values_mut() {
                entry.not_saved(serial, deliver_anyway, now);
            }
        }
    }
}

/// After this many failed writes in a row, a bucket's announcements are delivered without
/// waiting to be recorded: a ledger that cannot be written (no namespace, no permission)
/// must not silence the operator; they are then at worst announced again after a restart.
pub const DELIVER_UNRECORDED_AFTER: u32 = 3;

/// A failed bucket write is tried again after 0.5 s, 1 s, 2 s … up to 30 s.
const WRITE_BACKOFF: crate::engine::backoff::Backoff =
    crate::engine::backoff::Backoff::new(Duration::from_millis(500), Duration::from_secs(30));

/// Removes `policy`'s record of `object`, and the object's entry when it was the last;
/// whether there was one.
fn remove_nested<T>(
    map: &mut BTreeMap<ObjectKey, BTreeMap<PolicyKey, T>>,
    object: &ObjectKey,
    policy: &PolicyKey,
) -> bool {
    let Some(by_policy) = map.get_mut(object) else { return false };
    let removed = by_policy.remove(policy).is_some();
    if by_policy.is_empty() {
        map.remove(object);
    }
    removed
}

/// Removes every record of `policy`; whether there was one.
fn remove_policy<T>(map: &mut BTreeMap<ObjectKey, BTreeMap<PolicyKey, T>>, policy: &PolicyKey) -> bool {
    let mut removed = false;
    map.retain(|_, by_policy| {
        removed |= by_policy.remove(policy).is_some();
        !by_policy.is_empty()
    });
    removed
}

/// `now - window`, or the earliest time when that is out of range.
fn cutoff(window: Duration, now: Timestamp) -> Timestamp {
    SignedDuration::try_from(window).ok().and_then(|span| now.checked_sub(span).ok()).unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests;

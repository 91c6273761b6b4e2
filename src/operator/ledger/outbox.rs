//! The outbox: announcements from the moment they are decided until they are delivered.
//!
//! An entry is *unsaved* until a bucket write that includes it succeeds, then *due*, then
//! *sent* while the runtime delivers it. Delivered (or refused for good by its sink), it
//! leaves the ledger; failed, it is due again after a backoff, for at most
//! [`MAX_ROUNDS`] rounds.

use std::time::Duration;

use jiff::Timestamp;

use super::{AT_ONCE, Ledger, SOON, bucket_of, object_bucket};
use crate::engine::backoff::Backoff;
use crate::keys::ObjectKey;
use crate::operator::notify::{Notification, Sink};
use crate::operator::reconciler::Announcement;

/// An announcement to deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    /// Events on an object and on its policy.
    Event(Announcement),
    /// A CloudEvent to a sink.
    Notification { sink: Sink, notification: Notification },
}

/// How the delivery of one announcement ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered (or already delivered): done.
    Delivered,
    /// Refused for good (the sink answered a 4xx that retrying cannot change): done.
    Refused,
    /// Not delivered for a reason that may pass: tried again later.
    Failed,
}

/// How many rounds of delivery an announcement gets (each round is the notifier's own
/// retries) before it is given up, logged and counted.
pub const MAX_ROUNDS: u32 = 12;

/// The wait between rounds: 30 s doubling up to 10 min (about 1.5 hours over all rounds).
const ROUND_BACKOFF: Backoff = Backoff::new(Duration::from_secs(30), Duration::from_secs(600));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not recorded yet; `Some(serial)` once a write including it is under way.
    Unsaved(Option<u64>),
    /// Recorded; to deliver at or after the time.
    Due(Timestamp),
    /// Handed to the runtime for delivery.
    Sent,
}

/// One announcement in the outbox.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) pending: Pending,
    state: State,
    /// Rounds of delivery that failed.
    rounds: u32,
    /// When it was decided (the oldest go first when a bucket is full).
    pub(super) since: Timestamp,
}

impl Entry {
    /// An entry read back from the ledger: recorded, due at once.
    pub(super) fn restored(pending: Pending, now: Timestamp) -> Self {
        Entry { pending, state: State::Due(now), rounds: 0, since: now }
    }

    /// Whether no write has recorded it yet.
    pub(super) fn unrecorded(&self) -> bool {
        matches!(self.state, State::Unsaved(_))
    }

    pub(super) fn included_in(&mut self, serial: u64) {
        if self.state == State::Unsaved(None) {
            self.state = State::Unsaved(Some(serial));
        }
    }

    pub(super) fn saved(&mut self, serial: u64, now: Timestamp) {
        if self.state == State::Unsaved(Some(serial)) {
            self.state = State::Due(now);
        }
    }

    /// The write `serial` failed: the entry goes into the next write, or, with
    /// `deliver_anyway`, is delivered without waiting for one to succeed.
    pub(super) fn not_saved(&mut self, serial: u64, deliver_anyway: bool, now: Timestamp) {
        if self.state == State::Unsaved(Some(serial)) {
            self.state = if deliver_anyway { State::Due(now) } else { State::Unsaved(None) };
        }
    }
}

/// What became of an announcement given up after its last round.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenUp {
    pub id: String,
    pub pending: Pending,
}

impl Ledger {
    /// Puts an announcement in the outbox under its stable `id`; the same id already there
    /// (the same occurrence decided again) is not added twice. An announcement about an
    /// object goes in that object's bucket, so the one write that records its escalation
    /// also records the announcement: a new leader never finds one without the other.
    pub fn enqueue(&mut self, id: String, pending: Pending, about: Option<&ObjectKey>, now: Timestamp) {
        let index = about.map_or_else(|| bucket_of(&id), object_bucket);
        let bucket = &mut self.buckets[index];
        if bucket.outbox.contains_key(&id) {
            return;
        }
        bucket.outbox.insert(id, Entry { pending, state: State::Unsaved(None), rounds: 0, since: now });
        bucket.touch(AT_ONCE, now);
    }

    /// The recorded announcements due at `now`, at most `limit`, now marked sent.
    pub fn due_deliveries(&mut self, now: Timestamp, limit: usize) -> Vec<(String, Pending)> {
        let mut due = Vec::new();
        for bucket in &mut self.buckets {
            for (id, entry) in &mut bucket.outbox {
                if due.len() >= limit {
                    return due;
                }
                if matches!(entry.state, State::Due(at) if at <= now) {
                    entry.state = State::Sent;
                    due.push((id.clone(), entry.pending.clone()));
                }
            }
        }
        due
    }

    /// Takes how the delivery of `id` ended. Returns the announcement when this was its
    /// last round and it is given up.
    pub fn delivered(&mut self, id: &str, delivery: Delivery, now: Timestamp) -> Option<GivenUp> {
        let bucket = self.buckets.iter_mut().find(|b| b.outbox.contains_key(id))?;
        let entry = bucket.outbox.get_mut(id).filter(|e| e.state == State::Sent)?;
        match delivery {
            Delivery::Delivered | Delivery::Refused => {
                bucket.outbox.remove(id);
                bucket.touch(SOON, now);
                None
            }
            Delivery::Failed => {
                entry.rounds += 1;
                if entry.rounds >= MAX_ROUNDS {
                    let entry = bucket.outbox.remove(id)?;
                    bucket.touch(SOON, now);
                    return Some(GivenUp { id: id.to_string(), pending: entry.pending });
                }
                entry.state = State::Due(ROUND_BACKOFF.retry_at(entry.rounds, now));
                None
            }
        }
    }

    /// How many announcements wait for delivery (recorded or not).
    pub fn backlog(&self) -> usize {
        self.buckets.iter().map(|b| b.outbox.len()).sum()
    }
}

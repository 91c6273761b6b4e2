//! The ledger's share of the loop: announcements go into its outbox, its changed buckets
//! are written on the tick, and what a successful write recorded is delivered.

use jiff::Timestamp;
use tracing::{error, warn};

use super::{Effect, Reconciler, RequestError};
use crate::keys::ObjectKey;
use crate::operator::ledger::{Delivery, Pending};
use crate::operator::metrics::LedgerEvent;

/// How many recorded announcements are handed out for delivery at once; the rest wait
/// for the next tick.
const DELIVERIES_PER_TICK: usize = 256;

impl Reconciler {
    /// Records an announcement (Events about an escalation, or a notification) in the
    /// ledger's outbox under its stable `id`, beside the records of the object it is
    /// `about`; it is delivered once a write records it.
    pub(super) fn enqueue(&mut self, id: String, pending: Pending, about: Option<&ObjectKey>) {
        self.ledger.enqueue(id, pending, about, self.now);
    }

    /// Starts the writes that are due and delivers what is recorded and due.
    pub(super) fn flush_ledger(&mut self, now: Timestamp) {
        let (writes, trimmed) = self.ledger.due_writes(now);
        if trimmed.fixes > 0 || trimmed.escalations > 0 || !trimmed.announcements.is_empty() {
            warn!(
                fix_history = trimmed.fixes,
                escalations = trimmed.escalations,
                announcements = ?trimmed.announcements,
                "a ledger bucket is full: its oldest records were dropped"
            );
            self.metrics.ledger(LedgerEvent::HistoryTrimmed, trimmed.fixes as u64);
            self.metrics.ledger(LedgerEvent::EscalationTrimmed, trimmed.escalations as u64);
            self.metrics.ledger(LedgerEvent::AnnouncementDropped, trimmed.announcements.len() as u64);
        }
        self.effects.extend(writes.into_iter().map(Effect::WriteLedger));
        self.deliver_due(now);
    }

    /// The writes of everything the ledger has not written yet, due or not: what a
    /// shutdown sends before the process ends.
    pub fn last_ledger_writes(&mut self, now: Timestamp) -> Vec<crate::operator::ledger::BucketWrite> {
        self.ledger.all_due(now);
        self.ledger.due_writes(now).0
    }

    fn deliver_due(&mut self, now: Timestamp) {
        for (id, pending) in self.ledger.due_deliveries(now, DELIVERIES_PER_TICK) {
            self.effects.push(Effect::Deliver { id, pending });
        }
        self.metrics.set_backlog(self.ledger.backlog());
    }

    pub(super) fn on_ledger_written(&mut self, index: usize, serial: u64, result: Result<(), RequestError>) {
        let now = self.now;
        match result {
            Ok(()) => {
                self.metrics.ledger(LedgerEvent::Written, 1);
                self.ledger.written(index, serial, true, now);
                self.deliver_due(now);
                // Findings held until their notices were recorded may be written now.
                self.write_findings(now);
            }
            Err(error) => {
                warn!(bucket = index, category = error.category(), "writing the ledger failed, retrying: {error}");
                self.metrics.ledger(LedgerEvent::WriteFailed, 1);
                self.ledger.written(index, serial, false, now);
                // Past a few failures, what the bucket holds is delivered unrecorded rather
                // than held back: at worst it is announced again after a restart.
                self.deliver_due(now);
            }
        }
    }

    pub(super) fn on_delivered(&mut self, id: &str, delivery: Delivery) {
        if let Some(given_up) = self.ledger.delivered(id, delivery, self.now) {
            error!(id = %given_up.id, "an announcement failed every round of delivery and is given up");
            self.metrics.ledger(LedgerEvent::AnnouncementDropped, 1);
        }
        self.metrics.set_backlog(self.ledger.backlog());
    }
}

//! CloudEvents 1.0 notifications over HTTP (DESIGN.md, Notifications).
//!
//! [`Notifier::send`] never blocks: it checks the sink's de-duplication set and hands the
//! notification to a bounded queue (full queue: not queued, counted and logged, and its
//! [`Receipt`] says so, so the sender keeps it and offers it again later). A background
//! task routes each notification to its sink's worker, so sinks are served concurrently and
//! each sink in order. A worker reads the sink's Secret at every attempt (rotation takes
//! effect at once), POSTs in binary or structured mode, and retries 5xx, 408, 429 and
//! connection errors with exponential backoff and jitter, honouring `Retry-After`.
//!
//! Connections go only to addresses the [`SinkAddressPolicy`] allows, checked on the
//! addresses the sink's host resolves to at each new connection (see `connect`); a
//! refused address fails the delivery at once, without retries.
//!
//! The URL and `Authorization` value are never logged: a sink is named `namespace/secretName`.
//! Credentials belong in `authSecretRef`; user information in the URL is not turned into a
//! header. Only Secrets labelled `driftwarden.dev/notification-credentials: "true"` are
//! read. RBAC: `get` on those `secrets` in the namespaces that configure sinks.
//!
//! De-duplication here is in memory, for the life of the process; across restarts and
//! failovers the operator's ledger (`crate::operator::ledger`) keeps each notification
//! until its receipt says it was delivered.

mod connect;
mod dedup;
mod delivery;
mod error;
mod event;
mod retry;
mod sink;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc};
use tokio::task::{JoinHandle, JoinSet};

pub use connect::ConnectError;
pub use dedup::DedupSet;
pub use error::DeliveryError;
pub use event::{Notification, NotificationType, SPEC_VERSION, STRUCTURED_CONTENT_TYPE, header_value};
pub use retry::{MAX_RETRY_AFTER, Verdict, next_delay, retry_after, verdict};

pub use crate::notification::Sink;

use crate::engine::backoff::Backoff;
use crate::notification::{SinkAddressPolicy, SinkKey};
use crate::operator::metrics::{Metrics, NotificationResult};

/// How notifications are delivered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifySettings {
    /// Attempts per notification and sink, the first included (at least 1).
    pub max_attempts: u32,
    /// The delay before the second attempt; it doubles with each failure (with jitter).
    pub initial_backoff: Duration,
    /// The cap on the delay between attempts (a `Retry-After` may ask for more, up to
    /// [`MAX_RETRY_AFTER`]).
    pub max_backoff: Duration,
    /// The time one attempt (connect, send, response) may take.
    pub timeout: Duration,
    /// How many event ids each sink remembers to avoid sending one twice.
    pub dedup_capacity: usize,
    /// How many notifications may wait in the shared queue, and in each sink's queue.
    pub queue_capacity: usize,
    /// Which addresses sinks may be delivered to (by default, none in a restricted range).
    pub addresses: SinkAddressPolicy,
}

impl NotifySettings {
    /// The backoff between attempts: from `initial_backoff` doubling up to `max_backoff`.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.initial_backoff, self.max_backoff)
    }
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            dedup_capacity: 4096,
            queue_capacity: 1024,
            addresses: SinkAddressPolicy::default(),
        }
    }
}

/// What [`Notifier::send`] did with a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enqueued {
    /// Queued for delivery.
    Queued,
    /// Already sent (or queued) to this sink: not sent again.
    Duplicate,
    /// The queue was full (or the notifier stopped): dropped, counted and logged.
    Dropped,
}

/// The outcome of one notification at one sink, published to [`Notifier::reports`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The sink, as `namespace/secretName`.
    pub sink: String,
    /// The event id.
    pub id: String,
    /// What became of it.
    pub result: NotificationResult,
    /// How many requests were attempted (0 when none was).
    pub attempts: u32,
    /// The last error's category when it was not delivered.
    pub category: Option<&'static str>,
}

/// Told once how one notification ended: delivered, refused, given up after its retries,
/// not queued (full queue) or skipped as a duplicate; with the last error when a delivery
/// was attempted and failed.
pub type Receipt = Box<dyn FnOnce(NotificationResult, Option<&DeliveryError>) + Send>;

/// A notification on its way, with whom to tell how it ended.
pub(crate) struct Queued {
    pub(crate) notification: Notification,
    pub(crate) receipt: Option<Receipt>,
}

impl Queued {
    /// Tells the sender how it ended.
    pub(crate) fn settle(self, result: NotificationResult) {
        if let Some(receipt) = self.receipt {
            receipt(result, None);
        }
    }
}

/// State shared by the sender side, the router and the workers.
pub(crate) struct Shared {
    client: kube::Client,
    settings: NotifySettings,
    metrics: Arc<Metrics>,
    dedup: Mutex<HashMap<SinkKey, DedupSet>>,
    reports: broadcast::Sender<DeliveryReport>,
}

impl Shared {
    /// Records `id` for `key`; false when it is already there.
    fn remember(&self, key: &SinkKey, id: &str) -> bool {
        let mut dedup = self.dedup.lock().unwrap_or_else(PoisonError::into_inner);
        dedup.entry(key.clone()).or_insert_with(|| DedupSet::new(self.settings.dedup_capacity)).insert(id)
    }

    /// Forgets `id` for `key`, so a later send may deliver it.
    fn forget(&self, key: &SinkKey, id: &str) {
        let mut dedup = self.dedup.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(set) = dedup.get_mut(key) {
            set.remove(id);
        }
    }

    /// Counts and publishes an outcome.
    fn finish(&self, report: DeliveryReport) {
        self.metrics.notification(report.result);
        // Nobody listening is normal.
        let _ = self.reports.send(report);
    }

    /// Gives back a notification that could not be queued.
    fn drop_notification(&self, sink: &Sink, queued: Queued, why: &'static str) {
        let notification = &queued.notification;
        tracing::warn!(
            sink = %sink.display_name(),
            id = %notification.id,
            kind = %notification.kind,
            why,
            "notification not queued"
        );
        self.forget(&sink.key(), &notification.id);
        self.finish(DeliveryReport {
            sink: sink.display_name(),
            id: notification.id.clone(),
            result: NotificationResult::Dropped,
            attempts: 0,
            category: Some(why),
        });
        queued.settle(NotificationResult::Dropped);
    }
}

/// Sends notifications without blocking. Cheap to clone; delivery stops once every clone
/// is dropped and the queued notifications are delivered or given up.
#[derive(Clone)]
pub struct Notifier {
    queue: mpsc::Sender<(Sink, Queued)>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").field("settings", &self.shared.settings).finish_non_exhaustive()
    }
}

impl Notifier {
    /// Starts the delivery task. `client` reads the sinks' Secrets; `metrics` counts
    /// outcomes. The handle completes when every `Notifier` clone is dropped and the
    /// queues are drained.
    pub fn spawn(client: kube::Client, settings: NotifySettings, metrics: Arc<Metrics>) -> (Notifier, JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(settings.queue_capacity.max(1));
        let (reports, _) = broadcast::channel(256);
        let shared = Arc::new(Shared { client, settings, metrics, dedup: Mutex::new(HashMap::new()), reports });
        let task = tokio::spawn(route(shared.clone(), receiver));
        (Notifier { queue, shared }, task)
    }

    /// Queues `notification` for `sink`. Never blocks and never fails: a duplicate is
    /// skipped, and a full queue does not take the notification (counted and logged).
    pub fn send(&self, sink: &Sink, notification: Notification) -> Enqueued {
        self.send_with_receipt(sink, notification, None)
    }

    /// Queues `notification` for `sink` as [`Notifier::send`] does; `receipt` is told once
    /// how it ended (at once when it is a duplicate or the queue is full).
    pub fn send_with_receipt(&self, sink: &Sink, notification: Notification, receipt: Option<Receipt>) -> Enqueued {
        let queued = Queued { notification, receipt };
        if !self.shared.remember(&sink.key(), &queued.notification.id) {
            tracing::debug!(sink = %sink.display_name(), id = %queued.notification.id, "duplicate notification skipped");
            self.shared.metrics.notification(NotificationResult::Duplicate);
            queued.settle(NotificationResult::Duplicate);
            return Enqueued::Duplicate;
        }
        match self.queue.try_send((sink.clone(), queued)) {
            Ok(()) => Enqueued::Queued,
            Err(mpsc::error::TrySendError::Full((sink, queued))) => {
                self.shared.drop_notification(&sink, queued, "QueueFull");
                Enqueued::Dropped
            }
            Err(mpsc::error::TrySendError::Closed((sink, queued))) => {
                self.shared.drop_notification(&sink, queued, "NotifierStopped");
                Enqueued::Dropped
            }
        }
    }

    /// Forgets what was sent to every sink not in `used` (no policy or campaign names it
    /// any more), so de-duplication sets do not outlive their sinks.
    pub fn retain_sinks(&self, used: &std::collections::HashSet<SinkKey>) {
        let mut dedup = self.shared.dedup.lock().unwrap_or_else(PoisonError::into_inner);
        dedup.retain(|key, _| used.contains(key));
    }

    /// How many sinks have sent ids remembered.
    pub fn sinks_remembered(&self) -> usize {
        self.shared.dedup.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// A stream of delivery outcomes (for Events, tests and diagnostics). A slow reader
    /// misses old reports rather than slowing delivery.
    pub fn reports(&self) -> broadcast::Receiver<DeliveryReport> {
        self.shared.reports.subscribe()
    }
}

/// Routes queued notifications to per-sink workers, starting them on demand.
async fn route(shared: Arc<Shared>, mut receiver: mpsc::Receiver<(Sink, Queued)>) {
    let http = delivery::http_client(shared.settings.addresses.clone());
    let mut workers: HashMap<SinkKey, mpsc::Sender<Queued>> = HashMap::new();
    let mut tasks = JoinSet::new();
    while let Some((sink, queued)) = receiver.recv().await {
        // Reap finished workers, and the queues of those that went idle and stopped, so
        // neither grows with the sinks ever used.
        while tasks.try_join_next().is_some() {}
        workers.retain(|_, sender| !sender.is_closed());
        let key = sink.key();
        let mut pending = Some(queued);
        for _ in 0..2 {
            let Some(queued) = pending.take() else { break };
            let sender = workers.entry(key.clone()).or_insert_with(|| {
                let (sender, queue) = mpsc::channel(shared.settings.queue_capacity.max(1));
                tasks.spawn(delivery::run_worker(shared.clone(), http.clone(), sink.clone(), queue));
                sender
            });
            match sender.try_send(queued) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(queued)) => {
                    shared.drop_notification(&sink, queued, "QueueFull");
                }
                Err(mpsc::error::TrySendError::Closed(queued)) => {
                    // The worker went idle and stopped: start a new one and try again.
                    workers.remove(&key);
                    pending = Some(queued);
                }
            }
        }
        if let Some(queued) = pending {
            shared.drop_notification(&sink, queued, "NotifierStopped");
        }
    }
    drop(workers);
    while tasks.join_next().await.is_some() {}
}

/// Displays an error with its sources, `: `-separated.
pub(crate) struct ErrorChain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

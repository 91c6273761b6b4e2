//! The runtime of `driftwarden run`: it owns the client, the watches and the tasks, feeds
//! every watch event, every outcome of a request and every clock tick to the
//! [`Reconciler`], and executes the [`Effect`]s it answers with. At most
//! `settings.api_requests` requests are under way at once (watches apart).

mod execute;
mod requests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use tokio::sync::mpsc::{self, Receiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use super::bounded::bounded_client;
use super::health::Readiness as Health;
use super::impersonate::Accounts;
use super::ledger::Ledger;
use super::metrics::{InternalErrorKind, Metrics, counting_client};
use super::notify::{Notifier, NotifySettings};
use super::reconciler::{Input, Outcome, Reconciler};
use super::settings::Clock;
use super::settings::OperatorSettings;
use super::watch::{self, Watched};
use crate::engine::FingerprintKey;
use crate::engine::backoff::Backoff;
use crate::fingerprints;
use crate::keys::KindKey;

/// How many watch events may wait for the loop before the watches wait in turn.
const WATCH_BACKLOG: usize = 256;

/// What runs beside the loop and is shared with it: metrics, readiness and notifications.
#[derive(Clone)]
pub struct Services {
    pub metrics: Arc<Metrics>,
    /// Ready once policies and exceptions are listed.
    pub health: Health,
    pub notifier: Notifier,
}

impl Services {
    /// Fresh metrics, a not-ready flag, and a notifier delivering with default settings
    /// (no sink may use a loopback, link-local or private address).
    pub fn new(client: Client) -> Self {
        Self::with_notify(client, NotifySettings::default())
    }

    /// Fresh metrics, a not-ready flag, and a notifier delivering with `notify`.
    pub fn with_notify(client: Client, notify: NotifySettings) -> Self {
        let metrics = Arc::new(Metrics::new());
        let client = counting_client(client, metrics.clone());
        let (notifier, _) = Notifier::spawn(client, notify, metrics.clone());
        Self { metrics, health: Health::new(), notifier }
    }
}

/// What effects are executed with, and where their outcomes go.
pub(crate) struct Runtime {
    client: Client,
    /// The clients fixes are made with: the operator's, and one per ServiceAccount.
    accounts: Accounts,
    settings: OperatorSettings,
    recorder: Recorder,
    notifier: Notifier,
    watched_tx: mpsc::Sender<Watched>,
    outcomes_tx: UnboundedSender<Outcome>,
    /// The watch of each kind a policy names, and what it was started with (to start it
    /// again should its task panic).
    watches: BTreeMap<KindKey, (Option<JoinHandle<()>>, watch::KindWatch)>,
    metrics: Arc<Metrics>,
}

impl Runtime {
    /// Starts again, with a fresh list, every watch whose task panicked (a bug, caught:
    /// logged and counted), so a kind is never left unwatched. Own kinds are watched again
    /// all at once: their relist forgets nothing that still exists.
    fn restart_panicked_watches(&mut self, own: &mut Vec<JoinHandle<()>>) {
        let stopped: Vec<KindKey> = self
            .watches
            .iter_mut()
            .filter_map(|(kind, (slot, _))| {
                let panicked = slot.as_mut().and_then(ended)?;
                // An ended task's result is read once only.
                *slot = None;
                panicked.then(|| kind.clone())
            })
            .collect();
        for kind in stopped {
            tracing::error!(kind = %kind, "the watch task panicked: watching the kind again");
            self.metrics.internal_error(InternalErrorKind::Task);
            if let Some((_, spec)) = self.watches.remove(&kind) {
                let task = watch::watch_kind(
                    self.client.clone(),
                    kind.clone(),
                    &spec,
                    &self.settings.watch_namespaces,
                    self.watched_tx.clone(),
                );
                self.watches.insert(kind, (Some(task), spec));
            }
        }
        let mut panicked = false;
        own.retain_mut(|task| match ended(task) {
            Some(panic) => {
                panicked |= panic;
                false
            }
            None => true,
        });
        if panicked {
            tracing::error!("a watch of driftwarden's own kinds panicked: watching them again");
            self.metrics.internal_error(InternalErrorKind::Task);
            for task in own.drain(..) {
                task.abort();
            }
            *own = watch::watch_own(self.client.clone(), &self.settings, self.watched_tx.clone());
        }
    }
}

/// Whether `task` ended, and if so whether with a panic. Its result can be read once only:
/// an ended task must not be asked again.
fn ended(task: &mut JoinHandle<()>) -> Option<bool> {
    if !task.is_finished() {
        return None;
    }
    futures::FutureExt::now_or_never(task).map(|result| result.is_err_and(|e| e.is_panic()))
}

/// Runs the operator until `shutdown` resolves, with its own metrics and notifier.
pub async fn run(client: Client, settings: OperatorSettings, shutdown: impl std::future::Future<Output = ()>) {
    let services = Services::new(client.clone());
    run_with(client, settings, services, shutdown).await;
}

/// Runs the operator until `shutdown` resolves, sharing `services` with the caller (the
/// health endpoints read them).
pub async fn run_with(
    client: Client,
    settings: OperatorSettings,
    services: Services,
    shutdown: impl std::future::Future<Output = ()>,
) {
    // Every request the loop and its tasks send is counted by verb, and a bounded number
    // of them are under way at once.
    let client = counting_client(bounded_client(client, settings.api_requests), services.metrics.clone());
    // Watches wait while the loop is this far behind: their events queue on the
    // connection, not in memory.
    let (watched_tx, mut watched_rx) = mpsc::channel(WATCH_BACKLOG);
    // Unbounded, but bounded by construction: each outcome answers one effect, and the
    // loop keeps at most one request under way per object (fixes), per policy, campaign
    // and exception (status writes), per Finding, per kind (discovery) and per report, so
    // the queue never holds more outcomes than there are resources it governs.
    let (outcomes_tx, mut outcomes_rx) = unbounded_channel();
    let reporter = Reporter { controller: settings.reporter.clone(), instance: std::env::var("POD_NAME").ok() };
    let clock = settings.clock.clone();
    let mut shutdown = std::pin::pin!(shutdown);
    // Before anything is decided, both at once: the installation's fingerprint key, so
    // every Secret value shown is fingerprinted with the same key on every run and
    // replica; and what an earlier run recorded, so nothing it announced is announced
    // again and nothing it left undelivered is lost.
    let loaded = tokio::select! {
        _ = &mut shutdown => None,
        loaded = async {
            tokio::join!(
                load_fingerprint_key(&client, &settings, &services),
                load_ledger(&client, &settings, &services, &clock)
            )
        } => Some(loaded),
    };
    let Some((fingerprints, ledger)) = loaded else {
        services.health.set_not_ready("the operator stopped");
        return;
    };
    let mut reconciler =
        Reconciler::new(settings.clone(), services.metrics.clone(), services.health.clone(), clock.now(), fingerprints)
            .with_ledger(ledger);
    let mut runtime = Runtime {
        recorder: Recorder::new(client.clone(), reporter),
        notifier: services.notifier.clone(),
        client: client.clone(),
        accounts: Accounts::new(client.clone()),
        watched_tx: watched_tx.clone(),
        outcomes_tx,
        watches: BTreeMap::new(),
        metrics: services.metrics.clone(),
        settings,
    };
    let mut own = watch::watch_own(client, &runtime.settings, watched_tx);
    let mut tick = tokio::time::interval(runtime.settings.status_interval);
    // Each resync waits the period plus a jitter drawn afresh, so replicas and restarts
    // never fall into step.
    let resync_interval = runtime.settings.resync_interval;
    let mut next_resync = tokio::time::Instant::now() + jittered(resync_interval, &mut rand::rng());
    loop {
        let input = tokio::select! {
            _ = &mut shutdown => break,
            Some(watched) = watched_rx.recv() => Input::Watched(watched),
            Some(outcome) = outcomes_rx.recv() => Input::Outcome(outcome),
            _ = tick.tick() => Input::Tick,
            _ = tokio::time::sleep_until(next_resync) => {
                next_resync = tokio::time::Instant::now() + jittered(resync_interval, &mut rand::rng());
                Input::Resync
            }
        };
        if matches!(input, Input::Tick) {
            runtime.restart_panicked_watches(&mut own);
        }
        let started = std::time::Instant::now();
        // The last line of defence: a panic outside the boundaries the reconciler contains
        // itself drops that one input (and what it would have done), never the loop. The
        // periodic resync evaluates everything again.
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reconciler.handle(input, clock.now())));
        let effects = match handled {
            Ok(effects) => effects,
            Err(panic) => {
                let message = super::reconciler::panic_message(panic);
                tracing::error!("handling an input panicked; the input is dropped: {message}");
                services.metrics.internal_error(InternalErrorKind::Input);
                Vec::new()
            }
        };
        if let Some(label) = reconciler.work().label() {
            services.metrics.reconcile_duration(label, started.elapsed());
        }
        if reconciler.work() == super::reconciler::Work::Batch {
            release_free_memory();
        }
        for effect in effects {
            runtime.execute(effect);
        }
    }
    for task in own {
        task.abort();
    }
    for (task, _) in std::mem::take(&mut runtime.watches).into_values() {
        task.inspect(JoinHandle::abort);
    }
    services.health.set_not_ready("the operator stopped");
    drain(&mut watched_rx);
    // A shutdown (not a crash) records what the ledger has not written yet, deliveries
    // included, so the next leader repeats nothing: for a short while only, as a pod's
    // grace period allows.
    let last = reconciler.last_ledger_writes(clock.now());
    let namespace = runtime.settings.namespace.clone();
    let writes =
        futures::future::join_all(last.iter().map(|w| requests::write_ledger(runtime.client.clone(), &namespace, w)));
    match tokio::time::timeout(LAST_WRITES, writes).await {
        Ok(results) => {
            for error in results.into_iter().filter_map(Result::err) {
                tracing::warn!("the ledger could not be written at shutdown: {error}");
            }
        }
        Err(_) => tracing::warn!("the ledger's last writes did not finish within {LAST_WRITES:?}"),
    }
}

/// How long a shutdown waits for the ledger's last writes.
const LAST_WRITES: Duration = Duration::from_secs(3);

/// Reads the installation's fingerprint key, or creates it when there is none, trying
/// again (0.5 s doubling up to 30 s) until it can; meanwhile the operator is not ready and
/// says why. The key itself is never logged.
async fn load_fingerprint_key(client: &Client, settings: &OperatorSettings, services: &Services) -> FingerprintKey {
    let backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut failures = 0;
    loop {
        match fingerprints::get_or_create(client.clone(), &settings.namespace).await {
            Ok(key) => {
                tracing::info!(secret = fingerprints::KEY_SECRET, namespace = %settings.namespace, "fingerprint key read");
                return key;
            }
            Err(error) => {
                failures += 1;
                let message = format!("no fingerprint key: {error}");
                tracing::warn!(failures, "{message}; retrying");
                services.health.set_not_ready(message);
                tokio::time::sleep(backoff.delay(failures)).await;
            }
        }
    }
}

/// Reads the ledger's ConfigMaps, trying again (0.5 s doubling up to 30 s) until it can;
/// meanwhile the operator is not ready and says why. Records that do not read are logged
/// and skipped.
async fn load_ledger(client: &Client, settings: &OperatorSettings, services: &Services, clock: &Clock) -> Ledger {
    let backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut failures = 0;
    loop {
        match requests::read_ledger(client.clone(), &settings.namespace).await {
            Ok(buckets) => {
                let (ledger, problems) = Ledger::restore(buckets, clock.now());
                for problem in &problems {
                    tracing::warn!("a ledger record could not be read and is skipped: {problem}");
                }
                let (escalations, fields, _, backlog) = ledger.sizes();
                tracing::info!(escalations, fixed_fields = fields, backlog, "ledger read");
                return ledger;
            }
            Err(error) => {
                failures += 1;
                let message = format!("cannot read the ledger in namespace {}: {error}", settings.namespace);
                tracing::warn!(failures, "{message}; retrying");
                services.health.set_not_ready(message.clone());
                tokio::time::sleep(backoff.delay(failures)).await;
            }
        }
    }
}

fn drain<T>(rx: &mut Receiver<T>) {
    rx.close();
    while rx.try_recv().is_ok() {}
}

/// `period` plus a random jitter of up to a tenth of it.
fn jittered(period: Duration, rng: &mut impl rand::Rng) -> Duration {
    use rand::RngExt;
    let tenth = u64::try_from(period.as_millis() / 10).unwrap_or(u64::MAX);
    period + Duration::from_millis(rng.random_range(0..=tenth))
}

/// Gives the allocator's free pages back to the system. A batch (a kind listed, every
/// object evaluated again) allocates and frees a great deal at once; glibc keeps the freed
/// pages in its arenas, so without this the process would stay as large as its busiest
/// moment (at 100,000 governed objects, tens of MiB beyond what it holds).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only walks glibc's own free lists, under
    // their locks; any thread may call it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[tokio::test]
    async fn a_task_that_panicked_is_told_from_one_that_ended_or_runs() {
        let mut panicking = tokio::spawn(async { panic!("a bug") });
        let mut ending = tokio::spawn(async {});
        let mut running = tokio::spawn(std::future::pending::<()>());
        while !panicking.is_finished() || !ending.is_finished() {
            tokio::task::yield_now().await;
        }
        assert_eq!(ended(&mut panicking), Some(true));
        assert_eq!(ended(&mut ending), Some(false));
        assert_eq!(ended(&mut running), None);
        running.abort();
    }

    #[tokio::test]
    async fn a_request_task_that_panics_sends_its_outcome_as_a_failure_and_is_counted() {
        let metrics = Arc::new(Metrics::new());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        execute::spawn_contained(
            metrics.clone(),
            Box::pin(async { panic!("a bug in a request") }),
            Box::new(move |message| {
                let _ = tx.send(message);
            }),
        );
        assert_eq!(rx.recv().await.as_deref(), Some("a bug in a request"));
        assert_eq!(metrics.internal_errors(InternalErrorKind::Task), 1);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        execute::spawn_contained(metrics.clone(), Box::pin(async {}), Box::new(move |m| drop(tx.send(m))));
        assert_eq!(rx.recv().await, None, "a task that ends well calls no fallback");
        assert_eq!(metrics.internal_errors(InternalErrorKind::Task), 1);
    }

    #[test]
    fn each_resync_draws_its_own_jitter_of_up_to_a_tenth() {
        let period = Duration::from_secs(600);
        let mut rng = rand::rng();
        let draws: BTreeSet<Duration> = (0..50).map(|_| jittered(period, &mut rng)).collect();
        assert!(draws.iter().all(|d| *d >= period && *d <= period + period / 10), "{draws:?}");
        assert!(draws.len() > 40, "the jitter varies from one resync to the next: {draws:?}");
        assert_eq!(jittered(Duration::from_millis(5), &mut rng), Duration::from_millis(5));
    }
}

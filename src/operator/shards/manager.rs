//! The IO shell of sharding: a task that watches the set's Leases, runs the [`Table`]'s
//! plans, sends its requests and publishes the [`Assignment`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use super::assignment::Assignment;
use super::settings::{ShardError, ShardSettings};
use super::table::{Outcome, Request, Table};
use super::view::{SHARDS_ANNOTATION, View};

/// The label that ties the Leases of one set together (its value: the base name).
pub const SET_LABEL: &str = "driftwarden.dev/lease-set";
/// The label that says what a Lease of the set is for: `shard` or `member`.
pub const ROLE_LABEL: &str = "driftwarden.dev/lease-role";
/// The field manager of the manager's writes.
const FIELD_MANAGER: &str = "driftwarden-shards";
/// How many times a release reads a Lease again after a conflict.
const RELEASE_ATTEMPTS: usize = 3;

/// A running shard manager (see the [module documentation](super)). Dropping it stops
/// the task *without* releasing the Leases, as a crash would; call
/// [`step_down`](Self::step_down) on graceful shutdown.
#[derive(Debug)]
pub struct ShardManager {
    identity: String,
    assignment: watch::Receiver<Assignment>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ShardError>>>,
}

impl ShardManager {
    /// Checks `settings` and that the Leases can be listed, then starts taking part in the
    /// set. The first [`Assignment`] is empty; shards follow once the Leases are listed
    /// and written.
    pub async fn start(client: kube::Client, settings: ShardSettings) -> Result<Self, ShardError> {
        settings.validate()?;
        let leases: Api<Lease> = Api::namespaced(client, &settings.namespace);
        let params = ListParams::default().labels(&selector(&settings.base_name)).limit(1);
        leases.list(&params).await.map_err(|source| ShardError::Api {
            action: "list",
            namespace: settings.namespace.clone(),
            source,
        })?;
        let (publish, assignment) = watch::channel(Assignment::none(settings.shards));
        let (stop, stopped) = oneshot::channel();
        let identity = settings.identity.clone();
        tracing::info!(identity = %identity, shards = settings.shards, base = %settings.base_name, "joining the shard set");
        let task = tokio::spawn(run(Writer { leases, settings }, publish, stopped));
        Ok(ShardManager { identity, assignment, stop: Some(stop), task: Some(task) })
    }

    /// This replica's identity in the Leases.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The shards this replica may act on now.
    pub fn assignment(&self) -> Assignment {
        self.assignment.borrow().clone()
    }

    /// A receiver that sees every change of the [`Assignment`].
    pub fn subscribe(&self) -> watch::Receiver<Assignment> {
        self.assignment.clone()
    }

    /// Stops acting on every shard (publishing an empty [`Assignment`] first), waits for the
    /// requests under way, then releases every held Lease and deletes the membership
    /// Lease, so that the other replicas take the shards over at once. Call it once the
    /// work on the shards has stopped.
    pub async fn step_down(mut self) -> Result<(), ShardError> {
        if let Some(stop) = self.stop.take() {
            // The task may have ended already; then there is nothing to release.
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.map_err(ShardError::Task)?,
            None => Ok(()),
        }
    }
}

impl Drop for ShardManager {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The label selector of the set's Leases.
fn selector(base: &str) -> String {
    format!("{SET_LABEL}={base}")
}

/// Publishes `assignment` if it differs from the current one.
fn publish(sender: &watch::Sender<Assignment>, assignment: Assignment, identity: &str) {
    sender.send_if_modified(|current| {
        if *current == assignment {
            return false;
        }
        if current.shards() != assignment.shards() {
            let shards: Vec<String> = assignment.shards().iter().map(u32::to_string).collect();
            tracing::info!(identity, shards = %shards.join(","), "acting on these shards");
        }
        *current = assignment;
        true
    });
}

/// Runs the manager until asked to stop, then hands everything over.
async fn run(
    writer: Writer,
    sender: watch::Sender<Assignment>,
    mut stopped: oneshot::Receiver<()>,
) -> Result<(), ShardError> {
    let settings = &writer.settings;
    let identity = settings.identity.as_str();
    let config = watcher::Config::default().labels(&selector(&settings.base_name));
    let mut events = watcher(writer.leases.clone(), config).default_backoff().boxed();
    let mut view = View::new(settings);
    let mut table = Table::new(settings, Instant::now());
    let mut under_way = FuturesUnordered::new();

    loop {
        let plan = table.plan(&view, Instant::now());
        publish(&sender, plan.assignment, identity);
        for request in plan.requests {
            under_way.push(writer.send(request).boxed());
        }
        tokio::select! {
            biased;
            _ = &mut stopped => break,
            Some(sent) = under_way.next(), if !under_way.is_empty() => {
                let sent: Sent = sent;
                sent.record(&mut table, &mut view, identity);
            }
            Some(event) = events.next() => match event {
                Ok(event) => view.event(event, Instant::now()),
                Err(error) => tracing::debug!(identity, error = %error, "the shard Lease watch failed; retrying"),
            },
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(plan.wake_at)) => {}
        }
    }

    // Stop acting first; then let the requests under way end, so that the releases name
    // the versions last written.
    publish(&sender, Assignment::none(settings.shards), identity);
    while let Some(sent) = under_way.next().await {
        sent.record(&mut table, &mut view, identity);
    }
    let handover = table.step_down();
    let sent = futures::future::join_all(handover.into_iter().map(|request| writer.send(request))).await;
    let mut first_error = None;
    for sent in sent {
        match sent.result {
            Err(Failure::Api(source)) => {
                first_error.get_or_insert(ShardError::Api {
                    action: "release",
                    namespace: settings.namespace.clone(),
                    source,
                });
            }
            Err(Failure::Timeout) => {
                tracing::warn!(identity, request = ?sent.request, "a release timed out: the Lease will expire instead");
            }
            Ok(_) | Err(Failure::Conflict) => {}
        }
    }
    match first_error {
        None => {
            tracing::info!(identity, "stepped down and released the shard Leases");
            Ok(())
        }
        Some(error) => Err(error),
    }
}

/// Why a request did not write.
#[derive(Debug)]
enum Failure {
    /// Another writer came first, the Lease exists already, or it is gone.
    Conflict,
    /// The API server answered with another error or could not be reached.
    Api(kube::Error),
    /// No answer within the request timeout.
    Timeout,
}

/// A request and how it ended.
struct Sent {
    request: Request,
    started: Instant,
    /// The Lease written (`None` after a deletion).
    result: Result<Option<Lease>, Failure>,
}

impl Sent {
    /// Hands the outcome to the table, and the written Lease to the view.
    fn record(self, table: &mut Table, view: &mut View, identity: &str) {
        let now = Instant::now();
        let outcome = match self.result {
            Ok(written) => {
                let version = written.as_ref().and_then(|lease| lease.metadata.resource_version.clone());
                match (&written, &self.request) {
                    (Some(lease), _) => view.wrote(lease, now),
                    (None, Request::ForgetMember { name, .. }) => view.forget(name),
                    (None, _) => {}
                }
                Outcome::Done { started: self.started, version }
            }
            Err(Failure::Conflict) => Outcome::Conflict,
            Err(Failure::Api(error)) => {
                tracing::debug!(identity, request = ?self.request, error = %error, "a shard Lease request failed");
                Outcome::Failed
            }
            Err(Failure::Timeout) => {
                tracing::debug!(identity, request = ?self.request, "a shard Lease request timed out");
                Outcome::Failed
            }
        };
        table.record(&self.request, outcome, now);
    }
}

/// Sends the table's requests.
struct Writer {
    leases: Api<Lease>,
    settings: ShardSettings,
}

/// Sorts an API error: conflicts (409, including "already exists") and a missing Lease
/// (404) mean the Lease is not in the state the request expected.
fn failure(error: kube::Error) -> Failure {
    match &error {
        kube::Error::Api(status) if status.code == 409 || status.code == 404 => Failure::Conflict,
        _ => Failure::Api(error),
    }
}

impl Writer {
    /// How long a request may take: past the acting term, its answer no longer matters.
    fn timeout(&self) -> Duration {
        self.settings.lease_duration - self.settings.safety_margin
    }

    async fn send(&self, request: Request) -> Sent {
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout(), self.write(&request)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout),
        };
        Sent { request, started, result }
    }

    async fn write(&self, request: &Request) -> Result<Option<Lease>, Failure> {
        let settings = &self.settings;
        let identity = settings.identity.as_str();
        match request {
            Request::Take { shard, version: None } => {
                self.create(&settings.shard_lease(*shard), "shard", BTreeMap::new()).await.map(Some)
            }
            Request::Take { shard, version: Some(version) } => {
                let now = now();
                let patch = json!({
                    "metadata": {"resourceVersion": version},
                    "spec": {
                        "holderIdentity": identity,
                        "leaseDurationSeconds": self.duration_seconds(),
                        "acquireTime": now,
                        "renewTime": now,
                    },
                });
                self.patch(&settings.shard_lease(*shard), &patch).await.map(Some)
            }
            Request::Renew { shard, version } => {
                let patch = json!({
                    "metadata": {"resourceVersion": version},
                    "spec": {"holderIdentity": identity, "leaseDurationSeconds": self.duration_seconds(), "renewTime": now()},
                });
                self.patch(&settings.shard_lease(*shard), &patch).await.map(Some)
            }
            Request::Release { shard, version } => self.release(&settings.shard_lease(*shard), version).await.map(Some),
            Request::KeepMember { version: None } => {
                let annotations = BTreeMap::from([(SHARDS_ANNOTATION.to_string(), settings.shards.to_string())]);
                self.create(&settings.member_lease(identity), "member", annotations).await.map(Some)
            }
            Request::KeepMember { version: Some(_) } => {
                // Only this replica writes its membership Lease: no version check, so that
                // a watch running behind never costs a renewal.
                let patch = json!({
                    "metadata": {"annotations": {SHARDS_ANNOTATION: settings.shards.to_string()}},
                    "spec": {"holderIdentity": identity, "leaseDurationSeconds": self.duration_seconds(), "renewTime": now()},
                });
                self.patch(&settings.member_lease(identity), &patch).await.map(Some)
            }
            Request::ForgetMember { name, version } => {
                let params = DeleteParams {
                    preconditions: version
                        .as_ref()
                        .map(|version| Preconditions { resource_version: Some(version.clone()), uid: None }),
                    ..DeleteParams::default()
                };
                self.leases.delete(name, &params).await.map(|_| None).map_err(failure)
            }
        }
    }

    fn duration_seconds(&self) -> i32 {
        i32::try_from(self.settings.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }

    async fn create(&self, name: &str, role: &str, annotations: BTreeMap<String, String>) -> Result<Lease, Failure> {
        let now = MicroTime(Timestamp::now());
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(self.settings.namespace.clone()),
                labels: Some(BTreeMap::from([
                    (SET_LABEL.to_string(), self.settings.base_name.clone()),
                    (ROLE_LABEL.to_string(), role.to_string()),
                    ("app.kubernetes.io/managed-by".to_string(), "driftwarden".to_string()),
                ])),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.settings.identity.clone()),
                lease_duration_seconds: Some(self.duration_seconds()),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        let params = PostParams { field_manager: Some(FIELD_MANAGER.to_string()), ..PostParams::default() };
        self.leases.create(&params, &lease).await.map_err(failure)
    }

    async fn patch(&self, name: &str, patch: &serde_json::Value) -> Result<Lease, Failure> {
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_string()), ..PatchParams::default() };
        self.leases.patch(name, &params, &Patch::Merge(patch)).await.map_err(failure)
    }

    /// Frees a Lease held here. After a conflict (a renewal of ours whose answer was
    /// lost, say) the Lease is read again and freed if this replica still holds it.
    async fn release(&self, name: &str, version: &str) -> Result<Lease, Failure> {
        let mut version = version.to_string();
        for _ in 0..RELEASE_ATTEMPTS {
            let patch = json!({"metadata": {"resourceVersion": version}, "spec": {"holderIdentity": null}});
            match self.patch(name, &patch).await {
                Err(Failure::Conflict) => {}
                done => return done,
            }
            let current = self.leases.get(name).await.map_err(failure)?;
            let holder = current.spec.as_ref().and_then(|spec| spec.holder_identity.as_deref());
            if holder != Some(self.settings.identity.as_str()) {
                return Err(Failure::Conflict);
            }
            version = current.metadata.resource_version.unwrap_or_default();
        }
        Err(Failure::Conflict)
    }
}

/// The time now, as the Lease API writes it.
fn now() -> MicroTime {
    MicroTime(Timestamp::now())
}

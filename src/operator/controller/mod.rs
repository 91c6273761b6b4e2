//! The operator's loop: one task owns every policy, cache and counter, and reacts to what
//! the watches report. A change to one object re-evaluates that object against the
//! policies that name its kind; a change to a policy re-evaluates its targets from the
//! cache, with no list call. Fixes, status writes and Events run as tasks of their own and
//! report back, so the loop never waits on the API server.

mod campaigns;
mod checks;
mod error;
mod exception_status;
mod recreating;
mod reports;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::runtime::events::{Event as KubeEvent, EventType, Recorder, Reporter};
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use std::sync::Arc;

use super::bounded::bounded_client;
use super::exceptions::{self, ExceptionEntry};
use super::health::Readiness as Health;
use super::keys::{KindKey, ObjKey, PolicyKey};
use super::metrics::{Metrics, RemediationResult, counting_client};
use super::notify::{Notification, NotificationType, Notifier, NotifySettings, Sink};
use super::remediate::{self, Expectation, Fix, FixResult};
use super::settings::OperatorSettings;
use super::state::{DecidedDrift, PolicyEntry, Readiness, TargetState};
use super::watch::{self, Change, Source, Watched};
use crate::api::policy::{NotifySpec, PolicySpec, PolicyStatus};
use crate::api::reasons;
use crate::engine::backoff::Backoff;
use crate::engine::classify::riskiest;
use crate::engine::decide::{
    Action, Counters, DecisionInput, ExceptionCover, GITOPS_MANAGERS, RemediationRules, decide, opted_out,
};
use crate::engine::evaluate::{TargetResult, compile};
use crate::engine::patch::{apply_body, union_into};
use crate::engine::prune::FieldMask;
use error::RequestError;

/// The `controller` label of the metrics about reconciling one object.
const RECONCILE: &str = "DriftPolicy";

/// The `controller` label of the metrics about re-evaluating many objects at once (a kind
/// listed, a policy or an exception changed, a resync).
const RECONCILE_BATCH: &str = "DriftPolicyBatch";

/// A failed fix is tried again, later each time: 0.5 s, 1 s, 2 s … up to 5 min.
const FIX_BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(300));

/// How many of driftwarden's own kinds are watched: policies, cluster policies,
/// exceptions, campaigns and findings. The operator is ready once all are listed.
const OWN_KINDS: usize = 5;

/// What tasks report back to the loop.
enum Report {
    Resolved(KindKey, Result<(ApiResource, bool), watch::WatchError>),
    Fixed {
        key: ObjKey,
        fixed: Vec<FixPart>,
        result: FixResult,
        /// The permission the server refused, if that is why the fix failed.
        denied: Option<String>,
        started: Timestamp,
    },
    StatusWritten(PolicyKey, Result<PolicyStatus, RequestError>),
    FindingRead {
        campaign: String,
        key: ObjKey,
        read: campaigns::FreshRead,
    },
    FindingWritten {
        campaign: String,
        key: ObjKey,
        written: Result<(Value, crate::api::finding::FindingStatus), RequestError>,
    },
    CampaignWritten(String, Result<crate::api::campaign::CampaignStatus, RequestError>),
    ExceptionWritten((String, String), Result<crate::api::exception::ExceptionStatus, RequestError>),
    CheckFixed {
        campaign: campaigns::CampaignFix,
        key: ObjKey,
        result: FixResult,
        /// When the server refused the fix for lack of permission: which verb on what.
        denied: Option<String>,
    },
    PolicyReportsServed(Result<reports::Served, reports::ReportError>),
    PolicyReportWritten(Option<String>, reports::Written),
}

/// What changed for one policy while reconciling one object, to count and announce.
struct News {
    policy: PolicyKey,
    /// The resourceVersion the drift was seen at: with the paths, it names the occurrence,
    /// so a notification is never sent twice for it.
    version: String,
    sink: Option<Sink>,
    detected: Vec<crate::api::RemediationClass>,
    escalated: Vec<DecidedDrift>,
}

/// What runs beside the loop and is shared with it: metrics, readiness and notifications.
#[derive(Clone)]
pub struct Services {
    pub metrics: Arc<Metrics>,
    /// Ready once policies and exceptions are listed.
    pub health: Health,
    pub notifier: Notifier,
}

impl Services {
    /// Fresh metrics, a not-ready flag, and a notifier delivering with default settings.
    pub fn new(client: Client) -> Self {
        let metrics = Arc::new(Metrics::new());
        let client = counting_client(client, metrics.clone());
        let (notifier, _) = Notifier::spawn(client, NotifySettings::default(), metrics.clone());
        Self { metrics, health: Health::new(), notifier }
    }
}

/// One policy's share of a fix: the paths it restores, the riskiest class among them and
/// when the drift was first seen (for the drift-to-verified latency).
#[derive(Debug, Clone)]
struct FixPart {
    policy: PolicyKey,
    paths: Vec<String>,
    class: crate::api::RemediationClass,
    first_seen: Option<Timestamp>,
    /// The campaign whose wave or approval started the fix, if any.
    campaign: Option<campaigns::CampaignFix>,
}

/// One watched kind.
#[derive(Default)]
struct KindEntry {
    resource: Option<(ApiResource, bool)>,
    /// Why the kind cannot be watched now: `(forbidden, message)`.
    problem: Option<(bool, String)>,
    watch: Option<JoinHandle<()>>,
    /// What the cache keeps of each object: the fields the policies govern.
    mask: Arc<FieldMask>,
    cache: BTreeMap<ObjKey, Value>,
    relist: Option<BTreeMap<ObjKey, Value>>,
    synced: bool,
    next_lookup: Option<Timestamp>,
}

/// The operator's whole state.
pub struct Controller {
    client: Client,
    settings: OperatorSettings,
    recorder: Recorder,
    services: Services,
    /// Own kinds (policies, cluster policies, exceptions) listed so far.
    listed: BTreeSet<&'static str>,
    watched_tx: UnboundedSender<Watched>,
    reports_tx: UnboundedSender<Report>,
    policies: BTreeMap<PolicyKey, PolicyEntry>,
    kinds: BTreeMap<KindKey, KindEntry>,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    exceptions: BTreeMap<(String, String), Result<ExceptionEntry, String>>,
    /// Names seen since a relist of policies or exceptions started.
    relisting: BTreeMap<&'static str, BTreeSet<(Option<String>, String)>>,
    in_flight: BTreeSet<ObjKey>,
    /// No fix starts before the first list of DriftExceptions: an exception that exists
    /// must never lose a race with the drift it covers.
    exceptions_synced: bool,
    writing_status: BTreeSet<PolicyKey>,
    last_tick: Timestamp,
    campaigns: BTreeMap<String, crate::operator::campaigns::CampaignEntry>,
    /// Findings whose campaign is not known (yet): adopted when it is listed.
    pending_findings: BTreeMap<(String, String), crate::operator::campaigns::WatchedFinding>,
    /// Finding writes under way.
    finding_writes: usize,
    exception_status: BTreeMap<(String, String), exception_status::ExceptionState>,
    /// What identity checks read changed since they last ran, and when they last ran.
    identity_dirty: bool,
    last_checks: Option<Timestamp>,
    /// The PolicyReports published, when their CRD is served.
    reports: reports::ReportWriter,
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
    let (watched_tx, mut watched_rx) = unbounded_channel();
    let (reports_tx, mut reports_rx) = unbounded_channel();
    let reporter = Reporter { controller: settings.reporter.clone(), instance: std::env::var("POD_NAME").ok() };
    let mut controller = Controller {
        recorder: Recorder::new(client.clone(), reporter),
        services,
        listed: BTreeSet::new(),
        client: client.clone(),
        watched_tx: watched_tx.clone(),
        reports_tx,
        policies: BTreeMap::new(),
        kinds: BTreeMap::new(),
        namespaces: BTreeMap::new(),
        exceptions: BTreeMap::new(),
        relisting: BTreeMap::new(),
        in_flight: BTreeSet::new(),
        exceptions_synced: false,
        writing_status: BTreeSet::new(),
        last_tick: settings.clock.now(),
        campaigns: BTreeMap::new(),
        pending_findings: BTreeMap::new(),
        finding_writes: 0,
        exception_status: BTreeMap::new(),
        identity_dirty: false,
        last_checks: None,
        reports: reports::ReportWriter::default(),
        settings,
    };
    let own = watch::watch_own(client, &controller.settings, watched_tx);
    let mut tick = tokio::time::interval(controller.settings.status_interval);
    // Each resync waits the period plus a jitter drawn afresh, so replicas and restarts
    // never fall into step.
    let resync_interval = controller.settings.resync_interval;
    let mut next_resync = tokio::time::Instant::now() + jittered(resync_interval, &mut rand::rng());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some(watched) = watched_rx.recv() => controller.on_watched(watched),
            Some(report) = reports_rx.recv() => controller.on_report(report),
            _ = tick.tick() => controller.on_tick(),
            _ = tokio::time::sleep_until(next_resync) => {
                controller.resync();
                next_resync = tokio::time::Instant::now() + jittered(resync_interval, &mut rand::rng());
            }
        }
    }
    for task in own {
        task.abort();
    }
    for kind in controller.kinds.values_mut() {
        if let Some(task) = kind.watch.take() {
            task.abort();
        }
    }
    controller.services.health.set_not_ready("the operator stopped");
    drain(&mut watched_rx);
}

fn drain<T>(rx: &mut UnboundedReceiver<T>) {
    rx.close();
    while rx.try_recv().is_ok() {}
}

/// `period` plus a random jitter of up to a tenth of it.
fn jittered(period: Duration, rng: &mut impl rand::Rng) -> Duration {
    use rand::RngExt;
    let tenth = u64::try_from(period.as_millis() / 10).unwrap_or(u64::MAX);
    period + Duration::from_millis(rng.random_range(0..=tenth))
}

fn name_of(object: &Value) -> (Option<String>, String) {
    let text = |p: &str| object.pointer(p).and_then(Value::as_str).map(str::to_string);
    (text("/metadata/namespace"), text("/metadata/name").unwrap_or_default())
}

impl Controller {
    fn on_watched(&mut self, watched: Watched) {
        match watched.source {
            Source::Policies | Source::ClusterPolicies => {
                let label = if watched.source == Source::Policies { "policies" } else { "cluster-policies" };
                let namespaced = watched.source == Source::Policies;
                self.on_own(
                    label,
                    watched.change,
                    |this, object| this.upsert_policy(object),
                    |this, (ns, name)| {
                        if namespaced == ns.is_some() {
                            this.remove_policy(&PolicyKey { namespace: ns, name });
                        }
                    },
                    move |(ns, _)| namespaced == ns.is_some(),
                    |this| this.policies.keys().map(|k| (k.namespace.clone(), k.name.clone())).collect(),
                );
            }
            Source::Exceptions => {
                let listed = matches!(watched.change, Change::InitDone);
                self.on_exceptions(watched.change);
                if listed && !self.exceptions_synced {
                    self.exceptions_synced = true;
                    self.reevaluate_all();
                }
            }
            Source::Campaigns => self.on_campaigns(watched.change),
            Source::Findings => self.on_findings(watched.change),
            Source::Namespaces => self.on_namespace(watched.change),
            Source::Kind(kind) => self.on_kind(kind, watched.change),
        }
    }

    fn on_exceptions(&mut self, change: Change) {
        self.on_own(
            "exceptions",
            change,
            |this, object| this.upsert_exception(object),
            |this, (ns, name)| this.remove_exception(ns.unwrap_or_default(), name),
            |_| true,
            |this| this.exceptions.keys().map(|(ns, name)| (Some(ns.clone()), name.clone())).collect(),
        );
    }

    /// Handles a change of one of driftwarden's own kinds, including relists, which remove
    /// what was not listed again.
    fn on_own(
        &mut self,
        label: &'static str,
        change: Change,
        upsert: impl Fn(&mut Self, Value),
        remove: impl Fn(&mut Self, (Option<String>, String)),
        mine: impl Fn(&(Option<String>, String)) -> bool,
        known: impl Fn(&Self) -> Vec<(Option<String>, String)>,
    ) {
        match change {
            Change::Init => {
                self.relisting.insert(label, BTreeSet::new());
            }
            Change::InitApply(object) => {
                if let Some(seen) = self.relisting.get_mut(label) {
                    seen.insert(name_of(&object));
                }
                upsert(self, object);
            }
            Change::InitDone => {
                self.listed.insert(label);
                if self.listed.len() == OWN_KINDS {
                    self.services.health.set_ready();
                }
                let seen = self.relisting.remove(label).unwrap_or_default();
                for name in known(self).into_iter().filter(|n| mine(n) && !seen.contains(n)) {
                    remove(self, name);
                }
            }
            Change::Apply(object) => upsert(self, object),
            Change::Delete(object) => remove(self, name_of(&object)),
            Change::Failed(error) => {
                warn!(watch = label, category = error.category(), "watch failed, retrying: {error}");
                self.services.metrics.reconcile_error(RECONCILE, error.category());
            }
        }
    }

    fn upsert_policy(&mut self, object: Value) {
        let (namespace, name) = name_of(&object);
        let cluster = object.get("kind").and_then(Value::as_str) == Some("ClusterDriftPolicy");
        let key = PolicyKey { namespace: if cluster { None } else { namespace }, name };
        let generation = object.pointer("/metadata/generation").and_then(Value::as_i64);
        if self.policies.get(&key).is_some_and(|p| p.generation == generation && generation.is_some()) {
            return;
        }
        let spec = serde_json::from_value::<PolicySpec>(object.get("spec").cloned().unwrap_or(json!({})))
            .map_err(|err| format!("spec: {err}"));
        let notify: Option<NotifySpec> = spec.as_ref().ok().and_then(|spec| spec.escalation.notify.clone());
        let owner_labels = spec.as_ref().map(|spec| spec.escalation.owner_labels.clone()).unwrap_or_default();
        let mut invalid_reason = reasons::INVALID_SPEC;
        let compiled = spec.and_then(|spec| {
            compile(&key.to_string(), key.namespace.as_deref(), &spec).map_err(|problems| {
                invalid_reason = problems.first().map_or(invalid_reason, |p| p.reason);
                problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            })
        });
        if let Err(problem) = &compiled {
            warn!(policy = %key, "invalid policy: {problem}");
        }
        let mut entry = PolicyEntry::new(key.clone(), generation, compiled);
        entry.invalid_reason = invalid_reason;
        // A cluster policy's notification Secret lives in the operator's namespace.
        let sink_namespace = key.namespace.clone().unwrap_or_else(|| self.settings.namespace.clone());
        entry.sink = notify.map(|spec| Sink { namespace: sink_namespace, spec });
        entry.owner_labels = owner_labels;
        if let Some(previous) = self.policies.remove(&key) {
            entry.rate = previous.rate;
            entry.history = previous.history;
            entry.remediated = previous.remediated;
            entry.last_remediation = previous.last_remediation;
            entry.conditions = previous.conditions;
            entry.written = previous.written;
        }
        let kinds: Vec<KindKey> = entry
            .compiled
            .as_ref()
            .map(|c| c.kinds().into_iter().map(|(v, k)| KindKey::new(v, k)).collect())
            .unwrap_or_default();
        self.policies.insert(key.clone(), entry);
        for kind in &kinds {
            self.ensure_kind(kind);
            self.widen_mask(kind);
        }
        self.forget_unused_kinds();
        for kind in kinds {
            self.reevaluate_kind(&kind);
        }
    }

    fn remove_policy(&mut self, key: &PolicyKey) {
        if self.policies.remove(key).is_some() {
            info!(policy = %key, "policy deleted");
            self.forget_unused_kinds();
        }
    }

    fn upsert_exception(&mut self, object: Value) {
        let (namespace, name) = name_of(&object);
        let generation = object.pointer("/metadata/generation").and_then(Value::as_i64);
        self.exception_status.entry((namespace.clone().unwrap_or_default(), name.clone())).or_default().generation =
            generation;
        let entry = exceptions::read(&object);
        if let Err(problem) = &entry {
            warn!(exception = %format!("{}/{name}", namespace.clone().unwrap_or_default()), "invalid exception: {problem}");
        }
        self.exceptions.insert((namespace.unwrap_or_default(), name), entry);
        self.reevaluate_all();
    }

    fn remove_exception(&mut self, namespace: String, name: String) {
        self.exception_status.remove(&(namespace.clone(), name.clone()));
        if self.exceptions.remove(&(namespace, name)).is_some() {
            self.reevaluate_all();
        }
    }

    fn on_namespace(&mut self, change: Change) {
        match change {
            Change::InitApply(object) | Change::Apply(object) => {
                let (_, name) = name_of(&object);
                let labels = watch::labels(&object);
                if self.namespaces.get(&name) != Some(&labels) {
                    self.namespaces.insert(name.clone(), labels);
                    self.reevaluate_namespace(&name);
                }
            }
            Change::Delete(object) => {
                let (_, name) = name_of(&object);
                self.namespaces.remove(&name);
            }
            Change::Init | Change::InitDone => {}
            Change::Failed(error) => {
                warn!(category = error.category(), "namespace watch failed, retrying: {error}");
                self.services.metrics.reconcile_error(RECONCILE, error.category());
            }
        }
    }

    fn ensure_kind(&mut self, kind: &KindKey) {
        if self.kinds.contains_key(kind) {
            return;
        }
        self.kinds.insert(kind.clone(), KindEntry::default());
        self.lookup(kind.clone());
    }

    /// The fields of `kind` that some policy governs.
    fn mask_for(&self, kind: &KindKey) -> FieldMask {
        let governed = FieldMask::of(
            self.policies
                .values()
                .filter_map(|p| p.compiled.as_ref().ok())
                .flat_map(|c| c.templates_of_kind(&kind.api_version, &kind.kind)),
        );
        match self.has_check_campaigns() && checks::identity_kinds().contains(kind) {
            true => governed.union(checks::identity_mask(kind)),
            false => governed,
        }
    }

    /// When a policy governs fields of `kind` the cache does not keep, the kind is watched
    /// again with the wider mask: its objects are relisted, and nothing is evaluated against
    /// the narrower cache meanwhile. A narrower mask waits for the next relist.
    fn widen_mask(&mut self, kind: &KindKey) {
        let mask = self.mask_for(kind);
        let Some(entry) = self.kinds.get_mut(kind) else { return };
        if entry.mask.covers(&mask) {
            return;
        }
        entry.mask = Arc::new(mask);
        if let (Some(task), Some((resource, namespaced))) = (entry.watch.take(), entry.resource.as_ref()) {
            task.abort();
            debug!(kind = %kind, "governed fields widened: relisting");
            entry.synced = false;
            entry.relist = None;
            entry.watch = Some(watch::watch_kind(
                self.client.clone(),
                kind.clone(),
                resource.clone(),
                *namespaced,
                &self.settings.watch_namespaces,
                entry.mask.clone(),
                self.watched_tx.clone(),
            ));
        }
    }

    fn lookup(&self, kind: KindKey) {
        let client = self.client.clone();
        let tx = self.reports_tx.clone();
        tokio::spawn(async move {
            let result = watch::resolve(&client, &kind).await;
            let _ = tx.send(Report::Resolved(kind, result));
        });
    }

    fn forget_unused_kinds(&mut self) {
        let identity = if self.has_check_campaigns() { checks::identity_kinds() } else { Vec::new() };
        let used: BTreeSet<KindKey> = self
            .policies
            .values()
            .filter_map(|p| p.compiled.as_ref().ok())
            .flat_map(|c| c.kinds())
            .map(|(v, k)| KindKey::new(v, k))
            .chain(identity)
            .collect();
        let metrics = &self.services.metrics;
        self.kinds.retain(|kind, entry| {
            let keep = used.contains(kind);
            if !keep {
                if let Some(task) = entry.watch.take() {
                    task.abort();
                }
                metrics.remove_watched_kind(&kind.to_string());
            }
            keep
        });
    }

    fn on_kind(&mut self, kind: KindKey, change: Change) {
        if !matches!(change, Change::Init | Change::InitApply(_)) && checks::identity_kinds().contains(&kind) {
            self.identity_dirty = true;
        }
        let Some(entry) = self.kinds.get_mut(&kind) else { return };
        match change {
            Change::Init => entry.relist = Some(BTreeMap::new()),
            Change::InitApply(object) => {
                let key = ObjKey::of(&object);
                entry.relist.get_or_insert_default().insert(key, object);
            }
            Change::InitDone => {
                entry.cache = entry.relist.take().unwrap_or_default();
                debug!(kind = %kind, objects = entry.cache.len(), "listed");
                entry.synced = true;
                entry.problem = None;
                self.count_watched(&kind);
                self.reevaluate_kind(&kind);
            }
            Change::Apply(object) => {
                entry.problem = None;
                let key = ObjKey::of(&object);
                let unchanged = entry.cache.get(&key).is_some_and(|cached| same_version(cached, &object));
                entry.cache.insert(key.clone(), object);
                let synced = entry.synced;
                self.count_watched(&kind);
                if !unchanged && synced {
                    self.reconcile(&key);
                }
            }
            Change::Delete(object) => {
                let key = ObjKey::of(&object);
                // A recreated object's deletion may be watched after its replacement was
                // cached: only the object deleted leaves the cache.
                let uid = |o: &Value| o.pointer("/metadata/uid").cloned();
                if entry.cache.get(&key).is_some_and(|cached| uid(cached).is_some() && uid(cached) != uid(&object)) {
                    return;
                }
                entry.cache.remove(&key);
                let synced = entry.synced;
                self.count_watched(&kind);
                if synced {
                    self.reconcile(&key);
                }
            }
            Change::Failed(error) => {
                warn!(kind = %kind, category = error.category(), "watch failed, retrying: {error}");
                self.services.metrics.reconcile_error(RECONCILE, error.category());
                entry.problem = Some((error.is_forbidden(), error.to_string()));
                self.mark_policies_of(&kind);
            }
        }
    }

    fn on_report(&mut self, report: Report) {
        match report {
            Report::Resolved(kind, result) => {
                let Some(entry) = self.kinds.get_mut(&kind) else { return };
                match result {
                    Ok((resource, namespaced)) => {
                        info!(kind = %kind, "watching");
                        entry.watch = Some(watch::watch_kind(
                            self.client.clone(),
                            kind.clone(),
                            resource.clone(),
                            namespaced,
                            &self.settings.watch_namespaces,
                            entry.mask.clone(),
                            self.watched_tx.clone(),
                        ));
                        entry.resource = Some((resource, namespaced));
                        entry.problem = None;
                        entry.next_lookup = None;
                    }
                    Err(error) => {
                        debug!(kind = %kind, "{error}");
                        self.services.metrics.reconcile_error(RECONCILE, error.category());
                        entry.problem = Some((error.is_forbidden(), error.to_string()));
                        let retry = jiff::SignedDuration::try_from(self.settings.discovery_retry).unwrap_or_default();
                        entry.next_lookup = Some(self.settings.clock.now() + retry);
                    }
                }
                self.mark_policies_of(&kind);
            }
            Report::Fixed { key, fixed, result, denied, started } => self.on_fixed(key, fixed, result, denied, started),
            Report::FindingRead { campaign, key, read } => self.on_finding_read(campaign, key, read),
            Report::FindingWritten { campaign, key, written } => self.on_finding_written(campaign, key, written),
            Report::CampaignWritten(name, result) => self.on_campaign_written(name, result),
            Report::ExceptionWritten(key, result) => self.on_exception_written(key, result),
            Report::CheckFixed { campaign, key, result, denied } => self.on_check_fixed(campaign, key, result, denied),
            Report::PolicyReportsServed(served) => self.on_reports_served(served),
            Report::PolicyReportWritten(namespace, written) => self.on_report_written(namespace, written),
            Report::StatusWritten(key, result) => {
                self.writing_status.remove(&key);
                let Some(policy) = self.policies.get_mut(&key) else { return };
                match result {
                    Ok(status) => policy.status_written(status),
                    Err(error) => {
                        self.services.metrics.reconcile_error(RECONCILE, error.category());
                        warn!(policy = %key, failures = policy.status_failures + 1, "status write failed, retrying: {error}");
                        policy.status_failed(self.settings.clock.now());
                    }
                }
            }
        }
    }

    /// Publishes how many objects of `kind` the cache holds.
    fn count_watched(&self, kind: &KindKey) {
        if let Some(entry) = self.kinds.get(kind) {
            self.services.metrics.set_watched_objects(&kind.to_string(), entry.cache.len() as u64);
        }
    }

    fn mark_policies_of(&mut self, kind: &KindKey) {
        for policy in self.policies.values_mut() {
            if policy
                .compiled
                .as_ref()
                .is_ok_and(|c| c.kinds().contains(&(kind.api_version.clone(), kind.kind.clone())))
            {
                policy.dirty = true;
            }
        }
    }

    fn reevaluate_all(&mut self) {
        let kinds: Vec<KindKey> = self.kinds.keys().cloned().collect();
        for kind in kinds {
            self.reevaluate_kind(&kind);
        }
    }

    fn resync(&mut self) {
        debug!("periodic resync");
        self.reevaluate_all();
    }

    /// Re-evaluates every cached object of `kind` and every declared resource of that kind.
    fn reevaluate_kind(&mut self, kind: &KindKey) {
        let Some(entry) = self.kinds.get(kind) else { return };
        if !entry.synced {
            return;
        }
        let mut keys: BTreeSet<ObjKey> = entry.cache.keys().cloned().collect();
        for policy in self.policies.values() {
            if let Ok(compiled) = &policy.compiled {
                keys.extend(
                    compiled.resources().map(|(target, _)| ObjKey::from_ref(target)).filter(|k| &k.kind == kind),
                );
            }
            keys.extend(policy.targets.keys().filter(|k| &k.kind == kind).cloned());
        }
        self.reconcile_all(keys);
    }

    /// Reconciles many objects: first records which of them drift, then decides each, so
    /// that every decision sees the same counts.
    fn reconcile_all(&mut self, keys: impl IntoIterator<Item = ObjKey>) {
        let started = std::time::Instant::now();
        self.reconcile_batch(keys.into_iter().collect());
        self.services.metrics.reconcile_duration(RECONCILE_BATCH, started.elapsed());
    }

    fn reconcile_batch(&mut self, keys: Vec<ObjKey>) {
        let Self { policies, kinds, namespaces, exceptions, settings, .. } = &mut *self;
        let labels = |ns: &str| namespaces.get(ns).cloned();
        let now = settings.clock.now();
        for policy in policies.values_mut() {
            let Ok(compiled) = &policy.compiled else { continue };
            for key in &keys {
                let live = kinds.get(&key.kind).and_then(|k| k.cache.get(key));
                let result = match live {
                    Some(object) => compiled.evaluate_object(object, &labels),
                    None => compiled.missing_resource(&key.to_ref(None), &labels),
                };
                if let Some(result) = result {
                    // Drift an active exception covers does not count, as in the status.
                    let covers = covers_for(exceptions, live, &settings.namespace, &labels);
                    let drifts = result.drifts().any(|d| !covers.iter().any(|c| c.covers(d, now)));
                    policy.provisional.insert(key.clone(), drifts);
                }
            }
            policy.freeze_batch_counts();
        }
        for key in &keys {
            self.reconcile(key);
        }
        for policy in self.policies.values_mut() {
            policy.provisional.clear();
            policy.batch_counts = None;
        }
    }

    fn reevaluate_namespace(&mut self, namespace: &str) {
        let keys: Vec<ObjKey> = self
            .kinds
            .values()
            .flat_map(|k| k.cache.keys())
            .filter(|k| k.namespace.as_deref() == Some(namespace))
            .cloned()
            .collect();
        self.reconcile_all(keys);
    }

    /// Evaluates one object against every policy that names its kind, records what was
    /// decided, and starts a fix when one is due.
    fn reconcile(&mut self, key: &ObjKey) {
        let started = std::time::Instant::now();
        self.reconcile_one(key);
        self.services.metrics.reconcile_duration(RECONCILE, started.elapsed());
    }

    fn reconcile_one(&mut self, key: &ObjKey) {
        let Self { policies, kinds, namespaces, exceptions, settings, .. } = &mut *self;
        let Some(kind) = kinds.get(&key.kind).filter(|k| k.synced) else { return };
        let live = kind.cache.get(key);
        let labels = |ns: &str| namespaces.get(ns).cloned();
        let now = settings.clock.now();
        let mut to_fix: Vec<FixPart> = Vec::new();
        let mut news: Vec<News> = Vec::new();
        for policy in policies.values_mut() {
            let Ok(compiled) = &policy.compiled else { continue };
            let result: Option<TargetResult> = match live {
                Some(object) => compiled.evaluate_object(object, &labels),
                None => compiled.missing_resource(&key.to_ref(None), &labels),
            };
            let Some(result) = result else {
                if policy.targets.remove(key).is_some() {
                    policy.dirty = true;
                }
                continue;
            };
            let covers = covers_for(exceptions, live, &settings.namespace, &labels);
            let sources: Vec<String> = result.findings.iter().map(|f| f.source.clone()).collect();
            let drifts: Vec<(String, crate::engine::drift::Drift)> = result
                .findings
                .into_iter()
                .flat_map(|f| f.drifts.into_iter().map(move |d| (f.source.clone(), d)))
                .collect();
            let plain: Vec<_> = drifts.iter().map(|(_, d)| d.clone()).collect();
            let remediations_last_minute = policy.rate.in_last_minute(now);
            let context = DecisionContext {
                key,
                live,
                covers: &covers,
                own_manager: &settings.field_manager,
                remediations_last_minute,
                now,
            };
            let actions = decide_for(policy, &compiled.rules, &context, &plain);
            let decided: Vec<DecidedDrift> = drifts
                .into_iter()
                .zip(actions)
                .map(|((source, drift), action)| DecidedDrift { source, drift, action })
                .collect();
            let previous = policy.targets.get(key);
            let is_new = |d: &DecidedDrift| {
                !previous.is_some_and(|p| {
                    p.drifts.iter().any(|old| old.drift.path == d.drift.path && old.action == d.action)
                })
            };
            let detected: Vec<_> = decided
                .iter()
                .filter(|d| !previous.is_some_and(|p| p.drifts.iter().any(|old| old.drift.path == d.drift.path)))
                .map(|d| d.drift.class)
                .collect();
            let escalated: Vec<DecidedDrift> = decided
                .iter()
                .filter(|d| matches!(d.action, Action::Escalate { .. } | Action::Audit) && is_new(d))
                .cloned()
                .collect();
            if !detected.is_empty() || !escalated.is_empty() {
                let version = live
                    .and_then(|o| o.pointer("/metadata/resourceVersion"))
                    .and_then(Value::as_str)
                    .unwrap_or("missing")
                    .to_string();
                news.push(News { policy: policy.key.clone(), version, sink: policy.sink.clone(), detected, escalated });
            }
            let fix_paths: Vec<String> =
                decided.iter().filter(|d| d.action == Action::Remediate).map(|d| d.drift.path.clone()).collect();
            let state = TargetState {
                uid: live.and_then(|o| o.pointer("/metadata/uid")).and_then(Value::as_str).map(str::to_string),
                sources,
                first_seen: if decided.is_empty() { None } else { previous.and_then(|p| p.first_seen).or(Some(now)) },
                attempts: if decided.is_empty() { 0 } else { previous.map_or(0, |p| p.attempts) },
                failure: if decided.is_empty() { None } else { previous.and_then(|p| p.failure.clone()) },
                retry_at: if decided.is_empty() { None } else { previous.and_then(|p| p.retry_at) },
                opted_out: live.is_some_and(opted_out),
                drifts: decided,
            };
            let backing_off = state.retry_at.is_some_and(|at| at > now);
            if !fix_paths.is_empty() && !backing_off {
                let fixing = state.drifts.iter().filter(|d| d.action == Action::Remediate).map(|d| &d.drift);
                let class = riskiest(fixing).unwrap_or(crate::api::RemediationClass::Spec);
                to_fix.push(FixPart {
                    policy: policy.key.clone(),
                    paths: fix_paths,
                    class,
                    first_seen: state.first_seen,
                    campaign: None,
                });
            }
            if previous != Some(&state) {
                policy.targets.insert(key.clone(), state);
                policy.dirty = true;
            }
        }
        for item in news {
            self.announce(key, item);
        }
        if !to_fix.is_empty() && self.exceptions_synced && !self.in_flight.contains(key) {
            self.start_fix(key, to_fix);
        }
        self.observe_campaigns(key);
    }

    /// Builds the apply body (every governed field of every policy that governs the
    /// object; only the decided paths take their desired value) and starts the fix.
    fn start_fix(&mut self, key: &ObjKey, to_fix: Vec<FixPart>) {
        let Some(kind) = self.kinds.get(&key.kind) else { return };
        let Some((resource, namespaced)) = kind.resource.clone() else { return };
        let live = kind.cache.get(key);
        let creates = live.is_none();
        let namespaces = &self.namespaces;
        let labels = |ns: &str| namespaces.get(ns).cloned();
        let mut body: Option<Value> = None;
        let mut expectations = Vec::new();
        for policy in self.policies.values() {
            let Ok(compiled) = &policy.compiled else { continue };
            let fixing: BTreeSet<String> = to_fix
                .iter()
                .filter(|part| part.policy == policy.key)
                .flat_map(|part| part.paths.iter().cloned())
                .collect();
            let governed = match live {
                Some(object) => compiled.templates_for(object, &labels),
                None => {
                    compiled.resources().find(|(target, _)| &ObjKey::from_ref(target) == key).map(|(_, template)| {
                        (
                            vec![(String::new(), template)],
                            compiled.compare_rules(
                                template,
                                &crate::engine::selector::MatchScope {
                                    policy_namespace: compiled.namespace.as_deref(),
                                    namespace_labels: &labels,
                                },
                            ),
                        )
                    })
                }
            };
            let Some((templates, rules)) = governed else { continue };
            // A missing object is created whole; an existing one gets exactly the decided paths.
            let creating = live.is_none() && !fixing.is_empty();
            for (_, template) in templates {
                let part = apply_body(live, template, &rules, &|d| creating || fixing.contains(&d.path));
                match body.as_mut() {
                    Some(body) => union_into(body, part.as_value()),
                    None => body = Some(part.into_value()),
                }
                if !fixing.is_empty() {
                    let paths = (!creating).then(|| fixing.clone());
                    expectations.push(Expectation { template: template.clone(), rules: rules.clone(), paths });
                }
            }
        }
        let Some(body) = body else { return };
        let now = self.settings.clock.now();
        for part in &to_fix {
            if let Some(policy) = self.policies.get_mut(&part.policy) {
                policy.rate.record(now);
            }
        }
        let fix = Fix {
            key: key.clone(),
            resource,
            namespaced,
            body,
            expectations,
            field_manager: self.settings.field_manager.clone(),
            creates,
        };
        let recreation = self.recreation(key, &to_fix);
        self.in_flight.insert(key.clone());
        let client = self.client.clone();
        let tx = self.reports_tx.clone();
        tokio::spawn(async move {
            let (result, denied) = match recreation {
                None => remediate::apply(client, &fix).await,
                Some(Ok(recreation)) => (super::recreate::run(client, &fix, &recreation).await, None),
                Some(Err(refused)) => (FixResult::DryRunRejected { error: refused.into() }, None),
            };
            let _ = tx.send(Report::Fixed { key: fix.key, fixed: to_fix, result, denied, started: now });
        });
    }

    fn on_fixed(
        &mut self,
        key: ObjKey,
        fixed: Vec<FixPart>,
        result: FixResult,
        denied: Option<String>,
        started: Timestamp,
    ) {
        self.in_flight.remove(&key);
        if !matches!(result, FixResult::Verified { .. }) {
            let category = if denied.is_some() { reasons::FORBIDDEN } else { result.category() };
            self.services.metrics.reconcile_error(RECONCILE, category);
        }
        if let FixResult::Verified { fresh, .. } = &result
            && let Some(kind) = self.kinds.get_mut(&key.kind)
            && kind.cache.get(&key).is_none_or(|cached| older(cached, fresh))
        {
            kind.cache.insert(key.clone(), kind.mask.prune(fresh.as_ref().clone()));
            self.count_watched(&key.kind);
        }
        let now = self.settings.clock.now();
        let object_id = key.to_string();
        let mut events = Vec::new();
        let mut notices = Vec::new();
        for FixPart { policy: policy_key, paths, class, first_seen, campaign } in fixed {
            if let Some(campaign) = &campaign {
                self.on_campaign_fixed(campaign, &key, &result);
            }
            let Some(policy) = self.policies.get_mut(&policy_key) else { continue };
            if policy.write_denied != denied {
                if let Some(message) = &denied {
                    warn!(policy = %policy_key, "a fix was forbidden: {message}");
                }
                policy.write_denied = denied.clone();
                policy.dirty = true;
            }
            let window = policy.rules().and_then(|r| r.flapping).map(|(_, w)| w);
            let outcome = match &result {
                FixResult::Verified { .. } => RemediationResult::Verified,
                FixResult::DryRunRejected { .. } => RemediationResult::DryRunRejected,
                FixResult::ApplyFailed { .. } | FixResult::NotVerified { .. } => RemediationResult::Failed,
            };
            self.services.metrics.remediation(class, outcome);
            if let (FixResult::Verified { .. }, Some(first_seen)) = (&result, first_seen) {
                self.services.metrics.drift_to_verified(now.duration_since(first_seen).unsigned_abs());
            }
            if let Some(target) = policy.targets.get_mut(&key) {
                target.attempts += 1;
                target.retry_at = match &result {
                    FixResult::Verified { .. } => None,
                    _ => Some(FIX_BACKOFF.retry_at(target.attempts, now)),
                };
                target.failure = match &result {
                    FixResult::Verified { .. } => None,
                    FixResult::DryRunRejected { error } => Some(format!("the server rejected the dry-run: {error}")),
                    FixResult::ApplyFailed { error } => Some(format!("the fix failed: {error}")),
                    FixResult::NotVerified { paths, .. } => {
                        Some(format!("still differs after the fix: {}", paths.join(", ")))
                    }
                };
            }
            if let FixResult::Verified { .. } = result {
                policy.remediated += 1;
                policy.last_remediation = Some(now);
                for path in &paths {
                    policy.history.record(&object_id, path, now);
                }
                if let Some(window) = window {
                    policy.history.prune(window, now);
                }
                let latency = now.duration_since(started);
                let what = if paths.iter().any(String::is_empty) {
                    "created".to_string()
                } else if class == crate::api::RemediationClass::Recreate {
                    super::recreate::describe_recreated(&result, &paths)
                } else {
                    format!("restored {}", paths.join(", "))
                };
                info!(object = %key, policy = %policy_key, ?latency, "drift fixed and verified: {what}");
                if let (Some(sink), FixResult::Verified { resource_version, .. }) = (&policy.sink, &result) {
                    let version = resource_version.clone().unwrap_or_default();
                    let id = format!("{policy_key}/{key}/{version}/remediated");
                    let data = json!({
                        "policy": policy_key.to_string(), "object": key.to_ref(None), "paths": paths,
                        "class": class, "resourceVersion": version, "result": "Verified",
                    });
                    notices.push((sink.clone(), id, policy_key.clone(), data));
                }
                events.push((policy_key.clone(), EventType::Normal, reasons::REMEDIATED, what));
            } else {
                let cause = result.error().map(|error| error.category());
                warn!(object = %key, policy = %policy_key, result = result.category(), cause, "fix not verified");
                events.push((
                    policy_key.clone(),
                    EventType::Warning,
                    reasons::REMEDIATION_FAILED,
                    format!("{result:?}"),
                ));
            }
            policy.dirty = true;
        }
        for (policy, type_, reason, message) in events {
            self.publish(&key, &policy, type_, reason, message);
        }
        for (sink, id, policy, data) in notices {
            self.notify(&sink, NotificationType::DriftRemediated, id, &policy, &key, data);
        }
        self.reconcile(&key);
    }

    fn on_tick(&mut self) {
        let now = self.settings.clock.now();
        // Exceptions that expired since the last tick stop covering at once.
        let expired = self
            .exceptions
            .values()
            .filter_map(|e| e.as_ref().ok())
            .any(|e| e.cover.expires_at > self.last_tick && e.cover.expires_at <= now);
        self.last_tick = now;
        if expired {
            self.reevaluate_all();
        }
        // Deferred fixes are looked at again (a window may have opened, a minute passed),
        // and failed fixes whose backoff is over are tried again.
        let deferred: Vec<ObjKey> = self
            .policies
            .values()
            .flat_map(|p| p.targets.iter())
            .filter(|(_, t)| {
                t.drifts.iter().any(|d| matches!(d.action, Action::Defer { .. }))
                    || t.retry_at.is_some_and(|at| at <= now)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in deferred {
            self.reconcile(&key);
        }
        let lookups: Vec<KindKey> = self
            .kinds
            .iter()
            .filter(|(_, k)| k.next_lookup.is_some_and(|at| at <= now))
            .map(|(kind, _)| kind.clone())
            .collect();
        for kind in lookups {
            if let Some(entry) = self.kinds.get_mut(&kind) {
                entry.next_lookup = None;
            }
            self.lookup(kind);
        }
        self.flush_reports(now);
        self.flush_status(now);
        self.run_checks(now);
        self.run_waves(now);
        self.flush_campaigns(now);
        self.flush_exceptions(now);
    }

    fn readiness(&self, policy: &PolicyEntry) -> Readiness {
        let compiled = match &policy.compiled {
            Ok(compiled) => compiled,
            Err(problem) => return Readiness::Invalid(problem.clone()),
        };
        if let Some(message) = &policy.write_denied {
            return Readiness::Forbidden(message.clone());
        }
        let mut readiness = Readiness::Ready;
        for (api_version, kind) in compiled.kinds() {
            let Some(entry) = self.kinds.get(&KindKey::new(api_version, kind)) else { return Readiness::Syncing };
            match &entry.problem {
                Some((true, message)) => return Readiness::Forbidden(message.clone()),
                Some((false, message)) if entry.resource.is_none() => readiness = Readiness::NotServed(message.clone()),
                _ if !entry.synced && readiness == Readiness::Ready => readiness = Readiness::Syncing,
                _ => {}
            }
        }
        readiness
    }

    fn flush_status(&mut self, now: Timestamp) {
        let keys: Vec<PolicyKey> = self
            .policies
            .iter()
            .filter(|(k, p)| {
                p.dirty && !self.writing_status.contains(*k) && p.status_retry_at.is_none_or(|at| at <= now)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let readiness = match self.policies.get(&key) {
                Some(policy) => self.readiness(policy),
                None => continue,
            };
            let Some(policy) = self.policies.get_mut(&key) else { continue };
            policy.dirty = false;
            let status = policy.status(&readiness, now);
            if policy.written.as_ref() == Some(&status) {
                continue;
            }
            debug!(policy = %key, "writing status");
            self.writing_status.insert(key.clone());
            let client = self.client.clone();
            let manager = self.settings.status_manager.clone();
            let tx = self.reports_tx.clone();
            tokio::spawn(async move {
                let result = write_status(client, &key, &manager, &status).await.map(|()| status);
                let _ = tx.send(Report::StatusWritten(key, result));
            });
        }
    }

    /// Counts new drifts and escalations, and tells people about escalations: an Event on
    /// the object and the policy, and a notification to the policy's sink.
    fn announce(&self, key: &ObjKey, news: News) {
        for class in &news.detected {
            self.services.metrics.drift_detected(*class);
        }
        if news.escalated.is_empty() {
            return;
        }
        let mut lines = Vec::new();
        for decided in &news.escalated {
            match &decided.action {
                Action::Escalate { reason } => {
                    self.services.metrics.escalated(reason);
                    lines.push(format!("{}: {reason}", decided.drift.path));
                }
                _ => {
                    self.services.metrics.escalated_because("Audit");
                    lines.push(format!("{}: reported (Audit mode)", decided.drift.path));
                }
            }
        }
        let message = lines.join("; ");
        self.publish(key, &news.policy, EventType::Warning, reasons::DRIFT_ESCALATED, message.clone());
        if let Some(sink) = &news.sink {
            let paths: Vec<&str> = news.escalated.iter().map(|d| d.drift.path.as_str()).collect();
            let data = json!({
                "policy": news.policy.to_string(),
                "object": key.to_ref(None),
                "drifts": news.escalated.iter().map(|d| json!({
                    "path": d.drift.path,
                    "class": d.drift.class,
                    "source": d.source,
                    "action": d.action,
                    "changedBy": d.drift.attribution.as_ref().map(|a| a.manager.clone()),
                })).collect::<Vec<_>>(),
                "message": message,
            });
            let id = format!("{}/{key}/{}/{}/escalated", news.policy, news.version, paths.join(","));
            self.notify(sink, NotificationType::DriftEscalated, id, &news.policy, key, data);
        }
    }

    fn notify(&self, sink: &Sink, kind: NotificationType, id: String, policy: &PolicyKey, key: &ObjKey, data: Value) {
        let source = match &policy.namespace {
            Some(ns) => format!("/apis/driftwarden.dev/v1alpha1/namespaces/{ns}/driftpolicies/{}", policy.name),
            None => format!("/apis/driftwarden.dev/v1alpha1/clusterdriftpolicies/{}", policy.name),
        };
        let notification =
            Notification { id, kind, source, subject: Some(key.to_string()), time: self.settings.clock.now(), data };
        self.services.notifier.send(sink, notification);
    }

    /// Publishes an Event on the object and on the policy. The recorder aggregates
    /// repeats into a series instead of new Events.
    fn publish(&self, key: &ObjKey, policy: &PolicyKey, type_: EventType, reason: &'static str, message: String) {
        let recorder = self.recorder.clone();
        let object = k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some(key.kind.api_version.clone()),
            kind: Some(key.kind.kind.clone()),
            namespace: key.namespace.clone(),
            name: Some(key.name.clone()),
            ..Default::default()
        };
        let policy_ref = k8s_openapi::api::core::v1::ObjectReference {
            api_version: Some("driftwarden.dev/v1alpha1".to_string()),
            kind: Some(policy.kind().to_string()),
            namespace: policy.namespace.clone(),
            name: Some(policy.name.clone()),
            ..Default::default()
        };
        let on_object = KubeEvent {
            type_,
            reason: reason.to_string(),
            note: Some(format!("{message} (policy {policy})")),
            action: "Reconcile".to_string(),
            secondary: Some(policy_ref.clone()),
        };
        // On the policy, one Event per reason that counts up as a series (the recorder
        // aggregates Events with the same reason and no related object): a campaign fixing
        // ten thousand objects leaves one Event there, not ten thousand. Each object's own
        // Event says what was done to it.
        let on_policy = KubeEvent {
            type_,
            reason: reason.to_string(),
            note: Some(format!(
                "{reason} on governed objects, the first {key}: {message}; each object's Events tell the rest"
            )),
            action: "Reconcile".to_string(),
            secondary: None,
        };
        tokio::spawn(async move {
            for (event, reference) in [(on_object, object), (on_policy, policy_ref)] {
                if let Err(err) = recorder.publish(&event, &reference).await {
                    debug!("event not published: {err}");
                }
            }
        });
    }
}

/// What a decision about one object reads besides the policy.
struct DecisionContext<'a> {
    key: &'a ObjKey,
    live: Option<&'a Value>,
    covers: &'a [ExceptionCover],
    own_manager: &'a str,
    /// How many fixes the policy applied in the last minute.
    remediations_last_minute: u32,
    now: Timestamp,
}

/// Decides the drifts of one object for `policy` under `rules`: the policy's own, or a
/// campaign's, which fix other classes but keep the policy's counters and guards.
fn decide_for(
    policy: &PolicyEntry,
    rules: &RemediationRules,
    context: &DecisionContext<'_>,
    drifts: &[crate::engine::drift::Drift],
) -> Vec<Action> {
    let DecisionContext { key, live, covers, own_manager, remediations_last_minute, now } = *context;
    let (targets, drifted) = policy.counts_with(key, !drifts.is_empty());
    let window = rules.flapping.map(|(_, window)| window).unwrap_or_default();
    let object_id = key.to_string();
    let fixes_of = |path: &str| policy.history.count(&object_id, path, window, now);
    let input = DecisionInput {
        rules,
        opted_out: live.is_some_and(opted_out),
        exceptions: covers,
        counters: Counters { targets, drifted, remediations_last_minute, fixes_of: &fixes_of },
        conflict_managers: GITOPS_MANAGERS,
        own_manager,
        now,
    };
    decide(&input, drifts)
}

/// The active exceptions that may and do select `live`. A missing object has none: an
/// exception covers drift of what exists.
fn covers_for(
    exceptions: &BTreeMap<(String, String), Result<ExceptionEntry, String>>,
    live: Option<&Value>,
    operator_namespace: &str,
    labels: &dyn Fn(&str) -> Option<BTreeMap<String, String>>,
) -> Vec<ExceptionCover> {
    let Some(object) = live else { return Vec::new() };
    exceptions
        .values()
        .filter_map(|e| e.as_ref().ok())
        .filter(|e| e.selects(object, operator_namespace, labels))
        .map(|e| e.cover.clone())
        .collect()
}

/// Whether `cached` is an older version than `fresh`. Resource versions are compared as
/// numbers when both are (as the API server writes them); otherwise the cache is kept,
/// and the watch brings the newer version.
fn older(cached: &Value, fresh: &Value) -> bool {
    let version =
        |o: &Value| o.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|v| v.parse::<u64>().ok());
    matches!((version(cached), version(fresh)), (Some(cached), Some(fresh)) if cached < fresh)
}

fn same_version(a: &Value, b: &Value) -> bool {
    let version = |o: &Value| o.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string);
    version(a).is_some() && version(a) == version(b)
}

async fn write_status(
    client: Client,
    key: &PolicyKey,
    manager: &str,
    status: &PolicyStatus,
) -> Result<(), RequestError> {
    let resource = match key.namespace {
        Some(_) => ApiResource::erase::<crate::api::policy::DriftPolicy>(&()),
        None => ApiResource::erase::<crate::api::policy::ClusterDriftPolicy>(&()),
    };
    let api: Api<DynamicObject> = match &key.namespace {
        Some(namespace) => Api::namespaced_with(client, namespace, &resource),
        None => Api::all_with(client, &resource),
    };
    let body = json!({"apiVersion": resource.api_version, "kind": resource.kind, "status": status});
    api.patch_status(&key.name, &PatchParams::apply(manager).force(), &Patch::Apply(&body))
        .await
        .map(|_| ())
        .map_err(|source| RequestError::StatusWrite { source })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

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

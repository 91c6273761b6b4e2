//! The operator's decisions, as a state machine that never waits: [`Reconciler::handle`]
//! takes one input (a watch event, the outcome of one of its own requests, a clock tick)
//! and the time, updates the policies, caches and counters it owns, and returns the
//! [`Effect`]s to carry out: applies, reads, status and Finding writes, Events,
//! notifications and watches. It awaits nothing, spawns nothing, holds no client and never
//! reads a clock (it only counts into the shared metrics and sets the readiness flag, both
//! in memory); the runtime ([`crate::operator::runtime`]) executes the effects and feeds
//! their outcomes back. Every decision over time is therefore a unit test with a
//! frozen clock (see `tests/`).
//!
//! One module per step:
//! - [`intake`]: driftwarden's own kinds (policies, exceptions) and namespaces.
//! - [`kinds`]: the kinds policies name: discovery, watches and the pruned cache.
//! - [`evaluate`]: compare, classify and decide each object against every policy.
//! - [`fixes`]: start a fix, and take its verified (or failed) outcome.
//! - [`status`]: policy readiness and status writes, coalesced on the tick.
//! - [`announce`]: Events and notifications of drift, escalations and fixes.
//! - [`ledger`]: what was announced and fixed, written to the cluster in batches, and
//!   announcements delivered once recorded.
//! - [`contain`]: a panic while compiling one policy or evaluating one object is caught
//!   there, and that resource alone is stalled.
//! - [`campaigns`], [`checks`], [`exception_status`], [`reports`]: campaigns and their
//!   Findings, identity checks, exception status, PolicyReports.

mod admission;
mod announce;
mod cache;
mod campaigns;
mod checks;
mod contain;
mod effect;
mod error;
mod evaluate;
mod exception_status;
mod fixes;
mod intake;
mod kinds;
mod ledger;
mod recreating;
mod reports;
mod sinks;
mod status;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use kube::api::ApiResource;
use serde_json::Value;
use tracing::{debug, info, warn};

pub use admission::{AdmissionWrite, External};
pub use contain::panic_message;
pub use effect::{Announcement, ApprovalReview, CampaignFix, Effect, EventType, FindingWrite, OwnResource};
pub use error::RequestError;
pub use fixes::fix_span;
pub use reports::{ReportError, Served, Written};

use super::health::Readiness as Health;
use super::metrics::Metrics;
use super::notify::Sink;
use super::remediate::FixResult;
use super::settings::OperatorSettings;
use super::watch::{self, Watched};
use crate::api::policy::PolicyStatus;
use crate::engine::FingerprintKey;
use crate::engine::backoff::Backoff;
use crate::engine::decide::Action;
use crate::engine::prune::FieldMask;
use crate::keys::{KindKey, ObjectKey, PolicyKey};
use crate::operator::ledger::{Delivery, Ledger};
use crate::reconcile::exceptions::{ExceptionEntry, ExceptionProblem};
use crate::reconcile::policies::{DecidedDrift, PolicyEntry};

/// The `controller` label of the metrics about reconciling one object.
const RECONCILE: &str = "DriftPolicy";

/// The `controller` label of the metrics about re-evaluating many objects at once (a kind
/// listed, a policy or an exception changed, a resync).
const RECONCILE_BATCH: &str = "DriftPolicyBatch";

/// A failed fix is tried again, later each time: 0.5 s, 1 s, 2 s … up to 5 min.
const FIX_BACKOFF: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(300));

/// How often the fix histories forget fixes older than their flapping window (each field
/// also forgets them whenever it is fixed again, and an object all of them when it goes),
/// and the notifier what it sent to sinks nothing names any more.
const PRUNE_PERIOD: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// How many of driftwarden's own kinds are watched: policies, cluster policies,
/// exceptions, campaigns and findings. The operator is ready once all are listed.
const OWN_KINDS: usize = 5;

/// What the runtime reports back: how an effect ended.
pub enum Outcome {
    /// A kind was looked up in discovery.
    Resolved(KindKey, Result<(ApiResource, bool), watch::WatchError>),
    /// A fix ended (dry-run, apply, verifying read; or a recreation).
    Fixed {
        key: ObjectKey,
        fixed: Vec<FixPart>,
        result: FixResult,
        /// The permission the server refused, if that is why the fix failed.
        denied: Option<String>,
        started: Timestamp,
        /// Which attempt at fixing the object it was.
        attempt: u32,
    },
    /// A policy's status was written.
    StatusWritten(PolicyKey, Result<PolicyStatus, RequestError>),
    /// An asset was read afresh to verify its finding.
    FindingRead { campaign: String, key: ObjectKey, read: campaigns::FreshRead },
    /// Whether the approvals admission policy and its binding are installed.
    ApprovalPolicyChecked(Result<bool, RequestError>),
    /// The API server said whether an approver holds the verb the approval needs.
    ApprovalReviewed { campaign: String, key: ObjectKey, review: ApprovalReview, allowed: Result<bool, RequestError> },
    /// A Finding (and its status) was written.
    FindingWritten {
        campaign: String,
        key: ObjectKey,
        written: Result<(Value, crate::api::finding::FindingStatus), RequestError>,
    },
    /// A campaign's status was written.
    CampaignWritten(String, Result<crate::api::campaign::CampaignStatus, RequestError>),
    /// An exception's status was written.
    ExceptionWritten((String, String), Result<crate::api::exception::ExceptionStatus, RequestError>),
    /// A campaign control's automatic fix ended.
    CheckFixed {
        campaign: CampaignFix,
        key: ObjectKey,
        result: FixResult,
        /// When the server refused the fix for lack of permission: which verb on what.
        denied: Option<String>,
    },
    /// Whether PolicyReports are served, and as which resources.
    PolicyReportsServed(Result<reports::Served, reports::ReportError>),
    /// One namespace's PolicyReport was written or deleted.
    PolicyReportWritten(Option<String>, reports::Written),
    /// A bucket of the ledger was written (or not).
    LedgerWritten { index: usize, serial: u64, result: Result<(), RequestError> },
    /// A policy's admission objects were applied or deleted (or not).
    AdmissionWritten { write: admission::AdmissionWrite, result: Result<(), RequestError> },
    /// Externally managed admission objects were read.
    AdmissionChecked { write: admission::AdmissionWrite, result: Result<admission::External, RequestError> },
    /// Admission objects of deleted policies were removed: how many.
    AdmissionSwept(Result<usize, RequestError>),
    /// An announcement from the ledger was delivered (or not).
    Delivered { id: String, delivery: Delivery },
    /// A delivery to a sink told something of its configuration: it delivered, or the
    /// configuration refused it.
    SinkChecked { sink: crate::notification::SinkKey, health: crate::reconcile::sinks::SinkHealth },
}

/// What changed for one policy while reconciling one object, to count and announce.
struct News {
    policy: PolicyKey,
    /// The resourceVersion the drift was seen at: with the paths, it names the occurrence,
    /// so a notification is never sent twice for it.
    version: String,
    /// The team accountable for the object.
    owner: Option<String>,
    detected: Vec<crate::api::RemediationClass>,
    /// The drifts first seen now.
    detected_drifts: Vec<DecidedDrift>,
    /// The paths among them that driftwarden fixed within the flapping window.
    recurred: Vec<String>,
    escalated: Vec<DecidedDrift>,
}

/// One policy's share of a fix: the paths it restores, the riskiest class among them and
/// when the drift was first seen (for the drift-to-verified latency).
#[derive(Debug, Clone)]
pub struct FixPart {
    pub policy: PolicyKey,
    pub paths: Vec<String>,
    pub class: crate::api::RemediationClass,
    pub first_seen: Option<Timestamp>,
    /// The campaign whose wave or approval started the fix, if any.
    pub campaign: Option<CampaignFix>,
    /// The declared value of each path, for the evidence of the fix.
    pub desired: Vec<(String, serde_json::Value)>,
    /// The team accountable for the object when the fix started.
    pub owner: Option<String>,
}

/// One watched kind.
#[derive(Default)]
struct KindEntry {
    resource: Option<(ApiResource, bool)>,
    /// Why the kind cannot be watched now: `(forbidden, message)`.
    problem: Option<(bool, String)>,
    /// Whether a watch of the kind runs (the runtime holds the task).
    watching: bool,
    /// What the cache keeps of each object: the fields the policies govern.
    mask: Arc<FieldMask>,
    /// The field selector the kind is watched with, if it is watched in part.
    fields: Option<String>,
    cache: cache::ObjectCache,
    relist: Option<cache::ObjectCache>,
    synced: bool,
    next_lookup: Option<Timestamp>,
}

/// One input of the state machine.
pub enum Input {
    /// What a watch saw.
    Watched(Watched),
    /// How one of the reconciler's own effects ended.
    Outcome(Outcome),
    /// The clock moved on: deferred work, retries, coalesced writes and waves are due.
    Tick,
    /// The periodic resync: every cached object is evaluated again.
    Resync,
}

/// How much evaluating the last input took: one object, or many at once. The runtime
/// times each input and labels the duration with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Work {
    /// Nothing was evaluated.
    #[default]
    None,
    /// One object was evaluated.
    One,
    /// Many objects were evaluated at once (a kind listed, a policy or an exception
    /// changed, a resync).
    Batch,
}

impl Work {
    /// The `controller` label of the metrics about this work.
    pub fn label(self) -> Option<&'static str> {
        match self {
            Work::None => None,
            Work::One => Some(RECONCILE),
            Work::Batch => Some(RECONCILE_BATCH),
        }
    }
}

/// The operator's whole state.
pub struct Reconciler {
    settings: OperatorSettings,
    metrics: Arc<Metrics>,
    /// Ready once driftwarden's own kinds are listed.
    health: Health,
    /// The time of the input being handled.
    now: Timestamp,
    /// What handling the current input asks the runtime to do.
    effects: Vec<Effect>,
    /// What the current input evaluated.
    work: Work,
    /// Own kinds (policies, cluster policies, exceptions) listed so far.
    listed: BTreeSet<&'static str>,
    policies: BTreeMap<PolicyKey, PolicyEntry>,
    kinds: BTreeMap<KindKey, KindEntry>,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    exceptions: BTreeMap<(String, String), Result<ExceptionEntry, ExceptionProblem>>,
    /// Names seen since a relist of policies or exceptions started.
    relisting: BTreeMap<&'static str, BTreeSet<(Option<String>, String)>>,
    in_flight: BTreeSet<ObjectKey>,
    /// No fix starts before the first list of DriftExceptions: an exception that exists
    /// must never lose a race with the drift it covers.
    exceptions_synced: bool,
    writing_status: BTreeSet<PolicyKey>,
    last_tick: Timestamp,
    /// When the fix histories and the notifier were last pruned.
    pruned: Timestamp,
    campaigns: BTreeMap<String, crate::reconcile::campaigns::CampaignEntry>,
    /// Findings whose campaign is not known (yet): adopted when it is listed.
    pending_findings: BTreeMap<(String, String), crate::reconcile::findings::WatchedFinding>,
    /// Findings whose spec does not read, with the problem their status was marked with.
    invalid_findings: BTreeMap<(String, String), String>,
    /// Finding writes under way.
    finding_writes: usize,
    exception_status: BTreeMap<(String, String), exception_status::ExceptionState>,
    /// What identity checks read changed since they last ran, and when they last ran.
    identity_dirty: bool,
    last_checks: Option<Timestamp>,
    /// The PolicyReports published, when their CRD is served.
    reports: reports::ReportWriter,
    /// What was announced and fixed, kept in the cluster across restarts.
    ledger: Ledger,
    /// Whether the approvals admission policy is installed, as last read.
    approval_policy: campaigns::approvals::PolicyCheck,
    /// How the last delivery to each sink went, for the policies and campaigns naming it.
    sinks: std::collections::HashMap<crate::notification::SinkKey, crate::reconcile::sinks::SinkHealth>,
    /// The installation's key of Secret fingerprints: every policy is compiled with it.
    fingerprints: FingerprintKey,
    /// The admission objects generated from policies.
    admission: admission::Admission,
}

impl Reconciler {
    /// A reconciler that knows nothing yet, starting at `now`, showing Secret values as
    /// fingerprints under `fingerprints`. Its first effects come with the first lists of
    /// driftwarden's own kinds.
    pub fn new(
        settings: OperatorSettings,
        metrics: Arc<Metrics>,
        health: Health,
        now: Timestamp,
        fingerprints: FingerprintKey,
    ) -> Self {
        Self {
            settings,
            metrics,
            health,
            now,
            effects: Vec::new(),
            work: Work::None,
            listed: BTreeSet::new(),
            policies: BTreeMap::new(),
            kinds: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            exceptions: BTreeMap::new(),
            relisting: BTreeMap::new(),
            in_flight: BTreeSet::new(),
            exceptions_synced: false,
            writing_status: BTreeSet::new(),
            last_tick: now,
            pruned: now,
            campaigns: BTreeMap::new(),
            pending_findings: BTreeMap::new(),
            invalid_findings: BTreeMap::new(),
            finding_writes: 0,
            exception_status: BTreeMap::new(),
            identity_dirty: false,
            last_checks: None,
            reports: reports::ReportWriter::default(),
            ledger: Ledger::default(),
            approval_policy: campaigns::approvals::PolicyCheck::default(),
            sinks: std::collections::HashMap::new(),
            fingerprints,
            admission: admission::Admission::default(),
        }
    }

    /// Takes up what an earlier run recorded (read from the cluster before the first
    /// input): escalations announced, fix history and rate windows, and announcements not
    /// yet delivered, which the first tick delivers.
    pub fn with_ledger(mut self, ledger: Ledger) -> Self {
        self.ledger = ledger;
        self
    }

    /// Takes one input at `now` and answers what to do about it.
    pub fn handle(&mut self, input: Input, now: Timestamp) -> Vec<Effect> {
        self.now = now;
        self.work = Work::None;
        match input {
            Input::Watched(watched) => self.on_watched(watched),
            Input::Outcome(outcome) => self.on_outcome(outcome),
            Input::Tick => self.on_tick(),
            Input::Resync => {
                debug!("periodic resync");
                self.admission.refresh();
                self.reevaluate_all();
            }
        }
        std::mem::take(&mut self.effects)
    }

    /// What the last input evaluated.
    pub fn work(&self) -> Work {
        self.work
    }

    fn on_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Resolved(kind, result) => {
                let Some(entry) = self.kinds.get_mut(&kind) else { return };
                match result {
                    Ok((resource, namespaced)) => {
                        info!(kind = %kind, "watching");
                        let fields = self.watch_fields(&kind);
                        let Some(entry) = self.kinds.get_mut(&kind) else { return };
                        entry.watching = true;
                        entry.fields = fields.clone();
                        let spec = watch::KindWatch {
                            resource: resource.clone(),
                            namespaced,
                            mask: entry.mask.clone(),
                            fields,
                        };
                        self.effects.push(Effect::Watch { kind: kind.clone(), spec });
                        entry.resource = Some((resource, namespaced));
                        entry.problem = None;
                        entry.next_lookup = None;
                        self.refuse_out_of_scope(&kind);
                    }
                    Err(error) => {
                        debug!(kind = %kind, "{error}");
                        self.metrics.reconcile_error(RECONCILE, error.category());
                        entry.problem = Some((error.is_forbidden(), error.to_string()));
                        let retry = jiff::SignedDuration::try_from(self.settings.discovery_retry).unwrap_or_default();
                        entry.next_lookup = Some(self.now + retry);
                    }
                }
                self.mark_policies_of(&kind);
            }
            Outcome::Fixed { key, fixed, result, denied, started, attempt } => {
                let span = fixes::fix_span(&key, &fixed, attempt);
                let _entered = span.enter();
                self.on_fixed(key, fixed, result, denied, started)
            }
            Outcome::FindingRead { campaign, key, read } => self.on_finding_read(campaign, key, read),
            Outcome::ApprovalPolicyChecked(result) => self.on_approval_policy_checked(result),
            Outcome::ApprovalReviewed { campaign, key, review, allowed } => {
                self.on_approval_reviewed(&campaign, &key, review, allowed)
            }
            Outcome::FindingWritten { campaign, key, written } => self.on_finding_written(campaign, key, written),
            Outcome::CampaignWritten(name, result) => self.on_campaign_written(name, result),
            Outcome::ExceptionWritten(key, result) => self.on_exception_written(key, result),
            Outcome::CheckFixed { campaign, key, result, denied } => self.on_check_fixed(campaign, key, result, denied),
            Outcome::PolicyReportsServed(served) => self.on_reports_served(served),
            Outcome::PolicyReportWritten(namespace, written) => self.on_report_written(namespace, written),
            Outcome::LedgerWritten { index, serial, result } => self.on_ledger_written(index, serial, result),
            Outcome::Delivered { id, delivery } => self.on_delivered(&id, delivery),
            Outcome::SinkChecked { sink, health } => self.on_sink_checked(sink, health),
            Outcome::AdmissionWritten { write, result } => self.on_admission_written(write, result),
            Outcome::AdmissionChecked { write, result } => self.on_admission_checked(write, result),
            Outcome::AdmissionSwept(result) => self.on_admission_swept(result),
            Outcome::StatusWritten(key, result) => {
                self.writing_status.remove(&key);
                let Some(policy) = self.policies.get_mut(&key) else { return };
                match result {
                    Ok(status) => policy.status_written(status),
                    Err(error) => {
                        self.metrics.reconcile_error(RECONCILE, error.category());
                        warn!(policy = %key, failures = policy.status_failures + 1, "status write failed, retrying: {error}");
                        policy.status_failed(self.now);
                    }
                }
            }
        }
    }

    fn on_tick(&mut self) {
        let now = self.now;
        // Exceptions that expired since the last tick stop covering at once.
        let expired = self
            .exceptions
            .values()
            .filter_map(|e| e.as_ref().ok())
            .any(|e| e.cover.expires_at > self.last_tick && e.cover.expires_at <= now);
        self.last_tick = now;
        if expired {
            self.admission.touch();
            self.reevaluate_all();
        }
        // Deferred fixes are looked at again (a window may have opened, a minute passed),
        // and failed fixes whose backoff is over are tried again.
        let deferred: Vec<ObjectKey> = self
            .policies
            .values()
            .flat_map(|p| p.targets().iter())
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
        if now.duration_since(self.pruned) >= PRUNE_PERIOD {
            self.pruned = now;
            self.prune(now);
        }
        self.flush_reports(now);
        // Before the status: a change of the AdmissionReady condition goes with it.
        self.flush_admission(now);
        self.flush_status(now);
        self.run_checks(now);
        self.run_waves(now);
        self.check_approval_policy(now);
        self.flush_campaigns(now);
        self.flush_exceptions(now);
        self.flush_ledger(now);
        // The gauges of open circuit breakers and of campaigns, from what is held now.
        self.metrics.set_standing(&super::metrics::Standing::of(self.policies.values(), self.campaigns.values()));
    }

    /// Forgets fixes older than each policy's flapping window, and tells the notifier which
    /// sinks are still named.
    fn prune(&mut self, now: Timestamp) {
        for policy in self.policies.values_mut() {
            let (_, window) = policy.rules().map_or(crate::engine::decide::DEFAULT_FLAPPING, |r| r.flapping);
            policy.history.prune(window, now);
        }
        let policies = &self.policies;
        self.ledger.prune(now, &|key| {
            let policy = policies.get(key)?;
            Some(policy.rules().map_or(crate::engine::decide::DEFAULT_FLAPPING, |r| r.flapping).1)
        });
        let used: std::collections::HashSet<_> = self
            .policies
            .values()
            .flat_map(|p| p.all_sinks().map(Sink::key))
            .chain(self.campaigns.values().filter_map(|c| self.campaign_sink(c).map(|s| s.key())))
            .collect();
        self.sinks.retain(|key, _| used.contains(key));
        self.effects.push(Effect::RetainSinks(used));
    }
}

fn name_of(object: &Value) -> (Option<String>, String) {
    let text = |p: &str| object.pointer(p).and_then(Value::as_str).map(str::to_string);
    (text("/metadata/namespace"), text("/metadata/name").unwrap_or_default())
}

#[cfg(test)]
mod tests;
